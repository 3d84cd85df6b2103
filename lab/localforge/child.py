"""A local server as a child process: its own process group, output to a file, stopped
with SIGTERM and, after a grace period, SIGKILL (the whole group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

import lab

LAB_ROOT = Path(lab.__file__).resolve().parent.parent


def python_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment for a ``python -m lab...`` child: the ``lab`` package imported
    here comes first on its path, whatever the child's working directory."""
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(LAB_ROOT), path) if p),
        "PYTHONUNBUFFERED": "1",
        **(extra or {}),
    }


class Child:
    """``argv`` started in the directory of ``out`` (its stdout and stderr)."""

    def __init__(self, argv: list[str], out: Path, env: Mapping[str, str]) -> None:
        with out.open("wb") as fh:
            self.proc = subprocess.Popen(
                argv,
                cwd=out.parent,  # a temp dir: never the caller's (weed reads ./*.toml)
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env),
                start_new_session=True,  # its own process group: stop() kills all of it
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, grace: float) -> None:
        proc = self.proc
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group
