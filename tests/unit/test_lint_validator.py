"""`lab lint --jenkins`: Jenkins' Declarative validator, against a fake Jenkins on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import pytest

from lab.cli import main
from lab.errors import PrerequisiteMissing, ServiceError
from lab.lint.validator import Validator, parse_response
from lab.secrets import Secrets

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jenkinsfiles"

USER, PASSWORD = "lab-admin", "s3cret-Pw-for-tests"
CRUMB = "crumb-7f3a"
SESSION = "JSESSIONID.lab=node0abc"
ERRORS = (
    "Errors encountered validating Jenkinsfile:\n"
    'WorkflowScript: 4: Unknown stage section "stepz". Starting with version 0.5, steps in a '
    "stage must be in a \u2018steps\u2019 block. @ line 4, column 9.\n"
    "           stage('x') {\n"
    "           ^\n\n"
    'WorkflowScript: 4: Expected one of "steps", "stages", or "parallel" for stage "x" '
    "@ line 4, column 9.\n"
    "           stage('x') {\n"
    "           ^\n"
)


class FakeJenkins(BaseHTTPRequestHandler):
    """Crumb bound to the session cookie, basic auth required, like the lab's Jenkins."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _authorized(self) -> bool:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._send(401, "text/html", "Unauthorized")
            return False
        return True

    def _send(self, code: int, ctype: str, body: str, cookie: str | None = None) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if cookie:
            self.send_header("Set-Cookie", f"{cookie}; Path=/; HttpOnly")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path))
        if not self._authorized():
            return
        if self.path == "/crumbIssuer/api/json":
            body = json.dumps({"crumbRequestField": "Jenkins-Crumb", "crumb": CRUMB})
            self._send(200, "application/json", body, cookie=SESSION)
        else:
            self._send(404, "text/html", "Not found")

    def do_POST(self) -> None:
        self.seen.append(("POST", self.path))
        if not self._authorized():
            return
        if self.headers.get("Jenkins-Crumb") != CRUMB or SESSION not in self.headers.get(
            "Cookie", ""
        ):
            self._send(403, "text/html", "No valid crumb was included in the request")
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        text = form.get("jenkinsfile", [""])[0]
        if self.path != "/pipeline-model-converter/validate":
            self._send(404, "text/html", "Not found")
        elif "stepz" in text:
            self._send(200, "text/plain", ERRORS)
        else:
            self._send(200, "text/plain", "Jenkinsfile successfully validated.\n")


@pytest.fixture
def jenkins() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJenkins)
    FakeJenkins.seen = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


BROKEN = """\
pipeline {
    agent any
    stages {
        stage('x') {
            stepz { sh 'true' }
        }
    }
}
"""


def test_validator_reports_jenkins_errors_with_lines(jenkins: str) -> None:
    validator = Validator(jenkins, USER, PASSWORD, timeout=5)
    findings = validator.validate("Jenkinsfile", BROKEN)
    assert [(f.line, f.column, f.rule, f.severity) for f in findings] == [
        (4, 9, "jenkins-validate", "error"),
        (4, 9, "jenkins-validate", "error"),
    ]
    assert findings[0].message.startswith('Unknown stage section "stepz"')
    assert validator.validate("Jenkinsfile", "pipeline { agent any }\n") == []
    # One crumb for the session, one POST per file.
    assert FakeJenkins.seen.count(("GET", "/crumbIssuer/api/json")) == 1
    assert FakeJenkins.seen.count(("POST", "/pipeline-model-converter/validate")) == 2
    assert PASSWORD not in repr(validator)


def test_wrong_credentials_are_a_service_error(jenkins: str) -> None:
    with pytest.raises(ServiceError, match=r"refused the lab admin's credentials.*HTTP 401"):
        Validator(jenkins, USER, "wrong", timeout=5).validate("J", "pipeline {}")


def test_stack_not_up_says_so() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PrerequisiteMissing) as err:
        Validator(f"http://127.0.0.1:{port}", USER, PASSWORD, timeout=5).validate("J", "x")
    assert "not reachable" in str(err.value)
    assert "lab up" in str(err.value)


def test_unexpected_answer_still_becomes_a_finding() -> None:
    [finding] = parse_response("J", "Jenkinsfile content 'x' did not contain the 'pipeline' step")
    assert (finding.line, finding.rule) == (0, "jenkins-validate")
    assert "did not contain the 'pipeline' step" in finding.message


def test_cli_jenkins_flag_uses_lab_secrets(
    jenkins: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plugins, casc = ROOT / "casc" / "plugins.txt", ROOT / "casc" / "jenkins.yaml"
    secrets, _ = Secrets.ensure(tmp_path / ".lab" / "secrets.env")
    secrets.set("JENKINS_ADMIN_PASSWORD", PASSWORD)
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    monkeypatch.setenv("LAB_JENKINS_PORT", jenkins.rsplit(":", 1)[1])
    jf = tmp_path / "Jenkinsfile"
    jf.write_text(BROKEN)
    argv = ["lint", "--jenkins", "--plugins", str(plugins), "--casc", str(casc), str(jf)]

    code = main(argv)
    out = capsys.readouterr().out
    assert code == 1
    assert ":4:9: error[jenkins-validate] Unknown stage section" in out

    clean = FIXTURES / "clean.Jenkinsfile"
    assert main([*argv[:-1], str(clean)]) == 0
    assert PASSWORD not in capsys.readouterr().out


def test_cli_jenkins_without_a_lab_is_a_missing_prerequisite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    jf = tmp_path / "Jenkinsfile"
    jf.write_text("pipeline { agent any }\n")
    plugins, casc = ROOT / "casc" / "plugins.txt", ROOT / "casc" / "jenkins.yaml"
    code = main(["lint", "--jenkins", "--plugins", str(plugins), "--casc", str(casc), str(jf)])
    assert code == 3
    assert "lab up" in capsys.readouterr().err
