"""Jenkins' own Declarative validator, on the running lab (its exact plugin set).

``POST /pipeline-model-converter/validate`` (pipeline-model-definition's
ModelConverterAction) with the form field ``jenkinsfile`` answers plain text:
``Jenkinsfile successfully validated.`` or ``Errors encountered validating
Jenkinsfile:`` followed by ``WorkflowScript: N: message @ line N, column C.``
blocks. The lab's Jenkins has anonymous read off and CSRF protection on, so the
request carries the admin's basic auth and a crumb from ``/crumbIssuer/api/json``,
in the same HTTP session (crumbs are bound to the session since Jenkins 2.176).
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from lab.errors import PrerequisiteMissing, ServiceError
from lab.lint.findings import ERROR, Finding

RULE = "jenkins-validate"
OK_TEXT = "Jenkinsfile successfully validated."
_ERROR_AT = re.compile(
    r"^WorkflowScript: (?P<line>\d+): (?P<msg>.*?)(?: @ line (?P<l2>\d+), column (?P<col>\d+)\.)?$"
)


def parse_response(path: str, body: str) -> list[Finding]:
    """Findings from the validator's text answer (none when it validated)."""
    text = body.strip()
    if text.startswith(OK_TEXT):
        return []
    findings: list[Finding] = []
    for raw in text.splitlines():
        m = _ERROR_AT.match(raw.strip())
        if not m:
            continue
        line = int(m.group("l2") or m.group("line"))
        findings.append(
            Finding(path, line, int(m.group("col") or 0), RULE, ERROR, m.group("msg").strip())
        )
    if not findings:
        first = text.splitlines()[0] if text else "(empty answer)"
        findings.append(Finding(path, 0, 0, RULE, ERROR, f"Jenkins did not validate it: {first}"))
    return findings


class Validator:
    """One HTTP session to a Jenkins: crumb fetched once, then one POST per Jenkinsfile."""

    def __init__(self, url: str, user: str, password: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = (user, password)
        self._crumb: dict[str, str] | None = None

    def __repr__(self) -> str:  # never show the password
        return f"Validator({self.url})"

    def _request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        try:
            resp = self.session.request(
                method, self.url + path, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.ConnectionError:
            raise PrerequisiteMissing(
                f"Jenkins is not reachable at {self.url} (needed by --jenkins)",
                hint="start the lab with `lab up` (or `make lab-up`), or lint without --jenkins",
            ) from None
        except requests.Timeout:
            raise ServiceError(
                f"Jenkins at {self.url} did not answer {method} {path} within {self.timeout:.0f}s",
                hint="check `lab status` and `lab logs jenkins`",
            ) from None
        if resp.status_code in (401, 403):
            raise ServiceError(
                f"Jenkins at {self.url} refused the lab admin's credentials on {path} "
                f"(HTTP {resp.status_code})",
                hint="the lab secrets (.lab/secrets.env) may not match this Jenkins: `lab up`",
            )
        if resp.status_code >= 300:
            raise ServiceError(
                f"Jenkins at {self.url} answered HTTP {resp.status_code} to {method} {path}"
                + (" (still starting, or JCasC failed)" if resp.status_code == 503 else ""),
                hint="check `lab status` and `lab logs jenkins`",
            )
        return resp

    def crumb(self) -> dict[str, str]:
        if self._crumb is None:
            try:
                doc = self._request("GET", "/crumbIssuer/api/json").json()
                self._crumb = {doc["crumbRequestField"]: doc["crumb"]}
            except (ValueError, KeyError):
                raise ServiceError(
                    f"Jenkins at {self.url}: /crumbIssuer/api/json did not return a crumb"
                ) from None
        return self._crumb

    def validate(self, path: str, text: str) -> list[Finding]:
        resp = self._request(
            "POST",
            "/pipeline-model-converter/validate",
            data={"jenkinsfile": text},
            headers=self.crumb(),
        )
        return parse_response(path, resp.text)

    def to_json(self, text: str) -> dict[str, Any]:
        """Jenkins' own declarative model of ``text``: the ``{"pipeline": ...}`` document of
        ``POST /pipeline-model-converter/toJson`` (pipeline-model-definition,
        ModelConverterAction.doToJson: form field ``jenkinsfile``; the answer is
        HttpResponses.okJSON ``{"status": "ok", "data": {"result": "success", "json": ...}}``
        or ``data.result == "failure"`` with ``data.errors``; read at HEAD 8632f415 of
        jenkinsci/pipeline-model-definition-plugin, newer than our pin 2.2293's snapshot)."""
        resp = self._request(
            "POST",
            "/pipeline-model-converter/toJson",
            data={"jenkinsfile": text},
            headers=self.crumb(),
        )
        try:
            data = resp.json()["data"]
        except (ValueError, KeyError, TypeError):
            raise ServiceError(
                f"Jenkins at {self.url}: toJson answered no JSON data: {resp.text[:200]}"
            ) from None
        if data.get("result") != "success" or not isinstance(data.get("json"), dict):
            raise ServiceError(
                f"Jenkins at {self.url} could not convert the Jenkinsfile: "
                f"{json.dumps(data.get('errors'))[:500]}"
            )
        return data["json"]
