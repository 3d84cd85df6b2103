"""Stack commands: up, down, status, doctor, creds, logs."""

from __future__ import annotations

import argparse

from lab.config import S3_SERVICES, LabConfig
from lab.doctor import format_checks, raise_on_fatal, run_checks
from lab.errors import ConfigError
from lab.report import Reporter
from lab.secrets import ALL_KEYS, PUBLIC_KEYS, Secrets, mask
from lab.stack import STAGE_ONE, STAGE_TWO, Compose
from lab.status import collect_status, format_status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "up",
        help="start the lab and converge it (idempotent)",
        description="Start the lab and converge it (idempotent). The S3 service is MinIO, "
        "or SeaweedFS with LAB_S3=seaweedfs (docs/s3.md).",
    )
    p.set_defaults(handler=cmd_up)

    p = sub.add_parser("down", help="stop the lab; data is kept unless --volumes")
    p.add_argument("--volumes", action="store_true", help="also delete the lab's volumes (data)")
    p.set_defaults(handler=cmd_down)

    p = sub.add_parser("status", help="health of each service, seeded jobs and their last builds")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser(
        "seed", help="run the Jenkins seed job now (one multibranch job per Gitea repo)"
    )
    p.set_defaults(handler=cmd_seed)

    p = sub.add_parser("doctor", help="check this machine can run the lab, with fixes")
    p.set_defaults(handler=cmd_doctor)

    p = sub.add_parser("creds", help="where the lab's secrets live; one on request")
    p.add_argument("--show", metavar="KEY", help="print one secret in full (e.g. GITEA_BOT_TOKEN)")
    p.set_defaults(handler=cmd_creds)

    p = sub.add_parser("logs", help="logs of one service (or all)")
    p.add_argument(
        "service",
        nargs="?",
        choices=sorted({*STAGE_ONE, *S3_SERVICES, *STAGE_TWO}),
        help="one of %(choices)s (default: all)",
    )
    p.add_argument("--tail", type=int, default=200, help="lines from the end (default 200)")
    p.add_argument("-f", "--follow", action="store_true", help="keep following")
    p.set_defaults(handler=cmd_logs)


def cmd_up(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.up import lab_up, summary

    reporter = Reporter()
    changes = lab_up(cfg, reporter=reporter)
    print()
    if changes:
        print(f"lab up: ready in {reporter.elapsed:.0f}s; changed:")
        for change in changes:
            print(f"  - {change}")
    else:
        print(
            f"lab up: nothing changed, the lab was already up and converged "
            f"({reporter.elapsed:.0f}s)"
        )
    print(summary(cfg, Secrets.load(cfg.secrets_file)))
    return 0


def cmd_down(args: argparse.Namespace, cfg: LabConfig) -> int:
    Compose(cfg).down(volumes=args.volumes)
    if args.volumes:
        print("lab down: stopped; volumes deleted (Jenkins, Gitea, MinIO data and /extras cache)")
        print(f"  secrets in {cfg.secrets_file} are kept; delete the file for new ones")
    else:
        print(
            "lab down: stopped; data kept in the volumes (`lab up` resumes, "
            "`lab down --volumes` deletes)"
        )
    return 0


def cmd_status(args: argparse.Namespace, cfg: LabConfig) -> int:
    status = collect_status(cfg, Compose(cfg))
    print(format_status(status))
    return 0 if status.healthy else 1


def cmd_seed(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.up import converge_jenkins

    secrets = Secrets.load(cfg.secrets_file)
    reporter = Reporter()
    with reporter.phase("jenkins: seed job"):
        changes = converge_jenkins(cfg, secrets, reporter, timeout=120, always_seed=True)
    print("lab seed: " + ("; ".join(changes) if changes else "jobs already matched the repos"))
    return 0


def cmd_doctor(args: argparse.Namespace, cfg: LabConfig) -> int:
    checks = run_checks(cfg, lab_ports_in_use=Compose(cfg).is_running())
    print(format_checks(checks))
    raise_on_fatal(checks, "the machine cannot run the lab; failed")
    print("lab doctor: this machine can run the lab")
    return 0


def cmd_creds(args: argparse.Namespace, cfg: LabConfig) -> int:
    secrets = Secrets.load(cfg.secrets_file)
    if args.show:
        if args.show not in ALL_KEYS:
            raise ConfigError(
                f"unknown secret {args.show!r}", hint="one of: " + ", ".join(ALL_KEYS)
            )
        print(secrets.require(args.show))
        return 0
    print(f"secrets file: {cfg.secrets_file} (mode 0600, never committed)")
    for key in ALL_KEYS:
        value = secrets.get(key, "")
        shown = value if key in PUBLIC_KEYS else (mask(value) if value else "(not yet created)")
        print(f"  {key:<24} {shown}")
    print("print one in full with: lab creds --show KEY")
    return 0


def cmd_logs(args: argparse.Namespace, cfg: LabConfig) -> int:
    Compose(cfg).logs(args.service, tail=args.tail, follow=args.follow)
    return 0
