"""GiteaClient behaviour: auth headers, pagination, missing things, errors that help."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from lab.clients.gitea import HOOK_EVENTS, JENKINS_HOOK_URL, GiteaClient
from lab.errors import ServiceError

TOKEN = "0123456789abcdef0123456789abcdef01234567"  # a fake, checked never to leak


class Scripted(BaseAdapter):
    """Answers from a function of (method, path, query); records requests."""

    def __init__(self, answer) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.answer = answer
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
        self.sent.append(request)
        parts = urlsplit(request.url)
        status, body = self.answer(request.method, parts.path, dict(parse_qsl(parts.query)))
        resp = requests.Response()
        resp.status_code = status
        resp._content = b"" if body is None else json.dumps(body).encode()
        resp.url = request.url
        resp.request = request
        return resp

    def close(self) -> None:
        pass


def make(answer, **auth: Any) -> tuple[GiteaClient, Scripted]:  # type: ignore[no-untyped-def]
    session = requests.Session()
    adapter = Scripted(answer)
    session.mount("http://", adapter)
    return GiteaClient("http://gitea.test:3000/", session=session, **auth), adapter


def test_token_goes_in_the_header_and_basic_auth_is_exclusive():
    client, adapter = make(lambda *_: (200, {"version": "1.27.1"}), token=TOKEN)
    assert client.version() == "1.27.1"
    (sent,) = adapter.sent
    assert sent.headers["Authorization"] == f"token {TOKEN}"
    assert TOKEN not in sent.url
    assert sent.url == "http://gitea.test:3000/api/v1/version"
    with pytest.raises(ValueError, match="either token or basic"):
        GiteaClient("http://x", token="t", basic=("u", "p"))
    assert TOKEN not in repr(client)


def test_listing_follows_pages_until_a_short_one():
    def answer(method, path, query):
        page = int(query["page"])
        assert query["limit"] == "50"
        count = {1: 50, 2: 50, 3: 7}.get(page, 0)
        return 200, [{"name": f"repo-{page}-{i}"} for i in range(count)]

    client, adapter = make(answer, token=TOKEN)
    repos = client.list_org_repos("cd4ml")
    assert len(repos) == 107
    assert [dict(parse_qsl(urlsplit(r.url).query))["page"] for r in adapter.sent] == [
        "1",
        "2",
        "3",
    ]


def test_list_commits_stops_at_max_items_and_sends_go_booleans():
    client, adapter = make(lambda *_: (200, [{"sha": "x"}] * 5), token=TOKEN)
    assert len(client.list_commits("cd4ml", "demo", "feature/x", max_items=5)) == 5
    query = dict(parse_qsl(urlsplit(adapter.sent[0].url).query))
    assert query == {
        "sha": "feature/x",
        "stat": "false",
        "verification": "false",
        "files": "false",
        "page": "1",
        "limit": "5",
    }
    assert len(adapter.sent) == 1


def test_missing_things_are_none_not_errors():
    client, _ = make(lambda *_: (404, {"message": "not found"}), token=TOKEN)
    assert client.get_repo("cd4ml", "nope") is None
    assert client.get_user("ghost") is None
    assert client.get_branch("cd4ml", "demo", "gone") is None
    assert client.delete_branch("cd4ml", "demo", "gone") is False
    assert client.team_has_member(3, "ghost") is False


def test_branch_names_keep_slashes_other_segments_are_encoded():
    client, adapter = make(lambda *_: (200, {}), token=TOKEN)
    client.get_branch("cd4ml", "demo", "feature/x")
    client.delete_token("cd4ml bot", "lab/jenkins")
    assert urlsplit(adapter.sent[0].url).path.endswith("/branches/feature/x")
    assert urlsplit(adapter.sent[1].url).path == "/api/v1/users/cd4ml%20bot/tokens/lab%2Fjenkins"


def test_errors_name_service_method_path_status_and_hide_the_token():
    body = {"message": f"token {TOKEN} has no scope write:repository"}
    client, _ = make(lambda *_: (403, body), token=TOKEN)
    with pytest.raises(ServiceError) as err:
        client.create_hook("cd4ml", "demo")
    text = str(err.value)
    assert text.startswith("Gitea: POST /api/v1/repos/cd4ml/demo/hooks -> HTTP 403: ")
    assert "no scope write:repository" in text
    assert TOKEN not in text


def test_refused_credentials_come_with_a_hint():
    client, _ = make(lambda *_: (401, {"message": "unauthorized"}), basic=("lab-admin", "pw"))
    with pytest.raises(ServiceError) as err:
        client.current_user()
    assert "HTTP 401" in str(err.value)
    assert "secrets.env" in str(err.value)
    assert client.authenticates() is False


def test_hook_body_is_what_jenkins_gitea_plugin_needs():
    seen: list[Any] = []

    def answer(method, path, query):
        return 201, {"id": 1}

    client, adapter = make(answer, token=TOKEN)
    client.create_hook("cd4ml", "demo")
    client.edit_hook("cd4ml", "demo", 1)
    for sent in adapter.sent:
        seen.append(json.loads(sent.body))
    create, edit = seen
    assert create["type"] == "gitea"
    for body in (create, edit):
        assert body["config"]["url"] == JENKINS_HOOK_URL
        assert body["config"]["content_type"] == "json"
        assert body["events"] == list(HOOK_EVENTS)
        assert body["active"] is True
        assert body["branch_filter"] == "*"  # an edit that omits it would reset it


def test_unreachable_gitea_fails_fast_with_a_hint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = GiteaClient(f"http://127.0.0.1:{port}", token=TOKEN, timeout=2)
    start = time.monotonic()
    with pytest.raises(ServiceError) as err:
        client.version()
    assert time.monotonic() - start < 5
    assert f"Gitea: GET /api/v1/version failed: ConnectionError (http://127.0.0.1:{port})" in str(
        err.value
    )
    assert "lab status" in str(err.value)


def test_a_non_json_answer_is_reported():
    session = requests.Session()

    class Html(Scripted):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
            resp = super().send(request, **kwargs)
            resp._content = b"<html>proxy error</html>"
            return resp

    session.mount("http://", Html(lambda *_: (200, None)))
    client = GiteaClient("http://gitea.test", session=session)
    with pytest.raises(ServiceError, match="GET /api/v1/version -> HTTP 200 with a body that is"):
        client.version()
