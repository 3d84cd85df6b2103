"""What a local build carries while it runs: results, errors, the log, cancellation.

Results and their order are Jenkins core's ``hudson.model.Result`` (SUCCESS < UNSTABLE <
FAILURE < NOT_BUILT < ABORTED by ordinal; ``combine`` keeps the worse one;
jenkinsci/jenkins core/src/main/java/hudson/model/Result.java, read at ff9430ee).
Errors mirror workflow's: :class:`StepError` is an ``AbortException`` (logged as
``ERROR: message``, result FAILURE); :class:`Interrupted` is a
``FlowInterruptedException`` carrying its own result (timeout, failFast: ABORTED).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lab.pipeline.masking import Masker

RESULTS = ("SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT", "ABORTED")


def worse(a: str, b: str) -> str:
    """``Result.combine``: the worse of two results."""
    return a if RESULTS.index(a) >= RESULTS.index(b) else b


def worse_than(a: str, b: str) -> bool:
    return RESULTS.index(a) > RESULTS.index(b)


@dataclass(frozen=True)
class Credential:
    """One Jenkins credential the build may bind."""

    id: str
    kind: str  # "usernamePassword" | "string" | "file" | "sshUserPrivateKey"
    secret: str  # password / secret text / file content / private key
    username: str = ""
    # File credentials: the name the credential was uploaded with. credentials-binding's
    # FileBinding binds a temporary ``file*.tmp`` regardless (see bindings.py).
    filename: str = ""
    passphrase: str = ""


@dataclass
class StageRun:
    name: str
    skipped: bool
    returncode: int | None
    output: str
    seconds: float
    status: str = "SUCCESS"  # SUCCESS|FAILURE|UNSTABLE|ABORTED|NOT_BUILT (skipped)
    reason: str = ""  # why skipped: "when conditional", "earlier failure(s)", ...
    parent: str | None = None  # enclosing stage (parallel/nested)


@dataclass
class PipelineRun:
    result: str
    stages: list[StageRun]
    log: str
    commit: str
    workspace: Path

    def stage(self, name: str) -> StageRun:
        for run in self.stages:
            if run.name == name:
                return run
        raise KeyError(f"no stage {name!r} in this run ({[s.name for s in self.stages]})")


class NeedsStack(Exception):
    """A construct the local driver cannot run; the message names it and its line."""

    def __init__(self, construct: str, where: str) -> None:
        super().__init__(f"needs the stack driver: {construct} at {where}")
        self.construct = construct
        self.where = where


class StepError(Exception):
    """hudson.AbortException: a step failed; logged as ``ERROR: <message>``."""

    def __init__(self, message: str, *, returncode: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode


class Interrupted(Exception):
    """FlowInterruptedException: the body was stopped with ``result`` (e.g. ABORTED)."""

    def __init__(self, result: str, cause: str, *, actual: bool = True) -> None:
        super().__init__(cause)
        self.result = result
        self.cause = cause
        self.actual = actual  # False for a downstream failure (isActualInterruption)


def where_in(locations: Mapping[str, int], source: str, pointer: str) -> str:
    """``source:line`` of the model node at JSON ``pointer`` (or its nearest ancestor)."""
    path = pointer
    while path:
        if path in locations:
            return f"{source}:{locations[path]}"
        path = path.rsplit("/", 1)[0]
    return source


def error_result(error: BaseException | None) -> str:
    if error is None:
        return "SUCCESS"
    if isinstance(error, Interrupted):
        return error.result
    return "FAILURE"


class Cancel:
    """A cancellation signal shared by a block and everything nested in it.

    A child is cancelled when its parent is; ``raise_if_set`` raises the
    :class:`Interrupted` the canceller gave (timeout, failFast).
    """

    def __init__(self, parent: Cancel | None = None) -> None:
        self.parent = parent
        self._event = threading.Event()
        self._reason: Interrupted | None = None

    def set(self, reason: Interrupted) -> None:
        if self._reason is None:
            self._reason = reason
        self._event.set()

    def reason(self) -> Interrupted | None:
        node: Cancel | None = self
        while node is not None:
            if node._reason is not None:
                return node._reason
            node = node.parent
        return None

    def raise_if_set(self) -> None:
        reason = self.reason()
        if reason is not None:
            raise Interrupted(reason.result, reason.cause)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cancelled meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            if self.reason() is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._event.wait(min(left, 0.05))


class Log:
    """The build's console: masked lines, kept in order, sent live to ``out``."""

    def __init__(self, masker: Masker, out: Callable[[str], None] | None) -> None:
        self.masker = masker
        self.out = out
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def add(self, text: str, *, timestamps: bool = False) -> None:
        stamp = ""
        if timestamps:
            # timestamper (shared/upstream/STACK-NOTES.md): `[ISO time] ` before each line.
            now = datetime.now(UTC)
            stamp = f"[{now.strftime('%Y-%m-%dT%H:%M:%S')}.{now.microsecond // 1000:03d}Z] "
        with self._lock:
            for line in text.rstrip("\n").split("\n"):
                masked = stamp + self.masker(line)
                self.lines.append(masked)
                if self.out is not None:
                    self.out(masked)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.masker(line) for line in self.lines) + "\n"
