"""Entry point of the counting proxy in front of a local S3 server
(``python -m lab.localforge._s3_proxy``).

A plain HTTP/1.1 relay on 127.0.0.1 (port picked by the OS, written to ``--port-file``
once listening) to ``--upstream host:port``. Requests go through byte for byte, the
``Host`` header included, so SigV4 signatures made for the proxy's address verify at
the server. One JSON line per request is appended to ``--log`` (method, path, query,
status, body bytes sent back), the same format as :mod:`lab.localforge._moto_main`, and
:class:`lab.localforge.requestlog.RequestLog` counts object GETs from it.

Why a proxy: SeaweedFS counts S3 requests in its metrics by HTTP method and bucket only
(seaweedfs/seaweedfs weed/s3api/s3api_server.go at 4.44: every route goes through
``track(handler, "GET")``; weed/stats/metrics.go ``S3RequestCounter``), so a listing
and an object download are the same "GET" there, and it writes no access log.

The log line is written (and flushed) before the last byte of the answer goes out, so a
client that has its answer always finds its request in the log.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lab.localforge._serve import serve

CHUNK = 64 * 1024
UPSTREAM_TIMEOUT = 300.0
# Hop-by-hop headers (RFC 9110 7.6.1) are the relay's own business on each side; so is
# Expect (the relay answered the 100-continue itself and sends the body in one go).
_HOP = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class Log:
    def __init__(self, path: Path) -> None:
        self.lock = threading.Lock()
        self.fh = path.open("a", encoding="utf-8")

    def write(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.fh.write(json.dumps(entry) + "\n")
            self.fh.flush()


class Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: with Nagle's algorithm on, the body
    # waits for the client's delayed ACK (about 40 ms a response).
    disable_nagle_algorithm = True
    upstream: tuple[str, int] = ("127.0.0.1", 0)
    log: Log

    def log_message(self, format: str, *args: Any) -> None:
        return  # the JSON log is the record; no stderr line per request

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _relay(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            self.send_response_only(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            for key, value in resp.getheaders():
                if key.lower() not in _HOP:
                    self.send_header(key, value)
            chunked = length is None and self.command != "HEAD" and resp.status not in (204, 304)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = 0
            pending = b""
            while True:
                data = resp.read(CHUNK)
                if not data:
                    break
                if pending:
                    self._send(pending, chunked)
                sent += len(data)
                pending = data
            parts = urlsplit(self.path)
            self.log.write(
                {
                    "method": self.command,
                    "path": parts.path,
                    "query": parts.query,
                    "status": resp.status,
                    "bytes": sent,
                }
            )
            if pending:
                self._send(pending, chunked)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            conn.close()

    def _send(self, data: bytes, chunked: bool) -> None:
        if chunked:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="counting HTTP relay in front of a local S3")
    parser.add_argument("--upstream", required=True, help="host:port of the S3 server")
    parser.add_argument("--port-file", required=True, type=Path)
    parser.add_argument("--log", required=True, type=Path)
    args = parser.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    Relay.upstream = (host, int(port))
    Relay.log = Log(args.log)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    server.daemon_threads = True
    return serve(server, int(server.server_address[1]), args.port_file)


if __name__ == "__main__":
    sys.exit(main())
