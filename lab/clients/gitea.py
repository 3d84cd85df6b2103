"""A thin client for Gitea's REST API v1 (checked against the 1.25.3 and 1.27.1 specs).

Authentication is a header only (``Authorization: token ...`` or HTTP basic),
never part of a URL. Token endpoints need basic auth as the user: Gitea refuses
tokens there (``reqBasicOrRevProxyAuth`` in Gitea's API router).
Listing methods follow Gitea's ``page``/``limit`` pagination (default maximum
page size is 50, ``[api] MAX_RESPONSE_ITEMS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import requests

from lab.clients.http import JsonClient
from lab.errors import ServiceError

JENKINS_HOOK_URL = "http://jenkins:8080/gitea-webhook/post"
# What the Gitea plugin acts on (push, pull_request incl. synchronized, create, delete).
# Gitea expands "pull_request" into the whole PR family (pull_request_sync, ...:
# routers/api/v1/utils/hook.go pullHook), so read-back lists are longer than this.
HOOK_EVENTS: tuple[str, ...] = ("push", "pull_request", "create", "delete")
# Gitea token scope names: models/auth/access_token_scope.go.
BOT_TOKEN_SCOPES: tuple[str, ...] = (
    "write:repository",
    "write:issue",
    "read:user",
    "read:organization",
)
TEAM_UNITS: tuple[str, ...] = ("repo.code", "repo.issues", "repo.pulls", "repo.releases")
# Since Gitea 1.24 (go-gitea/gitea PR #34128, "Fix team permission") a team's own
# access mode is only "none" or "admin"/"owner": a non-admin team's rights live in its
# units (routers/api/v1/org/team.go CreateTeam/EditTeam parse `permission` allowing only
# none/admin; services/convert ToTeams reports `permission` from that mode and
# `units_map` from the team's units). So the lab asks for, and judges, units_map.
TEAM_UNIT_MODE = "write"


def team_units_map(units: Sequence[str] = TEAM_UNITS, mode: str = TEAM_UNIT_MODE) -> dict[str, str]:
    """The ``units_map`` body field: each unit at ``mode``."""
    return {unit: mode for unit in units}


Json = dict[str, Any]


def _seg(value: str | int) -> str:
    """One path segment, percent-encoded (a ``/`` inside becomes %2F)."""
    return quote(str(value), safe="")


def _ref(value: str) -> str:
    """A branch name in a wildcard route (``/branches/*``): slashes stay."""
    return quote(value, safe="/")


class GiteaClient(JsonClient):
    service = "Gitea"
    api_prefix = "/api/v1"

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        basic: tuple[str, str] | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(base_url, timeout=timeout, session=session)
        if token and basic:
            raise ValueError("give either token or basic credentials, not both")
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"token {token}"
            self._remember_secret(token)
        if basic:
            self.session.auth = basic
            self._remember_secret(basic[1])

    # ---- server ---------------------------------------------------------
    def version(self) -> str:
        return str(self.json("GET", "/version")["version"])

    def ready(self) -> bool:
        """True when the API answers (any version string)."""
        return bool(self.version())

    # ---- users and tokens ----------------------------------------------
    def current_user(self) -> Json:
        return self.json("GET", "/user")

    def authenticates(self) -> bool:
        """True if these credentials are accepted (GET /user is 200), False on 401/403."""
        resp = self.request("GET", "/user", ok=(200, 401, 403))
        return resp is not None and resp.status_code == 200

    def get_user(self, username: str) -> Json | None:
        return self.json("GET", f"/users/{_seg(username)}", missing_ok=True)

    def admin_create_user(
        self, username: str, *, password: str, email: str, full_name: str = ""
    ) -> Json:
        body = {
            "username": username,
            "email": email,
            "password": password,
            "must_change_password": False,
            "send_notify": False,
        }
        if full_name:
            body["full_name"] = full_name
        return self.json("POST", "/admin/users", json=body)

    def admin_set_password(self, username: str, password: str) -> Json:
        """Set a user's password (site admin, or a token with write:admin scope).

        EditUserOption requires login_name and source_id: a local user's are its name
        and 0. The password travels in the request body only.
        """
        body = {
            "login_name": username,
            "source_id": 0,
            "password": password,
            "must_change_password": False,
        }
        return self.json("PATCH", f"/admin/users/{_seg(username)}", json=body)

    def list_tokens(self, username: str) -> list[Json]:
        return self.paginate(f"/users/{_seg(username)}/tokens")

    def create_token(self, username: str, name: str, scopes: Sequence[str]) -> Json:
        """Create a token; the value is in ``["sha1"]`` (shown once by Gitea)."""
        return self.json(
            "POST", f"/users/{_seg(username)}/tokens", json={"name": name, "scopes": list(scopes)}
        )

    def delete_token(self, username: str, token: str | int) -> None:
        """Delete a token by name or id."""
        self.request("DELETE", f"/users/{_seg(username)}/tokens/{_seg(token)}")

    # ---- organisations and teams ----------------------------------------
    def get_org(self, org: str) -> Json | None:
        return self.json("GET", f"/orgs/{_seg(org)}", missing_ok=True)

    def create_org(self, org: str, *, visibility: str = "public", description: str = "") -> Json:
        body = {"username": org, "visibility": visibility}
        if description:
            body["description"] = description
        return self.json("POST", "/orgs", json=body)

    def list_teams(self, org: str) -> list[Json]:
        return self.paginate(f"/orgs/{_seg(org)}/teams")

    @staticmethod
    def _team_body(name: str, units: Sequence[str], all_repos: bool) -> Json:
        # `permission` is still sent: EditTeam applies includes_all_repositories only
        # when a permission is given, and Gitea < 1.24 derives the team mode from it.
        # Gitea >= 1.24 stores a non-admin team as "none" and uses units_map.
        return {
            "name": name,
            "permission": TEAM_UNIT_MODE,
            "units": list(units),
            "units_map": team_units_map(units),
            "includes_all_repositories": all_repos,
        }

    def create_team(
        self,
        org: str,
        name: str,
        *,
        units: Sequence[str] = TEAM_UNITS,
        all_repos: bool = True,
        description: str = "",
    ) -> Json:
        """A team whose members get write on ``units`` (of every repository if ``all_repos``)."""
        body = {**self._team_body(name, units, all_repos), "can_create_org_repo": False}
        if description:
            body["description"] = description
        return self.json("POST", f"/orgs/{_seg(org)}/teams", json=body)

    def edit_team(
        self,
        team_id: int,
        name: str,
        *,
        units: Sequence[str] = TEAM_UNITS,
        all_repos: bool = True,
    ) -> Json:
        body = self._team_body(name, units, all_repos)
        return self.json("PATCH", f"/teams/{_seg(team_id)}", json=body)

    def team_has_member(self, team_id: int, username: str) -> bool:
        found = self.json(
            "GET", f"/teams/{_seg(team_id)}/members/{_seg(username)}", missing_ok=True
        )
        return found is not None

    def add_team_member(self, team_id: int, username: str) -> None:
        self.request("PUT", f"/teams/{_seg(team_id)}/members/{_seg(username)}")

    def add_collaborator(
        self, owner: str, repo: str, username: str, *, permission: str = "write"
    ) -> None:
        self.request(
            "PUT",
            f"/repos/{_seg(owner)}/{_seg(repo)}/collaborators/{_seg(username)}",
            json={"permission": permission},
        )

    # ---- repositories ---------------------------------------------------
    def get_repo(self, owner: str, repo: str) -> Json | None:
        return self.json("GET", f"/repos/{_seg(owner)}/{_seg(repo)}", missing_ok=True)

    def create_org_repo(
        self,
        org: str,
        name: str,
        *,
        description: str = "",
        private: bool = False,
        default_branch: str = "main",
    ) -> Json:
        """An empty repository (no auto-init): the lab pushes its first commit."""
        body: Json = {
            "name": name,
            "private": private,
            "auto_init": False,
            "default_branch": default_branch,
        }
        if description:
            body["description"] = description
        return self.json("POST", f"/orgs/{_seg(org)}/repos", json=body)

    def list_org_repos(self, org: str) -> list[Json]:
        return self.paginate(f"/orgs/{_seg(org)}/repos")

    def job_repo_names(self, org: str, *, max_pages: int = 200) -> list[str]:
        """The org's repositories that get a Jenkins job: every one not archived.

        The same listing and filter as the seed job (seed-jobs/projects.groovy): pages
        until an empty page (Gitea silently caps `limit` at MAX_RESPONSE_ITEMS, so a
        short page does not mean the last one) and skips `archived` repositories.
        """
        names: list[str] = []
        for page in range(1, max_pages + 1):
            path = f"/orgs/{_seg(org)}/repos"
            batch = self.json("GET", path, params={"page": page, "limit": 50})
            if not isinstance(batch, list):
                raise ServiceError(f"Gitea: GET {self.api_prefix}{path} did not return a list")
            if not batch:
                return sorted(names)
            names += [str(repo["name"]) for repo in batch if not repo.get("archived")]
        raise ServiceError(f"Gitea: organisation {org} lists more than {max_pages} pages")

    def delete_repo(self, owner: str, repo: str) -> None:
        self.request("DELETE", f"/repos/{_seg(owner)}/{_seg(repo)}")

    # ---- branches -------------------------------------------------------
    def get_branch(self, owner: str, repo: str, branch: str) -> Json | None:
        return self.json(
            "GET", f"/repos/{_seg(owner)}/{_seg(repo)}/branches/{_ref(branch)}", missing_ok=True
        )

    def list_branches(self, owner: str, repo: str) -> list[Json]:
        return self.paginate(f"/repos/{_seg(owner)}/{_seg(repo)}/branches")

    def delete_branch(self, owner: str, repo: str, branch: str) -> bool:
        """Delete a branch; False if it did not exist."""
        resp = self.request(
            "DELETE",
            f"/repos/{_seg(owner)}/{_seg(repo)}/branches/{_ref(branch)}",
            missing_ok=True,
        )
        return resp is not None

    # ---- webhooks -------------------------------------------------------
    def list_hooks(self, owner: str, repo: str) -> list[Json]:
        return self.paginate(f"/repos/{_seg(owner)}/{_seg(repo)}/hooks")

    @staticmethod
    def hook_body(
        url: str,
        *,
        events: Sequence[str] = HOOK_EVENTS,
        content_type: str = "json",
        active: bool = True,
        branch_filter: str = "*",
    ) -> Json:
        # Edits must resend events and branch_filter: Gitea's editHook always replaces
        # them (an omitted filter becomes ""), and changes `active` only when sent
        # (routers/api/v1/utils/hook.go; tests/fakes/EVIDENCE.md, E5).
        return {
            "config": {"url": url, "content_type": content_type, "http_method": "post"},
            "events": list(events),
            "active": active,
            "branch_filter": branch_filter,
        }

    def create_hook(
        self,
        owner: str,
        repo: str,
        url: str = JENKINS_HOOK_URL,
        *,
        events: Sequence[str] = HOOK_EVENTS,
        content_type: str = "json",
        active: bool = True,
    ) -> Json:
        body = {
            "type": "gitea",
            **self.hook_body(url, events=events, content_type=content_type, active=active),
        }
        return self.json("POST", f"/repos/{_seg(owner)}/{_seg(repo)}/hooks", json=body)

    def edit_hook(
        self,
        owner: str,
        repo: str,
        hook_id: int,
        url: str = JENKINS_HOOK_URL,
        *,
        events: Sequence[str] = HOOK_EVENTS,
        content_type: str = "json",
        active: bool = True,
    ) -> Json:
        body = self.hook_body(url, events=events, content_type=content_type, active=active)
        return self.json(
            "PATCH", f"/repos/{_seg(owner)}/{_seg(repo)}/hooks/{_seg(hook_id)}", json=body
        )

    def delete_hook(self, owner: str, repo: str, hook_id: int) -> None:
        self.request("DELETE", f"/repos/{_seg(owner)}/{_seg(repo)}/hooks/{_seg(hook_id)}")

    # ---- pull requests --------------------------------------------------
    def create_pull(
        self, owner: str, repo: str, *, head: str, base: str, title: str, body: str = ""
    ) -> Json:
        payload = {"head": head, "base": base, "title": title, "body": body}
        return self.json("POST", f"/repos/{_seg(owner)}/{_seg(repo)}/pulls", json=payload)

    def get_pull(self, owner: str, repo: str, index: int) -> Json | None:
        return self.json(
            "GET", f"/repos/{_seg(owner)}/{_seg(repo)}/pulls/{_seg(index)}", missing_ok=True
        )

    def list_pulls(self, owner: str, repo: str, *, state: str = "open") -> list[Json]:
        return self.paginate(f"/repos/{_seg(owner)}/{_seg(repo)}/pulls", params={"state": state})

    def pull_files(self, owner: str, repo: str, index: int) -> list[str]:
        """Paths the pull request changes."""
        files = self.paginate(f"/repos/{_seg(owner)}/{_seg(repo)}/pulls/{_seg(index)}/files")
        return [str(f["filename"]) for f in files]

    def merge_pull(
        self,
        owner: str,
        repo: str,
        index: int,
        *,
        style: str = "merge",
        delete_branch: bool = False,
    ) -> None:
        # No custom message: 1.25.3 names that field MergeMessageField, 1.27 merge_message_field.
        body: Json = {"do": style, "delete_branch_after_merge": delete_branch}
        self.request(
            "POST", f"/repos/{_seg(owner)}/{_seg(repo)}/pulls/{_seg(index)}/merge", json=body
        )

    def close_pull(self, owner: str, repo: str, index: int) -> Json:
        return self.json(
            "PATCH",
            f"/repos/{_seg(owner)}/{_seg(repo)}/pulls/{_seg(index)}",
            json={"state": "closed"},
        )

    # ---- issue / PR comments --------------------------------------------
    def list_comments(self, owner: str, repo: str, index: int) -> list[Json]:
        # This endpoint has no pagination parameters: it returns every comment.
        found = self.json("GET", f"/repos/{_seg(owner)}/{_seg(repo)}/issues/{_seg(index)}/comments")
        return list(found or [])

    def create_comment(self, owner: str, repo: str, index: int, body: str) -> Json:
        return self.json(
            "POST",
            f"/repos/{_seg(owner)}/{_seg(repo)}/issues/{_seg(index)}/comments",
            json={"body": body},
        )

    def edit_comment(self, owner: str, repo: str, comment_id: int, body: str) -> Json:
        return self.json(
            "PATCH",
            f"/repos/{_seg(owner)}/{_seg(repo)}/issues/comments/{_seg(comment_id)}",
            json={"body": body},
        )

    # ---- commit statuses ------------------------------------------------
    def list_statuses(self, owner: str, repo: str, ref: str) -> list[Json]:
        return self.paginate(f"/repos/{_seg(owner)}/{_seg(repo)}/commits/{_seg(ref)}/statuses")

    def create_status(
        self,
        owner: str,
        repo: str,
        sha: str,
        *,
        state: str,
        context: str,
        description: str = "",
        target_url: str = "",
    ) -> Json:
        body = {"state": state, "context": context, "description": description}
        if target_url:
            body["target_url"] = target_url
        return self.json(
            "POST", f"/repos/{_seg(owner)}/{_seg(repo)}/statuses/{_seg(sha)}", json=body
        )

    # ---- commits --------------------------------------------------------
    def get_commit(self, owner: str, repo: str, sha: str) -> Json | None:
        """One commit with its changed files (``files[].filename``)."""
        return self.json(
            "GET",
            f"/repos/{_seg(owner)}/{_seg(repo)}/git/commits/{_seg(sha)}",
            params={"files": True, "stat": False, "verification": False},
            missing_ok=True,
        )

    def commit_files(self, owner: str, repo: str, sha: str) -> list[str]:
        commit = self.get_commit(owner, repo, sha) or {}
        return [str(f["filename"]) for f in commit.get("files") or []]

    def list_commits(
        self, owner: str, repo: str, branch: str, *, max_items: int = 50
    ) -> list[Json]:
        """The newest ``max_items`` commits reachable from ``branch``, newest first."""
        return self.paginate(
            f"/repos/{_seg(owner)}/{_seg(repo)}/commits",
            params={"sha": branch, "stat": False, "verification": False, "files": False},
            page_size=min(50, max_items),
            max_items=max_items,
        )
