"""`lab run`: run a Jenkinsfile on this host, as Jenkins would build the repository's HEAD."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.config import LabConfig

EPILOG = """\
The Jenkinsfile's declarative model (read with Groovy's parser, in the shape of Jenkins'
own) runs stage by stage on this host, in a fresh workspace under .lab/runs/ (kept when
the build fails, or with --keep). Constructs it cannot run here (script { } blocks,
input, shared libraries, unknown steps) stop the build at that step with "needs the
stack driver: <construct> at FILE:LINE"; --plan lists them without building.
Credentials: the lab's DVC_Remote_Creds and GIT_PAT when `lab up` made them, plus a
--credentials file (mode 0600; ID_USR=/ID_PSW= lines make a username/password ID,
ID=value a secret text). Exit 0 when the build ends SUCCESS, 1 otherwise.
See docs/jenkinsfile-testing.md."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a Jenkinsfile on this host, without Jenkins (a branch or pull-request build)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "jenkinsfile",
        nargs="?",
        type=Path,
        default=Path("Jenkinsfile"),
        metavar="JENKINSFILE",
        help="the Jenkinsfile (default: ./Jenkinsfile); its git repository's HEAD is built",
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--pr", type=int, metavar="N", help="a pull-request build (CHANGE_ID=N)")
    parser.add_argument(
        "--branch", metavar="B", help="branch name (default: the current branch; PR: its head)"
    )
    parser.add_argument(
        "--target", default="main", metavar="T", help="the PR's target branch (default: main)"
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="a build parameter"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="K=V", help="a global build variable"
    )
    parser.add_argument(
        "--skip-stage",
        action="append",
        default=[],
        metavar="NAME",
        help="mark this stage skipped (stage selection)",
    )
    parser.add_argument(
        "--credentials", type=Path, metavar="FILE", help="extra credentials (mode 0600)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the workspace after success")
    kind.add_argument(
        "--plan", action="store_true", help="list the stages and what runs here; build nothing"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.inputs import read_text_file
    from lab.pipeline import localrun

    read_text_file(args.jenkinsfile, "a Jenkinsfile")
    request = localrun.RunRequest(
        jenkinsfile=args.jenkinsfile,
        branch=args.branch,
        pr=args.pr,
        target=args.target,
        params=dict(localrun.parse_pairs(args.param, "--param")),
        env=dict(localrun.parse_pairs(args.env, "--env")),
        skip_stages=tuple(args.skip_stage),
        credentials_file=args.credentials,
        keep=args.keep,
    )
    print(f"{args.jenkinsfile}: the stages")
    for line in localrun.describe_plan(args.jenkinsfile):
        print(line)
    if args.plan:
        return 0
    run, root = localrun.run(cfg, request, out=lambda line: print(line, flush=True))
    print(f"\n{args.jenkinsfile}: {run.result}")
    for line in localrun.summary(run):
        print(line)
    if run.result != "SUCCESS" or args.keep:
        print(f"workspace kept: {root / 'workspace'}", file=sys.stderr)
    return 0 if run.result == "SUCCESS" else 1
