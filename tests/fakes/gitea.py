"""An in-process fake of the Gitea REST calls the lab's bootstrap makes, with real git.

State lives in memory; repositories are bare git directories served through the
real `git http-backend` behind HTTP basic auth, so credential handling of pushes
is exercised for real. Used by the bootstrap and `lab project` tests.

It answers as Gitea 1.27.1 does, not as the lab would like: every behaviour it
models names its upstream evidence in a comment ("[E<n>]" points to an entry of
tests/fakes/EVIDENCE.md: repository, path, version read, and what was not read).
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
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.http import running

# What a "pull_request" event expands to in a hook's read-back events [E5].
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


# Unit keys of the 1.27.1 spec's Team/CreateTeamOption examples; an admin team reads
# back every unit at its own mode (models/organization/team.go GetUnitsMap) [E1].
ALL_UNITS = (
    "repo.actions",
    "repo.code",
    "repo.ext_issues",
    "repo.ext_wiki",
    "repo.issues",
    "repo.packages",
    "repo.projects",
    "repo.pulls",
    "repo.releases",
    "repo.wiki",
)
ACCESS_MODES = ("none", "read", "write", "admin", "owner")


def parse_access_mode(value: Any, *allowed: str) -> str:
    """models/perm/access_mode.go ParseAccessMode: "owner" is never parsed; a mode
    outside ``allowed`` becomes "none" [E1]."""
    mode = value if value in ("read", "write", "admin") else "none"
    return mode if not allowed or mode in allowed else "none"


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

    def token_scopes(self, header: str | None) -> list[str] | None:
        """The scopes of the token in an Authorization header (None for basic auth)."""
        kind, _, value = (header or "").partition(" ")
        token = self.tokens.get(value) if kind == "token" else None
        return list(token["scopes"]) if token else None

    def add_token(self, user: str, name: str, scopes: list[str]) -> str:
        """What `gitea admin user generate-access-token` does; returns the value [E2]."""
        if any(t["name"] == name and t["user"] == user for t in self.tokens.values()):
            raise ValueError("access token name has been used already")
        value = f"{self.new_id():08d}" + "a" * 32
        self.tokens[value] = {"id": self.next_id, "name": name, "user": user, "scopes": scopes}
        return value

    # ---- REST ------------------------------------------------------------
    def api(
        self,
        method: str,
        path: str,
        user: str | None,
        body: Any,
        *,
        basic: bool = True,
        scopes: list[str] | None = None,
    ) -> tuple[int, Any]:
        """One REST call by ``user`` (basic auth, or a token with ``scopes``)."""
        if user is None:  # every call the lab makes is authenticated
            return 401, {"message": "unauthorized"}
        if path.startswith("/users/") and "/tokens" in path and not basic:
            return 401, {"message": "auth required"}  # reqBasicOrRevProxyAuth [E2]
        m = re.fullmatch
        if method == "GET" and path == "/user":  # the authenticated user (spec User) [E2]
            return 200, {"login": user}
        if r := m(r"/users/([^/]+)", path):  # 404 for an unknown user [E2]
            found = r[1] in self.users
            return (200, {"login": r[1]}) if found else (404, {"message": "user does not exist"})
        if (r := m(r"/admin/users/([^/]+)", path)) and method == "PATCH":
            # Site admins only; a token needs an admin scope (write:admin) [E2].
            if not self.users[user]["admin"] or (
                scopes is not None and not {"write:admin", "all"} & set(scopes)
            ):
                return 403, {"message": "token does not have required scope"}
            if r[1] not in self.users:
                return 422, {"message": "user does not exist"}
            assert body["login_name"] == r[1] and body["source_id"] == 0
            if "password" in body:
                self.users[r[1]]["password"] = body["password"]
            self.users[r[1]]["must_change_password"] = body.get("must_change_password", False)
            return 200, {"login": r[1]}
        if method == "POST" and path == "/admin/users":  # CreateUserOption, 201 [E2]
            assert body["must_change_password"] is False
            self.users[body["username"]] = {"password": body["password"], "admin": False}
            return 201, {"login": body["username"]}
        if r := m(r"/users/([^/]+)/tokens", path):
            # AccessToken: sha1 only when created, token_last_eight when listed [E2].
            # Scopes are kept as sent: Gitea normalises them (not modelled, not read).
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
        if (
            r := m(r"/users/([^/]+)/tokens/([^/]+)", path)
        ) and method == "DELETE":  # id or name [E2]
            for value, t in list(self.tokens.items()):
                if t["user"] == r[1] and r[2] in (t["name"], str(t["id"])):
                    del self.tokens[value]
                    return 204, None
            return 404, {"message": "no such token"}
        if r := m(r"/orgs/([^/]+)", path):  # Organization.username; 404 when missing (spec)
            return (200, {"username": r[1]}) if r[1] in self.orgs else (404, {"message": "nope"})
        if method == "POST" and path == "/orgs":
            self.orgs.add(body["username"])
            return 201, {"username": body["username"]}
        if r := m(r"/orgs/([^/]+)/teams", path):
            if method == "GET":
                return 200, [self._team_json(t) for t in self.teams.values() if t["org"] == r[1]]
            return self._create_team(r[1], body)
        if (r := m(r"/teams/(\d+)", path)) and method == "PATCH":
            return self._edit_team(self.teams[int(r[1])], body)
        if r := m(r"/teams/(\d+)/members/([^/]+)", path):  # PUT 204; GET 404 if not one [E1]
            members = self.teams[int(r[1])]["members"]
            if method == "PUT":
                members.add(r[2])
                return 204, None
            return (200, {"login": r[2]}) if r[2] in members else (404, {"message": "nope"})
        if (r := m(r"/orgs/([^/]+)/repos", path)) and method == "POST":  # empty repo [E4]
            full = f"{r[1]}/{body['name']}"
            assert body["auto_init"] is False
            bare = self.root / f"{full}.git"
            subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
            self.repos[full] = {
                "name": body["name"],
                "bare": bare,
                "empty": True,
                "archived": False,
                "queued_pushes": 0,
            }
            self.hooks[full] = []
            return 201, self._repo_json(full)
        if (r := m(r"/orgs/([^/]+)/repos", path)) and method == "GET":
            return 200, [
                self._repo_json(full) for full in sorted(self.repos) if full.startswith(r[1] + "/")
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
            return 200, self._repo_json(r[1])
        if r := m(r"/repos/([^/]+/[^/]+)/branches/(.+)", path):
            # GetBranch answers from the branch table, synced inside post-receive,
            # i.e. before the push returns to the client [E3]: read the refs directly.
            sha = self._branch_sha(r[1], r[2])
            if sha is None:
                return 404, {"message": "branch does not exist"}
            return 200, {"name": r[2], "commit": {"id": sha}}
        if r := m(r"/repos/([^/]+/[^/]+)/hooks", path):
            hooks = self.hooks[r[1]]
            if method == "GET":
                return 200, hooks
            return 201, self._create_hook(hooks, body)
        if r := m(r"/repos/([^/]+/[^/]+)/hooks/(\d+)", path):
            hooks = self.hooks[r[1]]
            hook = next(h for h in hooks if h["id"] == int(r[2]))
            if method == "DELETE":
                hooks.remove(hook)
                return 204, None
            self._edit_hook(hook, body)
            return 200, hook
        return 404, {"message": f"fake Gitea has no {method} {path}"}

    # ---- teams [E1] --------------------------------------------------------
    @staticmethod
    def _team_json(team: dict[str, Any]) -> dict[str, Any]:
        """services/convert ToTeams: permission is the team's own mode; units_map is
        every unit at the team mode for admin teams, else the team's unit rows."""
        mode = team["access_mode"]
        admin = mode in ("admin", "owner")
        units = dict.fromkeys(ALL_UNITS, mode) if admin else dict(team["units"])
        return {
            "id": team["id"],
            "name": team["name"],
            "description": team.get("description", ""),
            "includes_all_repositories": team["includes_all_repositories"],
            "can_create_org_repo": team["can_create_org_repo"],
            "permission": mode,
            "units": sorted(units),
            "units_map": units,
        }

    @staticmethod
    def _attach_units(team: dict[str, Any], body: dict[str, Any], *, required: bool) -> bool:
        """attachTeamUnitsMap / attachTeamUnits / attachAdminTeamUnits."""
        if team["access_mode"] == "admin":
            team["units"] = {}
        elif body.get("units_map"):
            team["units"] = {k: parse_access_mode(v) for k, v in body["units_map"].items()}
        elif body.get("units"):
            unit_mode = parse_access_mode(body.get("permission"), "read", "write")
            team["units"] = dict.fromkeys(body["units"], unit_mode)
        elif required:
            return False
        return True

    def _create_team(self, org: str, body: dict[str, Any]) -> tuple[int, Any]:
        team: dict[str, Any] = {
            "id": self.new_id(),
            "org": org,
            "members": set(),
            "name": body["name"],
            "description": body.get("description", ""),
            "includes_all_repositories": bool(body.get("includes_all_repositories")),
            "can_create_org_repo": bool(body.get("can_create_org_repo")),
            # >= 1.24: only none/admin are kept as the team's own mode.
            "access_mode": parse_access_mode(body.get("permission"), "none", "admin"),
            "units": {},
        }
        if any(
            t["org"] == org and t["name"].lower() == team["name"].lower()
            for t in self.teams.values()
        ):
            return 422, {"message": "team already exists"}
        if not self._attach_units(team, body, required=True):
            return 500, {"message": "units permission should not be empty"}
        self.teams[team["id"]] = team
        return 201, self._team_json(team)

    def _edit_team(self, team: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        if body.get("name"):
            team["name"] = body["name"]
        if "description" in body:
            team["description"] = body["description"]
        if "can_create_org_repo" in body:
            team["can_create_org_repo"] = bool(body["can_create_org_repo"])
        # includes_all_repositories is applied only together with a permission.
        if body.get("permission"):
            team["access_mode"] = parse_access_mode(body["permission"], "none", "admin")
            if "includes_all_repositories" in body:
                team["includes_all_repositories"] = bool(body["includes_all_repositories"])
        self._attach_units(team, body, required=False)
        return 200, self._team_json(team)

    # ---- repositories ----------------------------------------------------------
    def _repo_json(self, full: str) -> dict[str, Any]:
        repo = self.repos[full]
        return {
            "name": repo["name"],
            "full_name": full,
            "empty": repo["empty"],
            "archived": repo["archived"],
            "default_branch": "main",
        }

    def _branch_sha(self, full: str, branch: str) -> str | None:
        ref = self.repos[full]["bare"] / "refs" / "heads" / branch
        return ref.read_text().strip() if ref.is_file() else None

    def run_push_queue(self) -> None:
        """What Gitea's push_update queue does later: a first push clears `empty` [E3]."""
        for repo in self.repos.values():
            if repo["queued_pushes"] and any((repo["bare"] / "refs" / "heads").iterdir()):
                repo["empty"] = False
            repo["queued_pushes"] = 0

    # ---- webhooks [E5] ---------------------------------------------------------
    @staticmethod
    def _hook_events(events: list[str] | None) -> list[str]:
        """updateHookEvents: no events means push; "pull_request" is the PR family."""
        chosen = set(events or ["push"])
        if "pull_request" in chosen:
            chosen |= set(PR_FAMILY)
        return sorted(chosen)

    def _create_hook(self, hooks: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
        """addHook: active defaults to false, branch_filter to ""."""
        hook = {
            "id": self.new_id(),
            "type": body["type"],
            "config": {
                "url": body["config"]["url"],
                "content_type": body["config"]["content_type"],
            },
            "events": self._hook_events(body.get("events")),
            "active": bool(body.get("active", False)),
            "branch_filter": body.get("branch_filter", ""),
        }
        hooks.append(hook)
        return hook

    def _edit_hook(self, hook: dict[str, Any], body: dict[str, Any]) -> None:
        """editHook: url/content_type only when sent; events and branch_filter are
        always replaced (omitted means push / ""); active only when sent."""
        for key in ("url", "content_type"):
            if key in (body.get("config") or {}):
                hook["config"][key] = body["config"][key]
        hook["events"] = self._hook_events(body.get("events"))
        hook["branch_filter"] = body.get("branch_filter", "")
        if "active" in body:
            hook["active"] = bool(body["active"])

    # ---- git over smart HTTP ---------------------------------------------
    def git(self, handler: BaseHTTPRequestHandler, user: str | None, body: bytes) -> None:
        """Smart HTTP through the real `git http-backend`. Without credentials the fake
        answers 401 with a Basic challenge, so git only sends them when asked (Gitea
        asks the same way for a push; the realm text is not significant and not read)."""
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
        if handler.command == "POST" and url.path.endswith("/git-receive-pack"):
            # post-receive queues the push; the queue clears `empty` later [E3].
            full = url.path.lstrip("/").split(".git/", 1)[0]
            with self.lock:
                if full in self.repos:
                    self.repos[full]["queued_pushes"] += 1
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
            header = self.headers.get("Authorization")
            user = fake.auth(header)
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
                    status, payload = fake.api(
                        self.command,
                        url.path[len("/api/v1") :],
                        user,
                        body,
                        basic=bool(header and header.startswith("Basic ")),
                        scopes=fake.token_scopes(header),
                    )
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
    with running(_handler(fake)) as server:
        yield fake, server.server_address[1]
