"""moto server with one request at a time.

moto's DynamoDB backend checks a write's condition and then applies its actions
one by one on the live item, without a lock; under moto's threaded server a
concurrent request can see half an update or pass the same condition twice.
Real DynamoDB applies each conditional write atomically. Serialising requests
restores that guarantee, so the race tests exercise DynamoDB's semantics rather
than moto's thread scheduling. Otherwise this is `moto_server` itself.

Usage: python scripts/moto_server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # Consume the whole response inside the lock.
            return list(app(environ, start_response))

    run_simple(host, port, one_at_a_time, threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
