"""`lab project add/list/remove`: bring a user's own repository (with its Jenkinsfile) into the lab.

``add`` creates the Gitea repository in the lab's organisation, pushes every
local branch with its history (never forced), converges the webhooks through
the bootstrap (the same code `lab up` runs), records the project in
``.lab/projects.json`` and, when Jenkins runs, has the seed job create its
multibranch job. Everything is idempotent: adding the same repository again
pushes new commits and changes nothing else.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab import registry
from lab.bootstrap import converge_gitea
from lab.clients.gitea import GiteaClient
from lab.config import LabConfig
from lab.errors import ConfigError, ServiceError
from lab.gitcreds import git_with_credentials
from lab.projects import all_projects, shipped_projects
from lab.secrets import Secrets

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LocalRepo:
    path: Path
    branches: list[str]
    with_jenkinsfile: list[str]


def inspect_repository(path: Path, cfg: LabConfig | None = None) -> LocalRepo:
    """The branches of a local git repository and which of them carry a Jenkinsfile.

    Checked before the lab is contacted: the path must be the top of its own repository
    (the lab pushes whole repositories, so a subdirectory would take its parent's files
    along), with at least one commit and a Jenkinsfile at the root of some branch.
    """
    path = path.expanduser().resolve()
    if not path.exists():
        raise ConfigError(f"{path}: no such directory")
    if not path.is_dir():
        raise ConfigError(f"{path}: not a directory", hint="pass the repository's directory")
    probe = _git(path, "rev-parse", "--show-toplevel", check=False)
    if probe.returncode != 0:
        raise ConfigError(
            f"{path} is not a git repository", hint="`git init` and commit your project first"
        )
    top = Path(probe.stdout.strip()).resolve()
    if top != path:
        raise _subdirectory_error(path, top, cfg)
    refs = _git(path, "for-each-ref", "--format=%(refname:short)", "refs/heads/").stdout.split()
    if not refs:
        raise ConfigError(
            f"{path}: the repository has no commit yet",
            hint="commit your project (with its Jenkinsfile) first",
        )
    with_jf = [
        b
        for b in refs
        if _git(path, "cat-file", "-e", f"{b}:Jenkinsfile", check=False).returncode == 0
    ]
    if not with_jf:
        raise ConfigError(
            f"{path}: no branch has a Jenkinsfile at its root",
            hint="the lab's jobs run `Jenkinsfile` (multibranch script path); commit one",
        )
    return LocalRepo(path, refs, with_jf)


def _subdirectory_error(path: Path, top: Path, cfg: LabConfig | None) -> ConfigError:
    """Refuse a directory inside a repository: pushing it would push its whole parent."""
    if cfg is not None and path.parent == cfg.projects_dir.resolve():
        return ConfigError(
            f"{path} is a project shipped with the lab, not a repository of its own",
            hint=f"`lab up` already pushes it as {cfg.org}/{path.name}; "
            "to change it, edit it in the lab's checkout and run `lab up`",
        )
    rel = path.relative_to(top).as_posix()
    return ConfigError(
        f"{path} is the subdirectory {rel} of the git repository {top}; "
        "the lab adds whole repositories only, never part of one",
        hint=f"make it a repository of its own, e.g. with its history: `git -C {top} subtree "
        f"split --prefix={rel} -b {path.name}-only && git clone --branch {path.name}-only "
        f"{top} ../{path.name}`, then `lab project add ../{path.name}`",
    )


def _git(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if check and proc.returncode != 0:
        raise ConfigError(f"{path}: git {args[0]} failed: {proc.stderr.strip()}")
    return proc


def add_project(
    cfg: LabConfig,
    secrets: Secrets,
    source: Path,
    *,
    name: str | None = None,
    gitea: GiteaClient | None = None,
    seed_jobs: Callable[[], list[str]] | None = None,
    progress: Progress = print,
) -> list[str]:
    """Add (or refresh) a user project; return what changed."""
    repo = inspect_repository(source, cfg)
    name = registry.check_name(name or repo.path.name)
    if name in {n for n, _ in shipped_projects(cfg)}:
        raise ConfigError(
            f"{name!r} is a project shipped with the lab", hint="choose another --name"
        )
    known = registry.load(cfg).get(name)
    if known and known.source != repo.path:
        raise ConfigError(
            f"project {name!r} was added from {known.source}, not {repo.path}",
            hint="`lab project remove` it first, or pass another --name",
        )
    admin = (secrets.require("GITEA_ADMIN_USER"), secrets.require("GITEA_ADMIN_PASSWORD"))
    client = gitea or GiteaClient(cfg.gitea_url, basic=admin)
    changes: list[str] = []
    if client.get_repo(cfg.org, name) is None:
        client.create_org_repo(
            cfg.org,
            name,
            description=f"added with `lab project add` from {repo.path.name}",
            default_branch=repo.with_jenkinsfile[0] if "main" not in repo.branches else "main",
        )
        changes.append(f"created Gitea repository {cfg.org}/{name}")
    changes += _push_branches(cfg, repo, name, admin, progress)
    if not known:
        registry.record(cfg, name, repo.path)
        changes.append(f"recorded {name} in {registry.registry_file(cfg)}")
    projects = [p for p in all_projects(cfg) if p[0] != name] + [(name, repo.path)]
    changes += converge_gitea(cfg, secrets, projects, gitea=client, progress=progress)
    if seed_jobs is not None:
        changes += seed_jobs()
    return changes


def _push_branches(
    cfg: LabConfig, repo: LocalRepo, name: str, auth: tuple[str, str], progress: Progress
) -> list[str]:
    url = f"{cfg.gitea_url}/{cfg.org}/{name}.git"
    try:
        proc = git_with_credentials(
            ["-C", str(repo.path), "push", "--porcelain", url, "refs/heads/*:refs/heads/*"],
            *auth,
        )
    except ServiceError as exc:
        if "non-fast-forward" in str(exc) or "rejected" in str(exc):
            raise ServiceError(
                f"Gitea's {cfg.org}/{name} has commits your local branches lack: {exc}",
                hint="pull them first (the lab never force-pushes), or push them by hand",
            ) from None
        raise
    updated = [
        line.split("\t")[1].split(":")[-1].removeprefix("refs/heads/")
        for line in proc.stdout.splitlines()
        if line[:1] in ("*", "+", " ") and "\t" in line and "[up to date]" not in line
    ]
    if not updated:
        progress(f"  gitea: {cfg.org}/{name} already has every local branch")
        return []
    return [f"pushed {', '.join(sorted(updated))} to {cfg.org}/{name}"]


def remove_project(
    cfg: LabConfig,
    secrets: Secrets,
    name: str,
    *,
    gitea: GiteaClient | None = None,
    seed_jobs: Callable[[], list[str]] | None = None,
) -> list[str]:
    """Remove an added project: its Gitea repository, its registry entry and its job."""
    if name in {n for n, _ in shipped_projects(cfg)}:
        raise ConfigError(f"{name!r} is shipped with the lab and cannot be removed")
    admin = (secrets.require("GITEA_ADMIN_USER"), secrets.require("GITEA_ADMIN_PASSWORD"))
    client = gitea or GiteaClient(cfg.gitea_url, basic=admin)
    changes = []
    if client.get_repo(cfg.org, name) is not None:
        client.delete_repo(cfg.org, name)
        changes.append(f"deleted Gitea repository {cfg.org}/{name}")
    if registry.forget(cfg, name):
        changes.append(f"removed {name} from {registry.registry_file(cfg)}")
    if not changes:
        raise ConfigError(f"no project {name!r} was added", hint="see `lab project list`")
    if seed_jobs is not None:
        changes += seed_jobs()
    return changes


@dataclass(frozen=True)
class ProjectRow:
    name: str
    kind: str  # shipped | added
    source: str
    in_gitea: str  # yes | no | ? (Gitea not reachable)


def list_projects(cfg: LabConfig, gitea: GiteaClient | None) -> list[ProjectRow]:
    repos: set[str] | None = None
    if gitea is not None:
        try:
            repos = {r["name"] for r in gitea.list_org_repos(cfg.org)}
        except ServiceError:
            repos = None
    shipped = {n for n, _ in shipped_projects(cfg)}
    rows = []
    for name, path in all_projects(cfg):
        present = "?" if repos is None else ("yes" if name in repos else "no")
        rows.append(ProjectRow(name, "shipped" if name in shipped else "added", str(path), present))
    return rows
