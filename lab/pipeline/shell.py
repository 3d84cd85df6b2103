"""The ``sh`` step as durable-task runs it, with cancellation and process-group kills.

durable-task 686.v80ff80875b_82 (jenkinsci/durable-task-plugin,
src/main/java/org/jenkinsci/plugins/durabletask/BourneShellScript.java l.146-155 and
l.225-229; FileMonitoringTask.java l.310-314): the script is written to
``<dir>@tmp/durable-<8 hex>/script.sh`` and run as ``sh -xe script.sh`` from the current
directory, unless it starts with ``#!`` (then it is made executable and run directly);
stdout and stderr go to the log, or with ``returnStdout`` stdout to a separate file and
stderr to the log. ``JENKINS_SERVER_COOKIE`` is set for the script.

workflow-durable-task-step 1479.v56e587f413a_7 (DurableTaskStep.java l.680-693): a
non-zero exit fails the step with ``script returned exit code N`` unless
``returnStatus``; with ``returnStdout`` the output is returned untrimmed, and printed to
the log when the script fails.

Here the script runs in its own process group. When the block is cancelled (timeout,
failFast) the group gets SIGTERM, then SIGKILL after a grace period; when the step ends,
whatever is left of the group is killed (the local driver's process-tree killer).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lab.pipeline.runtime import Cancel

KILL_GRACE = 5.0
POLL = 0.05


@dataclass(frozen=True)
class ShellResult:
    returncode: int
    stdout: str  # with return_stdout only


def tmp_dir(cwd: Path) -> Path:
    """WorkspaceList.tempDir: ``<dir>@tmp`` beside the directory."""
    return cwd.with_name(cwd.name + "@tmp")


def kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class _Follower:
    """Sends complete lines of a growing file to ``emit`` as they appear."""

    def __init__(self, path: Path, emit: Callable[[str], None]) -> None:
        self.path = path
        self.emit = emit
        self.offset = 0
        self.partial = b""

    def poll(self, final: bool = False) -> None:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        data = self.partial + data
        *lines, self.partial = data.split(b"\n")
        for line in lines:
            self.emit(line.decode("utf-8", errors="replace"))
        if final and self.partial:
            self.emit(self.partial.decode("utf-8", errors="replace"))
            self.partial = b""


def run_script(
    script: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    cancel: Cancel,
    emit: Callable[[str], None],
    return_stdout: bool = False,
) -> ShellResult:
    """Run ``script`` like ``sh``; raise the cancel's Interrupted when cancelled."""
    cwd.mkdir(parents=True, exist_ok=True)
    control = tmp_dir(cwd) / f"durable-{uuid.uuid4().hex[:8]}"
    control.mkdir(parents=True)
    script_file = control / "script.sh"
    script_file.write_text(script, encoding="utf-8")
    if script.startswith("#!"):
        script_file.chmod(0o755)
        argv = [str(script_file)]
    else:
        argv = ["sh", "-xe", str(script_file)]
    log_file, out_file = control / "jenkins-log.txt", control / "output.txt"
    cookie = "durable-" + hashlib.sha256(str(cwd).encode()).hexdigest()[:32]
    run_env = {**env, "JENKINS_SERVER_COOKIE": cookie}
    follower = _Follower(log_file, emit)
    try:
        with log_file.open("wb") as log, out_file.open("wb") as out:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=run_env,
                stdin=subprocess.DEVNULL,
                stdout=out if return_stdout else log,
                stderr=log,
                start_new_session=True,  # its own process group, killed as a whole
            )
            try:
                returncode = _wait(proc, cancel, follower)
            finally:
                kill_group(proc.pid, signal.SIGKILL)
        follower.poll(final=True)
        stdout = out_file.read_bytes().decode("utf-8", errors="replace") if return_stdout else ""
        return ShellResult(returncode, stdout)
    finally:
        with contextlib.suppress(OSError):
            for path in (script_file, log_file, out_file):
                path.unlink(missing_ok=True)
            control.rmdir()


def _wait(proc: subprocess.Popen[bytes], cancel: Cancel, follower: _Follower) -> int:
    while True:
        try:
            return proc.wait(timeout=POLL)
        except subprocess.TimeoutExpired:
            follower.poll()
        if cancel.reason() is not None:
            kill_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                kill_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=KILL_GRACE)
            follower.poll(final=True)
            cancel.raise_if_set()
