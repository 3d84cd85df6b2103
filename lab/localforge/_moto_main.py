"""Entry point of the S3 stand-in's server process (``python -m lab.localforge._moto_main``).

moto's WSGI app served by werkzeug on 127.0.0.1, on a port the OS picks (written to
``--port-file`` once listening, so there is no race for a free port), wrapped in a
middleware that appends one JSON line per request to ``--log``: method, path, query,
status and the number of body bytes sent. :class:`lab.localforge.s3.S3StandIn` reads
that log to count object GETs and bytes served.

The log line is written (and flushed) *before* the response goes out, so a client that
has its answer always finds its request in the log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lab.localforge._serve import serve

StartResponse = Callable[..., Any]


class RequestLog:
    """WSGI middleware: buffer each response, log it, then send it."""

    def __init__(self, app: Callable[..., Iterable[bytes]], path: Path) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.fh = path.open("a", encoding="utf-8")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = status
            captured["headers"] = headers
            captured["exc_info"] = exc_info
            return lambda _data: None  # moto never uses the legacy write() callable

        result = self.app(environ, capture)
        try:
            body = [bytes(chunk) for chunk in result]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status = str(captured.get("status", "500 Internal Server Error"))
        entry = {
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "status": int(status.split(" ", 1)[0]),
            "bytes": sum(len(chunk) for chunk in body),
        }
        with self.lock:
            self.fh.write(json.dumps(entry) + "\n")
            self.fh.flush()
        start_response(status, captured.get("headers", []), captured.get("exc_info"))
        return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="moto S3 server for the lab's local driver")
    parser.add_argument("--port-file", required=True, type=Path)
    parser.add_argument("--log", required=True, type=Path)
    args = parser.parse_args(argv)

    # Imported here: moto reads INITIAL_NO_AUTH_ACTION_COUNT from the environment at import.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = RequestLog(DomainDispatcherApplication(create_backend_app), args.log)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_port
    os.environ["MOTO_PORT"] = str(port)  # as `moto_server` does: used in URLs moto builds
    return serve(server, port, args.port_file)


if __name__ == "__main__":
    sys.exit(main())
