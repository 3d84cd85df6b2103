"""Run an in-process HTTP fake on 127.0.0.1 for the duration of a ``with`` block."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

Server = TypeVar("Server", bound=ThreadingHTTPServer)


@contextmanager
def running(
    handler: type[BaseHTTPRequestHandler], server_class: type[Server] = ThreadingHTTPServer
) -> Iterator[Server]:
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread; stop it afterwards."""
    server = server_class(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
