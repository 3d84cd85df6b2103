"""The local forge: git over smart HTTP with real git, and the Gitea REST subset over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from lab.errors import ServiceError
from lab.gitcreds import git_credential_env
from lab.localforge import LocalForge
from lab.localforge.forge import API_PREFIX, ROUTES

# Facts of Gitea's OpenAPI (1.25.3 and 1.27.1), derived by scripts/derive_gitea_api_fixture.py.
GITEA_API = Path(__file__).resolve().parent / "fixtures" / "gitea_api_subset.json"
OWNER = "org"
BOT, DEV = "bot", "dev"


@pytest.fixture
def tokens() -> dict[str, str]:
    return {BOT: uuid.uuid4().hex, DEV: uuid.uuid4().hex}


@pytest.fixture
def forge(tmp_path: Path, tokens: dict[str, str]) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", users=tokens) as f:
        yield f


def git(cwd: Path, *args: str, env: dict[str, str] | None = None, ok: bool = True) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    if ok:
        assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout.strip() if ok else proc.stdout + proc.stderr


def authed(user: str, token: str) -> dict[str, str]:
    return git_credential_env(os.environ, (user, token))


def no_auth() -> dict[str, str]:
    return git_credential_env(os.environ, None)


def commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"edit {name}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo_with_main(forge: LocalForge, tmp_path: Path, tokens: dict[str, str]) -> Path:
    """A working copy whose `main` is pushed to org/demo; returns the working copy."""
    forge.create_repo(OWNER, "demo")
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit(work, "README.md", "hello\n")
    git(work, "remote", "add", "origin", forge.clone_url(OWNER, "demo"))
    git(work, "push", "-q", "origin", "main", env=authed(DEV, tokens[DEV]))
    return work


def api(forge: LocalForge, method: str, path: str, token: str | None, **kw: Any):
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(
        method, forge.url + API_PREFIX + path, headers=headers, timeout=10, **kw
    )


# ---- git over HTTP -------------------------------------------------------------------


def test_push_needs_the_token_and_lands_in_the_bare_repo(
    forge: LocalForge, tmp_path: Path, tokens: dict[str, str]
):
    bare = forge.create_repo(OWNER, "demo")
    assert forge.create_repo(OWNER, "demo") == bare  # idempotent
    work = tmp_path / "w"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    sha = commit(work, "a.txt", "a\n")
    url = forge.clone_url(OWNER, "demo")
    assert url == f"{forge.url}/{OWNER}/demo.git" and "@" not in url

    refused = git(work, "push", url, "main", env=no_auth(), ok=False)
    assert "could not read Username" in refused or "401" in refused or "Authentication" in refused
    wrong = git(work, "push", url, "main", env=authed(DEV, "not-the-token"), ok=False)
    assert "Authentication failed" in wrong
    assert git(bare, "for-each-ref", "refs/heads") == ""

    git(work, "push", "-q", url, "main", env=authed(DEV, tokens[DEV]))
    assert git(bare, "rev-parse", "refs/heads/main") == sha

    # a pack bigger than git's 1 MiB post buffer is sent with chunked transfer encoding
    (work / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    git(work, "add", "big.bin")
    git(work, "commit", "-q", "-m", "big")
    git(work, "push", "-q", url, "main", env=authed(DEV, tokens[DEV]))
    assert git(bare, "rev-parse", "refs/heads/main") == git(work, "rev-parse", "HEAD")
    pushes = [r for r in forge.requests if r.method == "POST" and "receive-pack" in r.path]
    assert pushes and {r.user for r in pushes} == {DEV}


def test_token_never_appears_in_urls_git_config_or_the_request_log(
    forge: LocalForge, repo_with_main: Path, tmp_path: Path, tokens: dict[str, str]
):
    clone = tmp_path / "clone"
    git(
        tmp_path,
        "clone",
        "-q",
        forge.clone_url(OWNER, "demo"),
        str(clone),
        env=authed(BOT, tokens[BOT]),
    )
    commit(clone, "b.txt", "b\n")
    git(clone, "push", "-q", "origin", "main", env=authed(BOT, tokens[BOT]))
    api(forge, "GET", "/user", tokens[BOT])
    for checkout in (clone, repo_with_main):
        assert tokens[BOT] not in (checkout / ".git" / "config").read_text()
        assert not re.search(r"://[^/\s]*@", git(checkout, "remote", "-v"))
    assert forge.requests
    for req in forge.requests:
        for token in tokens.values():
            assert token not in req.path and token not in req.url


def test_private_repos_need_auth_to_read_public_ones_do_not(
    forge: LocalForge, tmp_path: Path, tokens: dict[str, str]
):
    forge.create_repo(OWNER, "secret", private=True)
    forge.create_repo(OWNER, "open")
    for name in ("secret", "open"):
        url = forge.clone_url(OWNER, name)
        # an empty repository clones fine; what matters is whether auth was demanded
        out = git(tmp_path, "ls-remote", url, env=no_auth(), ok=False)
        if name == "secret":
            assert "could not read Username" in out
        else:
            assert "fatal" not in out
        assert "fatal" not in git(
            tmp_path, "ls-remote", url, env=authed(BOT, tokens[BOT]), ok=False
        )


# ---- REST --------------------------------------------------------------------------------


def test_api_requires_a_valid_token_and_answers_unknown_routes_with_json_404(
    forge: LocalForge, repo_with_main: Path, tokens: dict[str, str]
):
    assert api(forge, "GET", "/user", None).status_code == 401
    assert api(forge, "GET", "/user", "wrong-token").status_code == 401
    me = api(forge, "GET", "/user", tokens[BOT])
    assert me.status_code == 200 and me.json()["login"] == BOT
    basic = requests.get(forge.url + API_PREFIX + "/user", auth=(DEV, tokens[DEV]), timeout=10)
    assert basic.json()["login"] == DEV
    bearer = requests.get(
        forge.url + API_PREFIX + "/user",
        headers={"Authorization": f"Bearer {tokens[DEV]}"},
        timeout=10,
    )
    assert bearer.json()["login"] == DEV

    repo = api(forge, "GET", f"/repos/{OWNER}/demo", tokens[BOT]).json()
    assert repo["full_name"] == f"{OWNER}/demo" and repo["default_branch"] == "main"
    assert repo["clone_url"] == forge.clone_url(OWNER, "demo") and repo["empty"] is False
    assert api(forge, "GET", f"/repos/{OWNER}/nope", tokens[BOT]).status_code == 404
    missing = api(forge, "GET", "/repos/org/demo/wikis", tokens[BOT])
    assert missing.status_code == 404 and "message" in missing.json()


def test_pull_request_round_trip_follows_pushes_and_merges_for_real(
    forge: LocalForge, repo_with_main: Path, tokens: dict[str, str]
):
    work, dev = repo_with_main, authed(DEV, tokens[DEV])
    git(work, "checkout", "-q", "-b", "feature")
    first = commit(work, "f.txt", "1\n")
    git(work, "push", "-q", "origin", "feature", env=dev)

    created = api(
        forge,
        "POST",
        f"/repos/{OWNER}/demo/pulls",
        tokens[DEV],
        json={"head": "feature", "base": "main", "title": "Feature", "body": "why"},
    )
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    dup = api(
        forge, "POST", f"/repos/{OWNER}/demo/pulls", tokens[DEV],
        json={"head": "feature", "base": "main", "title": "again"},
    )  # fmt: skip
    assert dup.status_code == 409
    nobranch = api(
        forge, "POST", f"/repos/{OWNER}/demo/pulls", tokens[DEV],
        json={"head": "ghost", "base": "main", "title": "x"},
    )  # fmt: skip
    assert nobranch.status_code == 404

    pr = api(forge, "GET", f"/repos/{OWNER}/demo/pulls/{number}", tokens[BOT]).json()
    assert (pr["state"], pr["merged"], pr["user"]["login"]) == ("open", False, DEV)
    assert (pr["head"]["ref"], pr["head"]["sha"]) == ("feature", first)
    assert pr["base"]["ref"] == "main"

    second = commit(work, "f.txt", "2\n")
    git(work, "push", "-q", "origin", "feature", env=dev)
    assert forge.get_pr(OWNER, "demo", number)["head"]["sha"] == second
    bare = forge.repo_path(OWNER, "demo")
    assert git(bare, "rev-parse", f"refs/pull/{number}/head") == second
    listed = api(forge, "GET", f"/repos/{OWNER}/demo/pulls?state=open", tokens[BOT]).json()
    assert [p["number"] for p in listed] == [number]

    main_before = git(bare, "rev-parse", "refs/heads/main")
    merged = api(
        forge,
        "POST",
        f"/repos/{OWNER}/demo/pulls/{number}/merge",
        tokens[BOT],
        json={"Do": "merge"},
    )
    assert merged.status_code == 200, merged.text
    merge_sha = git(bare, "rev-parse", "refs/heads/main")
    assert git(bare, "rev-list", "--parents", "-n", "1", merge_sha).split()[1:] == [
        main_before,
        second,
    ]
    pr = forge.get_pr(OWNER, "demo", number)
    assert (pr["state"], pr["merged"], pr["merge_commit_sha"]) == ("closed", True, merge_sha)
    assert pr["merged_by"]["login"] == BOT
    assert (
        api(forge, "GET", f"/repos/{OWNER}/demo/pulls/{number}/merge", tokens[BOT]).status_code
        == 204
    )
    again = api(
        forge,
        "POST",
        f"/repos/{OWNER}/demo/pulls/{number}/merge",
        tokens[BOT],
        json={"do": "merge"},
    )
    assert again.status_code == 405
    assert api(forge, "GET", f"/repos/{OWNER}/demo/pulls", tokens[BOT]).json() == []


def test_python_helpers_open_close_merge_and_delete_branches(
    forge: LocalForge, repo_with_main: Path, tokens: dict[str, str]
):
    work, dev = repo_with_main, authed(DEV, tokens[DEV])
    for branch in ("one", "two"):
        git(work, "checkout", "-q", "-B", branch, "main")
        commit(work, f"{branch}.txt", branch)
        git(work, "push", "-q", "origin", branch, env=dev)
    one = forge.open_pr(OWNER, "demo", head="one", base="main", title="One")
    two = forge.open_pr(OWNER, "demo", head="two", base="main", title="Two")
    assert two == one + 1
    closed = forge.close_pr(OWNER, "demo", two)
    assert (closed["state"], closed["merged"]) == ("closed", False)
    sha = forge.merge_pr(OWNER, "demo", one)
    assert git(forge.repo_path(OWNER, "demo"), "rev-parse", "main") == sha
    with pytest.raises(ServiceError, match="405"):
        forge.merge_pr(OWNER, "demo", two)  # closed PRs do not merge

    forge.delete_branch(OWNER, "demo", "two")
    heads = git(work, "ls-remote", "--heads", "origin", env=dev)
    assert "refs/heads/two" not in heads and "refs/heads/one" in heads
    with pytest.raises(ServiceError, match="404"):
        forge.delete_branch(OWNER, "demo", "two")
    with pytest.raises(ServiceError, match="403"):
        forge.delete_branch(OWNER, "demo", "main")


def test_comments_create_list_and_edit(
    forge: LocalForge, repo_with_main: Path, tokens: dict[str, str]
):
    work = repo_with_main
    git(work, "checkout", "-q", "-b", "c")
    commit(work, "c.txt", "c")
    git(work, "push", "-q", "origin", "c", env=authed(DEV, tokens[DEV]))
    number = forge.open_pr(OWNER, "demo", head="c", base="main", title="C")
    base = f"/repos/{OWNER}/demo/issues"

    made = api(forge, "POST", f"{base}/{number}/comments", tokens[BOT], json={"body": "first"})
    assert made.status_code == 201
    comment = made.json()
    assert comment["body"] == "first" and comment["user"]["login"] == BOT
    api(forge, "POST", f"{base}/{number}/comments", tokens[DEV], json={"body": "second"})
    edited = api(
        forge, "PATCH", f"{base}/comments/{comment['id']}", tokens[BOT], json={"body": "first, v2"}
    )
    assert edited.status_code == 200 and edited.json()["body"] == "first, v2"
    # only the author edits a comment
    other = api(forge, "PATCH", f"{base}/comments/{comment['id']}", tokens[DEV], json={"body": "x"})
    assert other.status_code == 403

    listed = api(forge, "GET", f"{base}/{number}/comments", tokens[DEV]).json()
    assert [(c["id"], c["body"]) for c in listed] == [
        (comment["id"], "first, v2"),
        (listed[1]["id"], "second"),
    ]
    assert forge.comments(OWNER, "demo", number) == listed
    assert api(forge, "GET", f"{base}/999/comments", tokens[DEV]).status_code == 404
    assert api(forge, "POST", f"{base}/{number}/comments", tokens[DEV], json={}).status_code == 422


def test_commit_statuses_by_sha_and_ref(
    forge: LocalForge, repo_with_main: Path, tokens: dict[str, str]
):
    sha = git(repo_with_main, "rev-parse", "HEAD")
    path = f"/repos/{OWNER}/demo/statuses/{sha}"
    for state, context in (
        ("pending", "ci/build"),
        ("success", "ci/build"),
        ("failure", "dvc/metrics"),
    ):
        made = api(
            forge, "POST", path, tokens[BOT],
            json={"state": state, "context": context, "description": f"{context} {state}"},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        assert made.json()["status"] == state and made.json()["creator"]["login"] == BOT
    bad = api(forge, "POST", path, tokens[BOT], json={"state": "great", "context": "x"})
    assert bad.status_code == 400
    unknown = api(
        forge,
        "POST",
        f"/repos/{OWNER}/demo/statuses/{'0' * 40}",
        tokens[BOT],
        json={"state": "success"},
    )
    assert unknown.status_code == 404

    newest_first = api(forge, "GET", path, tokens[BOT]).json()
    assert [s["status"] for s in newest_first] == ["failure", "success", "pending"]
    by_ref = api(forge, "GET", f"/repos/{OWNER}/demo/commits/main/statuses", tokens[BOT]).json()
    assert by_ref == newest_first
    combined = api(forge, "GET", f"/repos/{OWNER}/demo/commits/main/status", tokens[BOT]).json()
    assert combined["sha"] == sha and combined["state"] == "failure"
    assert combined["total_count"] == 2
    assert {s["context"]: s["status"] for s in combined["statuses"]} == {
        "ci/build": "success",
        "dvc/metrics": "failure",
    }
    oldest_first = forge.statuses(OWNER, "demo", sha)
    assert [(s["state"], s["status"]) for s in oldest_first] == [
        ("pending", "pending"),
        ("success", "success"),
        ("failure", "failure"),
    ]


# ---- contract with Gitea's OpenAPI spec ----------------------------------------------------


def _gitea_api() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(GITEA_API.read_text())
    return doc


def test_every_served_route_exists_in_gitea_openapi():
    doc = _gitea_api()
    assert doc["base_path"] == API_PREFIX
    declared = set(doc["all_operations"])
    for method, path, _ in ROUTES:
        assert f"{method} {path}" in declared, (
            f"{method} {path} is not in Gitea {doc['gitea_versions']}"
        )


def _check_fields(obj: Any, definition: str, fields: dict[str, Any], where: str) -> None:
    props = fields[definition]
    if props is None or not isinstance(obj, dict):
        return  # an enum or scalar type (e.g. StateType)
    extra = set(obj) - set(props)
    assert not extra, f"{where}: fields {sorted(extra)} are not in Gitea's {definition}"
    for key, nested in props.items():
        value = obj.get(key)
        if nested and value:
            for item in value if isinstance(value, list) else [value]:
                _check_fields(item, nested, fields, f"{where}.{key}")


def test_json_answers_use_only_gitea_field_names(
    forge: LocalForge, repo_with_main: Path, tokens: dict[str, str]
):
    fields = _gitea_api()["answer_fields"]
    work = repo_with_main
    git(work, "checkout", "-q", "-b", "shape")
    sha = commit(work, "s.txt", "s")
    git(work, "push", "-q", "origin", "shape", env=authed(DEV, tokens[DEV]))
    number = forge.open_pr(OWNER, "demo", head="shape", base="main", title="Shape")
    t = tokens[BOT]
    answers = {
        "User": api(forge, "GET", "/user", t).json(),
        "Repository": api(forge, "GET", f"/repos/{OWNER}/demo", t).json(),
        "PullRequest": api(forge, "GET", f"/repos/{OWNER}/demo/pulls/{number}", t).json(),
        "Comment": api(
            forge, "POST", f"/repos/{OWNER}/demo/issues/{number}/comments", t, json={"body": "b"}
        ).json(),
        "CommitStatus": api(
            forge, "POST", f"/repos/{OWNER}/demo/statuses/{sha}", t, json={"state": "success"}
        ).json(),
        "CombinedStatus": api(forge, "GET", f"/repos/{OWNER}/demo/commits/{sha}/status", t).json(),
    }
    for definition, obj in answers.items():
        _check_fields(obj, definition, fields, definition)
