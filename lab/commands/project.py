"""`lab project add|list|remove`: bring your own repository and Jenkinsfile into the lab."""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.clients.gitea import GiteaClient
from lab.config import LabConfig
from lab.errors import LabError, PrerequisiteMissing
from lab.report import Reporter
from lab.secrets import Secrets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("project", help="add your own repository (with its Jenkinsfile) to the lab")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    add = actions.add_parser(
        "add",
        help="create its Gitea repo + webhook, push its branches, seed its Jenkins job",
    )
    add.add_argument("path", type=Path, help="a local git repository with a Jenkinsfile")
    add.add_argument("--name", help="repository/job name (default: the directory's name)")
    add.set_defaults(handler=cmd_add)

    ls = actions.add_parser("list", help="shipped and added projects, and whether Gitea has them")
    ls.set_defaults(handler=cmd_list)

    rm = actions.add_parser("remove", help="delete an added project's Gitea repo and Jenkins job")
    rm.add_argument("name")
    rm.set_defaults(handler=cmd_remove)


def _lab(cfg: LabConfig) -> tuple[Secrets, GiteaClient]:
    secrets = Secrets.load(cfg.secrets_file)
    admin = (secrets.require("GITEA_ADMIN_USER"), secrets.require("GITEA_ADMIN_PASSWORD"))
    gitea = GiteaClient(cfg.gitea_url, basic=admin)
    if not _reachable(gitea):
        raise PrerequisiteMissing(
            f"Gitea does not answer at {cfg.gitea_url}", hint="start the lab with `lab up`"
        )
    return secrets, gitea


def _reachable(gitea: GiteaClient) -> bool:
    try:
        return gitea.ready()
    except LabError:
        return False


def _seeder(cfg: LabConfig, secrets: Secrets, reporter: Reporter):  # type: ignore[no-untyped-def]
    from lab.up import converge_jenkins

    return lambda: converge_jenkins(cfg, secrets, reporter, always_seed=True)


def cmd_add(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.projectops import add_project, inspect_repository

    inspect_repository(args.path, cfg)  # a bad path is a usage error, before the lab is reached
    secrets, gitea = _lab(cfg)
    reporter = Reporter()
    with reporter.phase(f"adding {args.path} to the lab"):
        changes = add_project(
            cfg,
            secrets,
            args.path,
            name=args.name,
            gitea=gitea,
            seed_jobs=_seeder(cfg, secrets, reporter),
            progress=reporter.note,
        )
    _print_changes("lab project add", changes)
    return 0


def cmd_remove(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.projectops import remove_project

    secrets, gitea = _lab(cfg)
    reporter = Reporter()
    with reporter.phase(f"removing {args.name}"):
        changes = remove_project(
            cfg, secrets, args.name, gitea=gitea, seed_jobs=_seeder(cfg, secrets, reporter)
        )
    _print_changes("lab project remove", changes)
    return 0


def cmd_list(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.projectops import list_projects

    gitea = None
    if cfg.secrets_file.is_file():
        secrets = Secrets.load(cfg.secrets_file)
        client = GiteaClient(
            cfg.gitea_url, basic=(secrets["GITEA_ADMIN_USER"], secrets["GITEA_ADMIN_PASSWORD"])
        )
        gitea = client if _reachable(client) else None
    rows = list_projects(cfg, gitea)
    print(f"{'NAME':<24} {'KIND':<8} {'IN GITEA':<9} SOURCE")
    for row in rows:
        print(f"{row.name:<24} {row.kind:<8} {row.in_gitea:<9} {row.source}")
    if gitea is None:
        print("(Gitea not reachable: `lab up` to see what the lab holds)")
    return 0


def _print_changes(what: str, changes: list[str]) -> None:
    if not changes:
        print(f"{what}: nothing changed")
        return
    print(f"{what}: changed:")
    for change in changes:
        print(f"  - {change}")
