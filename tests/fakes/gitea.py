"""An in-process fake of the Gitea REST calls the lab's bootstrap makes, with real git.

State lives in memory; repositories are bare git directories served through the
real `git http-backend` behind HTTP basic auth, so credential handling of pushes
is exercised for real. Used by the bootstrap and `lab project` tests.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PR_FAMILY = (
    "pull_request",
    "pull_request_assign",
    "pull_request_label",
    "pull_request_milestone",
    "pull_request_comment",
    "pull_request_review",
    "pull_request_review_request",
    "pull_request_sync",
)


class FakeGitea:
    """Just enough of Gitea for the bootstrap, state in memory, repos as bare git dirs."""

    def __init__(self, root: Path, admin: tuple[str, str]) -> None:
        self.root = root
        self.admin = admin
        self.users: dict[str, dict[str, Any]] = {admin[0]: {"password": admin[1], "admin": True}}
        self.tokens: dict[str, dict[str, Any]] = {}  # value -> {id, name, user, scopes}
        self.orgs: set[str] = set()
        self.teams: dict[int, dict[str, Any]] = {}
        self.repos: dict[str, dict[str, Any]] = {}
        self.hooks: dict[str, list[dict[str, Any]]] = {}
        self.log: list[tuple[str, str, str | None]] = []  # method, path+query, auth user
        self.next_id = 1
        self.lock = threading.Lock()

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.log if m != "GET" and ".git/" not in p]

    def auth(self, header: str | None) -> str | None:
        if not header:
            return None
        kind, _, value = header.partition(" ")
        if kind == "Basic":
            user, _, pw = base64.b64decode(value).decode().partition(":")
            found = self.users.get(user)
            return user if found and found["password"] == pw else None
        if kind == "token":
            token = self.tokens.get(value)
            return token["user"] if token else None
        return None

    # ---- REST ------------------------------------------------------------
    def api(self, method: str, path: str, user: str | None, body: Any) -> tuple[int, Any]:
        if user is None:
            return 401, {"message": "unauthorized"}
        m = re.fullmatch
        if method == "GET" and path == "/user":
            return 200, {"login": user}
        if r := m(r"/users/([^/]+)", path):
            found = r[1] in self.users
            return (200, {"login": r[1]}) if found else (404, {"message": "user does not exist"})
        if method == "POST" and path == "/admin/users":
            assert body["must_change_password"] is False
            self.users[body["username"]] = {"password": body["password"], "admin": False}
            return 201, {"login": body["username"]}
        if r := m(r"/users/([^/]+)/tokens", path):
            if method == "GET":
                return 200, [
                    {
                        "id": t["id"],
                        "name": t["name"],
                        "scopes": t["scopes"],
                        "token_last_eight": v[-8:],
                    }
                    for v, t in self.tokens.items()
                    if t["user"] == r[1]
                ]
            if any(t["name"] == body["name"] and t["user"] == r[1] for t in self.tokens.values()):
                return 400, {"message": "access token name has been used already"}
            value = f"{self.new_id():08d}" + "f" * 32
            self.tokens[value] = {
                "id": self.next_id,
                "name": body["name"],
                "user": r[1],
                "scopes": sorted(body["scopes"]),
            }
            return 201, {"id": self.next_id, "name": body["name"], "sha1": value}
        if (r := m(r"/users/([^/]+)/tokens/([^/]+)", path)) and method == "DELETE":
            for value, t in list(self.tokens.items()):
                if t["user"] == r[1] and r[2] in (t["name"], str(t["id"])):
                    del self.tokens[value]
                    return 204, None
            return 404, {"message": "no such token"}
        if r := m(r"/orgs/([^/]+)", path):
            return (200, {"username": r[1]}) if r[1] in self.orgs else (404, {"message": "nope"})
        if method == "POST" and path == "/orgs":
            self.orgs.add(body["username"])
            return 201, {"username": body["username"]}
        if r := m(r"/orgs/([^/]+)/teams", path):
            if method == "GET":
                return 200, [
                    {k: v for k, v in t.items() if k != "members"}
                    for t in self.teams.values()
                    if t["org"] == r[1]
                ]
            team = {"id": self.new_id(), "org": r[1], "members": set(), **body}
            self.teams[team["id"]] = team
            return 201, {k: v for k, v in team.items() if k != "members"}
        if (r := m(r"/teams/(\d+)", path)) and method == "PATCH":
            self.teams[int(r[1])].update(body)
            return 200, {}
        if r := m(r"/teams/(\d+)/members/([^/]+)", path):
            members = self.teams[int(r[1])]["members"]
            if method == "PUT":
                members.add(r[2])
                return 204, None
            return (200, {"login": r[2]}) if r[2] in members else (404, {"message": "nope"})
        if (r := m(r"/orgs/([^/]+)/repos", path)) and method == "POST":
            full = f"{r[1]}/{body['name']}"
            assert body["auto_init"] is False
            bare = self.root / f"{full}.git"
            subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
            self.repos[full] = {"name": body["name"], "bare": bare}
            self.hooks[full] = []
            return 201, {"full_name": full, "empty": True}
        if (r := m(r"/orgs/([^/]+)/repos", path)) and method == "GET":
            return 200, [
                {"name": repo["name"], "full_name": full, "archived": False}
                for full, repo in sorted(self.repos.items())
                if full.startswith(r[1] + "/")
            ]
        if r := m(r"/repos/([^/]+/[^/]+)", path):
            repo = self.repos.get(r[1])
            if repo is None:
                return 404, {"message": "repo does not exist"}
            if method == "DELETE":
                shutil.rmtree(repo["bare"])
                del self.repos[r[1]]
                self.hooks.pop(r[1], None)
                return 204, None
            empty = not list((repo["bare"] / "refs" / "heads").iterdir())
            return 200, {"full_name": r[1], "empty": empty}
        if r := m(r"/repos/([^/]+/[^/]+)/hooks", path):
            hooks = self.hooks[r[1]]
            if method == "GET":
                return 200, hooks
            hook = {"id": self.new_id(), "type": body["type"]}
            self._set_hook(hook, body)
            hooks.append(hook)
            return 201, hook
        if r := m(r"/repos/([^/]+/[^/]+)/hooks/(\d+)", path):
            hooks = self.hooks[r[1]]
            hook = next(h for h in hooks if h["id"] == int(r[2]))
            if method == "DELETE":
                hooks.remove(hook)
                return 204, None
            self._set_hook(hook, body)
            return 200, hook
        return 404, {"message": f"fake Gitea has no {method} {path}"}

    @staticmethod
    def _set_hook(hook: dict[str, Any], body: dict[str, Any]) -> None:
        events = set(body["events"])
        if "pull_request" in events:  # what Gitea does (routers/api/v1/utils/hook.go)
            events |= set(PR_FAMILY)
        hook.update(
            config={k: v for k, v in body["config"].items()},
            events=sorted(events),
            active=body["active"],
            branch_filter=body.get("branch_filter", ""),
        )

    # ---- git over smart HTTP ---------------------------------------------
    def git(self, handler: BaseHTTPRequestHandler, user: str | None, body: bytes) -> None:
        if user is None:
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="Gitea"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        url = urlsplit(handler.path)
        env = {
            "PATH": "/usr/bin:/bin",
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": user,
            "REQUEST_METHOD": handler.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=True
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value))
        handler.send_response(status)
        for key, value in headers:
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


def _handler(fake: FakeGitea) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            assert "chunked" not in self.headers.get("Transfer-Encoding", "")
            raw = self.rfile.read(length) if length else b""
            user = fake.auth(self.headers.get("Authorization"))
            with fake.lock:
                fake.log.append((self.command, self.path, user))
            url = urlsplit(self.path)
            if ".git/" in url.path:
                fake.git(self, user, raw)
                return
            assert url.path.startswith("/api/v1/"), url.path
            query = dict(parse_qsl(url.query))
            if int(query.get("page", "1")) > 1:
                status, payload = 200, []
            else:
                body = json.loads(raw) if raw else None
                with fake.lock:
                    status, payload = fake.api(self.command, url.path[len("/api/v1") :], user, body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


@contextmanager
def serve(root: Path, admin: tuple[str, str]) -> Iterator[tuple[FakeGitea, int]]:
    """Run a FakeGitea on 127.0.0.1; yield it and its port."""
    root.mkdir(parents=True, exist_ok=True)
    fake = FakeGitea(root, admin)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
