"""`lab exercise list|start N|check N`: the workshop's exercises (docs/workshop.md)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lab.config import LabConfig
from lab.errors import CheckFailed, LabError, PrerequisiteMissing
from lab.report import Reporter

if TYPE_CHECKING:
    from lab.scenarios.driver import Driver


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "exercise",
        help="workshop exercises on the lab's projects: list, start, check",
        description="Workshop exercises (docs/workshop.md). Each exercise works on its own "
        "copy of a lab project (the demo, or cd4ml-train for exercise 5) under "
        ".lab/workshop/ and is checked by a scenario (exercises/exercise-N.yaml).",
    )
    sub = parser.add_subparsers(dest="exercise_command", metavar="SUBCOMMAND")
    sub.required = True

    lister = sub.add_parser("list", help="the exercises, their goals and your copies")
    lister.set_defaults(handler=_list)

    starter = sub.add_parser("start", help="create your copy of the project for exercise N (once)")
    starter.add_argument("number", type=int, metavar="N")
    starter.add_argument(
        "--reset",
        action="store_true",
        help="start again from the project (your copy is kept, moved to "
        "exercise-N.previous-<UTC time>)",
    )
    starter.set_defaults(handler=_start)

    checker = sub.add_parser("check", help="run exercise N's checking scenario on your copy")
    checker.add_argument("number", type=int, metavar="N")
    checker.add_argument(
        "--driver",
        default="local",
        help="local (default: no Docker needed), stack (the running lab: your copy is "
        "pushed with `lab project add` first) or module:Class",
    )
    checker.add_argument(
        "--keep", action="store_true", help="keep the clone, branches and PRs the check creates"
    )
    checker.set_defaults(handler=_check)


def _list(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab import workshop

    exercises = workshop.list_exercises(cfg)
    if not exercises:
        print(f"no exercises in {workshop.exercises_dir(cfg)}")
        return 0
    for exercise in exercises:
        copy = workshop.copy_path(cfg, exercise.number)
        state = f"copy: {copy}" if (copy / ".git").is_dir() else "not started"
        print(f"{exercise.number}. {exercise.goal}")
        print(f"   {state}; guide: {exercise.guide}")
    return 0


def _start(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab import workshop

    started = workshop.start(cfg, args.number, reset=args.reset, progress=print)
    exercise = started.exercise
    if not started.created:
        print(f"exercise {exercise.number} is already started (`--reset` starts it again)")
    print(f"exercise {exercise.number}: {exercise.goal}")
    print(f"  your copy:    {started.path} (lab project {exercise.project})")
    print(f"  instructions: {exercise.guide}")
    stack = " [--driver stack]" if "stack" in exercise.scenario.drivers else ""
    print(f"  check it:     lab exercise check {exercise.number}{stack}")
    return 0


def _check(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab import workshop
    from lab.scenarios.driver import DriverUnavailable
    from lab.scenarios.state import ScenarioFailed

    exercise = workshop.get_exercise(cfg, args.number)
    copy = workshop.require_copy(cfg, exercise)
    out = Reporter()
    dirty = workshop.uncommitted(copy)
    if dirty:
        seen = (
            "the local driver uses them as they are"
            if args.driver == "local"
            else ("the stack sees commits only: commit them first")
        )
        out.note(f"{len(dirty)} uncommitted change(s) in {copy} ({seen}):")
        for line in dirty[:10]:
            out.note(f"  {line}")
    workshop.require_driver(exercise, args.driver)
    driver = _driver(args.driver, cfg)
    try:
        driver.sanity_check()
    except DriverUnavailable as exc:
        raise PrerequisiteMissing(f"driver {args.driver} cannot run: {exc}") from None
    begun = time.monotonic()
    try:
        if args.driver == "stack":
            with out.phase(f"pushing {copy} to the lab as {exercise.project}"):
                _prepare_stack(cfg, exercise.project, copy, out)
        with out.phase(
            f"exercise {exercise.number}: {exercise.scenario.path.name} ({driver.name})"
        ):
            workshop.check(cfg, args.number, driver, progress=out.note, keep=args.keep)
    except ScenarioFailed as exc:
        if exc.broken:
            raise
        print(exc.report(), file=sys.stderr)
        raise CheckFailed(
            f"exercise {exercise.number} is not done yet: see what was expected and seen above",
            hint=f"the guide: {exercise.guide}",
        ) from None
    finally:
        driver.close()
    print(f"exercise {exercise.number} passed in {time.monotonic() - begun:.1f}s")
    return 0


def _driver(name: str, cfg: LabConfig) -> Driver:
    if name == "local":
        from lab.scenarios.drivers.local import LocalDriver

        return LocalDriver(cfg)
    if name == "stack":
        from lab.scenarios.drivers.stack import StackDriver

        return StackDriver(cfg)
    from lab.scenarios.drivers import make_driver

    return make_driver(name)


def _prepare_stack(cfg: LabConfig, project: str, copy: Path, out: Reporter) -> None:
    """What `lab project add` does (Gitea repository, push, hook, Jenkins job), then main's
    DVC data into MinIO, as `lab up` does for the shipped projects."""
    from lab.clients.gitea import GiteaClient
    from lab.dvcseed import seed_dvc_remote
    from lab.projectops import add_project
    from lab.secrets import Secrets
    from lab.up import converge_jenkins
    from lab.workshop import run_git

    secrets = Secrets.load(cfg.secrets_file)
    admin = (secrets.require("GITEA_ADMIN_USER"), secrets.require("GITEA_ADMIN_PASSWORD"))
    gitea = GiteaClient(cfg.gitea_url, basic=admin)
    try:
        ready = gitea.ready()
    except LabError:
        ready = False
    if not ready:
        raise PrerequisiteMissing(
            f"Gitea does not answer at {cfg.gitea_url}",
            hint="start the lab with `make lab-up`, or check with the local driver (the default)",
        )
    changes = add_project(
        cfg,
        secrets,
        copy,
        name=project,
        gitea=gitea,
        seed_jobs=lambda: converge_jenkins(cfg, secrets, out, always_seed=False),
        progress=out.note,
    )
    for change in changes:
        out.note(change)
    with tempfile.TemporaryDirectory(prefix=f"lab-{project}-seed-") as tmp:
        checkout = Path(tmp) / project
        run_git(Path(tmp), "clone", "--quiet", "--branch", "main", str(copy), str(checkout))
        seed_dvc_remote(
            checkout,
            env={"DVC_S3_ENDPOINT": cfg.minio_url},
            credentials=(secrets.require("DVC_ACCESS_KEY"), secrets.require("DVC_SECRET_KEY")),
        )
    out.note(f"main's DVC data of {project} is in s3://{cfg.dvc_bucket}")
