"""`lab train PROJECT --param NAME=VALUE ...`: run a project's parametrized training job on
the stack and follow its log (docs/training-jobs.md)."""

from __future__ import annotations

import argparse
import sys

from lab.config import LabConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="start a project's parametrized job on the stack and follow its log",
        description="Start the parametrized job of PROJECT (its Jenkinsfile's `parameters`) on "
        "the running lab with the given parameters, print its log as it runs, and exit 0 "
        "when the build is SUCCESS, 1 otherwise. Parameters not given keep their defaults. "
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
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds to follow the build (default 1800; the build goes on after)",
    )
    p.set_defaults(handler=cmd_train)


def cmd_train(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.projects import find_project
    from lab.secrets import Secrets
    from lab.training import declared_parameters, parse_params, run_training, train_job
    from lab.up import jenkins_client

    jenkinsfile = find_project(cfg, args.project) / "Jenkinsfile"
    params = parse_params(args.param, declared_parameters(jenkinsfile), str(jenkinsfile))
    secrets = Secrets.load(cfg.secrets_file)
    jenkins = jenkins_client(cfg, secrets)
    job = train_job(cfg.org, args.project, args.branch)

    def out(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    number, result = run_training(jenkins, job, params, out=out, timeout=args.timeout)
    print(f"lab train: {job} #{number} {result}")
    return 0 if result == "SUCCESS" else 1
