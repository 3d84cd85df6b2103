"""The state a running build shares (:class:`Build`) and the scope of one block (:class:`Ctx`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lab import jenkinsenv
from lab.pipeline import groovyexpr
from lab.pipeline.groovyexpr import Call, Scope
from lab.pipeline.masking import Masker
from lab.pipeline.runtime import (
    Cancel,
    Credential,
    Log,
    NeedsStack,
    StageRun,
    StepError,
    where_in,
    worse,
)

# Messages.ModelInterpreter_NoNodeContext (pipeline-model-definition Messages.properties).
NO_NODE = (
    "Attempted to execute a step that requires a node context while \u2018agent none\u2019 "
    "was specified. Be sure to specify your own \u2018node '{ ... }'\u2019 blocks when "
    "using \u2018agent none\u2019."
)
# Names a value may call that only build a description (bindings, build parameters).
_DESCRIBABLES = (
    "usernamePassword",
    "usernameColonPassword",
    "string",
    "file",
    "sshUserPrivateKey",
    "booleanParam",
    "text",
    "password",
    "choice",
)


def time_span(seconds: float) -> str:
    """hudson.Util.getTimeSpanString (jenkinsci/jenkins core/src/main/java/hudson/Util.java
    l.735-769 at ff9430ee): the two biggest units, or one when it is >= 10."""
    ms = round(seconds * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)

    def two(big: int, big_unit: str, small: int, small_unit: str) -> str:
        return f"{big} {big_unit}" if big >= 10 else f"{big} {big_unit} {small} {small_unit}"

    if hours:
        return two(hours, "hr", minutes, "min")
    if minutes:
        return two(minutes, "min", secs, "sec")
    if secs >= 10:
        return f"{secs} sec"
    if secs >= 1:
        return f"{secs + (ms // 100) / 10:g} sec"
    if ms >= 100:
        return f"{(ms // 10) / 100:g} sec"
    return f"{ms} ms"


@dataclass
class StageState:
    """One running stage: its record, its warnings (WarningAction) and its output."""

    run: StageRun
    parent: StageState | None
    warning: str = "SUCCESS"
    lines: list[str] = field(default_factory=list)


@dataclass
class Build:
    log: Log
    masker: Masker
    credentials: Mapping[str, Credential]
    params: dict[str, Any]
    workspace: Path
    stash_dir: Path
    locations: Mapping[str, int]
    source: str
    node_env: Mapping[str, str]
    downstream: Callable[[str, Mapping[str, str], bool], str] | None
    stage_timeout: float | None
    skip_stages: frozenset[str]
    # Agent labels some node or cloud provides; None: every label runs here unchecked.
    labels: frozenset[str] | None = None
    root_cancel: Cancel = field(default_factory=Cancel)
    result: str = "SUCCESS"
    stages: list[StageRun] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_result(self, result: str) -> None:
        """Run.setResult: the result only ever gets worse."""
        with self.lock:
            self.result = worse(self.result, result)

    def where(self, pointer: str) -> str:
        return where_in(self.locations, self.source, pointer)


@dataclass
class Ctx:
    """One block's scope: environment, current directory, cancellation, stage, options."""

    build: Build
    env: dict[str, str]
    cwd: Path
    cancel: Cancel
    stage: StageState | None = None
    agent: str = "any"  # the agent type in effect ("none" means no workspace)
    timestamps: bool = False
    sensitive: frozenset[str] = frozenset()  # variables bound to secrets in this block

    def child(self, **changes: Any) -> Ctx:
        return replace(self, **changes)

    def log(self, text: str) -> None:
        self.build.log.add(text, timestamps=self.timestamps)
        masked = [self.build.masker(line) for line in text.rstrip("\n").split("\n")]
        state = self.stage
        while state is not None:
            state.lines.extend(masked)
            state = state.parent

    def warn(self, result: str) -> None:
        """A WarningAction on the current stage (unstable, warnError, junit)."""
        if self.stage is not None:
            self.stage.warning = worse(self.stage.warning, result)

    def step_env(self) -> dict[str, str]:
        """What a process sees: docker-workflow strips the node's own entries in agents."""
        if self.agent in ("docker", "dockerfile"):
            return jenkinsenv.strip_node_env(self.env, self.build.node_env)
        return dict(self.env)

    def require_node(self) -> None:
        if self.agent == "none":
            raise StepError(NO_NODE)

    def scope(
        self,
        calls: Mapping[str, Callable[..., Any]] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Scope:
        allowed: dict[str, Callable[..., Any]] = {
            name: (lambda *a, _n=name, **k: Call(_n, a, k)) for name in _DESCRIBABLES
        }
        allowed.update(calls or {})
        return Scope(self.env if env is None else env, self.build.params, calls=allowed)

    def value(
        self,
        raw: Mapping[str, Any],
        pointer: str,
        env: Mapping[str, str] | None = None,
        **calls: Callable[..., Any],
    ) -> Any:
        """Evaluate a model value; beyond the supported Groovy: NeedsStack with its line."""
        try:
            return groovyexpr.value_of(raw, self.scope(calls, env))
        except groovyexpr.Unsupported as exc:
            construct = f"expression {raw.get('value')!r}" + (f" ({exc.why})" if exc.why else "")
            raise NeedsStack(construct, self.build.where(pointer)) from None
        except groovyexpr.EvalError as exc:
            raise StepError(str(exc)) from None
