"""The `lab` command line: one entry, sub-commands registered by their modules.

Each command module exposes ``register(subparsers)``; every sub-parser sets
``handler=(args, cfg) -> int``. Errors derived from :class:`lab.errors.LabError`
are printed without a traceback and mapped to their exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from lab import __version__
from lab.config import LabConfig
from lab.errors import EXIT_CODES, INTERNAL_ERROR, LabError, os_error

Handler = Callable[[argparse.Namespace, LabConfig], int]


def _exit_codes_epilog() -> str:
    lines = ["exit codes:"]
    lines += [f"  {code}  {meaning}" for code, meaning in sorted(EXIT_CODES.items())]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lab",
        description="cd4ml-lab: a local Jenkins + Gitea + MinIO + DVC stack for CD4ML pipelines "
        "(LAB_S3=seaweedfs: SeaweedFS instead of MinIO).",
        epilog=_exit_codes_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cd4ml-lab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for register in _registrars():
        register(sub)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """`lab X --help` opens with X's one-line summary when X has no description of its own."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                child.description = child.description or summaries.get(name)
                _describe(child)


def _registrars() -> list[Callable[[argparse._SubParsersAction], None]]:
    # Imported here so `lab --help` stays fast and a broken optional module names itself.
    from lab.commands import register_all

    return register_all()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = LabConfig.load()
        return int(args.handler(args, cfg))
    except LabError as exc:
        print(f"lab {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. a read-only .lab: name the path, no traceback
        error = os_error(exc)
        print(f"lab {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"lab {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of the lab: one line, the traceback only on request
        if os.environ.get("LAB_DEBUG") == "1":
            raise
        print(
            f"lab {args.command}: internal error: {type(exc).__name__}: {exc}\n"
            "  hint: this is a bug in the lab; rerun with LAB_DEBUG=1 for the traceback "
            "and report it",
            file=sys.stderr,
        )
        return INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
