"""``when`` conditions and ``post`` build conditions, as pipeline-model-definition has them.

Read in jenkinsci/pipeline-model-definition-plugin at HEAD 42c9dc3e (the pin
2.2293.v6e7193cec599 is newer than that snapshot):
- when/impl/*ConditionalScript.groovy and *Conditional.java: ``branch`` compares
  BRANCH_NAME (else GIT_LOCAL_BRANCH) with the GLOB comparator by default;
  ``changeRequest`` is false without CHANGE_ID, then checks id/target/branch/fork/title/
  author/authorDisplayName/authorEmail with EQUALS by default; ``environment`` compares
  env[name] with value (ignoreCase); ``expression`` is Groovy truth of the block;
  ``tag`` compares TAG_NAME (GLOB) and is false when it is empty, ``buildingTag`` is a
  non-empty TAG_NAME; ``equals`` is ``expected == actual``.
- when/utils/Comparator.java: GLOB is Ant ``SelectorUtils.matchPath`` case-insensitive,
  REGEXP is ``String.matches`` (whole string), EQUALS is ``equals``.
- model/conditions/*.groovy: post order by @Extension ordinal (always 1000, changed 900,
  fixed 890, regression 880, aborted 800, success 700, unsuccessful 650, unstable 600,
  failure 500, notBuilt 400, cleanup -10000). ``changed`` holds when there is no
  previous completed build; ``fixed`` and ``regression`` do not. Every local run is a
  job's first build.
- pipeline-model-extensions BuildCondition.getCombinedResult: the build's result
  combined with the stage's worst warning and the error's result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lab.pipeline.context import Ctx
from lab.pipeline.filesteps import ant_match
from lab.pipeline.groovyexpr import to_text, truthy
from lab.pipeline.runtime import NeedsStack, error_result, worse
from lab.pipeline.stepargs import Args

POST_ORDER = (
    "always",
    "changed",
    "fixed",
    "regression",
    "aborted",
    "success",
    "unsuccessful",
    "unstable",
    "failure",
    "notBuilt",
    "cleanup",
)
_CHANGE_FIELDS = {
    "id": "CHANGE_ID",
    "target": "CHANGE_TARGET",
    "branch": "CHANGE_BRANCH",
    "fork": "CHANGE_FORK",
    "title": "CHANGE_TITLE",
    "author": "CHANGE_AUTHOR",
    "authorDisplayName": "CHANGE_AUTHOR_DISPLAY_NAME",
    "authorEmail": "CHANGE_AUTHOR_EMAIL",
}
_WHEN_DEFAULT = {"branch": "pattern", "tag": "pattern", "expression": "scriptBlock"}


def compare(comparator: str, pattern: str, actual: str | None) -> bool:
    actual = actual if actual and actual.strip() else ""
    if comparator == "REGEXP":
        return re.fullmatch(pattern, actual) is not None
    if comparator == "EQUALS":
        return actual == pattern
    return ant_match(pattern, actual, case_sensitive=False)


def _comparator(args: Args, default: str) -> str:
    name = to_text(args.get("comparator") or "").upper()
    return name if name in ("GLOB", "REGEXP", "EQUALS") else default


def when_passes(ctx: Ctx, condition: Mapping[str, Any], pointer: str) -> bool:
    name = str(condition.get("name"))
    children = condition.get("children")
    if children is not None:
        results = (
            when_passes(ctx, child, f"{pointer}/children/{i}") for i, child in enumerate(children)
        )
        if name == "not":
            return not next(results)
        if name == "allOf":
            return all(results)
        if name == "anyOf":
            return any(results)
        raise NeedsStack(f"when {{ {name} }}", ctx.build.where(pointer))
    args = Args(ctx, condition, pointer)
    args.default = _WHEN_DEFAULT.get(name, "")
    env = ctx.env
    if name == "branch":
        pattern = to_text(args.get("pattern") or "")
        actual = env.get("BRANCH_NAME") or env.get("GIT_LOCAL_BRANCH") or ""
        if not actual and not pattern:
            return True
        return bool(actual and pattern) and compare(_comparator(args, "GLOB"), pattern, actual)
    if name == "changeRequest":
        if not env.get("CHANGE_ID"):
            return False
        comparator = _comparator(args, "EQUALS")
        return all(
            compare(comparator, to_text(args.get(key)), env.get(var))
            for key, var in _CHANGE_FIELDS.items()
            if args.get(key)
        )
    if name == "environment":
        expected = to_text(args.get("value") or "")
        actual = env.get(to_text(args.get("name")), "")
        if not actual:
            return not expected
        if to_text(args.get("ignoreCase", False)).lower() == "true":
            return actual.lower() == expected.lower()
        return actual == expected
    if name == "expression":
        raw = args.named.get("scriptBlock") or (args.positional or [{"value": "false"}])[0]
        return truthy(ctx.value({"isLiteral": False, "value": str(raw.get("value"))}, pointer))
    if name == "buildingTag":
        return bool(env.get("TAG_NAME"))
    if name == "tag":
        tag = env.get("TAG_NAME") or ""
        pattern = to_text(args.get("pattern") or "")
        if not tag:
            return False
        return not pattern or compare(_comparator(args, "GLOB"), pattern, tag)
    if name == "equals":
        return bool(args.get("expected") == args.get("actual"))
    if name == "isRestartedRun":
        return False  # a local run never restarts from a stage
    raise NeedsStack(f"when {{ {name} }}", ctx.build.where(pointer))


def combined_result(ctx: Ctx, error: BaseException | None, stage_warning: str | None) -> str:
    result = ctx.build.result
    if stage_warning is not None:
        result = worse(result, stage_warning)
    return worse(result, error_result(error)) if error is not None else result


def post_applies(name: str, result: str) -> bool:
    return {
        "always": True,
        "changed": True,  # no previous completed build
        "fixed": False,
        "regression": False,
        "aborted": result == "ABORTED",
        "success": result == "SUCCESS",
        "unsuccessful": result != "SUCCESS",
        "unstable": result == "UNSTABLE",
        "failure": result == "FAILURE",
        "notBuilt": result == "NOT_BUILT",
        "cleanup": True,
    }.get(name, False)
