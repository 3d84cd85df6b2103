"""``python -m lab.localforge._pypi_main ROOT PORT_FILE``: pypiserver's own WSGI app, with
the options of the stack's ``pypi`` service, behind a gate that can refuse requests.

The app is built from pypiserver's command line (``Config.from_args``, pypiserver 2.4.1
``pypiserver/config.py`` and ``__init__.py`` ``app_from_config``/
``setup_routes_from_config``): ``run -a update,download,list -P ROOT/htpasswd
--hash-algo sha256 --disable-fallback ROOT/packages``, as ``tests/unit/
test_private_index.py`` starts it. The gate reads ``ROOT/refuse`` (a count, written by
:meth:`lab.localforge.pypi.PrivateIndex.refuse`) and answers that many requests with
``429 Too Many Requests`` before pypiserver sees them: a status pip does not retry
itself (pip 26.3 ``pip/_internal/network/session.py``: urllib3 ``Retry`` with
``status_forcelist=[500, 502, 503, 520, 527]``), so each refused request costs the
client one attempt, as a throttling index or proxy would.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lab.localforge._serve import serve

REFUSED = b"429 Too Many Requests: the lab's index stand-in refuses this request\n"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        status = args[1] if len(args) > 1 else ""
        sys.stderr.write(f"{self.requestline} {status}\n")


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def gate(app: Callable[..., Iterable[bytes]], refuse_file: Path) -> Callable[..., Iterable[bytes]]:
    lock = threading.Lock()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            try:
                left = int(refuse_file.read_text().strip() or 0)
            except (OSError, ValueError):
                left = 0
            if left > 0:
                refuse_file.write_text(str(left - 1))
        if left > 0:
            start_response(
                "429 Too Many Requests",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(REFUSED)))],
            )
            return [REFUSED]
        return app(environ, start_response)

    return wrapped


def main(argv: list[str]) -> int:
    from pypiserver import app_from_config, setup_routes_from_config
    from pypiserver.config import Config

    root, port_file = Path(argv[0]), Path(argv[1])
    argv = ["run", "-i", "127.0.0.1", "-p", "0", "-a", "update,download,list",
            "-P", str(root / "htpasswd"), "--hash-algo", "sha256", "--disable-fallback",
            str(root / "packages")]  # fmt: skip
    config = Config.from_args(argv)
    app = setup_routes_from_config(app_from_config(config), config)
    server = make_server(
        "127.0.0.1", 0, gate(app, root / "refuse"), server_class=_Threading, handler_class=_Quiet
    )
    return serve(server, server.server_port, port_file)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
