"""Which stages of a model the local driver can run, said before running anything.

A stage is runnable when every step, ``when`` condition, option and value it holds is
one the executor implements (steps.STEPS, conditions.when_passes, directives.WRAPPERS and
HARMLESS_OPTIONS, the Groovy subset of groovyexpr); otherwise the reason names the first
construct that needs the stack driver and its line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lab.pipeline import directives, groovyexpr
from lab.pipeline.runtime import NeedsStack, where_in
from lab.pipeline.steps import STACK_ONLY, STEPS

WHEN_NAMES = frozenset(
    {
        "branch",
        "changeRequest",
        "environment",
        "expression",
        "buildingTag",
        "tag",
        "equals",
        "isRestartedRun",
        "not",
        "allOf",
        "anyOf",
    }
)


@dataclass(frozen=True)
class PlannedStage:
    name: str
    runnable: bool
    reason: str = ""
    parent: str | None = None


Where = Callable[[str], str]


def _values(arguments: Any, pointer: str, where: Where) -> None:
    items = [arguments] if isinstance(arguments, dict) else list(arguments or [])
    for item in items:
        raw = item.get("value") if isinstance(item, dict) and "key" in item else item
        if isinstance(raw, dict) and "isLiteral" in raw:
            try:
                groovyexpr.check_value(raw)
            except groovyexpr.Unsupported as exc:
                raise NeedsStack(str(exc), where(pointer)) from None


def _steps(steps: Sequence[Mapping[str, Any]], pointer: str, where: Where) -> None:
    for i, step in enumerate(steps):
        here = f"{pointer}/{i}"
        name = str(step.get("name"))
        if name in STACK_ONLY:
            raise NeedsStack(STACK_ONLY[name], where(here))
        if name not in STEPS:
            raise NeedsStack(f"step {name}", where(here))
        if name != "checkout":  # `checkout scm`: the argument is never evaluated here
            _values(step.get("arguments"), here, where)
        if step.get("children"):
            _steps(step["children"], f"{here}/children", where)


def _when(conds: Sequence[Mapping[str, Any]], pointer: str, where: Where) -> None:
    for i, cond in enumerate(conds):
        here = f"{pointer}/{i}"
        name = str(cond.get("name"))
        if name not in WHEN_NAMES:
            raise NeedsStack(f"when {{ {name} }}", where(here))
        if cond.get("children"):
            _when(cond["children"], f"{here}/children", where)
        elif name == "expression":
            args = cond.get("arguments")
            raw = args if isinstance(args, dict) else next(iter(args or []), {})
            raw = raw.get("value", raw) if "key" in raw else raw
            try:
                groovyexpr.check_value({"isLiteral": False, "value": str(raw.get("value", ""))})
            except groovyexpr.Unsupported as exc:
                raise NeedsStack(str(exc), where(here)) from None
        else:
            _values(cond.get("arguments"), here, where)


def _post(post: Mapping[str, Any] | None, pointer: str, where: Where) -> None:
    for i, block in enumerate((post or {}).get("conditions") or []):
        steps = (block.get("branch") or {}).get("steps", [])
        _steps(steps, f"{pointer}/conditions/{i}/branch/steps", where)


def _own(stage: Mapping[str, Any], pointer: str, where: Where) -> None:
    """Raise NeedsStack for what the stage itself (not its children) cannot do."""
    if stage.get("matrix") is not None:
        _own(stage["matrix"], f"{pointer}/matrix", where)
    for key in ("input", "tools"):
        if stage.get(key) is not None:
            raise NeedsStack(key, where(f"{pointer}/{key}"))
    directives.check_options(stage.get("options"), where, f"{pointer}/options")
    _when((stage.get("when") or {}).get("conditions") or [], f"{pointer}/when/conditions", where)
    for i, entry in enumerate(stage.get("environment") or []):
        value = entry.get("value") or {}
        if value.get("name", "credentials") != "credentials":
            raise NeedsStack(
                f"environment function {value.get('name')}()", where(f"{pointer}/environment/{i}")
            )
        _values(value.get("arguments", [value]), f"{pointer}/environment/{i}", where)
    branches = stage.get("branches") or []
    if len(branches) > 1:
        raise NeedsStack("parallel branches inside a stage", where(pointer))
    for branch in branches:
        _steps(branch.get("steps", []), f"{pointer}/branches/0/steps", where)
    _post(stage.get("post"), f"{pointer}/post", where)


def _root(root: Mapping[str, Any], where: Where) -> str:
    try:
        for key in ("libraries", "tools"):
            if root.get(key):
                raise NeedsStack(key, where(f"/pipeline/{key}"))
        directives.check_options(root.get("options"), where, "/pipeline/options")
        _own({"environment": root.get("environment"), "post": root.get("post")}, "/pipeline", where)
    except NeedsStack as exc:
        return str(exc)
    return ""


def plan(
    pipeline: Mapping[str, Any],
    *,
    locations: Mapping[str, int] | None = None,
    source: str = "Jenkinsfile",
) -> list[PlannedStage]:
    """Every stage (flattened, in order) with whether the local driver can run it."""
    root = pipeline.get("pipeline", pipeline)
    locs = locations or {}

    def where(pointer: str) -> str:
        return where_in(locs, source, pointer)

    blocker = _root(root, where)
    out: list[PlannedStage] = []

    def walk(
        stages: Sequence[Mapping[str, Any]], pointer: str, parent: str | None, inherited: str
    ) -> None:
        for i, stage in enumerate(stages):
            here = f"{pointer}/{i}"
            # What stops the enclosing stage (its tools, environment, when, ...) stops the
            # stages inside it too: they run within it, as the pipeline's own blocker does.
            reason = inherited
            if not reason:
                try:
                    _own(stage, here, where)
                except NeedsStack as exc:
                    reason = str(exc)
            out.append(PlannedStage(str(stage.get("name")), not reason, reason, parent))
            for key in ("stages", "parallel", "matrix"):
                children = stage.get(key)
                if key == "matrix" and children:
                    children, key = children.get("stages"), "matrix/stages"
                if children:
                    walk(children, f"{here}/{key}", str(stage.get("name")), reason)

    walk(root.get("stages") or [], "/pipeline/stages", None, blocker)
    return out
