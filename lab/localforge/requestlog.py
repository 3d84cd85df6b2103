"""Counting object downloads from a local S3 server's request log (one JSON line per request).

Both local S3 servers write this log: moto through :mod:`lab.localforge._moto_main`,
SeaweedFS through the counting relay :mod:`lab.localforge._s3_proxy`. A line holds
``method``, ``path``, ``query``, ``status`` and ``bytes`` (body bytes sent back).

Counting assumes path-style addressing (``http://127.0.0.1:PORT/bucket/key``), which is
what S3 clients use for an IP-address endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

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

    def object_gets(self, bucket: str) -> list[dict[str, Any]]:
        """Successful GET-object requests on ``bucket`` since the start or the last reset."""
        hits = []
        for entry in self.entries():
            if entry["method"] != "GET" or not 200 <= entry["status"] < 300:
                continue
            name, _, key = unquote(entry["path"]).lstrip("/").partition("/")
            params = {p.split("=", 1)[0] for p in entry["query"].split("&") if p}
            if name == bucket and key and not params & NOT_GET_OBJECT:
                hits.append(entry)
        return hits

    def reset(self) -> None:
        """Count from now on: earlier requests no longer show."""
        data = self.path.read_bytes() if self.path.is_file() else b""
        self._offset = data.rfind(b"\n") + 1  # never start inside a half-written line
