"""`lab lint`: check Jenkinsfiles offline (and with --jenkins, on the running lab)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lab.config import LabConfig
from lab.errors import ConfigError, PrerequisiteMissing
from lab.inputs import read_text_file

if TYPE_CHECKING:
    from lab.lint.validator import Validator

EPILOG = """\
rules: groovy-syntax, unknown-credential, missing-plugin, dvc-removed, token-in-url
(errors); git-add-all, interpolated-secret (warnings); jenkins-validate with --jenkins.
Exit 0 when no error was found (warnings alone pass unless --strict), 1 otherwise.
See docs/jenkinsfile-testing.md."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lint",
        help="check Jenkinsfiles offline against the lab's plugins, credentials and CD4ML pitfalls",
        description="Check Jenkinsfiles without running them: Groovy syntax, credential ids "
        "the lab's JCasC defines, plugins the lab installs, DVC 3 commands, and "
        "commit-back and secret-handling pitfalls. With --jenkins, also Jenkins' own "
        "Declarative validator on the running lab.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="JENKINSFILE",
        help="files to check (default: every Jenkinsfile under projects/)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--plugins", type=Path, default=None, help="plugins.txt (default: casc/plugins.txt)"
    )
    parser.add_argument(
        "--casc", type=Path, default=None, help="JCasC file (default: casc/jenkins.yaml)"
    )
    parser.add_argument(
        "--jenkins",
        action="store_true",
        help="also run Jenkins' Declarative validator on the running lab (needs `lab up`)",
    )
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.set_defaults(handler=_lint)


def _lint(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.lint import engine

    paths: list[Path] = list(args.paths) or engine.discover(cfg.projects_dir)
    if not paths:
        raise ConfigError(
            f"no Jenkinsfile given and none found under {cfg.projects_dir}",
            hint="pass the path of a Jenkinsfile: `lab lint path/to/Jenkinsfile`",
        )
    for path in paths:
        read_text_file(path, "a Jenkinsfile")  # a usage error (2), not a lint finding
    plugins_file = args.plugins or cfg.casc_dir / "plugins.txt"
    casc_file = args.casc or cfg.casc_dir / "jenkins.yaml"
    ctx = engine.build_context(
        plugins_file=plugins_file, casc_file=casc_file, display_root=Path.cwd()
    )
    validator = _validator(cfg) if args.jenkins else None
    report = engine.lint(paths, ctx, display_root=Path.cwd(), validator=validator)
    print(report.to_json() if args.format == "json" else report.to_text())
    return report.exit_code(strict=args.strict)


def _validator(cfg: LabConfig) -> Validator:
    from lab.lint.validator import Validator
    from lab.secrets import Secrets

    if not cfg.secrets_file.is_file():
        raise PrerequisiteMissing(
            f"--jenkins needs the running lab, but it was never started here "
            f"(no {cfg.secrets_file})",
            hint="start it with `lab up`, or lint without --jenkins",
        )
    secrets = Secrets.load(cfg.secrets_file)
    return Validator(
        cfg.jenkins_url,
        secrets.require("JENKINS_ADMIN_USER"),
        secrets.require("JENKINS_ADMIN_PASSWORD"),
    )
