"""Run git with HTTP credentials that never touch a URL, a config file or the command line.

git asks its credential helpers when a server answers 401. The helper installed
here through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` (so
nothing is written to any git config file, and argv stays clean) prints two
environment variables of the git process itself. An empty ``credential.helper``
first drops any helper from the user's config, so nothing is stored either.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from lab.errors import ServiceError, output_tail

USERNAME_VAR = "LAB_GIT_USERNAME"
PASSWORD_VAR = "LAB_GIT_PASSWORD"  # noqa: S105 - the variable's name, not a password

HELPER = (
    f'!f() {{ test "$1" = get || exit 0; echo "username=${{{USERNAME_VAR}}}"; '
    f'echo "password=${{{PASSWORD_VAR}}}"; }}; f'
)


def git_credential_env(
    base: Mapping[str, str], credentials: tuple[str, str] | None
) -> dict[str, str]:
    """``base`` plus what makes git answer a 401 with ``credentials`` (None: never prompt)."""
    env = {
        k: v
        for k, v in base.items()
        if k != "GIT_CONFIG_COUNT" and not k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }
    env.pop("GIT_ASKPASS", None)
    env["GIT_TERMINAL_PROMPT"] = "0"
    if credentials is None:
        return env
    env.update(
        {
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": "",
            "GIT_CONFIG_KEY_1": "credential.helper",
            "GIT_CONFIG_VALUE_1": HELPER,
            USERNAME_VAR: credentials[0],
            PASSWORD_VAR: credentials[1],
        }
    )
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
    verb = _verb(args)
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=git_credential_env(os.environ, (username, password)),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"git {verb} took over {timeout:.0f}s") from None
    if proc.returncode != 0:
        tail = output_tail(proc.stderr or proc.stdout, secret=password)
        raise ServiceError(f"git {verb} failed (exit {proc.returncode}):\n{tail}")
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
