"""An S3 server stand-in for DVC remotes: moto's server as a subprocess on 127.0.0.1.

DVC's own test-suite runs moto's server the same way (a real HTTP endpoint, so DVC's
S3 filesystem talks to it exactly as to MinIO). Differences from plain ``moto_server``:

- authentication is enforced: at start an admin IAM user is made while moto's
  ``INITIAL_NO_AUTH_ACTION_COUNT`` is still infinite, then ``POST /moto-api/reset-auth``
  sets it to 0 (moto ``moto_api/_internal/responses.py`` ``reset_auth_response``), so
  from then on every request must be SigV4-signed by a known IAM access key that a
  policy allows: unknown keys get 403 ``InvalidAccessKeyId``, a wrong secret 403
  ``SignatureDoesNotMatch`` (moto ``core/authorization.py``, ``iam/access_control.py``);
- every request is logged by :mod:`lab.localforge._moto_main` (method, path, status,
  bytes sent), which is how :meth:`S3StandIn.object_gets` and
  :meth:`S3StandIn.object_bytes_out` count what a pipeline downloaded
  (:mod:`lab.localforge.requestlog`).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests

from lab.errors import PrerequisiteMissing, ServiceError
from lab.localforge.child import Child, python_env
from lab.localforge.requestlog import LocalS3, RequestLog

REGION = "us-east-1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def _allow_all_policy(actions: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )


class S3StandIn(LocalS3):
    """moto's S3 server with IAM auth enforced; a context manager (start/stop)."""

    name = "the S3 stand-in (moto server)"

    def __init__(self, *, start_timeout: float = START_TIMEOUT) -> None:
        self.start_timeout = start_timeout
        self.endpoint_url = ""
        self.port = 0
        self._dir = None
        self._proc: Child | None = None
        self._admin: tuple[str, str] | None = None
        self._requests: RequestLog | None = None

    # ---- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        if self._proc is not None:
            return
        if importlib.util.find_spec("moto") is None:
            raise PrerequisiteMissing(
                "the S3 stand-in needs moto's server (Python package moto[server])",
                hint="pip install -e '.[dev]' (it pins moto[server])",
            )
        self._dir = Path(tempfile.mkdtemp(prefix="lab-s3-standin-"))
        self._requests = RequestLog(self._dir / "requests.jsonl")
        port_file = self._dir / "port"
        env = python_env({"INITIAL_NO_AUTH_ACTION_COUNT": "inf"})
        for key in [k for k in env if k.startswith("AWS_")]:
            del env[key]  # the server must not pick up the user's real AWS settings
        self._proc = Child(
            [
                sys.executable,
                "-m",
                "lab.localforge._moto_main",
                "--port-file",
                str(port_file),
                "--log",
                str(self._dir / "requests.jsonl"),
            ],
            self._dir / "server.out",
            env,
        )
        atexit.register(self.stop)
        try:
            self._wait_listening(port_file)
            self._enforce_auth()
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, port_file: Path) -> None:
        assert self._proc is not None
        proc = self._proc.proc

        def check() -> str | None:
            if proc.poll() is not None:
                return "exited"
            if not port_file.is_file():
                return None
            port = int(port_file.read_text())
            requests.get(f"http://127.0.0.1:{port}/moto-api/", timeout=2)  # any answer will do
            self.port = port
            return "up"

        self._await_start(
            check,
            lambda: proc.returncode,
            what="the S3 stand-in (moto server) to listen on 127.0.0.1",
            timeout=self.start_timeout,
            interval=0.2,
        )
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def _enforce_auth(self) -> None:
        iam = self._client("iam", ("lab-bootstrap", "lab-bootstrap"))
        iam.create_user(UserName="lab-admin")
        iam.put_user_policy(
            UserName="lab-admin", PolicyName="admin", PolicyDocument=_allow_all_policy("*")
        )
        key = iam.create_access_key(UserName="lab-admin")["AccessKey"]
        self._admin = (key["AccessKeyId"], key["SecretAccessKey"])
        resp = requests.post(f"{self.endpoint_url}/moto-api/reset-auth", data=b"0", timeout=10)
        if resp.status_code != 200:
            raise ServiceError(
                f"S3 stand-in at {self.endpoint_url}: enabling auth answered "
                f"HTTP {resp.status_code}: {resp.text[:200]}"
            )

    def stop(self) -> None:
        """Stop the server and everything in its process group; remove its files."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is not None:
            proc.stop(STOP_TIMEOUT)
        self._remove_files()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.proc.poll() is None

    # ---- clients ------------------------------------------------------------
    def _client(self, service: str, creds: tuple[str, str] | None = None) -> Any:
        import boto3  # a dependency of dvc[s3] and moto

        if not self.endpoint_url:
            raise ServiceError("the S3 stand-in is not started (call start() first)")
        key, secret = creds or self._require_admin()
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            region_name=REGION,
        )

    def _require_admin(self) -> tuple[str, str]:
        if self._admin is None:
            raise ServiceError("the S3 stand-in is not started (call start() first)")
        return self._admin

    def client(self, creds: tuple[str, str] | None = None) -> Any:
        """A boto3 S3 client for this server (admin credentials unless given)."""
        return self._client("s3", creds)

    # ---- admin --------------------------------------------------------------
    def create_bucket(self, name: str) -> None:
        """Create ``name`` (idempotent)."""
        s3 = self.client()
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=name)

    def create_credentials(self, user: str = "dvc") -> tuple[str, str]:
        """A new access key allowed every S3 action, for IAM user ``user``.

        IAM allows two keys per user: past that, the key goes to a sibling user
        ``user-2``, ``user-3``... so every key handed out earlier stays valid.
        """
        iam = self._client("iam")
        for n in range(1, 1000):
            name = user if n == 1 else f"{user}-{n}"
            with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
                iam.create_user(UserName=name)
                iam.put_user_policy(
                    UserName=name, PolicyName="s3-all", PolicyDocument=_allow_all_policy("s3:*")
                )
            try:
                key = iam.create_access_key(UserName=name)["AccessKey"]
            except iam.exceptions.LimitExceededException:
                continue
            return key["AccessKeyId"], key["SecretAccessKey"]
        raise ServiceError(f"S3 stand-in: no IAM user {user}-N could take another access key")
