//! The floor: the least a Rust `lambda_http` function does (the runtime's loop,
//! an API Gateway event parsed, a response written), with the same crates and
//! profile as the service's functions and nothing else.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_request: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::from("hello"))
            .map_err(Error::from)
    }))
    .await
}
