"""A Gitea stand-in: git smart HTTP plus the small part of Gitea's REST API the lab uses.

One threaded HTTP server on ``127.0.0.1`` (random port) serves:

- git over smart HTTP at ``/{owner}/{repo}.git`` through ``git http-backend`` (CGI).
  Pushing always needs HTTP basic auth, as in Gitea; reading needs it for private
  repositories. The password is the user's token (or password: the stand-in keeps one
  secret per user). Credentials are only ever read from the ``Authorization`` header.
- ``/api/v1``: the routes in :data:`ROUTES`, with Gitea's paths, status codes and JSON
  field names (checked against Gitea's OpenAPI spec by the unit tests). Every API call
  needs ``Authorization: token <t>`` (or ``Bearer``, or basic auth); 401 otherwise.
  Unknown routes answer 404 with a JSON ``message``.

State (pull requests, comments, commit statuses) lives in memory; repositories are bare
git repositories under ``root/repos/{owner}/{repo}.git``. A pull request's head and base
``sha`` are read from the repository on every read while it is open, so they follow
pushes; ``refs/pull/{n}/head`` is kept up to date like Gitea does. Merging makes a real
merge commit in the bare repository (``git merge-tree --write-tree`` + ``commit-tree``).

Every HTTP request is recorded in :attr:`LocalForge.requests` (method, path, user,
status) so tests can assert that no secret ever travelled in a URL.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from lab.errors import ConfigError, ServiceError

Json = dict[str, Any]
API_PREFIX = "/api/v1"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_GIT_PATH = re.compile(
    r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?"
    r"/(?P<rest>info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.+)$"
)
STATUS_STATES = ("pending", "success", "error", "failure", "warning", "skipped")
GIT_TIMEOUT = 300.0


@dataclass(frozen=True)
class ForgeRequest:
    """One HTTP request the forge served. ``path`` is the request target as received
    (path and query string); ``url`` the same as a full URL."""

    method: str
    path: str
    user: str | None
    status: int
    url: str


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Repo:
    id: int
    owner: str
    name: str
    path: Path
    default_branch: str
    private: bool
    created_at: str


@dataclass
class _Pull:
    id: int
    number: int
    title: str
    body: str
    head: str
    base: str
    user: str
    created_at: str
    updated_at: str
    head_sha: str = ""
    base_sha: str = ""
    state: str = "open"
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    closed_at: str | None = None


@dataclass
class _Comment:
    id: int
    number: int
    body: str
    user: str
    created_at: str
    updated_at: str


@dataclass
class _Status:
    id: int
    sha: str
    state: str
    context: str
    description: str
    target_url: str
    creator: str
    created_at: str


@dataclass
class _RepoState:
    repo: _Repo
    pulls: dict[int, _Pull] = field(default_factory=dict)
    comments: dict[int, _Comment] = field(default_factory=dict)
    statuses: list[_Status] = field(default_factory=list)
    next_index: int = 1


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_name(kind: str, value: str) -> str:
    if not _NAME.match(value) or value.endswith(".git") or ".." in value:
        raise ApiError(404, f"{kind} {value!r} is not a valid name")
    return value


# ---- git helpers -----------------------------------------------------------------------


def _git_env() -> dict[str, str]:
    """A clean environment for git: nothing of the caller's GIT_* leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="local forge",
        GIT_AUTHOR_EMAIL="forge@localforge.invalid",
        GIT_COMMITTER_NAME="local forge",
        GIT_COMMITTER_EMAIL="forge@localforge.invalid",
    )
    return env


def _git(
    repo: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        env=dict(env) if env is not None else _git_env(),
        check=False,
    )
    if check and proc.returncode != 0:
        raise ServiceError(
            f"local forge: git {' '.join(args)} failed in {repo}: {proc.stderr.strip()[-500:]}"
        )
    return proc


def _rev(repo: Path, ref: str) -> str | None:
    proc = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


# ---- the HTTP layer --------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for git; every answer has a Content-Length
    timeout = 60  # idle keep-alive connections close, so stop() never waits on them
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the forge keeps its own request log

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        self.server.forge._serve(self, self._read_body())

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    forge: LocalForge


# ---- routes ----------------------------------------------------------------------------

#: (method, path under /api/v1 in Gitea's OpenAPI spelling, handler name)
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/user", "_api_user"),
    ("GET", "/repos/{owner}/{repo}", "_api_repo"),
    ("GET", "/repos/{owner}/{repo}/issues/{index}/comments", "_api_list_comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{index}/comments", "_api_create_comment"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}", "_api_edit_comment"),
    ("GET", "/repos/{owner}/{repo}/statuses/{sha}", "_api_list_statuses"),
    ("POST", "/repos/{owner}/{repo}/statuses/{sha}", "_api_create_status"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses", "_api_list_statuses"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/status", "_api_combined_status"),
    ("GET", "/repos/{owner}/{repo}/pulls", "_api_list_pulls"),
    ("POST", "/repos/{owner}/{repo}/pulls", "_api_create_pull"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}", "_api_get_pull"),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{index}", "_api_edit_pull"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}/merge", "_api_is_merged"),
    ("POST", "/repos/{owner}/{repo}/pulls/{index}/merge", "_api_merge_pull"),
    ("DELETE", "/repos/{owner}/{repo}/branches/{branch}", "_api_delete_branch"),
]


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


_COMPILED = [(method, _compile(t), name) for method, t, name in ROUTES]


class LocalForge:
    """The forge: a context manager; the server runs from construction until stop()."""

    def __init__(self, root: Path, users: Mapping[str, str]) -> None:
        self.root = Path(root)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self.users = dict(users)
        self.requests: list[ForgeRequest] = []
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], _RepoState] = {}
        self._ids: dict[str, int] = {}  # user/owner login -> id
        self._next_id = 1
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.forge = self
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"local-forge-{self.port}",
            daemon=True,
        )
        self._thread.start()

    # ---- lifecycle ------------------------------------------------------------
    def __enter__(self) -> LocalForge:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        thread.join(timeout=10)

    # ---- ids --------------------------------------------------------------------
    def _new_id(self) -> int:
        with self._lock:
            value = self._next_id
            self._next_id += 1
            return value

    def _user_id(self, login: str) -> int:
        with self._lock:
            if login not in self._ids:
                self._ids[login] = len(self._ids) + 1
            return self._ids[login]

    @property
    def _actor(self) -> str:
        """Who the Python methods act as: the first user given (or ``forge-admin``)."""
        return next(iter(self.users), "forge-admin")

    # ---- repositories -----------------------------------------------------------
    def repo_path(self, owner: str, name: str) -> Path:
        return self.root / "repos" / owner / f"{name}.git"

    def create_repo(
        self, owner: str, name: str, default_branch: str = "main", *, private: bool = False
    ) -> Path:
        """Create the bare repository ``owner/name`` (idempotent); return its path."""
        for kind, value in (("owner", owner), ("repository", name)):
            if not _NAME.match(value) or value.endswith(".git"):
                raise ConfigError(f"local forge: {kind} name {value!r} is not valid")
        with self._lock:
            key = (owner, name)
            if key in self._repos:
                return self._repos[key].repo.path
            path = self.repo_path(owner, name)
            if not (path / "HEAD").is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                proc = subprocess.run(
                    ["git", "init", "--bare", "--quiet", "-b", default_branch, str(path)],
                    capture_output=True,
                    text=True,
                    timeout=GIT_TIMEOUT,
                    env=_git_env(),
                    check=False,
                )
                if proc.returncode != 0:
                    raise ServiceError(f"local forge: git init {path} failed: {proc.stderr}")
                # Access is decided by the forge's auth, not by http-backend's defaults.
                _git(path, "config", "http.receivepack", "true")
                _git(path, "config", "receive.denyNonFastForwards", "false")
            self._repos[key] = _RepoState(
                _Repo(self._new_id(), owner, name, path, default_branch, private, _now())
            )
            self._user_id(owner)
            return path

    def clone_url(self, owner: str, name: str) -> str:
        """The repository's HTTP URL (never with credentials in it)."""
        return f"{self.url}/{owner}/{name}.git"

    def _state(self, owner: str, name: str) -> _RepoState:
        state = self._repos.get((owner, name))
        if state is None:
            raise ApiError(404, f"repository {owner}/{name} does not exist")
        return state

    # ---- Python API (acts as the first user; same JSON as the REST API) ---------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        split = urlsplit(path)
        status, payload = self._dispatch(
            method, split.path, parse_qs(split.query), body, self._actor
        )
        if status >= 400:
            raise ServiceError(
                f"local forge: {method} {path} answered {status}: {payload.get('message')}"
            )
        return payload

    def open_pr(self, owner: str, name: str, *, head: str, base: str, title: str) -> int:
        pr = self._call(
            "POST", f"/repos/{owner}/{name}/pulls", {"head": head, "base": base, "title": title}
        )
        return int(pr["number"])

    def get_pr(self, owner: str, name: str, number: int) -> Json:
        return dict(self._call("GET", f"/repos/{owner}/{name}/pulls/{number}"))

    def list_prs(self, owner: str, name: str, state: str = "open") -> list[Json]:
        return list(self._call("GET", f"/repos/{owner}/{name}/pulls?state={state}"))

    def merge_pr(self, owner: str, name: str, number: int, *, delete_branch: bool = False) -> str:
        """Merge with a merge commit (Gitea's ``merge`` style); return the merge commit sha."""
        self._call(
            "POST",
            f"/repos/{owner}/{name}/pulls/{number}/merge",
            {"do": "merge", "delete_branch_after_merge": delete_branch},
        )
        return str(self.get_pr(owner, name, number)["merge_commit_sha"])

    def close_pr(self, owner: str, name: str, number: int) -> Json:
        return dict(
            self._call("PATCH", f"/repos/{owner}/{name}/pulls/{number}", {"state": "closed"})
        )

    def comments(self, owner: str, name: str, number: int) -> list[Json]:
        return list(self._call("GET", f"/repos/{owner}/{name}/issues/{number}/comments"))

    def statuses(self, owner: str, name: str, sha: str) -> list[Json]:
        """Statuses of ``sha``, OLDEST first (the REST list is newest first, like Gitea).

        Each also carries ``state`` (= Gitea's ``status``) for callers that use
        GitHub's/the create-option's name; the REST API answers Gitea's fields only.
        """
        items = self._call("GET", f"/repos/{owner}/{name}/statuses/{sha}?sort=oldest")
        return [{**s, "state": s["status"]} for s in items]

    def delete_branch(self, owner: str, name: str, branch: str) -> None:
        self._call("DELETE", f"/repos/{owner}/{name}/branches/{quote(branch, safe='')}")

    # ---- HTTP entry ----------------------------------------------------------------
    def _authenticate(self, header: str) -> tuple[bool, str | None]:
        """(header present, user or None when the credentials are wrong)."""
        if not header:
            return False, None
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme in ("token", "bearer"):
            return True, self._user_for_token(value)
        if scheme == "basic":
            try:
                user, _, secret = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return True, None
            expected = self.users.get(user)
            if expected is not None and hmac.compare_digest(expected, secret):
                return True, user
            # Gitea also accepts a token as the basic-auth user name.
            if secret in ("", "x-oauth-basic"):
                return True, self._user_for_token(user)
            return True, None
        return True, None

    def _user_for_token(self, token: str) -> str | None:
        for user, secret in self.users.items():
            if token and hmac.compare_digest(secret, token):
                return user
        return None

    def _serve(self, handler: _Handler, body: bytes) -> None:
        present, user = self._authenticate(handler.headers.get("Authorization", ""))
        split = urlsplit(handler.path)
        status = 500
        try:
            if split.path.startswith(API_PREFIX + "/") or split.path == API_PREFIX:
                status = self._serve_api(handler, split.path, split.query, body, present, user)
            elif _GIT_PATH.match(split.path):
                status = self._serve_git(handler, split.path, split.query, body, user)
            else:
                status = _send_json(handler, 404, {"message": "not found", "url": self.url})
        finally:
            with self._lock:
                self.requests.append(
                    ForgeRequest(
                        handler.command, handler.path, user, status, self.url + handler.path
                    )
                )

    def _serve_api(
        self,
        handler: _Handler,
        path: str,
        query: str,
        body: bytes,
        present: bool,
        user: str | None,
    ) -> int:
        if user is None:
            message = "invalid credentials" if present else "token is required"
            return _send_json(handler, 401, {"message": message, "url": self.url})
        data: Any = None
        if body:
            try:
                data = json.loads(body)
            except json.JSONDecodeError as exc:
                return _send_json(handler, 422, {"message": f"invalid JSON body: {exc}"})
        status, payload = self._dispatch(
            handler.command, path[len(API_PREFIX) :], parse_qs(query), data, user
        )
        return _send_json(handler, status, payload)

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], data: Any, user: str
    ) -> tuple[int, Any]:
        segments = [unquote(s) for s in path.split("/")]
        raw = "/".join(s.replace("/", "%2F") for s in segments)
        for route_method, pattern, name in _COMPILED:
            match = pattern.match(raw)
            if match and route_method == method:
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                try:
                    with self._lock:
                        return getattr(self, name)(params, query, data, user)
                except ApiError as exc:
                    return exc.status, {"message": exc.message, "url": self.url}
        return 404, {"message": f"no such API route: {method} {path}", "url": self.url}

    def _serve_git(
        self, handler: _Handler, path: str, query: str, body: bytes, user: str | None
    ) -> int:
        match = _GIT_PATH.match(path)
        assert match is not None
        owner, name, rest = match["owner"], match["repo"], match["rest"]
        state = self._repos.get((owner, name))
        if state is None:
            return _send_text(handler, 404, "Repository not found\n")
        push = rest == "git-receive-pack" or "service=git-receive-pack" in query
        if user is None and (push or state.repo.private):
            handler.send(
                401,
                b"Unauthorized\n",
                {"WWW-Authenticate": 'Basic realm="Gitea"', "Content-Type": "text/plain"},
            )
            return 401
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(self.root / "repos"),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "PATH_INFO": f"/{owner}/{name}.git/{rest}",
            "REQUEST_METHOD": handler.command,
            "QUERY_STRING": query,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": handler.client_address[0],
            "REMOTE_USER": user or "",
        }
        if handler.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = handler.headers["Content-Encoding"]
        if handler.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = handler.headers["Git-Protocol"]
        proc = subprocess.run(
            ["git", "http-backend"],
            input=body,
            capture_output=True,
            env=env,
            timeout=GIT_TIMEOUT,
            check=False,
        )
        head, sep, out = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, out = proc.stdout.partition(b"\n\n")
        if not sep:
            return _send_text(handler, 500, f"git http-backend failed: {proc.stderr!r}\n")
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split(" ", 1)[0])
            elif key:
                headers[key.strip()] = value.strip()
        handler.send(status, out, headers)
        return status

    # ---- JSON shapes (Gitea's field names) --------------------------------------------
    def _user_json(self, login: str) -> Json:
        return {
            "id": self._user_id(login),
            "login": login,
            "login_name": "",
            "full_name": login,
            "email": f"{login}@localforge.invalid",
            "avatar_url": "",
            "html_url": f"{self.url}/{login}",
            "is_admin": False,
            "active": True,
            "restricted": False,
            "prohibit_login": False,
            "visibility": "public",
            "created": "",
            "last_login": "",
            "language": "",
            "location": "",
            "website": "",
            "description": "",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
            "source_id": 0,
        }

    def _repo_json(self, state: _RepoState) -> Json:
        repo = state.repo
        return {
            "id": repo.id,
            "name": repo.name,
            "full_name": f"{repo.owner}/{repo.name}",
            "owner": self._user_json(repo.owner),
            "private": repo.private,
            "fork": False,
            "mirror": False,
            "archived": False,
            "empty": _rev(repo.path, "HEAD") is None,
            "default_branch": repo.default_branch,
            "html_url": f"{self.url}/{repo.owner}/{repo.name}",
            "url": f"{self.url}{API_PREFIX}/repos/{repo.owner}/{repo.name}",
            "clone_url": self.clone_url(repo.owner, repo.name),
            "ssh_url": "",
            "has_pull_requests": True,
            "allow_merge_commits": True,
            "open_pr_counter": sum(p.state == "open" for p in state.pulls.values()),
            "permissions": {"admin": True, "push": True, "pull": True},
            "created_at": repo.created_at,
            "updated_at": repo.created_at,
        }

    def _branch_info(self, state: _RepoState, ref: str, sha: str) -> Json:
        return {
            "label": ref,
            "ref": ref,
            "sha": sha,
            "repo_id": state.repo.id,
            "repo": self._repo_json(state),
        }

    def _refresh(self, state: _RepoState, pr: _Pull) -> None:
        """An open PR follows its branches; keep refs/pull/N/head where Gitea keeps it."""
        if pr.state != "open":
            return
        path = state.repo.path
        head = _rev(path, f"refs/heads/{pr.head}")
        base = _rev(path, f"refs/heads/{pr.base}")
        if head and head != pr.head_sha:
            _git(path, "update-ref", f"refs/pull/{pr.number}/head", head)
            pr.head_sha = head
        if base:
            pr.base_sha = base

    def _pull_json(self, state: _RepoState, pr: _Pull) -> Json:
        self._refresh(state, pr)
        repo = state.repo
        html = f"{self.url}/{repo.owner}/{repo.name}/pulls/{pr.number}"
        merge_base = ""
        if pr.head_sha and pr.base_sha:
            proc = _git(repo.path, "merge-base", pr.base_sha, pr.head_sha, check=False)
            merge_base = proc.stdout.strip()
        return {
            "id": pr.id,
            "number": pr.number,
            "url": html,
            "html_url": html,
            "diff_url": html + ".diff",
            "patch_url": html + ".patch",
            "title": pr.title,
            "body": pr.body,
            "state": pr.state,
            "draft": False,
            "is_locked": False,
            "user": self._user_json(pr.user),
            "labels": [],
            "milestone": None,
            "assignee": None,
            "assignees": [],
            "comments": sum(c.number == pr.number for c in state.comments.values()),
            "mergeable": pr.state == "open",
            "merged": pr.merged,
            "merged_at": pr.merged_at,
            "merged_by": self._user_json(pr.merged_by) if pr.merged_by else None,
            "merge_commit_sha": pr.merge_commit_sha,
            "merge_base": merge_base,
            "head": self._branch_info(state, pr.head, pr.head_sha),
            "base": self._branch_info(state, pr.base, pr.base_sha),
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
            "closed_at": pr.closed_at,
        }

    def _comment_json(self, state: _RepoState, c: _Comment) -> Json:
        base = f"{self.url}/{state.repo.owner}/{state.repo.name}"
        return {
            "id": c.id,
            "body": c.body,
            "user": self._user_json(c.user),
            "original_author": "",
            "original_author_id": 0,
            "assets": [],
            "html_url": f"{base}/pulls/{c.number}#issuecomment-{c.id}",
            "issue_url": f"{base}/issues/{c.number}",
            "pull_request_url": f"{base}/pulls/{c.number}",
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }

    def _status_json(self, state: _RepoState, s: _Status) -> Json:
        return {
            "id": s.id,
            "status": s.state,
            "context": s.context,
            "description": s.description,
            "target_url": s.target_url,
            "url": f"{self.url}{API_PREFIX}/repos/{state.repo.owner}/{state.repo.name}"
            f"/statuses/{s.sha}",
            "creator": self._user_json(s.creator),
            "created_at": s.created_at,
            "updated_at": s.created_at,
        }

    # ---- route handlers ------------------------------------------------------------------
    def _pull(self, state: _RepoState, index: str) -> _Pull:
        pr = state.pulls.get(int(index)) if index.isdigit() else None
        if pr is None:
            raise ApiError(404, f"pull request {index} does not exist")
        return pr

    def _api_user(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        return 200, self._user_json(user)

    def _api_repo(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        return 200, self._repo_json(self._state(p["owner"], p["repo"]))

    def _api_list_comments(
        self, p: dict[str, str], q: Any, data: Any, user: str
    ) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        pr = self._pull(state, p["index"])
        found = [c for c in state.comments.values() if c.number == pr.number]
        return 200, [self._comment_json(state, c) for c in sorted(found, key=lambda c: c.id)]

    def _api_create_comment(
        self, p: dict[str, str], q: Any, data: Any, user: str
    ) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        pr = self._pull(state, p["index"])
        body = _field(data, "body", required=True)
        now = _now()
        comment = _Comment(self._new_id(), pr.number, body, user, now, now)
        state.comments[comment.id] = comment
        return 201, self._comment_json(state, comment)

    def _api_edit_comment(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        comment = state.comments.get(int(p["id"])) if p["id"].isdigit() else None
        if comment is None:
            raise ApiError(404, f"comment {p['id']} does not exist")
        if comment.user != user:
            raise ApiError(403, f"comment {comment.id} belongs to {comment.user}, not {user}")
        comment.body = _field(data, "body", required=True)
        comment.updated_at = _now()
        return 200, self._comment_json(state, comment)

    def _statuses_for(self, state: _RepoState, sha: str, sort: str) -> list[_Status]:
        found = [s for s in state.statuses if s.sha == sha]
        return sorted(found, key=lambda s: s.id, reverse=sort != "oldest")

    def _resolve(self, state: _RepoState, ref: str) -> str:
        for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
            sha = _rev(state.repo.path, candidate)
            if sha:
                return sha
        raise ApiError(404, f"commit or ref {ref!r} not found in {state.repo.name}")

    def _api_list_statuses(
        self, p: dict[str, str], q: Any, data: Any, user: str
    ) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        sha = self._resolve(state, p.get("sha") or p["ref"])
        sort = (q.get("sort") or [""])[0]
        return 200, [self._status_json(state, s) for s in self._statuses_for(state, sha, sort)]

    def _api_create_status(
        self, p: dict[str, str], q: Any, data: Any, user: str
    ) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        sha = self._resolve(state, p["sha"])
        value = _field(data, "state", required=True)
        if value not in STATUS_STATES:
            raise ApiError(400, f"state must be one of {', '.join(STATUS_STATES)}, got {value!r}")
        status = _Status(
            self._new_id(),
            sha,
            value,
            _field(data, "context") or "default",
            _field(data, "description"),
            _field(data, "target_url"),
            user,
            _now(),
        )
        state.statuses.append(status)
        return 201, self._status_json(state, status)

    def _api_combined_status(
        self, p: dict[str, str], q: Any, data: Any, user: str
    ) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        sha = self._resolve(state, p["ref"])
        latest: dict[str, _Status] = {}
        for s in self._statuses_for(state, sha, "oldest"):
            latest[s.context] = s
        states = {s.state for s in latest.values()}
        combined = next(
            (v for v in ("error", "failure", "pending", "warning", "success") if v in states),
            "",
        )
        api = f"{self.url}{API_PREFIX}/repos/{state.repo.owner}/{state.repo.name}"
        return 200, {
            "state": combined,
            "sha": sha,
            "total_count": len(latest),
            "statuses": [self._status_json(state, s) for s in latest.values()],
            "repository": self._repo_json(state),
            "commit_url": f"{api}/git/commits/{sha}",
            "url": f"{api}/commits/{sha}/status",
        }

    def _api_list_pulls(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        wanted = (q.get("state") or ["open"])[0]
        if wanted not in ("open", "closed", "all"):
            raise ApiError(422, f"state must be open, closed or all, got {wanted!r}")
        pulls = [pr for pr in state.pulls.values() if wanted in ("all", pr.state)]
        return 200, [self._pull_json(state, pr) for pr in sorted(pulls, key=lambda r: -r.number)]

    def _api_create_pull(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        head = _field(data, "head", required=True)
        base = _field(data, "base") or state.repo.default_branch
        title = _field(data, "title", required=True)
        if head == base:
            raise ApiError(422, "head and base are the same branch")
        for ref in (head, base):
            if _rev(state.repo.path, f"refs/heads/{ref}") is None:
                raise ApiError(404, f"branch {ref!r} does not exist in {state.repo.name}")
        for pr in state.pulls.values():
            if pr.state == "open" and (pr.head, pr.base) == (head, base):
                raise ApiError(
                    409,
                    f"pull request already exists for these targets [id: {pr.id}, "
                    f"issue_id: {pr.number}, head_branch: {head}, base_branch: {base}]",
                )
        now = _now()
        pr = _Pull(
            self._new_id(),
            state.next_index,
            title,
            _field(data, "body"),
            head,
            base,
            user,
            now,
            now,
        )
        state.next_index += 1
        state.pulls[pr.number] = pr
        return 201, self._pull_json(state, pr)

    def _api_get_pull(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        return 200, self._pull_json(state, self._pull(state, p["index"]))

    def _api_edit_pull(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        pr = self._pull(state, p["index"])
        wanted = _field(data, "state")
        if wanted and wanted not in ("open", "closed"):
            raise ApiError(422, f"state must be open or closed, got {wanted!r}")
        if wanted == "open" and pr.merged:
            raise ApiError(409, f"pull request {pr.number} is merged and cannot be reopened")
        self._refresh(state, pr)
        if wanted and wanted != pr.state:
            pr.state = wanted
            pr.closed_at = _now() if wanted == "closed" else None
        for key in ("title", "body"):
            if isinstance(data, dict) and data.get(key) is not None:
                setattr(pr, key, str(data[key]))
        pr.updated_at = _now()
        return 201, self._pull_json(state, pr)  # Gitea answers 201 here (see the spec)

    def _api_is_merged(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        if self._pull(state, p["index"]).merged:
            return 204, None
        return 404, {"message": "pull request has not been merged", "url": self.url}

    def _api_merge_pull(self, p: dict[str, str], q: Any, data: Any, user: str) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        pr = self._pull(state, p["index"])
        # Gitea 1.25 documents the field as "Do", 1.27 as "do": accept both.
        style = _field(data, "do") or _field(data, "Do")
        if style != "merge":
            raise ApiError(405, f"merge style {style!r} is not supported here (only 'merge')")
        if pr.merged:
            raise ApiError(405, f"pull request {pr.number} is already merged")
        if pr.state != "open":
            raise ApiError(405, f"pull request {pr.number} is closed")
        self._refresh(state, pr)
        path = state.repo.path
        head, base = pr.head_sha, pr.base_sha
        if not head or not base:
            raise ApiError(404, f"branch {pr.head} or {pr.base} no longer exists")
        tree = _git(path, "merge-tree", "--write-tree", base, head, check=False)
        if tree.returncode != 0:
            raise ApiError(409, f"merge conflict between {pr.head} and {pr.base}")
        title = (
            _field(data, "merge_title_field")
            or f"Merge pull request '{pr.title}' (#{pr.number}) from {pr.head} into {pr.base}"
        )
        message = _field(data, "merge_message_field")
        env = {
            **_git_env(),
            "GIT_AUTHOR_NAME": user,
            "GIT_AUTHOR_EMAIL": f"{user}@localforge.invalid",
            "GIT_COMMITTER_NAME": user,
            "GIT_COMMITTER_EMAIL": f"{user}@localforge.invalid",
        }
        args = ["commit-tree", tree.stdout.split()[0], "-p", base, "-p", head, "-m", title]
        if message:
            args += ["-m", message]
        merge = _git(path, *args, env=env).stdout.strip()
        # Compare-and-swap: refuse if the base moved since we read it.
        moved = _git(path, "update-ref", f"refs/heads/{pr.base}", merge, base, check=False)
        if moved.returncode != 0:
            raise ApiError(409, f"branch {pr.base} moved during the merge; try again")
        now = _now()
        pr.state, pr.merged, pr.merged_at, pr.merged_by = "closed", True, now, user
        pr.merge_commit_sha, pr.closed_at, pr.updated_at, pr.base_sha = merge, now, now, merge
        if isinstance(data, dict) and data.get("delete_branch_after_merge"):
            _git(path, "update-ref", "-d", f"refs/heads/{pr.head}", check=False)
        return 200, None

    def _api_delete_branch(
        self, p: dict[str, str], q: Any, data: Any, user: str
    ) -> tuple[int, Any]:
        state = self._state(p["owner"], p["repo"])
        branch = p["branch"]
        if branch == state.repo.default_branch:
            raise ApiError(403, f"branch {branch} is the default branch and cannot be deleted")
        sha = _rev(state.repo.path, f"refs/heads/{branch}")
        if sha is None:
            raise ApiError(404, f"branch {branch!r} does not exist")
        for pr in state.pulls.values():
            self._refresh(state, pr)  # open PRs keep the last sha they had
        _git(state.repo.path, "update-ref", "-d", f"refs/heads/{branch}", sha)
        return 204, None


def _field(data: Any, name: str, *, required: bool = False) -> str:
    value = data.get(name) if isinstance(data, dict) else None
    if value is None or value == "":
        if required:
            raise ApiError(422, f"field {name!r} is required")
        return ""
    return str(value)


def _send_json(handler: _Handler, status: int, payload: Any) -> int:
    if status == 204 or payload is None:
        handler.send(status, b"", {})
        return status
    body = json.dumps(payload).encode()
    handler.send(status, body, {"Content-Type": "application/json;charset=utf-8"})
    return status


def _send_text(handler: _Handler, status: int, text: str) -> int:
    handler.send(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})
    return status


__all__ = ["API_PREFIX", "ROUTES", "ForgeRequest", "LocalForge"]
