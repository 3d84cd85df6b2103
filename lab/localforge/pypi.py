"""The lab's private package index for the no-Docker tier: pypiserver (the dev dependency
``pypiserver==2.4.1``, the version of the stack's image) in a child process on
127.0.0.1 with htpasswd auth, a generated login, and the projects' private packages
published into it with the code ``lab up`` runs (:func:`lab.packages.publish`).

Also the two secret files Jenkins' JCasC makes of the lab's secrets, built as
``casc/check-env.sh`` builds them: :func:`pip_conf` (credential ``pip-conf``) and
:func:`aws_credentials_file` (credential ``s3-credentials``).
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import requests

from lab.errors import PrerequisiteMissing, ServiceError
from lab.localforge.child import Child, python_env
from lab.wait import poll

START_TIMEOUT = 30.0
USER = "lab-pypi"


def pip_conf(index_url: str, user: str, password: str) -> str:
    """casc/check-env.sh's pip.conf: the index URL with the login, pip's own settings."""
    host = index_url.split("://", 1)[1].rstrip("/")
    return (
        f"[global]\nindex-url = http://{user}:{password}@{host}/simple/\n"
        "disable-pip-version-check = true\ntimeout = 20\n"
    )


def aws_credentials_file(access_key: str, secret_key: str) -> str:
    """casc/check-env.sh's s3-credentials: an AWS shared-credentials file, profile default."""
    return f"[default]\naws_access_key_id = {access_key}\naws_secret_access_key = {secret_key}\n"


class PrivateIndex:
    """A running index; ``url`` (no login), ``user``/``password`` (generated)."""

    def __init__(self, *, progress: Callable[[str], None] = print) -> None:
        self.progress = progress
        self.user = USER
        self.password = secrets.token_urlsafe(18)
        self.url = ""
        self._dir: Path | None = None
        self._child: Child | None = None

    def __enter__(self) -> PrivateIndex:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        try:
            with warnings.catch_warnings():  # passlib 1.7 imports the stdlib's crypt
                warnings.filterwarnings("ignore", "'crypt' is deprecated", DeprecationWarning)
                from passlib.apache import HtpasswdFile
        except ImportError:
            raise PrerequisiteMissing(
                "passlib is missing: the private index stand-in writes an htpasswd file",
                hint="pip install -e '.[dev]'",
            ) from None
        self._dir = Path(tempfile.mkdtemp(prefix="lab-pypi-"))
        (self._dir / "packages").mkdir()
        htpasswd = HtpasswdFile(str(self._dir / "htpasswd"), new=True)
        htpasswd.set_password(self.user, self.password)  # the password goes to a file only
        htpasswd.save()
        port_file = self._dir / "port"
        self._child = Child(
            [sys.executable, "-m", "lab.localforge._pypi_main", str(self._dir), str(port_file)],
            self._dir / "server.out",
            python_env(),
        )
        child = self._child

        def check() -> int | None:
            if child.proc.poll() is not None:
                out = (self._dir / "server.out").read_text(errors="replace")[-800:]  # type: ignore[operator]
                raise ServiceError(f"the private index (pypiserver) exited: {out}")
            if not port_file.is_file():
                return None
            port = int(port_file.read_text())
            requests.get(f"http://127.0.0.1:{port}/health", timeout=2).raise_for_status()
            return port

        try:
            port = poll(check, what="the private index (pypiserver)", timeout=START_TIMEOUT,
                        interval=0.1)  # fmt: skip
        except BaseException:
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{port}"
        self.progress(f"private index (pypiserver) on {self.url}")

    def publish(self, sources: list[Path]) -> list[str]:
        """Build and upload the packages at ``sources`` (``lab up``'s code)."""
        from lab.clients.pypi import PyPIClient
        from lab.packages import publish

        return publish(sources, PyPIClient(self.url, self.user, self.password),
                       progress=self.progress)  # fmt: skip

    def refuse(self, count: int) -> None:
        """Answer the next ``count`` requests with 429 (see _pypi_main)."""
        assert self._dir is not None, "the index is not running"
        tmp = self._dir / "refuse.tmp"
        tmp.write_text(str(count))
        tmp.replace(self._dir / "refuse")

    def refusals_left(self) -> int:
        assert self._dir is not None
        try:
            return int((self._dir / "refuse").read_text().strip() or 0)
        except OSError:
            return 0

    def pip_conf(self) -> str:
        return pip_conf(self.url, self.user, self.password)

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop(2.0)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
