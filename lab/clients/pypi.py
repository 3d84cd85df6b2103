"""The lab's private package index (pypiserver): list and upload a project's package.

Behaviour read in pypiserver's source at tag v2.4.1 (the image the stack runs,
``pypiserver/_app.py``): ``POST /`` with form field ``:action=file_upload`` and the file
in field ``content`` stores it (HTTP 200); with ``-a update`` a request without login gets
401, a wrong login 403; a file that exists answers 409 unless the server runs with
``--overwrite`` (the lab's does not: a published version is immutable); ``GET
/simple/<project>/`` lists the project's files (PEP 503) and 404 for an unknown one.
"""

from __future__ import annotations

import re
from pathlib import Path

import requests

from lab.errors import ServiceError
from lab.secrets import mask


class PyPIClient:
    service = "pypi"

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._password = password
        self.session = requests.Session()
        self.session.auth = (user, password)

    def __repr__(self) -> str:  # never show credentials
        return f"PyPIClient({self.base_url!r})"

    def _send(self, method: str, path: str, **kwargs: object) -> requests.Response:
        where = f"{self.service}: {method} {path} ({self.base_url})"
        try:
            return self.session.request(
                method, self.base_url + path, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            raise ServiceError(
                f"{where} failed: {type(exc).__name__}", hint="is it up? try `lab status`"
            ) from None

    def _refused(self, resp: requests.Response, where: str) -> ServiceError:
        body = " ".join((resp.text or "").replace(self._password, mask(self._password)).split())
        hint = (
            "the index refused the lab's login (PYPI_USER/PYPI_PASSWORD in .lab/secrets.env); "
            "`lab up` restarts it with the current values"
            if resp.status_code in (401, 403)
            else None
        )
        return ServiceError(f"{where} -> HTTP {resp.status_code}: {body[:300]}", hint=hint)

    def files(self, project: str) -> list[str]:
        """File names the index holds for ``project`` (empty when it has none)."""
        path = f"/simple/{re.sub(r'[-_.]+', '-', project).lower()}/"
        resp = self._send("GET", path)
        if resp.status_code == 404:
            return []
        if resp.status_code != 200:
            raise self._refused(resp, f"{self.service}: GET {path}")
        return sorted(set(re.findall(r">([^<>]+\.(?:whl|tar\.gz|zip))</a>", resp.text)))

    def upload(self, file: Path) -> bool:
        """Upload ``file``; False when the index already holds that file name."""
        with file.open("rb") as handle:
            resp = self._send(
                "POST",
                "/",
                data={":action": "file_upload"},
                files={"content": (file.name, handle, "application/octet-stream")},
            )
        if resp.status_code == 409:
            return False
        if resp.status_code != 200:
            raise self._refused(resp, f"{self.service}: upload {file.name}")
        return True
