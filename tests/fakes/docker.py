"""Stand-ins for the `docker` CLI, put first on PATH: what it prints and exits with when
the compose v2 plugin is missing, when no engine answers, or when both work.

Messages as in docker/cli v29.7.2 (cmd/docker/docker.go: "docker: unknown command:
docker compose"; cli/cobra.go FlagErrorFunc wrapping spf13/pflag v1.0.10 errors.go:
"unknown shorthand flag: 'p' in -p", exit 125) and the engine's "Cannot connect to the
Docker daemon" (docker/cli `docker info`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NO_ENGINE = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."

NO_COMPOSE_PLUGIN = """#!/bin/sh
# a docker CLI with a running engine but no compose plugin
case "$1 $2" in
  "compose -p") printf "unknown shorthand flag: 'p' in -p\\n\\nUsage:  docker [OPTIONS]\\n" >&2
                exit 125;;
  "compose "*) echo "docker: unknown command: docker compose" >&2; exit 1;;
  "info "*) echo '{"ServerVersion": "29.0.0", "MemTotal": 17179869184}'; exit 0;;
esac
exit 1
"""

ENGINE_DOWN = f"""#!/bin/sh
# a docker CLI with its compose plugin and no engine answering
case "$1 $2" in
  "compose version") echo "Docker Compose version v2.29.1"; exit 0;;
  *) echo "{NO_ENGINE}" >&2; exit 1;;
esac
"""

WORKING = """#!/bin/sh
# a docker CLI whose compose plugin and engine work, with no lab container yet
case "$1 $2" in
  "compose version") echo "2.29.1"; exit 0;;
  "info "*) echo '{"ServerVersion": "29.0.0", "MemTotal": 17179869184}'; exit 0;;
esac
exit 0
"""


def install(bindir: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put ``script`` first on PATH as `docker`."""
    bindir.mkdir(parents=True, exist_ok=True)
    docker = bindir / "docker"
    docker.write_text(script)
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
