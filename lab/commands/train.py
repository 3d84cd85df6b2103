"""`lab train PROJECT --param NAME=VALUE ... [--driver stack|local]`: run a project's
parametrized training job and follow its log (docs/training-jobs.md). On the stack it is the
project's branch job in Jenkins; on the local driver, the same Jenkinsfile run on this host
with the forge, S3 server, private index and credentials the local driver sets up."""

from __future__ import annotations

import argparse
import secrets
import sys

from lab.config import LabConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="run a project's parametrized job (on the stack or the local driver), follow its log",
        description="Start the parametrized job of PROJECT (its Jenkinsfile's `parameters`) with "
        "the given parameters, print its log as it runs, and exit 0 when the build is SUCCESS, "
        "1 otherwise. Parameters not given keep their defaults. --driver stack (default) "
        "starts the job in the running lab's Jenkins; --driver local runs the same Jenkinsfile "
        "without Docker (a local forge, a SeaweedFS S3 server, a pypiserver private index, the "
        "pip-conf and s3-credentials secret files), as `lab scenario run --driver local` does. "
        "Example: lab train cd4ml-train --param PROBLEM=iris --param N_ESTIMATORS=100",
    )
    p.add_argument("project", help="a lab project with a parametrized Jenkinsfile (cd4ml-train)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a build parameter (repeatable); names and choices are checked against the "
        "Jenkinsfile first",
    )
    p.add_argument("--branch", default="main", help="the branch job to build (default: main)")
    p.add_argument(
        "--driver",
        choices=("stack", "local"),
        default="stack",
        help="stack (the running lab, default) or local (no Docker: the build runs on this "
        "host and its services stop when it ends)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="stack: seconds to follow the build (default 1800; the build goes on after). "
        "local: the Jenkinsfile's own timeouts bound the build",
    )
    p.set_defaults(handler=cmd_train)


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def cmd_train(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.projects import find_project
    from lab.training import declared_parameters, parse_params

    jenkinsfile = find_project(cfg, args.project) / "Jenkinsfile"
    params = parse_params(args.param, declared_parameters(jenkinsfile), str(jenkinsfile))
    if getattr(args, "driver", "stack") == "local":
        job, number, result = _train_local(cfg, args.project, args.branch, params, args.timeout)
    else:
        job, number, result = _train_stack(cfg, args.project, args.branch, params, args.timeout)
    print(f"lab train: {job} #{number} {result}")
    return 0 if result == "SUCCESS" else 1


def _train_stack(
    cfg: LabConfig, project: str, branch: str, params: dict[str, str], timeout: float
) -> tuple[str, int, str]:
    from lab.secrets import Secrets
    from lab.training import run_training, train_job
    from lab.up import jenkins_client

    jenkins = jenkins_client(cfg, Secrets.load(cfg.secrets_file))
    job = train_job(cfg.org, project, branch)
    number, result = run_training(jenkins, job, params, out=_out, timeout=timeout)
    return job, number, result


def _train_local(
    cfg: LabConfig, project: str, branch: str, params: dict[str, str], timeout: float
) -> tuple[str, int, str]:
    """The branch job's build on the local driver, its log printed line by line."""
    from lab.clients.jenkins import strip_timestamps
    from lab.errors import PrerequisiteMissing
    from lab.report import Reporter
    from lab.scenarios.driver import DriverUnavailable
    from lab.scenarios.drivers.local import LocalDriver
    from lab.scenarios.drivers.localjobs import branch_job

    driver = LocalDriver(cfg)
    try:
        driver.sanity_check()
    except DriverUnavailable as exc:
        raise PrerequisiteMissing(f"driver local cannot run: {exc}") from None
    note = Reporter(sys.stderr).note  # the build log alone on stdout
    try:
        driver.start(project, f"train-{secrets.token_hex(4)}", note)
        started = driver.start_build(branch, params, note)
        _out(f"lab train: {started} started (local driver)\n")
        driver.live_log = lambda line: _out(strip_timestamps(line))
        build = driver.wait_started(timeout, note)
    finally:
        driver.finish(keep=False, progress=note)
        driver.close()
    return branch_job(cfg.org, project, branch), build.number, build.result
