"""A small JSON-over-HTTP base shared by the REST clients: timeouts, errors, pagination.

Every request carries an explicit timeout. Any failure becomes
:class:`lab.errors.ServiceError` naming the service, the HTTP method, the path
and the status; secrets the client holds are masked out of anything it reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import requests

from lab.errors import ServiceError
from lab.secrets import mask

JSON = Any
Params = Mapping[str, str | int | bool]


def _excerpt(text: str, secrets: Iterable[str], limit: int = 300) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask(secret))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _query(params: Params | None) -> dict[str, str] | None:
    """Query values as strings; booleans as ``true``/``false`` (what Go's ParseBool reads)."""
    if not params:
        return None
    return {
        k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in params.items()
    }


class JsonClient:
    """Base of a REST client: ``base_url`` + ``api_prefix`` + path, JSON in and out."""

    service = "HTTP"
    api_prefix = ""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session if session is not None else requests.Session()
        self._secrets: list[str] = []

    def __repr__(self) -> str:  # never show credentials
        return f"{type(self).__name__}({self.base_url!r})"

    def _remember_secret(self, value: str | None) -> None:
        if value:
            self._secrets.append(value)

    def url(self, path: str) -> str:
        return f"{self.base_url}{self.api_prefix}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: JSON = None,
        ok: Iterable[int] = (200, 201, 204),
        missing_ok: bool = False,
    ) -> requests.Response | None:
        """Send one request; return the response, or None on 404 when ``missing_ok``."""
        where = f"{self.service}: {method} {self.api_prefix}{path}"
        try:
            resp = self.session.request(
                method,
                self.url(path),
                params=_query(params),
                json=json,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise ServiceError(
                f"{where} timed out after {self.timeout:.0f}s ({self.base_url})",
                hint=f"is {self.service} up? try `lab status`",
            ) from None
        except requests.RequestException as exc:
            raise ServiceError(
                f"{where} failed: {type(exc).__name__} ({self.base_url})",
                hint=f"is {self.service} up? try `lab status`",
            ) from None
        if missing_ok and resp.status_code == 404:
            return None
        if resp.status_code not in set(ok):
            body = _excerpt(resp.text or "", self._secrets)
            hint = None
            if resp.status_code == 401:
                hint = f"the {self.service} credentials were refused; check .lab/secrets.env"
            raise ServiceError(f"{where} -> HTTP {resp.status_code}: {body}", hint=hint)
        return resp

    def json(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: JSON = None,
        ok: Iterable[int] = (200, 201, 204),
        missing_ok: bool = False,
    ) -> JSON:
        """Like :meth:`request` but decode the JSON body (None for 204/404-when-missing_ok)."""
        resp = self.request(method, path, params=params, json=json, ok=ok, missing_ok=missing_ok)
        if resp is None or resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise ServiceError(
                f"{self.service}: {method} {self.api_prefix}{path} -> "
                f"HTTP {resp.status_code} with a body that is not JSON"
            ) from None

    def paginate(
        self,
        path: str,
        *,
        params: Params | None = None,
        page_size: int = 50,
        max_items: int | None = None,
    ) -> list[JSON]:
        """GET every page (``page``/``limit`` query) until a short page or ``max_items``."""
        items: list[JSON] = []
        page = 1
        while True:
            query: dict[str, str | int | bool] = dict(params or {})
            query.update(page=page, limit=page_size)
            batch = self.json("GET", path, params=query)
            if not isinstance(batch, list):
                raise ServiceError(
                    f"{self.service}: GET {self.api_prefix}{path} returned "
                    f"{type(batch).__name__}, expected a list"
                )
            items.extend(batch)
            if max_items is not None and len(items) >= max_items:
                return items[:max_items]
            if len(batch) < page_size:
                return items
            page += 1
