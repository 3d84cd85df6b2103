"""Local S3 servers: counting object downloads from their request log (one JSON line per
request), and :class:`LocalS3`, what the moto stand-in and SeaweedFS share.

Both local S3 servers write this log: moto through :mod:`lab.localforge._moto_main`,
SeaweedFS through the counting relay :mod:`lab.localforge._s3_proxy`. A line holds
``method``, ``path``, ``query``, ``status`` and ``bytes`` (body bytes sent back).

Counting assumes path-style addressing (``http://127.0.0.1:PORT/bucket/key``), which is
what S3 clients use for an IP-address endpoint.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

from lab.errors import ServiceError
from lab.wait import poll

# Query sub-resources that make a GET on a key something other than GetObject.
NOT_GET_OBJECT = frozenset(
    {"acl", "tagging", "uploadId", "attributes", "legal-hold", "retention", "torrent"}
)


class RequestLog:
    """Reads a request log from an offset that :meth:`reset` moves to the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        # Only complete lines: a line being written has no newline yet.
        complete = data[: data.rfind(b"\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def object_gets(self, bucket: str, prefix: str = "") -> list[dict[str, Any]]:
        """Successful GET-object requests on ``bucket`` (keys starting with ``prefix``)
        since the start or the last reset."""
        hits = []
        for entry in self.entries():
            if entry["method"] != "GET" or not 200 <= entry["status"] < 300:
                continue
            name, _, key = unquote(entry["path"]).lstrip("/").partition("/")
            params = {p.split("=", 1)[0] for p in entry["query"].split("&") if p}
            if name == bucket and key.startswith(prefix) and key and not params & NOT_GET_OBJECT:
                hits.append(entry)
        return hits

    def reset(self) -> None:
        """Count from now on: earlier requests no longer show."""
        data = self.path.read_bytes() if self.path.is_file() else b""
        self._offset = data.rfind(b"\n") + 1  # never start inside a half-written line


class LocalS3:
    """Base of a local S3 server: a context manager (``start``/``stop``) with counters and
    listing. A subclass sets ``_requests`` while it runs and offers ``client()`` (a
    boto3/botocore S3 client with admin rights)."""

    name = "the S3 server"  # in messages: "<name> exited with code ..."
    _requests: RequestLog | None = None
    _dir: Path | None = None  # the server's temp dir, its output in server.out

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def client(self, creds: tuple[str, str] | None = None) -> Any:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _remove_files(self) -> None:
        """Forget the request log and delete the temp dir (after the server stopped)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
            self._requests = None

    def _tail(self, lines: int = 20) -> str:
        out = self._dir / "server.out" if self._dir else None
        if out is None or not out.is_file():
            return "(no server output)"
        text = out.read_text(errors="replace").splitlines()
        return "server output (tail):\n" + "\n".join(text[-lines:])

    def _await_start(
        self,
        check: Callable[[], str | None],
        returncode: Callable[[], int | None],
        *,
        what: str,
        timeout: float,
        interval: float,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Poll ``check`` until it says "up" (or "exited"); a failure shows the output."""
        try:
            state = poll(
                check,
                what=what,
                timeout=timeout,
                interval=interval,
                progress=progress,
                progress_every=10.0,
            )
        except Exception as exc:
            raise ServiceError(f"{exc}\n{self._tail()}") from None
        if state == "exited":
            raise ServiceError(
                f"{self.name} exited with code {returncode()} while starting\n{self._tail()}"
            )

    def _log(self) -> RequestLog:
        if self._requests is None:
            raise ServiceError(f"{self.name} is not started (call start() first)")
        return self._requests

    def object_gets(self, bucket: str, prefix: str = "") -> int:
        """Successful GET-object requests on ``bucket`` (keys starting with ``prefix``) since
        start or :meth:`reset_counters`."""
        return len(self._log().object_gets(bucket, prefix))

    def object_bytes_out(self, bucket: str) -> int:
        """Body bytes sent by those GET-object requests."""
        return sum(int(entry["bytes"]) for entry in self._log().object_gets(bucket))

    def reset_counters(self) -> None:
        """Count from now on: earlier requests no longer show in the counters."""
        self._log().reset()

    def empty_bucket(self, bucket: str) -> None:
        """Delete every object in ``bucket`` (as the admin)."""
        client = self.client()
        for key in self.object_keys(bucket):
            client.delete_object(Bucket=bucket, Key=key)

    def object_keys(self, bucket: str) -> list[str]:
        """Every key in ``bucket``, sorted."""
        keys: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)
