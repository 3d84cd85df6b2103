"""Gitea alone (the compose pin, configured by compose's environment): the lab's Gitea
client and convergence against the real server.

What this proves that the fake in tests/fakes/gitea.py cannot: the install lock from
the environment, the site admin made by ``lab.up.ensure_gitea_admin`` inside the
container (and its password on no command line), a second convergence that plans and
performs no write (Gitea >= 1.24 reads a team back as ``permission: none``,
go-gitea/gitea PR #34128: issue 9), webhooks as Gitea stores them, and token scopes as
Gitea enforces them.

Upstream behaviour relied on (the Gitea source at tag v1.27.1 could not be fetched
here, too large; what was read is named):
- ``GITEA__section__KEY`` variables are written into app.ini at start, and
  ``GITEA__security__INSTALL_LOCK=true`` skips the installer
  (../shared/upstream/STACK-NOTES.md, "Gitea settings"). While the installer runs,
  it serves its own pages and ``/api/healthz``, and sends every other path (the API
  included) to ``installNotFound`` (go-gitea/gitea routers/install/routes.go, read
  through the code index, version not pinned): the healthz wait alone proves nothing,
  the version check below does.
- A token without a route's scope gets 403 "token does not have at least one of
  required scope(s)" (go-gitea/gitea routers/api/v1/api.go ``tokenRequiresScopes``,
  read at commit 001727e5, not at the 1.27.1 tag); scope names:
  models/auth/access_token_scope.go (see lab/clients/gitea.py).
- Response fields: ../shared/upstream/gitea-openapi.json (1.27.1): ``Hook`` (type,
  config, events, active, branch_filter), ``AccessToken.scopes``,
  ``Repository.permissions.push``, ``User.is_admin``; ``POST /orgs`` answers 403.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from lab.bootstrap import converge_gitea, gitea_desired, observe_gitea, plan_gitea
from lab.clients.gitea import BOT_TOKEN_SCOPES, HOOK_EVENTS, JENKINS_HOOK_URL, GiteaClient
from lab.config import LabConfig
from lab.projects import shipped_projects
from lab.secrets import Secrets
from lab.stack import Compose
from lab.up import ensure_gitea_admin
from tests.containers.exec_bridge import ExecBridge
from tests.containers.services import lab_config, quiet, started
from tests.containers.stack_spec import service

SPEC = service("gitea")
HTTP_PORT = 3000  # GITEA__server__HTTP_PORT in compose
PROJECT = "cd4ml-demo"


class RecordingSession(requests.Session):
    """A requests session that notes each call's method and path (no bodies, no auth)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.calls.append((str(method).upper(), urlsplit(str(url)).path))
        return super().request(method, url, *args, **kwargs)

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] not in ("GET", "HEAD")]


@pytest.fixture(scope="module")
def gitea() -> Iterator[DockerContainer]:
    # Same probe as compose's healthcheck for the service.
    wait = HttpWaitStrategy(HTTP_PORT, "/api/healthz").with_startup_timeout(180)
    with started(SPEC, SPEC.env({}), port=HTTP_PORT, wait=wait) as container:
        yield container


@pytest.fixture(scope="module")
def cfg(gitea: DockerContainer) -> LabConfig:
    return lab_config(gitea, gitea=HTTP_PORT)


@pytest.fixture(scope="module")
def bridge(gitea: DockerContainer) -> ExecBridge:
    return ExecBridge({"gitea": gitea.get_container_id()})


@pytest.fixture(scope="module")
def admin_created(cfg: LabConfig, bridge: ExecBridge, secrets: Secrets) -> list[str]:
    return ensure_gitea_admin(cfg, Compose(cfg, runner=bridge), secrets)


@pytest.fixture(scope="module")
def admin_passwords(secrets: Secrets) -> list[str]:
    """Every Gitea admin password this module gives the lab (for the argv check)."""
    return [secrets["GITEA_ADMIN_PASSWORD"]]


def admin(cfg: LabConfig, secrets: Secrets, session: requests.Session | None = None) -> GiteaClient:
    basic = (secrets["GITEA_ADMIN_USER"], secrets["GITEA_ADMIN_PASSWORD"])
    return GiteaClient(cfg.gitea_url, basic=basic, session=session)


@pytest.fixture(scope="module")
def projects(cfg: LabConfig) -> list:
    found = shipped_projects(cfg)
    assert PROJECT in [name for name, _ in found], f"projects/{PROJECT} is missing"
    return found


@pytest.fixture(scope="module")
def first_convergence(
    cfg: LabConfig, secrets: Secrets, admin_created: list[str], projects: list
) -> list[str]:
    return converge_gitea(cfg, secrets, projects, gitea=admin(cfg, secrets), progress=quiet)


def test_the_pinned_release_runs_install_locked_from_compose_environment(cfg: LabConfig):
    # /api/v1/version is routed only once the installer is skipped (install lock).
    assert GiteaClient(cfg.gitea_url).version() == SPEC.tag


def test_site_admin_is_made_then_left_alone_then_repaired(
    cfg: LabConfig,
    bridge: ExecBridge,
    secrets: Secrets,
    admin_created: list[str],
    admin_passwords: list[str],
):
    user = secrets["GITEA_ADMIN_USER"]
    assert len(admin_created) == 1 and user in admin_created[0], admin_created
    assert admin(cfg, secrets).current_user()["is_admin"] is True

    compose = Compose(cfg, runner=bridge)
    assert ensure_gitea_admin(cfg, compose, secrets) == []  # nothing to do the second time
    # The password in the secrets file changed (e.g. restored from elsewhere): repaired.
    secrets.set("GITEA_ADMIN_PASSWORD", random.token_urlsafe(18))
    admin_passwords.append(secrets["GITEA_ADMIN_PASSWORD"])
    repaired = ensure_gitea_admin(cfg, compose, secrets)
    assert len(repaired) == 1 and "password" in repaired[0], repaired
    assert admin(cfg, secrets).current_user()["login"] == user
    assert ensure_gitea_admin(cfg, compose, secrets) == []


def test_no_admin_password_reached_a_command_line(
    bridge: ExecBridge, admin_created: list[str], admin_passwords: list[str]
):
    """Issue 9: a password in `docker exec` argv shows in `ps` and Docker's exec events."""
    assert bridge.argvs, "the lab ran nothing in the container: the bridge is not used"
    assert [where for pw in admin_passwords for where in bridge.argv_holding(pw)] == []


def test_first_convergence_makes_bot_token_org_team_repo_and_hook(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
):
    org, bot = cfg.org, secrets["GITEA_BOT_USER"]
    for step in (
        f"create bot user {bot}",
        "create token lab-jenkins",
        f"create organisation {org}",
        f"create team {org}/",
        f"add {bot} to team",
        f"create repository {org}/{PROJECT}",
        f"push {PROJECT} into {org}/{PROJECT}",
        f"create webhook {org}/{PROJECT}",
    ):
        assert any(change.startswith(step) for change in first_convergence), (
            step,
            first_convergence,
        )
    repo = admin(cfg, secrets).get_repo(org, PROJECT)
    assert repo is not None and repo["default_branch"] == "main"
    assert admin(cfg, secrets).get_branch(org, PROJECT, "main") is not None
    # The bot pushes and comments through the team: Gitea says it may push.
    as_bot = GiteaClient(cfg.gitea_url, token=secrets["GITEA_BOT_TOKEN"]).get_repo(org, PROJECT)
    assert as_bot is not None and as_bot["permissions"]["push"] is True


def test_webhook_to_jenkins_is_created_once_and_repaired(
    cfg: LabConfig, secrets: Secrets, projects: list, first_convergence: list[str]
):
    client = admin(cfg, secrets)
    hooks = client.list_hooks(cfg.org, PROJECT)
    assert len(hooks) == 1, hooks
    hook = hooks[0]
    assert hook["type"] == "gitea"
    assert hook["config"]["url"] == JENKINS_HOOK_URL
    assert hook["config"]["content_type"] == "json"
    assert hook["active"] is True
    assert set(HOOK_EVENTS) <= set(hook["events"]), hook["events"]
    assert hook.get("branch_filter") in ("", "*")

    # Made inactive by hand: the next convergence turns it back on, in place.
    client.edit_hook(cfg.org, PROJECT, int(hook["id"]), active=False)
    changes = converge_gitea(cfg, secrets, projects, gitea=client, progress=quiet)
    assert len(changes) == 1, changes
    assert changes[0].startswith("fix webhook") and "inactive" in changes[0], changes
    after = client.list_hooks(cfg.org, PROJECT)
    assert [(h["id"], h["active"]) for h in after] == [(hook["id"], True)]


def test_bot_token_has_the_lab_scopes_and_gitea_enforces_them(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
):
    bot = secrets["GITEA_BOT_USER"]
    tokens = {t["name"]: t for t in admin(cfg, secrets).list_tokens(bot)}
    assert set(tokens) == {"lab-jenkins"}, sorted(tokens)
    scopes = set(tokens["lab-jenkins"]["scopes"])
    assert set(BOT_TOKEN_SCOPES) <= scopes, scopes
    assert "all" not in scopes and not any(s.endswith(":admin") for s in scopes), scopes
    assert tokens["lab-jenkins"]["token_last_eight"] == secrets["GITEA_BOT_TOKEN"][-8:]

    as_bot = GiteaClient(cfg.gitea_url, token=secrets["GITEA_BOT_TOKEN"])
    assert as_bot.current_user()["login"] == bot
    assert as_bot.request("GET", "/user/settings") is not None  # read:user
    for method, path, body in (
        ("PATCH", "/user/settings", {"description": "x"}),  # needs write:user
        ("POST", "/orgs", {"username": "not-allowed"}),  # needs write:organization
    ):
        resp = as_bot.request(method, path, json=body, ok=(403,))
        assert resp is not None and "scope" in resp.text, (method, path, resp.text[:200])
    denied = as_bot.request("GET", "/admin/users", ok=(403,))
    assert denied is not None and denied.status_code == 403


def test_second_convergence_plans_and_performs_no_writes(
    cfg: LabConfig, secrets: Secrets, projects: list, first_convergence: list[str]
):
    session = RecordingSession()
    client = admin(cfg, secrets, session)
    desired = gitea_desired(cfg, secrets, projects)
    observed = observe_gitea(client, desired, secrets["GITEA_BOT_TOKEN"])
    assert [a.description for a in plan_gitea(observed, desired)] == []

    assert converge_gitea(cfg, secrets, projects, gitea=client, progress=quiet) == []
    assert session.calls, "the convergence read nothing: the recording is broken"
    assert session.writes == []
