"""A safe evaluator for the Groovy expressions a declarative Jenkinsfile carries as text.

The declarative model (pipeline-model-definition's ``toJson``) keeps every non-constant
value as Groovy source: a GString (``"FOO is $FOO"``), a map (``[a: 1]``), or any other
expression wrapped as ``${...}`` (``ModelParser.parseArgument``, jenkinsci/
pipeline-model-definition-plugin, pipeline-model-definition/src/main/groovy/org/
jenkinsci/plugins/pipeline/modeldefinition/parser/ModelParser.groovy, read at HEAD
42c9dc3e; the pin 2.2293.v6e7193cec599 is newer than that snapshot).

This module parses a small subset of Groovy and evaluates it without ``eval``: string,
number, boolean and null literals, GStrings, lists and maps, variable and property
references (``env.X``, ``params.X``, ``X``), calls of names the caller allows
(``credentials('id')``, ``usernamePassword(...)``), ``==``, ``!=``, ``<``, ``>``,
``<=``, ``>=``, ``!``, ``&&``, ``||``, ``?:``, ``a ? b : c``, ``+``, ``return``,
``as int``/``as boolean``/``as String`` and the String methods listed in ``_METHODS``.
Anything else raises :class:`Unsupported`, naming the expression.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.pipeline.groovyparse import (
    Parser,
    Unsupported,
    closing_brace,
    gstring_parts,
    unquote,
)

__all__ = ["Call", "EvalError", "Scope", "Unsupported", "evaluate", "to_text", "truthy"]


class EvalError(Exception):
    """Evaluation failed as Groovy would fail at run time (e.g. an unknown variable)."""


@dataclass(frozen=True)
class Call:
    """A call of an allowed name, e.g. ``usernamePassword(credentialsId: 'x', ...)``."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


# String methods Groovy scripts use in conditions; each takes the receiver first.
_METHODS: dict[str, Callable[..., Any]] = {
    "trim": lambda s: _text(s).strip(),
    "toBoolean": lambda s: _text(s).strip().lower() in ("true", "y", "1"),
    "toInteger": lambda s: int(_text(s).strip()),
    "toString": lambda s: _text(s),
    "toLowerCase": lambda s: _text(s).lower(),
    "toUpperCase": lambda s: _text(s).upper(),
    "startsWith": lambda s, p: _text(s).startswith(_text(p)),
    "endsWith": lambda s, p: _text(s).endswith(_text(p)),
    "contains": lambda s, p: _text(p) in s if isinstance(s, list | tuple) else _text(p) in _text(s),
    "isEmpty": lambda s: len(s) == 0 if isinstance(s, list | tuple | dict) else _text(s) == "",
    "equals": lambda s, o: s == o,
}
# String.toBoolean(): "true", "y" or "1", case-insensitive, after trim (Groovy's
# StringGroovyMethods.toBoolean).


def _text(value: Any) -> str:
    """Groovy's toString of a value (GString interpolation)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "[" + ", ".join(f"{k}:{_text(v)}" for k, v in value.items()) + "]"
    return str(value)


def to_text(value: Any) -> str:
    return _text(value)


def truthy(value: Any) -> bool:
    """Groovy truth: null, false, 0, "" and empty collections are false."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0
    return True


# Global variables of a Jenkins pipeline script the local driver does not model
# (workflow-cps GlobalVariable implementations and `this`).
_GLOBALS = frozenset({"currentBuild", "scm", "docker", "pipeline", "this", "manager", "steps"})


class Scope:
    """What names resolve to. ``env`` and ``params`` are the build's; ``variables`` are
    bare names (Jenkins resolves an unknown bare name through env and params)."""

    def __init__(
        self,
        env: Mapping[str, str],
        params: Mapping[str, Any],
        *,
        calls: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.env = env
        self.params = params
        self.calls = dict(calls or {})

    def variable(self, name: str) -> Any:
        if name == "env":
            return _Namespace(self.env, "env")
        if name == "params":
            return _Namespace(self.params, "params")
        if name in self.env:
            return self.env[name]
        if name in self.params:
            return self.params[name]
        if name in _GLOBALS:
            raise Unsupported(name, f"{name}: a Jenkins global variable")
        # workflow-cps: MissingPropertyException for a name neither bound nor in env.
        raise EvalError(f"No such property: {name} for class: groovy.lang.Binding")


@dataclass(frozen=True)
class _Namespace:
    values: Mapping[str, Any]
    label: str

    def get(self, name: str) -> Any:
        return self.values.get(name)  # env.UNSET and params.UNSET are null in Groovy


# ---- evaluation ----------------------------------------------------------------------------


def _evaluate(node: tuple[Any, ...], scope: Scope, text: str) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "str":
        raw = node[1]
        if raw.startswith('"'):
            return "".join(
                p if isinstance(p, str) else _text(_evaluate(p, scope, text))
                for p in gstring_parts(raw)
            )
        return unquote(raw)
    if kind == "var":
        return scope.variable(node[1])
    if kind == "prop":
        target = _evaluate(node[1], scope, text)
        if isinstance(target, _Namespace):
            return target.get(node[2])
        if isinstance(target, dict):
            return target.get(node[2])
        raise Unsupported(text, f"property {node[2]!r} of a {type(target).__name__}")
    if kind == "index":
        target = _evaluate(node[1], scope, text)
        key = _evaluate(node[2], scope, text)
        if isinstance(target, _Namespace):
            return target.get(_text(key))
        if isinstance(target, dict):
            return target.get(key)
        if isinstance(target, list) and isinstance(key, int):
            return target[key] if -len(target) <= key < len(target) else None
        raise Unsupported(text, "indexing")
    if kind == "list":
        return [_evaluate(n, scope, text) for n in node[1]]
    if kind == "map":
        return {k: _evaluate(v, scope, text) for k, v in node[1]}
    if kind == "not":
        return not truthy(_evaluate(node[1], scope, text))
    if kind == "neg":
        value = _evaluate(node[1], scope, text)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Unsupported(text, "negating a non-number")
        return -value
    if kind == "elvis":
        value = _evaluate(node[1], scope, text)
        return value if truthy(value) else _evaluate(node[2], scope, text)
    if kind == "if":
        branch = node[2] if truthy(_evaluate(node[1], scope, text)) else node[3]
        return _evaluate(branch, scope, text)
    if kind == "op":
        return _operator(node, scope, text)
    if kind == "as":
        return _cast(_evaluate(node[1], scope, text), node[2], text)
    if kind == "method":
        method = _METHODS.get(node[2])
        if method is None:
            raise Unsupported(text, f"method {node[2]}()")
        receiver = _evaluate(node[1], scope, text)
        if receiver is None:
            raise EvalError(f"Cannot invoke method {node[2]}() on null object")
        return method(receiver, *[_evaluate(a, scope, text) for a in node[3]])
    if kind == "call":
        fn = scope.calls.get(node[1])
        if fn is None:
            raise Unsupported(text, f"call of {node[1]}()")
        args = [_evaluate(a, scope, text) for a in node[2]]
        kwargs = {k: _evaluate(v, scope, text) for k, v in node[3].items()}
        return fn(*args, **kwargs)
    raise Unsupported(text, kind)  # pragma: no cover - every node kind is handled above


def _operator(node: tuple[Any, ...], scope: Scope, text: str) -> Any:
    op = node[1]
    if op == "&&":
        return truthy(_evaluate(node[2], scope, text)) and truthy(_evaluate(node[3], scope, text))
    if op == "||":
        return truthy(_evaluate(node[2], scope, text)) or truthy(_evaluate(node[3], scope, text))
    left, right = _evaluate(node[2], scope, text), _evaluate(node[3], scope, text)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "+" and isinstance(left, list):
        return [*left, *(right if isinstance(right, list) else [right])]
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        if left is None:
            raise EvalError("Cannot invoke method plus() on null object")
        return _text(left) + _text(right)
    try:
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    except TypeError:
        raise Unsupported(
            text, f"{op} on {type(left).__name__} and {type(right).__name__}"
        ) from None


def _cast(value: Any, kind: str, text: str) -> Any:
    if kind in ("int", "Integer", "long", "Long"):
        try:
            return int(_text(value).strip()) if not isinstance(value, int) else int(value)
        except ValueError:
            raise EvalError(f"Cannot cast {_text(value)!r} to {kind}") from None
    if kind in ("boolean", "Boolean"):
        return truthy(value)  # Groovy `as boolean` is Groovy truth
    if kind == "String":
        return _text(value)
    raise Unsupported(text, f"as {kind}")


# ---- public API ---------------------------------------------------------------------------


def parse(text: str) -> tuple[Any, ...]:
    """Parse one expression (optionally ``return expr``); raise Unsupported beyond the subset."""
    node = Parser(text).statement()
    _check(node, text)
    return node


def _check(node: Any, text: str) -> None:
    """Parse GStrings eagerly, so a bad one is found before running anything."""
    if isinstance(node, tuple):
        if node and node[0] == "var" and node[1] in _GLOBALS:
            raise Unsupported(text, f"{node[1]}: a Jenkins global variable")
        if node and node[0] == "method" and node[2] not in _METHODS:
            raise Unsupported(text, f"method {node[2]}()")
        if node and node[0] == "str" and node[1].startswith('"'):
            for part in gstring_parts(node[1]):
                _check(part, text)
        for child in node[1:]:
            _check(child, text)
    elif isinstance(node, list | dict):
        for child in node.values() if isinstance(node, dict) else node:
            _check(child, text)


def evaluate(text: str, scope: Scope) -> Any:
    """The value of Groovy source ``text``: a GString, ``${expr}`` or a plain expression."""
    stripped = text.strip()
    if stripped.startswith("${") and stripped.endswith("}") and _whole_dollar(stripped):
        stripped = stripped[2:-1]
    return _evaluate(parse(stripped), scope, text)


def _whole_dollar(text: str) -> bool:
    """``${a} ${b}`` is not one ``${...}``: the first brace must close at the end."""
    try:
        return closing_brace(text, 2, text) == len(text) - 1
    except Unsupported:
        return False


def value_of(raw: Mapping[str, Any], scope: Scope) -> Any:
    """The value of a model ``{"isLiteral": ..., "value": ...}``."""
    if raw.get("isLiteral", True):
        return raw.get("value")
    return evaluate(str(raw.get("value")), scope)


def check_value(raw: Mapping[str, Any]) -> None:
    """Raise Unsupported when a model value could not be evaluated here (for planning)."""
    if not raw.get("isLiteral", True):
        text = str(raw.get("value")).strip()
        if text.startswith("${") and text.endswith("}") and _whole_dollar(text):
            text = text[2:-1]
        parse(text)
