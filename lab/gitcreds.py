"""Run git with HTTP credentials that never touch a URL, a config file or the command line.

An inline credential helper reads them from two environment variables of the git
process only; ``credential.helper=`` first clears any helper the user configured,
so nothing is stored either.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from lab.errors import ServiceError

USERNAME_VAR = "LAB_GIT_USERNAME"
PASSWORD_VAR = "LAB_GIT_PASSWORD"  # noqa: S105 - the variable's name, not a password

HELPER = (
    f'!f() {{ test "$1" = get || return 0; echo "username=${USERNAME_VAR}"; '
    f'echo "password=${PASSWORD_VAR}"; }}; f'
)


def credential_args() -> list[str]:
    """``git -c ...`` options installing the env-reading helper for one command."""
    return ["-c", "credential.helper=", "-c", f"credential.helper={HELPER}"]


def credential_env(
    username: str, password: str, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.pop("GIT_ASKPASS", None)
    env.update({USERNAME_VAR: username, PASSWORD_VAR: password, "GIT_TERMINAL_PROMPT": "0"})
    return env


def git_with_credentials(
    args: Sequence[str],
    username: str,
    password: str,
    *,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """``git ARGS`` authenticating as ``username``; ServiceError (secret masked) on failure."""
    argv = ["git", *credential_args(), *args]
    verb = _verb(args)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=credential_env(username, password),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"git {verb} took over {timeout:.0f}s") from None
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or proc.stdout).replace(password, "****").split())
        raise ServiceError(f"git {verb} failed (exit {proc.returncode}): {tail[-400:]}")
    return proc


def _verb(args: Sequence[str]) -> str:
    """The git sub-command in ``args``, skipping global ``-c K=V`` / ``-C DIR`` options."""
    items = iter(args)
    for arg in items:
        if arg in ("-c", "-C"):
            next(items, None)
        elif not arg.startswith("-"):
            return arg
    return "command"
