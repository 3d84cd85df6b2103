"""A step's arguments as the model gives them, evaluated on demand."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lab.pipeline.context import Ctx
from lab.pipeline.groovyexpr import to_text
from lab.pipeline.runtime import StepError

# The parameter an unnamed argument fills (each step's @DataBoundConstructor).
DEFAULT_PARAM = {
    "sh": "script",
    "echo": "message",
    "error": "message",
    "unstable": "message",
    "warnError": "message",
    "sleep": "time",
    "dir": "path",
    "retry": "count",
    "timeout": "time",
    "withEnv": "overrides",
    "withCredentials": "bindings",
    "readFile": "file",
    "fileExists": "file",
    "stash": "name",
    "unstash": "name",
    "archiveArtifacts": "artifacts",
    "junit": "testResults",
    "build": "job",
    "checkout": "scm",
}
_UNITS = {"NANOSECONDS": 1e-9, "MICROSECONDS": 1e-6, "MILLISECONDS": 1e-3, "SECONDS": 1.0}
_UNITS |= {"MINUTES": 60.0, "HOURS": 3600.0, "DAYS": 86400.0}


def seconds_of(time: Any, unit: Any, default_unit: str) -> float:
    name = to_text(unit or default_unit).upper()
    if name not in _UNITS:
        raise StepError(f"unknown time unit {name}")
    try:
        return float(time) * _UNITS[name]
    except (TypeError, ValueError):
        raise StepError(f"not a number of {name.lower()}: {to_text(time)}") from None


class Args:
    """A step's arguments in the model's three shapes (named list, single, positional)."""

    def __init__(
        self,
        ctx: Ctx,
        step: Mapping[str, Any],
        pointer: str,
        calls: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.pointer = pointer
        self.calls = dict(calls or {})
        self.step = str(step.get("name"))
        self.warned: set[str] = set()
        self.default = DEFAULT_PARAM.get(str(step.get("name")), "")
        raw = step.get("arguments", [])
        self.named: dict[str, Mapping[str, Any]] = {}
        self.positional: list[Mapping[str, Any]] = []
        if isinstance(raw, dict):
            self.positional = [raw]
        elif isinstance(raw, list):
            for item in raw:
                if isinstance(item, dict) and "key" in item:
                    self.named[str(item["key"])] = item["value"]
                else:
                    self.positional.append(item)

    def has(self, name: str) -> bool:
        return name in self.named or (name == self.default and bool(self.positional))

    def get(self, name: str, default: Any = None) -> Any:
        raw = self.named.get(name)
        if raw is None and name == self.default and self.positional:
            raw = self.positional[0]
        if raw is None:
            return default
        value = self.ctx.value(raw, self.pointer, **self.calls)
        if not raw.get("isLiteral", True):
            self._warn_interpolated(value)
        return value

    def _warn_interpolated(self, value: Any) -> None:
        """A secret's value inside an interpolated argument: workflow-cps warns (DSL.java
        l.395-447, jenkinsci/workflow-cps-plugin read at HEAD e007b7ff, 2026-07; the tag
        of the pin 4370.v49a_6937566b_6 is not in that snapshot): every sensitive
        variable whose non-empty value an interpolated string contains is named."""
        text = to_text(value)
        names = sorted(
            name
            for name in self.ctx.sensitive
            if self.ctx.env.get(name) and self.ctx.env[name] in text
        )
        fresh = [n for n in names if n not in self.warned]
        if not fresh:
            return
        self.warned.update(fresh)
        self.ctx.log(
            f'Warning: A secret was passed to "{self.step}" using Groovy String interpolation, '
            "which is insecure.\n"
            f"\t\t Affected argument(s) used the following variable(s): [{', '.join(names)}]\n"
            "\t\t See https://jenkins.io/redirect/groovy-string-interpolation for details."
        )

    def require(self, name: str, step: str) -> Any:
        if not self.has(name):
            raise StepError(f"{step}: missing required parameter {name}")
        return self.get(name)
