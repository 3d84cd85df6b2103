"""The directives around stages: ``parameters``, ``environment``, ``options``, ``agent``.

pipeline-model-definition (read at HEAD 42c9dc3e, pin 2.2293.v6e7193cec599 newer):
- ModelInterpreter.groovy ``withCredentialsBlock`` then ``withEnvBlock``: credentials of an
  ``environment`` directive are bound first, then its values are evaluated; values may
  refer to each other in any order (model/Environment.groovy, EnvironmentResolver
  closures) and to the credentials' variables.
- ``inWrappers``/``recursiveWrappers``: wrapper options (timeout, retry, timestamps) wrap
  the stages and ``post`` in the order written; ``parallelsAlwaysFailFast`` and
  ``skipStagesAfterUnstable`` are read by the interpreter.
- Parameters are job properties; their values reach ``params`` and the environment
  (a build with no given value uses the default; ``choice`` defaults to its first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lab.errors import ConfigError
from lab.pipeline import bindings, groovyexpr
from lab.pipeline.context import Ctx
from lab.pipeline.groovyexpr import Scope, to_text
from lab.pipeline.runtime import NeedsStack, StepError
from lab.pipeline.stepargs import Args, seconds_of
from lab.pipeline.steps import with_retry, with_timeout

WRAPPERS = ("timeout", "retry", "timestamps")
# Options that change nothing a local run can observe (job properties, resume, logs).
HARMLESS_OPTIONS = frozenset(
    {
        "disableConcurrentBuilds",
        "buildDiscarder",
        "skipDefaultCheckout",
        "skipStagesAfterUnstable",
        "parallelsAlwaysFailFast",
        "preserveStashes",
        "durabilityHint",
        "quietPeriod",
        "disableResume",
        "overrideIndexTriggers",
        "ansiColor",
        "copyArtifactPermission",
        "rateLimitBuilds",
        "newContainerPerStage",
    }
)
_PARAM_TYPES = ("string", "booleanParam", "choice", "text", "password")


def option_names(section: Mapping[str, Any] | None) -> list[str]:
    return [str(o.get("name")) for o in (section or {}).get("options", [])]


def check_options(
    section: Mapping[str, Any] | None, where: Callable[[str], str], base: str
) -> None:
    for i, name in enumerate(option_names(section)):
        if name not in WRAPPERS and name not in HARMLESS_OPTIONS:
            raise NeedsStack(f"options {{ {name} }}", where(f"{base}/options/{i}"))


def wrap(
    ctx: Ctx, section: Mapping[str, Any] | None, pointer: str, body: Callable[[Ctx], None]
) -> None:
    """Run ``body`` inside the wrapper options of ``section``, outermost first."""
    options = [
        (i, o)
        for i, o in enumerate((section or {}).get("options", []))
        if o.get("name") in WRAPPERS
    ]
    for i, option in enumerate((section or {}).get("options", [])):
        if option.get("name") in HARMLESS_OPTIONS:
            ctx.log(f"[local driver] option {option.get('name')}: nothing to do for a local run")
        elif option.get("name") not in WRAPPERS:
            raise NeedsStack(
                f"options {{ {option.get('name')} }}", ctx.build.where(f"{pointer}/{i}")
            )

    def nest(c: Ctx, k: int) -> None:
        if k == len(options):
            body(c)
            return
        i, option = options[k]
        args = Args(c, option, f"{pointer}/{i}")
        name = option["name"]
        if name == "timestamps":
            nest(c.child(timestamps=True), k + 1)
            return
        c.log(f"[Pipeline] {name}")
        if name == "timeout":
            args.default = "time"
            if args.get("activity", False):
                raise NeedsStack("timeout(activity: true)", c.build.where(f"{pointer}/{i}"))
            seconds = seconds_of(args.require("time", "timeout"), args.get("unit"), "MINUTES")
            with_timeout(c, seconds, lambda inner: _braced(inner, lambda x: nest(x, k + 1)))
        else:
            args.default = "count"
            count = int(args.require("count", "retry"))
            with_retry(c, count, lambda inner: _braced(inner, lambda x: nest(x, k + 1)))
        c.log(f"[Pipeline] // {name}")

    nest(ctx, 0)


def _braced(ctx: Ctx, body: Callable[[Ctx], None]) -> None:
    ctx.log("[Pipeline] {")
    try:
        body(ctx)
    finally:
        ctx.log("[Pipeline] }")


# ---- parameters ---------------------------------------------------------------------------


def resolve_params(
    section: Mapping[str, Any] | None,
    given: Mapping[str, str],
    where: Callable[[str], str],
) -> tuple[dict[str, Any], list[str]]:
    """(params, secret values): defaults overridden by ``given``; unknown names refused."""
    params: dict[str, Any] = {}
    secrets: list[str] = []
    kinds: dict[str, tuple[str, list[str]]] = {}
    scope = Scope({}, {})
    for i, decl in enumerate((section or {}).get("parameters", [])):
        kind = str(decl.get("name"))
        pointer = f"/pipeline/parameters/parameters/{i}"
        if kind not in _PARAM_TYPES:
            raise NeedsStack(f"parameter type {kind}", where(pointer))
        try:
            args = {
                str(a["key"]): groovyexpr.value_of(a["value"], scope)
                for a in decl.get("arguments", [])
                if isinstance(a, dict) and "key" in a
            }
        except (groovyexpr.Unsupported, groovyexpr.EvalError) as exc:
            raise NeedsStack(f"parameter {exc}", where(pointer)) from None
        name = to_text(args.get("name", ""))
        choices = args.get("choices", [])
        if isinstance(choices, str):
            choices = choices.split("\n")
        choices = [to_text(c) for c in choices]
        kinds[name] = (kind, choices)
        if kind == "booleanParam":
            params[name] = bool(args.get("defaultValue", False))
        elif kind == "choice":
            params[name] = choices[0] if choices else ""
        else:
            params[name] = to_text(args.get("defaultValue", "") or "")
    for name, text in given.items():
        if name not in kinds:
            declared = ", ".join(sorted(kinds)) or "none"
            raise ConfigError(
                f"parameter {name!r} is not declared in the Jenkinsfile's parameters "
                f"(declared: {declared})"
            )
        kind, choices = kinds[name]
        if kind == "booleanParam":
            if text.lower() not in ("true", "false"):
                raise ConfigError(f"parameter {name!r} is a booleanParam: give true or false")
            params[name] = text.lower() == "true"
        elif kind == "choice" and text not in choices:
            raise ConfigError(f"parameter {name!r}: {text!r} is not one of {choices}")
        else:
            params[name] = text
    secrets.extend(str(params[n]) for n, (k, _) in kinds.items() if k == "password")
    return params, secrets


def params_env(params: Mapping[str, Any]) -> dict[str, str]:
    return {name: to_text(value) for name, value in params.items()}


# ---- environment --------------------------------------------------------------------------


class _LazyEnv(Mapping[str, str]):
    """The environment with a directive's entries resolved on first use (any order)."""

    def __init__(self, ctx: Ctx, base: Mapping[str, str], entries: Mapping[str, Any], pointer: str):
        self.ctx, self.base, self.entries, self.pointer = ctx, base, entries, pointer
        self.done: dict[str, str] = {}
        self.busy: set[str] = set()

    def __getitem__(self, key: str) -> str:
        if key not in self.entries:
            return self.base[key]
        if key not in self.done:
            if key in self.busy:
                raise StepError(f"environment: {key} refers to itself")
            self.busy.add(key)
            index, raw = self.entries[key]
            self.done[key] = to_text(self.ctx.value(raw, f"{self.pointer}/{index}", env=self))
        return self.done[key]

    def __iter__(self) -> Any:
        return iter({**self.base, **dict.fromkeys(self.entries)})

    def __len__(self) -> int:
        return len(set(self.base) | set(self.entries))


def with_environment(
    ctx: Ctx, entries: Sequence[Mapping[str, Any]] | None, pointer: str, body: Callable[[Ctx], None]
) -> None:
    if not entries:
        body(ctx)
        return
    bound = bindings.Bound()
    values: dict[str, Any] = {}
    try:
        for i, entry in enumerate(entries):
            key, value = str(entry.get("key")), entry.get("value") or {}
            if "name" in value:
                if value.get("name") != "credentials":
                    raise NeedsStack(f"environment function {value.get('name')}()",
                                     ctx.build.where(f"{pointer}/{i}"))  # fmt: skip
                cred_id = to_text(ctx.value(value["arguments"][0], f"{pointer}/{i}"))
                bindings.environment_credential(key, cred_id, ctx.build.credentials, ctx.cwd, bound)
            else:
                values[key] = (i, value)
        if bound.secret:
            ctx.build.masker.add(bound.secret.values())
            ctx.log("[Pipeline] withCredentials")
            ctx.log(bindings.masking_line(bound))
        lazy = _LazyEnv(ctx, {**ctx.env, **bound.env()}, values, pointer)
        env = {**ctx.env, **bound.env(), **{k: lazy[k] for k in values}}
        ctx.log("[Pipeline] withEnv")
        body(ctx.child(env=env, sensitive=ctx.sensitive | set(bound.secret)))
    finally:
        bound.release()
