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
from lab.inputs import read_text_file
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

# Bounds on what the loader reads, so a hostile or mistaken file fails fast with a clear
# error instead of exhausting memory or the stack. The shipped scenarios are 1-3 KiB,
# a few levels deep, without aliases.
MAX_BYTES = 64 * 1024
MAX_DEPTH = 32
MAX_ALIASES = 64
MAX_NODES = 20_000  # YAML nodes once every alias is expanded


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
        _check_events(path, text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioError(path, [(line, f"YAML syntax: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, [(1, f"YAML: {exc}")]) from None
    if node is not None:
        _check_expanded_size(path, node)
    return node


def _check_events(path: Path, text: str) -> None:
    """Refuse deep nesting and many aliases from the event stream, before any node is built
    (PyYAML's composer recurses once per level; its parser does not)."""
    depth = aliases = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            continue
        depth += isinstance(event, yaml.CollectionStartEvent)
        aliases += isinstance(event, yaml.AliasEvent)
        for count, bound, what in (
            (depth, MAX_DEPTH, f"nested more than {MAX_DEPTH} levels deep"),
            (aliases, MAX_ALIASES, f"more than {MAX_ALIASES} YAML aliases (*name)"),
        ):
            if count > bound:
                line = event.start_mark.line + 1
                raise ScenarioError(path, [(line, f"{what}: not a scenario")])


def _check_expanded_size(path: Path, root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it past MAX_NODES nodes (billion laughs):
    what is built from it (data, schema validation) walks every expanded node."""
    sizes: dict[int, int] = {}
    # Children before parents, each node once: iterative, so depth costs no stack.
    order: list[yaml.Node] = []
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in sizes:
            continue
        if expanded:
            order.append(node)
            sizes[id(node)] = 0
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    for node in order:
        sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
        if sizes[id(node)] > MAX_NODES:
            line = node.start_mark.line + 1
            raise ScenarioError(
                path,
                [(line, f"its aliases expand it past {MAX_NODES} YAML nodes: not a scenario")],
            )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


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
    has_pr = has_build = started = False
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
        if step.kind == "wait_build" and step.args.get("for") == "started" and not started:
            problems.append((step.loc.line, f"{where}: needs a start_build step before it"))
        if step.kind == "expect" and not has_build:
            problems.append(
                (
                    step.loc.line,
                    f"{where}: expectations check a build: add a wait_build step before it",
                )
            )
        has_pr = has_pr or step.kind == "open_pr"
        has_build = has_build or step.kind in ("wait_build", "wait_chain")
        started = (started or step.kind == "start_build") and not (
            step.kind == "wait_build" and step.args.get("for") == "started"
        )
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
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise ScenarioError(
            path, [(1, f"{size} bytes; a scenario file is at most {MAX_BYTES // 1024} KiB")]
        )
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


def _read(path: Path) -> str:
    """The file's text, refusing before reading it whole what cannot be a scenario."""
    try:
        return read_text_file(path, "a scenario file", max_bytes=MAX_BYTES)
    except ConfigError as exc:
        raise ScenarioError(path, [(1, exc.message.removeprefix(f"{path}: "))]) from None


def load(path: Path) -> Scenario:
    return load_text(path, _read(path))


_TOP_LEVEL_KEY = re.compile(r"^(steps|name)\s*:", re.MULTILINE)


def looks_like_scenario(path: Path) -> bool:
    """True when a YAML file is meant as a scenario, decided without parsing it: it has a
    top-level ``steps:`` or ``name:`` line. An empty, oversized or non-UTF-8 file counts,
    so its problem is reported instead of the file being silently ignored.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(MAX_BYTES + 1)
    except OSError:
        return True  # load() names the problem
    if not head.strip() or len(head) > MAX_BYTES:
        return True
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return _TOP_LEVEL_KEY.search(text) is not None


def discover(directory: Path) -> list[Path]:
    """Scenario files directly in ``directory`` (sorted)."""
    if not directory.is_dir():
        return []
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    return [p for p in files if looks_like_scenario(p)]


def load_all(directory: Path) -> list[tuple[Path, Scenario | ConfigError]]:
    """Every scenario file of ``directory`` loaded, or the error that names its problem:
    one broken file does not hide the others."""
    loaded: list[tuple[Path, Scenario | ConfigError]] = []
    for path in discover(directory):
        try:
            loaded.append((path, load(path)))
        except ConfigError as exc:
            loaded.append((path, exc))
    return loaded


def find(directory: Path, names: Sequence[str]) -> list[Scenario]:
    """Load the scenarios named (by `name:` or file stem), in the order given.

    A broken file stops this only when it is one of those asked for (by stem); its
    error is then raised. Otherwise it is reported by `lab scenario list`.
    """
    by_name: dict[str, Scenario] = {}
    broken: dict[str, ConfigError] = {}
    for path, result in load_all(directory):
        if isinstance(result, ConfigError):
            broken[path.stem] = result
            continue
        by_name[result.name] = result
        by_name.setdefault(path.stem, result)
    for name in names:
        if name not in by_name and name in broken:
            raise broken[name]
    missing = [n for n in names if n not in by_name]
    if missing:
        known = sorted({s.name for s in by_name.values()})
        invalid = f"; invalid files: {', '.join(sorted(broken))}" if broken else ""
        raise ConfigError(
            f"no scenario named {', '.join(missing)} in {directory}",
            hint=f"known scenarios: {', '.join(known) or '(none)'}{invalid} "
            "(`lab scenario list` shows every file and its problems)",
        )
    return [by_name[n] for n in names]
