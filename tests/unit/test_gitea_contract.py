"""Every request GiteaClient builds must be one Gitea's OpenAPI spec declares.

Requests are recorded by a transport adapter (no network) and checked against the facts
of Gitea's 1.25.3 and 1.27.1 specs that scripts/derive_gitea_api_fixture.py derives into
the repo (the specs themselves are not shipped: `make check-fixtures` re-derives the
fixture from them where they are, in the lab's workspace). The script is tested here on
specs built from the fixture, so a plain clone runs every test.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from lab.clients.gitea import GiteaClient

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / "tests" / "unit" / "fixtures" / "gitea_api_subset.json"
SCRIPT = REPO_ROOT / "scripts" / "derive_gitea_api_fixture.py"
TOKEN = "tok-0123456789abcdef0123456789abcdef"  # a fake, to check it never leaks


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    url: str
    headers: Mapping[str, str]


class Recorder(BaseAdapter):
    """Records each request and answers 200 with the next canned body."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self.reply: Any = {}

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
        assert kwargs.get("timeout"), "every request needs an explicit timeout"
        parts = urlsplit(request.url)
        body = json.loads(request.body) if request.body else None
        self.sent.append(
            Sent(
                request.method,
                parts.path,
                dict(parse_qsl(parts.query)),
                body,
                request.url,
                dict(request.headers),
            )
        )
        resp = requests.Response()
        resp.status_code = 200
        resp._content = json.dumps(self.reply).encode()
        resp.headers["Content-Type"] = "application/json"
        resp.request = request
        resp.url = request.url
        return resp

    def close(self) -> None:
        pass


# (call, canned reply). Together they exercise every method of the client.
CALLS: list[tuple[str, Callable[[GiteaClient], object], Any]] = [
    ("version", lambda c: c.version(), {"version": "1.27.1"}),
    ("current_user", lambda c: c.current_user(), {"login": "bot"}),
    ("authenticates", lambda c: c.authenticates(), {"login": "bot"}),
    ("get_user", lambda c: c.get_user("bot"), {}),
    (
        "admin_create_user",
        lambda c: c.admin_create_user("bot", password="pw", email="b@x", full_name="Bot"),
        {},
    ),
    ("admin_set_password", lambda c: c.admin_set_password("admin", "pw"), {}),
    ("list_tokens", lambda c: c.list_tokens("bot"), []),
    ("create_token", lambda c: c.create_token("bot", "lab", ["read:user"]), {}),
    ("delete_token", lambda c: c.delete_token("bot", "lab"), {}),
    ("get_org", lambda c: c.get_org("cd4ml"), {}),
    ("create_org", lambda c: c.create_org("cd4ml", description="lab"), {}),
    ("list_teams", lambda c: c.list_teams("cd4ml"), []),
    ("create_team", lambda c: c.create_team("cd4ml", "bots", description="d"), {}),
    ("edit_team", lambda c: c.edit_team(3, "bots"), {}),
    ("team_has_member", lambda c: c.team_has_member(3, "bot"), {}),
    ("add_team_member", lambda c: c.add_team_member(3, "bot"), {}),
    ("add_collaborator", lambda c: c.add_collaborator("cd4ml", "demo", "bot"), {}),
    ("get_repo", lambda c: c.get_repo("cd4ml", "demo"), {}),
    ("create_org_repo", lambda c: c.create_org_repo("cd4ml", "demo", description="d"), {}),
    ("list_org_repos", lambda c: c.list_org_repos("cd4ml"), []),
    ("job_repo_names", lambda c: c.job_repo_names("cd4ml"), []),
    ("delete_repo", lambda c: c.delete_repo("cd4ml", "demo"), {}),
    ("get_branch", lambda c: c.get_branch("cd4ml", "demo", "main"), {}),
    ("list_branches", lambda c: c.list_branches("cd4ml", "demo"), []),
    ("delete_branch", lambda c: c.delete_branch("cd4ml", "demo", "exp"), {}),
    ("list_hooks", lambda c: c.list_hooks("cd4ml", "demo"), []),
    ("create_hook", lambda c: c.create_hook("cd4ml", "demo"), {}),
    ("edit_hook", lambda c: c.edit_hook("cd4ml", "demo", 7), {}),
    ("delete_hook", lambda c: c.delete_hook("cd4ml", "demo", 7), {}),
    (
        "create_pull",
        lambda c: c.create_pull("cd4ml", "demo", head="exp", base="main", title="t"),
        {},
    ),
    ("get_pull", lambda c: c.get_pull("cd4ml", "demo", 1), {}),
    ("list_pulls", lambda c: c.list_pulls("cd4ml", "demo"), []),
    ("pull_files", lambda c: c.pull_files("cd4ml", "demo", 1), []),
    ("merge_pull", lambda c: c.merge_pull("cd4ml", "demo", 1), {}),
    ("close_pull", lambda c: c.close_pull("cd4ml", "demo", 1), {}),
    ("list_comments", lambda c: c.list_comments("cd4ml", "demo", 1), []),
    ("create_comment", lambda c: c.create_comment("cd4ml", "demo", 1, "hi"), {}),
    ("edit_comment", lambda c: c.edit_comment("cd4ml", "demo", 9, "hi"), {}),
    ("list_statuses", lambda c: c.list_statuses("cd4ml", "demo", "abc123"), []),
    (
        "create_status",
        lambda c: c.create_status(
            "cd4ml", "demo", "abc123", state="success", context="dvc/metrics", target_url="u"
        ),
        {},
    ),
    ("get_commit", lambda c: c.get_commit("cd4ml", "demo", "abc123"), {}),
    ("commit_files", lambda c: c.commit_files("cd4ml", "demo", "abc123"), {"files": []}),
    ("list_commits", lambda c: c.list_commits("cd4ml", "demo", "main"), []),
]


def record_all() -> list[tuple[str, Sent]]:
    out: list[tuple[str, Sent]] = []
    for name, call, reply in CALLS:
        session = requests.Session()
        recorder = Recorder()
        recorder.reply = reply
        session.mount("http://", recorder)
        client = GiteaClient("http://gitea.test:3000", token=TOKEN, session=session)
        call(client)
        assert recorder.sent, f"{name} sent no request"
        out.extend((name, sent) for sent in recorder.sent)
    return out


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def _match(operations: Mapping[str, Any], method: str, path: str) -> str | None:
    """The operation key for a concrete request; the most literal template wins."""
    candidates = [
        key
        for key in operations
        if key.split(" ", 1)[0] == method and _template_regex(key.split(" ", 1)[1]).match(path)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda k: len(re.sub(r"\{[^}]+\}", "", k)))


def contract_violations(operations: Mapping[str, Any], base_path: str) -> tuple[list[str], set]:
    problems: list[str] = []
    used: set[str] = set()
    for name, sent in record_all():
        where = f"{name}: {sent.method} {sent.path}"
        if TOKEN in sent.url or any(k in sent.query for k in ("token", "access_token")):
            problems.append(f"{where}: credentials in the URL")
        if sent.headers.get("Authorization") != f"token {TOKEN}":
            problems.append(f"{where}: no token Authorization header")
        if not sent.path.startswith(base_path + "/"):
            problems.append(f"{where}: not under {base_path}")
            continue
        key = _match(operations, sent.method, sent.path[len(base_path) :])
        if key is None:
            problems.append(f"{where}: no such operation in the spec")
            continue
        used.add(key)
        facts = operations[key]
        unknown_q = set(sent.query) - set(facts["query"])
        if unknown_q:
            problems.append(f"{where}: undeclared query params {sorted(unknown_q)}")
        body_spec = facts["body"]
        if body_spec is None:
            if sent.body is not None:
                problems.append(f"{where}: sends a body the operation does not take")
            continue
        if not isinstance(sent.body, dict):
            problems.append(f"{where}: expected a JSON object body, sent {sent.body!r}")
            continue
        fields = {k.lower(): v for k, v in sent.body.items()}  # Go's json: case-insensitive
        missing = set(body_spec["required"]) - set(fields)
        unknown = set(fields) - set(body_spec["allowed"])
        if missing:
            problems.append(f"{where}: missing required body fields {sorted(missing)}")
        if unknown:
            problems.append(f"{where}: unknown body fields {sorted(unknown)}")
        for field, allowed in body_spec["enums"].items():
            if field in fields and fields[field] not in allowed:
                problems.append(f"{where}: {field}={fields[field]!r} not in {allowed}")
        if "config" in sent.body and key.startswith("POST"):
            # CreateHookOptionConfig: "required are content_type and url".
            for field in ("content_type", "url"):
                if field not in sent.body["config"]:
                    problems.append(f"{where}: hook config lacks {field}")
    return problems, used


def _load_script():
    spec = importlib.util.spec_from_file_location("derive_gitea_api_fixture", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_request_matches_the_shipped_api_subset():
    doc = json.loads(FIXTURE.read_text())
    problems, used = contract_violations(doc["operations"], doc["base_path"])
    assert problems == []
    # Both ways: the fixture lists no operation the client does not call.
    assert used == set(doc["operations"])


def test_contract_check_catches_a_bad_request():
    doc = json.loads(FIXTURE.read_text())
    ops = json.loads(json.dumps(doc["operations"]))
    ops["POST /orgs/{org}/repos"]["body"]["allowed"].remove("auto_init")
    ops["GET /orgs/{org}/repos"]["query"] = []
    del ops["PATCH /repos/{owner}/{repo}/hooks/{id}"]
    problems, _ = contract_violations(ops, doc["base_path"])
    joined = "\n".join(problems)
    assert "create_org_repo: POST /api/v1/orgs/cd4ml/repos: unknown body fields ['auto_init']" in (
        joined
    )
    assert "list_org_repos: GET /api/v1/orgs/cd4ml/repos: undeclared query params" in joined
    assert "edit_hook: PATCH /api/v1/repos/cd4ml/demo/hooks/7: no such operation" in joined


def spec_from_fixture(doc: Mapping[str, Any], version: str) -> dict[str, Any]:
    """A minimal swagger 2 spec declaring exactly the facts the fixture holds."""
    paths: dict[str, dict[str, Any]] = {}
    for key in doc["all_operations"]:
        method, path = key.split(" ", 1)
        paths.setdefault(path, {})[method.lower()] = {}
    for key, facts in doc["operations"].items():
        method, path = key.split(" ", 1)
        params: list[dict[str, Any]] = [{"in": "query", "name": q} for q in facts["query"]]
        if facts["body"] is not None:
            body = facts["body"]
            props = {
                f: {"enum": body["enums"][f]} if f in body["enums"] else {} for f in body["allowed"]
            }
            params.append(
                {"in": "body", "schema": {"properties": props, "required": body["required"]}}
            )
        paths[path][method.lower()] = {"parameters": params}
    definitions: dict[str, dict[str, Any]] = {}
    for name, fields in doc["answer_fields"].items():
        props = {
            f: {"$ref": f"#/definitions/{nested}"} if nested else {"type": "string"}
            for f, nested in (fields or {}).items()
        }
        definitions[name] = {"type": "object", "properties": props} if props else {"type": "string"}
    for name, fields in doc["read_fields"].items():
        definitions.setdefault(name, {"type": "object", "properties": {}})
        definitions[name].setdefault("properties", {}).update({f: {} for f in fields})
    return {
        "swagger": "2.0",
        "info": {"version": version},
        "basePath": doc["base_path"],
        "paths": paths,
        "definitions": definitions,
    }


def test_fixture_is_what_the_script_derives_from_its_facts():
    """The script's lists (operations, read fields, forge answers) and the fixture agree:
    an operation added to the script, or a hand edit it would not produce, fails here."""
    doc = json.loads(FIXTURE.read_text())
    script = _load_script()
    specs = {v: spec_from_fixture(doc, v) for v in doc["gitea_versions"]}
    assert script.render(script.derive(specs)) == FIXTURE.read_text()
    assert set(doc["operations"]) <= set(doc["all_operations"])
    assert set(script.FORGE_ANSWERS) <= set(doc["answer_fields"])


def test_derive_script_check_mode_flags_a_stale_fixture(tmp_path, capsys):
    script = _load_script()
    doc = json.loads(FIXTURE.read_text())
    args = []
    for version in doc["gitea_versions"]:
        spec = tmp_path / f"gitea-{version}.json"
        spec.write_text(json.dumps(spec_from_fixture(doc, version)))
        args += ["--spec", str(spec)]
    out = tmp_path / "subset.json"
    assert script.main([*args, "--out", str(out)]) == 0
    assert script.main([*args, "--out", str(out), "--check"]) == 0
    stale = json.loads(out.read_text())
    stale["operations"]["GET /version"]["query"] = ["sneaky"]
    out.write_text(json.dumps(stale))
    assert script.main([*args, "--out", str(out), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert script.main(["--spec", str(tmp_path / "nope.json"), "--out", str(out)]) == 2
    assert "nope.json" in capsys.readouterr().err


def _spec(paths: dict[str, Any], **definitions: Any) -> dict[str, Any]:
    """A tiny spec: the given definitions, each other forge answer an object with an id."""
    base = {name: {"properties": {"id": {}}} for name in _load_script().FORGE_ANSWERS}
    return {"paths": paths, "definitions": {**base, **definitions}}


def _pull(state: dict[str, str], head: str, field: str) -> dict[str, Any]:
    return {"properties": {"state": state, "head": {"$ref": f"#/definitions/{head}"}, field: {}}}


def test_derived_facts_are_what_holds_in_every_spec():
    script = _load_script()
    branch = {"properties": {"sha": {}}}
    specs = {
        "1": _spec(
            {"/a": {"get": {}, "post": {}, "parameters": []}},
            PullRequest=_pull({"$ref": "#/definitions/StateType"}, "Branch", "old"),
            StateType={"type": "string"},
            Branch={"properties": {"sha": {}, "x": {}}},
        ),
        "2": _spec(
            {"/a": {"get": {}}, "/b": {"get": {}}},
            PullRequest=_pull({"type": "string"}, "Branch", "new"),
            Branch=branch,
        ),
    }
    assert script.all_operations(specs) == ["GET /a"]
    fields = script.answer_fields(specs)
    # A scalar in one spec and inline in the other: no object to check. Fields in both only.
    assert fields["PullRequest"] == {"head": "Branch", "state": None}
    assert fields["Branch"] == {"sha": None}
    assert "StateType" not in fields

    specs["2"] = _spec({}, PullRequest=_pull({}, "Other", "new"), Branch=branch, Other=branch)
    with pytest.raises(SystemExit, match=r"PullRequest\.head is a different object in each spec"):
        script.answer_fields(specs)
    specs["2"] = _spec({}, PullRequest=_pull({}, "Branch", "new"), Branch=branch)
    del specs["2"]["definitions"]["Comment"]
    with pytest.raises(SystemExit, match="Gitea 2's spec has no definition Comment"):
        script.answer_fields(specs)
