"""The end of a local server process's main: announce the port, serve until SIGTERM/SIGINT.

Shared by :mod:`lab.localforge._moto_main` and :mod:`lab.localforge._s3_proxy`, whose
parents wait for ``port_file`` (written atomically, so never read half-written) and stop
them with SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any, Protocol


class Server(Protocol):
    def serve_forever(self) -> None: ...
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...


def serve(server: Server, port: int, port_file: Path) -> int:
    tmp = port_file.with_name(port_file.name + ".tmp")
    tmp.write_text(str(port))
    tmp.replace(port_file)

    def stop(_signum: int, _frame: Any) -> None:
        # shutdown() waits for serve_forever() to return: never from its own thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    server.server_close()
    return 0
