"""Run the lab's ``docker compose exec`` calls in a container that testcontainers started.

:class:`lab.stack.Compose` takes a ``runner`` (``subprocess.run`` by default). The tier
gives it one that turns ``docker compose [globals] exec [options] SERVICE CMD...`` into
``docker exec [options] CONTAINER CMD...``, so the lab's own code (e.g.
``lab.up.ensure_gitea_admin``) runs unchanged against a service started alone, with
whatever it passes: options, environment (``-e NAME`` takes its value from the runner's
environment in both CLIs) or standard input (``-i`` is added only when there is some).
Every argv is recorded, so a test can prove that no secret reached a command line.
Any other compose subcommand is refused: the tier starts services itself.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from typing import Any

# `docker compose --help` / `docker compose exec --help` (compose v2): options with a value.
_GLOBAL_VALUE_OPTIONS = frozenset(
    {"-f", "--file", "-p", "--project-name", "--env-file", "--project-directory", "--profile"}
    | {"--ansi", "--progress", "--parallel"}
)
_EXEC_VALUE_OPTIONS = {"-u": "--user", "--user": "--user", "-e": "--env", "--env": "--env"}
_EXEC_VALUE_OPTIONS |= {"-w": "--workdir", "--workdir": "--workdir", "--index": ""}
_EXEC_FLAGS = {"-T": "", "--no-TTY": "", "--no-tty": "", "-d": "--detach", "--detach": "--detach"}
_EXEC_FLAGS |= {"--privileged": "--privileged", "--dry-run": ""}


class BridgeError(AssertionError):
    """The lab ran a compose command the bridge does not model (names the subcommand only)."""


def docker_exec_argv(
    argv: list[str], containers: Mapping[str, str], *, stdin: bool = False
) -> list[str]:
    """The ``docker exec`` equivalent of a ``docker compose ... exec ...`` argv."""
    if argv[:2] != ["docker", "compose"]:
        raise BridgeError(f"not a `docker compose` command: {argv[:2]}")
    i = 2
    while i < len(argv) and argv[i].startswith("-"):
        opt = argv[i].split("=", 1)[0]
        i += 2 if opt in _GLOBAL_VALUE_OPTIONS and "=" not in argv[i] else 1
    if i >= len(argv) or argv[i] != "exec":
        sub = argv[i] if i < len(argv) else "(none)"
        raise BridgeError(f"the container tier only bridges `compose exec`, not `{sub}`")
    i += 1
    options: list[str] = ["-i"] if stdin else []
    while i < len(argv) and argv[i].startswith("-"):
        opt, eq, inline = argv[i].partition("=")
        if opt in _EXEC_FLAGS:
            options += [_EXEC_FLAGS[opt]] if _EXEC_FLAGS[opt] else []
            i += 1
        elif opt in _EXEC_VALUE_OPTIONS:
            value = inline if eq else argv[i + 1]
            if _EXEC_VALUE_OPTIONS[opt]:
                options += [_EXEC_VALUE_OPTIONS[opt], value]
            i += 1 if eq else 2
        else:
            raise BridgeError(f"`compose exec` option {opt} is not modelled by the bridge")
    if i >= len(argv):
        raise BridgeError("`compose exec` without a service")
    service, command = argv[i], argv[i + 1 :]
    if service not in containers:
        raise BridgeError(f"no container started for service {service!r}")
    return ["docker", "exec", *options, containers[service], *command]


class ExecBridge:
    """A ``runner`` for :class:`lab.stack.Compose` (same call as ``subprocess.run``)."""

    def __init__(self, containers: Mapping[str, str]) -> None:
        self.containers = dict(containers)
        self.argvs: list[list[str]] = []  # every argv the lab asked for, as given

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        self.argvs.append(list(argv))
        translated = docker_exec_argv(
            list(argv), self.containers, stdin=kwargs.get("input") is not None
        )
        kwargs.setdefault("timeout", 120)
        return subprocess.run(translated, **kwargs)

    def argv_holding(self, secret: str) -> list[str]:
        """Where ``secret`` appeared in a recorded argv: the three words before it, the
        secret itself replaced (so a failing test never prints it)."""
        found = []
        for argv in self.argvs:
            for k, arg in enumerate(argv):
                if secret in arg:
                    found.append(" ".join([*argv[max(0, k - 3) : k], "<secret>"]))
        return found
