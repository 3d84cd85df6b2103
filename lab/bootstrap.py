"""Idempotent convergence of the lab's services: observe, plan (pure), then apply.

Each phase reads the current state (``observe_*``), compares it with what the
lab wants (``plan_*``, pure: no I/O, so "a second pass plans nothing" is a unit
test) and runs the planned :class:`Action` s in order. Descriptions name what
changes and never contain a secret.

Gitea: bot user, the bot's scoped API token, the organisation, a team giving the
bot write access to every repository of the organisation, one repository per
lab project (pushed from the project's files while its branch is missing), one webhook
per repository to Jenkins' Gitea plugin endpoint.
S3 (MinIO or SeaweedFS, through :class:`lab.clients.s3admin.S3Admin`): the DVC bucket,
the DVC identity with least privilege on it, the lab's secret for that identity.
Jenkins needs nothing here: its credentials come from the secrets through JCasC.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from lab.clients.gitea import (
    BOT_TOKEN_SCOPES,
    HOOK_EVENTS,
    JENKINS_HOOK_URL,
    TEAM_UNIT_MODE,
    TEAM_UNITS,
    GiteaClient,
)
from lab.clients.s3admin import DvcIdentity, S3Admin
from lab.clients.storage import MinioS3Admin, Storage, StorageAdmin
from lab.config import LabConfig
from lab.errors import LabError, ServiceError
from lab.gitcreds import git_with_credentials
from lab.projects import export_repository
from lab.secrets import Secrets, mask

Progress = Callable[[str], None]

BOT_TOKEN_NAME = "lab-jenkins"  # noqa: S105 - the name of the token, not its value
BOT_TEAM_NAME = "lab-bots"
PUSH_TIMEOUT = 120.0
SEED_BRANCH = "main"  # the branch a new repository's files are pushed to


@dataclass(frozen=True)
class Action:
    phase: str
    description: str
    run: Callable[[], object] = field(repr=False, compare=False)


def apply(actions: Sequence[Action], *, progress: Progress = print) -> list[str]:
    """Run ``actions`` in order, announcing each; return their descriptions."""
    done: list[str] = []
    for action in actions:
        progress(f"  {action.phase}: {action.description}")
        try:
            action.run()
        except LabError as exc:
            raise type(exc)(
                f"{action.phase}: could not {action.description}: {exc.message}", hint=exc.hint
            ) from None
        done.append(action.description)
    return done


class _InspectOnly:
    """Stands in for the executor of a plan made only to be looked at."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        def refuse(*_args: object) -> None:
            raise RuntimeError(f"plan made without an executor: cannot run {name}")

        return refuse


# =============================================================== Gitea ==
@dataclass(frozen=True)
class HookState:
    id: int
    url: str
    events: frozenset[str]
    content_type: str
    active: bool
    branch_filter: str = ""

    @classmethod
    def from_api(cls, hook: Mapping[str, Any]) -> HookState:
        config = hook.get("config") or {}
        return cls(
            id=int(hook["id"]),
            url=str(config.get("url", "")),
            events=frozenset(hook.get("events") or ()),
            content_type=str(config.get("content_type", "")),
            active=bool(hook.get("active")),
            branch_filter=str(hook.get("branch_filter") or ""),
        )


@dataclass(frozen=True)
class RepoState:
    exists: bool
    seeded: bool = False  # the default branch exists (not Gitea's async `empty` flag)
    hooks: tuple[HookState, ...] = ()


@dataclass(frozen=True)
class TeamState:
    """A team as Gitea reports it: ``permission`` is "none" for a unit-based team (>= 1.24)."""

    id: int
    permission: str
    includes_all: bool
    units: Mapping[str, str]  # units_map: unit key -> none/read/write/admin/owner
    has_bot: bool


@dataclass(frozen=True)
class GiteaObserved:
    bot_exists: bool
    token_ok: bool  # the stored token authenticates as the bot and has the wanted scopes
    token_names: frozenset[str]
    org_exists: bool
    team: TeamState | None
    repos: Mapping[str, RepoState]


@dataclass(frozen=True)
class GiteaDesired:
    org: str
    bot_user: str
    bot_email: str
    projects: tuple[tuple[str, Path], ...]
    token_name: str = BOT_TOKEN_NAME
    token_scopes: tuple[str, ...] = BOT_TOKEN_SCOPES
    team_name: str = BOT_TEAM_NAME
    team_units: tuple[str, ...] = TEAM_UNITS
    hook_url: str = JENKINS_HOOK_URL
    hook_events: tuple[str, ...] = HOOK_EVENTS


class GiteaOps(Protocol):
    """What Gitea actions do when run (bound to a client by :class:`GiteaApplier`)."""

    def create_bot(self) -> None: ...
    def delete_token(self, name: str) -> None: ...
    def create_token(self) -> None: ...
    def create_org(self) -> None: ...
    def create_team(self) -> None: ...
    def edit_team(self, team_id: int) -> None: ...
    def add_bot_to_team(self) -> None: ...
    def create_repo(self, name: str) -> None: ...
    def push_repo(self, name: str, path: Path) -> None: ...
    def create_hook(self, repo: str) -> None: ...
    def edit_hook(self, repo: str, hook_id: int) -> None: ...
    def delete_hook(self, repo: str, hook_id: int) -> None: ...


def hook_drift(hook: HookState, desired: GiteaDesired) -> list[str]:
    """How a hook to the Jenkins URL differs from the wanted one ([] if it does not)."""
    drift = []
    # Gitea lists "pull_request" expanded into its family: compare as a subset.
    missing = sorted(set(desired.hook_events) - hook.events)
    if missing:
        drift.append(f"events lack {', '.join(missing)}")
    if hook.content_type != "json":
        drift.append(f"content type {hook.content_type or 'unset'}")
    if not hook.active:
        drift.append("inactive")
    # Gitea reads back "" for a hook made without a filter: every branch, like "*".
    if hook.branch_filter not in ("", "*"):
        drift.append(f"branch filter {hook.branch_filter}")
    return drift


# Team access modes above "write": a team holding one is broader than the lab wants.
_TOO_BROAD = ("admin", "owner")


def team_drift(team: TeamState, desired: GiteaDesired) -> list[str]:
    """How the bot team differs from write on the wanted units of every repository."""
    drift = []
    if team.permission in _TOO_BROAD:
        drift.append(f"team permission {team.permission}")
    if not team.includes_all:
        drift.append("not on all repositories")
    for unit in desired.team_units:
        mode = team.units.get(unit, "none")
        if mode != TEAM_UNIT_MODE:
            drift.append(f"{unit} {mode}")
    broad = sorted(u for u, mode in team.units.items() if mode in _TOO_BROAD)
    if broad:
        drift.append(f"{', '.join(broad)} above {TEAM_UNIT_MODE}")
    return drift


def plan_gitea(
    observed: GiteaObserved, desired: GiteaDesired, ops: GiteaOps | None = None
) -> list[Action]:
    """The actions that take Gitea from ``observed`` to ``desired`` (pure)."""
    actions: list[Action] = []
    o: GiteaOps = ops if ops is not None else cast(GiteaOps, _InspectOnly())

    def add(description: str, run: Callable[[], object]) -> None:
        actions.append(Action("gitea", description, run))

    bot, org = desired.bot_user, desired.org
    if not observed.bot_exists:
        add(f"create bot user {bot}", lambda: o.create_bot())
    if not observed.token_ok:
        if desired.token_name in observed.token_names:
            add(
                f"delete stale token {desired.token_name} of {bot}",
                lambda: o.delete_token(desired.token_name),
            )
        add(
            f"create token {desired.token_name} for {bot} "
            f"(scopes {', '.join(desired.token_scopes)})",
            lambda: o.create_token(),
        )
    if not observed.org_exists:
        add(f"create organisation {org}", lambda: o.create_org())
    team = observed.team if observed.org_exists else None
    if team is None:
        add(
            f"create team {org}/{desired.team_name} (write on all repositories)",
            lambda: o.create_team(),
        )
    elif drift := team_drift(team, desired):
        add(
            f"set team {org}/{desired.team_name} to write on all repositories ({'; '.join(drift)})",
            lambda: o.edit_team(team.id),
        )
    if team is None or not team.has_bot:
        add(
            f"add {bot} to team {org}/{desired.team_name}",
            lambda: o.add_bot_to_team(),
        )
    for name, path in desired.projects:
        actions.extend(_plan_repo(observed.repos.get(name), name, path, desired, o))
    return actions


def _plan_repo(
    repo: RepoState | None, name: str, path: Path, desired: GiteaDesired, o: GiteaOps
) -> list[Action]:
    actions: list[Action] = []
    full = f"{desired.org}/{name}"

    def add(description: str, run: Callable[[], object]) -> None:
        actions.append(Action("gitea", description, run))

    repo = repo or RepoState(exists=False)
    if not repo.exists:
        add(f"create repository {full}", lambda: o.create_repo(name))
    if not repo.seeded:
        add(
            f"push {path.name} into {full} (initial commit on {SEED_BRANCH})",
            lambda: o.push_repo(name, path),
        )
    ours = [h for h in repo.hooks if h.url == desired.hook_url]
    if not ours:
        add(
            f"create webhook {full} -> {desired.hook_url}",
            lambda: o.create_hook(name),
        )
    else:
        keep, *duplicates = sorted(ours, key=lambda h: h.id)
        drift = hook_drift(keep, desired)
        if drift:
            add(
                f"fix webhook {full} -> {desired.hook_url} ({'; '.join(drift)})",
                lambda: o.edit_hook(name, keep.id),
            )
        for dup in duplicates:
            add(
                f"delete duplicate webhook #{dup.id} {full} -> {desired.hook_url}",
                lambda hook_id=dup.id: o.delete_hook(name, hook_id),
            )
    return actions


def _token_matches(
    gitea: GiteaClient, token: str, desired: GiteaDesired, tokens: Sequence[Mapping[str, Any]]
) -> bool:
    """The stored token authenticates as the bot and carries the wanted scopes."""
    probe = GiteaClient(gitea.base_url, token=token, timeout=gitea.timeout)
    resp = probe.request("GET", "/user", ok=(200, 401, 403))
    if resp is None or resp.status_code != 200 or resp.json().get("login") != desired.bot_user:
        return False
    for entry in tokens:
        if entry.get("token_last_eight") == token[-8:]:
            scopes = set(entry.get("scopes") or ())
            return "all" in scopes or set(desired.token_scopes) <= scopes
    return False


def observe_gitea(gitea: GiteaClient, desired: GiteaDesired, token: str | None) -> GiteaObserved:
    """Read what exists (``gitea`` authenticates as the site admin)."""
    bot = gitea.get_user(desired.bot_user)
    tokens = gitea.list_tokens(desired.bot_user) if bot else []
    token_ok = bool(bot and token and _token_matches(gitea, token, desired, tokens))
    org = gitea.get_org(desired.org)
    team: TeamState | None = None
    repos: dict[str, RepoState] = {}
    if org:
        for t in gitea.list_teams(desired.org):
            if t.get("name") == desired.team_name:
                has_bot = bool(bot) and gitea.team_has_member(int(t["id"]), desired.bot_user)
                team = TeamState(
                    id=int(t["id"]),
                    permission=str(t.get("permission", "")),
                    includes_all=bool(t.get("includes_all_repositories")),
                    units={str(k): str(v) for k, v in (t.get("units_map") or {}).items()},
                    has_bot=has_bot,
                )
                break
        for name, _ in desired.projects:
            found = gitea.get_repo(desired.org, name)
            if found is None:
                repos[name] = RepoState(exists=False)
                continue
            hooks = tuple(HookState.from_api(h) for h in gitea.list_hooks(desired.org, name))
            # Seeded means the branch the lab pushes exists. Not `empty`: Gitea clears
            # that flag in its push queue, after the push has returned (see
            # tests/fakes/EVIDENCE.md), so a `lab up` right after a push would push
            # again and be refused. The branch table is synced inside post-receive.
            seeded = gitea.get_branch(desired.org, name, SEED_BRANCH) is not None
            repos[name] = RepoState(exists=True, seeded=seeded, hooks=hooks)
    return GiteaObserved(
        bot_exists=bot is not None,
        token_ok=token_ok,
        token_names=frozenset(str(t.get("name")) for t in tokens),
        org_exists=org is not None,
        team=team,
        repos=repos,
    )


def push_directory(
    src: Path,
    url: str,
    *,
    username: str,
    password: str,
    message: str,
    branch: str = "main",
    timeout: float = PUSH_TIMEOUT,
) -> str:
    """Commit ``src``'s project files into a fresh repository and push it to ``url``.

    Credentials go through :mod:`lab.gitcreds` (an inline helper reading the git
    process's environment): never in the URL, the repository config or the command
    line. Returns the pushed commit's SHA.
    """
    if "@" in url.split("://", 1)[-1].split("/", 1)[0]:
        raise ValueError("credentials must not be part of the push URL")
    with tempfile.TemporaryDirectory(prefix="lab-push-") as tmp:
        work = Path(tmp) / "repo"
        sha = export_repository(src, work, message, branch=branch)
        try:
            git_with_credentials(
                ["-C", str(work), "push", "-q", url, f"HEAD:refs/heads/{branch}"],
                username,
                password,
                timeout=timeout,
            )
        except ServiceError as exc:
            raise ServiceError(f"pushing {src.name} to {url}: {exc}") from None
        return sha


class GiteaApplier:
    """Runs Gitea actions with an admin client; the new bot token goes to ``on_token``."""

    def __init__(
        self,
        gitea: GiteaClient,
        desired: GiteaDesired,
        *,
        bot_password: str,
        push_auth: tuple[str, str],
        on_token: Callable[[str], None],
    ) -> None:
        self.gitea = gitea
        self.desired = desired
        self._bot_password = bot_password
        self._push_auth = push_auth
        self._on_token = on_token

    def create_bot(self) -> None:
        d = self.desired
        self.gitea.admin_create_user(
            d.bot_user, password=self._bot_password, email=d.bot_email, full_name="CD4ML bot"
        )

    def delete_token(self, name: str) -> None:
        self.gitea.delete_token(self.desired.bot_user, name)

    def create_token(self) -> None:
        d = self.desired
        created = self.gitea.create_token(d.bot_user, d.token_name, d.token_scopes)
        value = str(created.get("sha1") or "")
        if not value:
            raise ServiceError(f"Gitea: new token {d.token_name} came back without a value")
        self._on_token(value)  # stored at once: Gitea shows a token's value only once

    def create_org(self) -> None:
        self.gitea.create_org(self.desired.org, description="CD4ML lab projects")

    def create_team(self) -> None:
        self.gitea.create_team(
            self.desired.org,
            self.desired.team_name,
            units=self.desired.team_units,
            all_repos=True,
            description="Automation accounts (Jenkins pushes and comments as the bot)",
        )

    def edit_team(self, team_id: int) -> None:
        d = self.desired
        self.gitea.edit_team(team_id, d.team_name, units=d.team_units, all_repos=True)

    def _team_id(self) -> int:
        for team in self.gitea.list_teams(self.desired.org):
            if team.get("name") == self.desired.team_name:
                return int(team["id"])
        raise ServiceError(f"Gitea: team {self.desired.org}/{self.desired.team_name} not found")

    def add_bot_to_team(self) -> None:
        self.gitea.add_team_member(self._team_id(), self.desired.bot_user)

    def create_repo(self, name: str) -> None:
        self.gitea.create_org_repo(
            self.desired.org,
            name,
            description=f"CD4ML lab project {name}",
            default_branch=SEED_BRANCH,
        )

    def push_repo(self, name: str, path: Path) -> None:
        user, password = self._push_auth
        push_directory(
            path,
            f"{self.gitea.base_url}/{self.desired.org}/{name}.git",
            username=user,
            password=password,
            message=f"Import {name} (cd4ml-lab)",
            branch=SEED_BRANCH,
        )

    def create_hook(self, repo: str) -> None:
        d = self.desired
        self.gitea.create_hook(d.org, repo, d.hook_url, events=d.hook_events)

    def edit_hook(self, repo: str, hook_id: int) -> None:
        d = self.desired
        self.gitea.edit_hook(d.org, repo, hook_id, d.hook_url, events=d.hook_events)

    def delete_hook(self, repo: str, hook_id: int) -> None:
        self.gitea.delete_hook(self.desired.org, repo, hook_id)


def gitea_desired(
    cfg: LabConfig, secrets: Secrets, projects: Sequence[tuple[str, Path]]
) -> GiteaDesired:
    return GiteaDesired(
        org=cfg.org,
        bot_user=secrets.require("GITEA_BOT_USER"),
        bot_email=cfg.bot_email,
        projects=tuple((name, Path(path)) for name, path in projects),
    )


def converge_gitea(
    cfg: LabConfig,
    secrets: Secrets,
    projects: Sequence[tuple[str, Path]],
    *,
    gitea: GiteaClient | None = None,
    progress: Progress = print,
) -> list[str]:
    """Bring Gitea to the lab's shape; return what changed ([] when nothing did).

    ``gitea`` must authenticate as the site admin (default: basic auth with
    ``GITEA_ADMIN_USER``/``GITEA_ADMIN_PASSWORD`` at ``cfg.gitea_url``). A new bot
    token is saved to ``secrets`` as ``GITEA_BOT_TOKEN`` as soon as it exists.
    """
    admin = (secrets.require("GITEA_ADMIN_USER"), secrets.require("GITEA_ADMIN_PASSWORD"))
    client = gitea or GiteaClient(cfg.gitea_url, basic=admin)
    desired = gitea_desired(cfg, secrets, projects)
    observed = observe_gitea(client, desired, secrets.get("GITEA_BOT_TOKEN") or None)
    for name, _ in desired.projects:
        repo = observed.repos.get(name)
        if repo and repo.seeded:
            progress(f"  gitea: {desired.org}/{name} already has commits; left as it is")
    ops = GiteaApplier(
        client,
        desired,
        bot_password=secrets.require("GITEA_BOT_PASSWORD"),
        push_auth=admin,
        on_token=lambda value: secrets.set("GITEA_BOT_TOKEN", value),
    )
    changed = apply(plan_gitea(observed, desired, ops), progress=progress)
    if not changed:
        progress("  gitea: nothing to change")
    return changed


# ================================================================== S3 ==
@dataclass(frozen=True)
class S3Observed:
    bucket_exists: bool
    identity: DvcIdentity
    secret_ok: bool  # the server accepts the lab's DVC secret (False when no identity)


@dataclass(frozen=True)
class S3Desired:
    bucket: str
    access_key: str


class S3Ops(Protocol):
    def create_bucket(self) -> None: ...
    def ensure_identity(self) -> None: ...
    def repair_secret(self) -> None: ...


def plan_s3(
    observed: S3Observed, desired: S3Desired, ops: S3Ops | None = None, *, phase: str = "minio"
) -> list[Action]:
    """The actions that take the S3 service from ``observed`` to ``desired`` (pure)."""
    actions: list[Action] = []
    o: S3Ops = ops if ops is not None else cast(S3Ops, _InspectOnly())

    def add(description: str, run: Callable[[], object]) -> None:
        actions.append(Action(phase, description, run))

    user = f"DVC user {mask(desired.access_key)}"  # the access key is a credential half
    if not observed.bucket_exists:
        add(f"create bucket {desired.bucket}", lambda: o.create_bucket())
    if not observed.identity.exists:
        add(
            f"create {user} with least privilege on {desired.bucket}",
            lambda: o.ensure_identity(),
        )
        return actions
    if observed.identity.drift:
        add(
            f"reset {user} to least privilege on {desired.bucket} "
            f"({'; '.join(observed.identity.drift)})",
            lambda: o.ensure_identity(),
        )
    if not observed.secret_ok:
        add(f"reset the secret of {user} to the lab's", lambda: o.repair_secret())
    return actions


def observe_s3(s3: S3Admin, desired: S3Desired, secret_key: str) -> S3Observed:
    identity = s3.dvc_identity(desired.access_key, desired.bucket)
    return S3Observed(
        bucket_exists=s3.bucket_exists(desired.bucket),
        identity=identity,
        secret_ok=identity.exists
        and s3.secret_accepted(desired.access_key, secret_key, desired.bucket),
    )


class S3Applier:
    def __init__(self, s3: S3Admin, desired: S3Desired, *, secret_key: str) -> None:
        self.s3, self.desired = s3, desired
        self._secret_key = secret_key

    def create_bucket(self) -> None:
        self.s3.ensure_bucket(self.desired.bucket)

    def ensure_identity(self) -> None:
        d = self.desired
        self.s3.ensure_dvc_identity(d.access_key, self._secret_key, d.bucket)

    def repair_secret(self) -> None:
        self.s3.repair_secret(self.desired.access_key, self._secret_key)


def s3_admin(cfg: LabConfig, secrets: Secrets) -> S3Admin:
    """The admin client of the S3 service ``LAB_S3`` selects, at ``cfg.minio_url``.

    Both services take the lab's S3 admin from ``MINIO_ROOT_USER``/``MINIO_ROOT_PASSWORD``
    (MinIO's root user; SeaweedFS' admin identity, see compose/docker-compose.yml).
    """
    user, password = secrets.require("MINIO_ROOT_USER"), secrets.require("MINIO_ROOT_PASSWORD")
    if cfg.s3 == "seaweedfs":
        from lab.clients.seaweedfs import SeaweedS3Admin

        return SeaweedS3Admin(cfg.minio_url, user, password)
    return MinioS3Admin(
        Storage(cfg.minio_url, user, password), StorageAdmin(cfg.minio_url, user, password)
    )


def converge_s3(
    cfg: LabConfig,
    secrets: Secrets,
    *,
    s3: S3Admin | None = None,
    progress: Progress = print,
) -> list[str]:
    """Bring the S3 service to the lab's shape; return what changed ([] when nothing did).

    ``s3`` defaults to :func:`s3_admin` (tests pass their own).
    """
    access_key, secret_key = secrets.require("DVC_ACCESS_KEY"), secrets.require("DVC_SECRET_KEY")
    s3 = s3 if s3 is not None else s3_admin(cfg, secrets)
    phase = s3.service.lower()
    desired = S3Desired(bucket=cfg.dvc_bucket, access_key=access_key)
    observed = observe_s3(s3, desired, secret_key)
    ops = S3Applier(s3, desired, secret_key=secret_key)
    changed = apply(plan_s3(observed, desired, ops, phase=phase), progress=progress)
    if not changed:
        progress(f"  {phase}: nothing to change")
    return changed


def converge_minio(
    cfg: LabConfig,
    secrets: Secrets,
    *,
    progress: Progress = print,
    root: Storage | None = None,
    admin: StorageAdmin | None = None,
    dvc: Storage | None = None,
) -> list[str]:
    """:func:`converge_s3` with MinIO at ``cfg.minio_url``; ``root``/``admin``/``dvc``
    default to clients as the MinIO root user and as the DVC user (tests pass their own)."""
    root_user, root_pw = secrets.require("MINIO_ROOT_USER"), secrets.require("MINIO_ROOT_PASSWORD")
    s3 = MinioS3Admin(
        root or Storage(cfg.minio_url, root_user, root_pw),
        admin or StorageAdmin(cfg.minio_url, root_user, root_pw),
        dvc=dvc,
    )
    return converge_s3(cfg, secrets, s3=s3, progress=progress)
