"""Load scenario files: YAML with line numbers, JSON Schema, then order/placeholder checks.

Every problem is reported as ``file:line: where: what`` (``where`` names the step and
expectation), all problems of a file at once, sorted by line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from lab.errors import ConfigError
from lab.scenarios import template
from lab.scenarios.model import (
    BARE_EXPECTATIONS,
    BARE_STEPS,
    DEFAULT_PROJECT,
    DRIVERS,
    EXPECTATION_KINDS,
    STEP_KINDS,
    Expectation,
    ExpectFailure,
    Location,
    Scenario,
    Step,
)

JsonPath = tuple[str | int, ...]


class ScenarioError(ConfigError):
    """A scenario file is invalid; ``problems`` holds one ``file:line: ...`` string each."""

    def __init__(self, path: Path, problems: Sequence[tuple[int, str]]) -> None:
        self.path = path
        self.problems = [f"{path}:{line}: {text}" for line, text in sorted(problems)]
        head = f"{path}: invalid scenario ({len(self.problems)} problem(s))"
        super().__init__(
            "\n".join([head, *(f"  {p}" for p in self.problems)]),
            hint="the format is described in scenarios/README.md and lab/scenarios/schema.json",
        )


@cache
def schema() -> dict[str, Any]:
    text = resources.files("lab.scenarios").joinpath("schema.json").read_text()
    return json.loads(text)


# ---- YAML with marks -------------------------------------------------------


def _compose(path: Path, text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioError(path, [(line, f"YAML syntax: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, [(1, f"YAML: {exc}")]) from None


def _lines(
    node: yaml.Node, at: JsonPath, out: dict[JsonPath, int], dups: list[tuple[int, str]]
) -> None:
    """Record the line of every mapping key / sequence item; note duplicate keys."""
    out.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                dups.append((line, f"duplicate key {key!r} (first at line {seen[key]})"))
            seen.setdefault(key, line)
            out[(*at, key)] = line
            _lines(value_node, (*at, key), out, dups)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*at, i), out, dups)


def _line_of(lines: dict[JsonPath, int], path: Iterable[str | int]) -> int:
    parts = tuple(path)
    while parts not in lines and parts:
        parts = parts[:-1]
    return lines.get(parts, 1)


# ---- describing schema errors ---------------------------------------------


def _kind_of(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and len(item) == 1:
        return str(next(iter(item)))
    return None


def _where(data: Any, path: Sequence[str | int]) -> str:
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        steps = data.get("steps") or []
        kind = _kind_of(steps[path[1]]) if path[1] < len(steps) else None
        where = f"step {path[1] + 1}" + (f" ({kind})" if kind in STEP_KINDS else "")
        if kind == "expect" and len(path) >= 4 and isinstance(path[3], int):
            items = steps[path[1]]["expect"]
            ekind = _kind_of(items[path[3]]) if path[3] < len(items) else None
            where += f", expectation {path[3] + 1}"
            where += f" ({ekind})" if ekind in EXPECTATION_KINDS else ""
            rest = path[5:]
        else:
            rest = path[3:] if kind in STEP_KINDS else path[2:]
        if rest:
            where += " " + ".".join(str(p) for p in rest)
        return where
    return ".".join(str(p) for p in path) or "top level"


def _in_expectation(path: Sequence[str | int]) -> bool:
    return len(path) >= 4 and path[0] == "steps" and path[2] == "expect"


def _message(error: jsonschema.ValidationError) -> tuple[str, JsonPath]:
    """A readable message and the path to point at for one schema error."""
    path: JsonPath = tuple(error.absolute_path)
    inst = error.instance
    sch = error.schema if isinstance(error.schema, dict) else {}
    what = "expectation" if _in_expectation(path) else "step"
    if error.validator == "additionalProperties" and isinstance(inst, dict):
        extra = sorted(set(inst) - set(sch.get("properties", {})))
        allowed = ", ".join(sorted(sch.get("properties", {})))
        return f"unknown key {', '.join(map(repr, extra))} (allowed: {allowed})", (
            *path,
            extra[0],
        )
    if "propertyNames" in error.schema_path:
        known = STEP_KINDS if what == "step" else EXPECTATION_KINDS
        return f"unknown {what} kind {inst!r} (known: {', '.join(known)})", path
    if "then" in error.schema_path and error.validator == "enum":
        kinds, bare = (
            (STEP_KINDS, BARE_STEPS) if what == "step" else (EXPECTATION_KINDS, BARE_EXPECTATIONS)
        )
        if inst in kinds:
            return f"{what} {inst!r} needs arguments (`- {inst}: {{...}}`)", path
        return (
            f"unknown {what} kind {inst!r} (known: {', '.join(kinds)}; "
            f"written bare: {', '.join(bare)})"
        ), path
    if error.validator == "maxProperties" and isinstance(inst, dict) and len(path) in (2, 4):
        keys = ", ".join(map(str, inst))
        return (
            f"a {what} is a mapping with exactly one key, the {what} kind; found {keys} "
            "(check the indentation of the arguments)"
        ), path
    if error.validator == "required":
        return error.message.replace("is a required property", "is required"), path
    if error.validator == "oneOf" and path[-1:] == ("edit",):
        return "edit needs exactly one of `set` or `replace`", path
    if error.validator == "anyOf" and path[-1:] == ("commit_changed_files",):
        return "commit_changed_files needs `only` or `includes`", path
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return f"{inst!r} is not valid: {best.message}", path
    return error.message, path


def _schema_problems(data: Any, lines: dict[JsonPath, int]) -> list[tuple[int, str]]:
    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = list(validator.iter_errors(data))
    # A step or expectation with several keys is almost always bad indentation: report
    # that once instead of every error it causes underneath.
    muddled = [
        tuple(e.absolute_path)
        for e in errors
        if e.validator == "maxProperties" and len(e.absolute_path) in (2, 4)
    ]
    problems = []
    for error in errors:
        at_path = tuple(error.absolute_path)
        if any(at_path[: len(m)] == m and error.validator != "maxProperties" for m in muddled):
            continue
        text, at = _message(error)
        where = _where(data, tuple(error.absolute_path))
        problems.append((_line_of(lines, at), f"{where}: {text}"))
    return problems


# ---- order and placeholder checks -----------------------------------------


def _check_flow(scenario: Scenario) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    known = set(template.BASE_NAMES)
    has_pr = has_build = False
    for step in scenario.steps:
        where = f"step {step.index} ({step.kind})"
        for name in template.names_in(step.args):
            if name not in known:
                problems.append(
                    (step.loc.line, f"{where}: {template.UnknownPlaceholder(name, known)}")
                )
        for exp in step.expectations:
            for name in template.names_in(exp.arg):
                if name not in known:
                    err = template.UnknownPlaceholder(name, known)
                    problems.append((exp.loc.line, f"{where}, {exp.kind}: {err}"))
            if exp.kind.startswith("pr_comment") and not has_pr:
                problems.append((exp.loc.line, f"{where}, {exp.kind}: no open_pr before it"))
        needs_pr = step.kind in ("update_pr", "merge_pr") or (
            step.kind == "wait_build" and step.args.get("for") == "pr"
        )
        if needs_pr and not has_pr:
            problems.append((step.loc.line, f"{where}: needs an open_pr step before it"))
        if step.kind == "expect" and not has_build:
            problems.append(
                (
                    step.loc.line,
                    f"{where}: expectations check a build: add a wait_build step before it",
                )
            )
        has_pr = has_pr or step.kind == "open_pr"
        has_build = has_build or step.kind == "wait_build"
        known |= template.CAPTURES.get(step.kind, frozenset())
    return problems


# ---- building the model ---------------------------------------------------


def _split(item: Any) -> tuple[str, Any]:
    if isinstance(item, str):
        return item, None
    ((kind, arg),) = item.items()
    return str(kind), arg


def _build(path: Path, data: dict[str, Any], lines: dict[JsonPath, int]) -> Scenario:
    steps = []
    for i, item in enumerate(data["steps"]):
        kind, arg = _split(item)
        loc = Location(path, _line_of(lines, ("steps", i)))
        expectations: list[Expectation] = []
        if kind == "expect":
            for j, exp_item in enumerate(arg):
                ekind, earg = _split(exp_item)
                if ekind in BARE_EXPECTATIONS and earg is None:
                    earg = True
                eloc = Location(path, _line_of(lines, ("steps", i, "expect", j)))
                expectations.append(Expectation(ekind, earg, eloc))
            args: dict[str, Any] = {}
        else:
            args = dict(arg or {})
        steps.append(Step(i + 1, kind, args, loc, tuple(expectations)))
    failure = None
    if "expect_failure" in data:
        spec = data["expect_failure"]
        failure = ExpectFailure(
            spec.get("kind"),
            spec.get("contains"),
            Location(path, _line_of(lines, ("expect_failure",))),
        )
    return Scenario(
        name=data["name"],
        path=path,
        project=data.get("project", DEFAULT_PROJECT),
        description=data.get("description", ""),
        marks=tuple(data.get("marks", ())),
        drivers=tuple(data.get("drivers", DRIVERS)),
        steps=tuple(steps),
        expect_failure=failure,
        push_to_default_branch=bool(data.get("push_to_default_branch", False)),
        line=1,
    )


def load_text(path: Path, text: str) -> Scenario:
    node = _compose(path, text)
    if node is None:
        raise ScenarioError(path, [(1, "empty file: a scenario needs `name` and `steps`")])
    lines: dict[JsonPath, int] = {}
    problems: list[tuple[int, str]] = []
    _lines(node, (), lines, problems)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ScenarioError(path, [(1, "a scenario is a mapping with `name` and `steps`")])
    problems += _schema_problems(data, lines)
    if problems:
        raise ScenarioError(path, problems)
    scenario = _build(path, data, lines)
    problems = _check_flow(scenario)
    if problems:
        raise ScenarioError(path, problems)
    return scenario


def load(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read scenario: {exc.strerror}") from None
    return load_text(path, text)


def looks_like_scenario(path: Path) -> bool:
    """True when a YAML file has the scenario shape (top-level `name` and `steps`).

    A file that does not parse counts as a scenario when it has a top-level ``steps:``
    line, so a broken scenario is reported instead of silently ignored.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return re.search(r"^steps\s*:", text, re.MULTILINE) is not None
    return isinstance(data, dict) and "steps" in data and "name" in data


def discover(directory: Path) -> list[Path]:
    """Scenario files directly in ``directory`` (sorted)."""
    if not directory.is_dir():
        return []
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    return [p for p in files if looks_like_scenario(p)]


def find(directory: Path, names: Sequence[str]) -> list[Scenario]:
    """Load the scenarios named (by `name:` or file stem), in the order given."""
    by_name: dict[str, Scenario] = {}
    for path in discover(directory):
        scenario = load(path)
        by_name[scenario.name] = scenario
        by_name.setdefault(path.stem, scenario)
    missing = [n for n in names if n not in by_name]
    if missing:
        known = sorted({s.name for s in by_name.values()})
        raise ConfigError(
            f"no scenario named {', '.join(missing)} in {directory}",
            hint=f"known scenarios: {', '.join(known) or '(none)'}",
        )
    return [by_name[n] for n in names]
