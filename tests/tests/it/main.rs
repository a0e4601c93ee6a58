//! The integration tests, one binary (the AWS SDK links once): the store and the
//! secret on moto server, HeyGen on wiremock, the handlers in-process from the
//! events of `events/`, the shipped binaries through the Lambda Runtime API, and
//! the template and OpenAPI file against what the code does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod archive;
mod bad_items;
mod budget;
mod budget_properties;
mod docs;
mod heygen;
mod heygen_schemas;
mod heygen_status;
mod in_flight;
mod openapi;
mod parsers;
mod progress;
mod queue;
mod refill;
mod runtime_api;
mod secret;
mod spend;
mod store;
mod store_outcomes;
mod store_parity;
mod template;
mod template_operations;
mod trigger;
mod trigger_properties;
mod trigger_requests;
mod webhook;
mod worker;
