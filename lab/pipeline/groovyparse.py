"""Parsing of the Groovy subset groovyexpr evaluates: tokens, expressions, GStrings.

Nodes are tuples ``(kind, ...)``: lit, str (the quoted source), var, prop, index, list,
map, not, neg, elvis, if, op, as, method, call. Text outside the subset raises
:class:`Unsupported`, naming it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class Unsupported(Exception):
    """The text uses Groovy beyond the supported subset (the stack driver can run it)."""

    def __init__(self, text: str, why: str = "") -> None:
        super().__init__(f"expression {text!r}" + (f" ({why})" if why else ""))
        self.text = text
        self.why = why


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<str>'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")
  | (?P<num>\d+(?:\.\d+)?[LlGgDdFf]?)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>\?:|\?\.|==|!=|<=|>=|&&|\|\||[!?:.,()\[\]<>+;-])
    """,
    re.VERBOSE | re.DOTALL,
)

# ---- tokens and parsing ----------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text.startswith('"', pos) and not text.startswith('"""', pos):
            end = _gstring_end(text, pos)  # "${a == "" ? "b" : a}" is one literal
            out.append(_Tok("str", text[pos:end]))
            pos = end
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            raise Unsupported(text, f"unexpected {text[pos]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(0)))
    return out


class Parser:
    """Recursive descent over the tokens; nodes are tuples (kind, ...)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, text: str | None = None) -> _Tok | None:
        tok = self.toks[self.i] if self.i < len(self.toks) else None
        if text is not None and (tok is None or tok.text != text or tok.kind == "str"):
            return None
        return tok

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek(text)
        if tok is None:
            want = f"{text!r}" if text else "more"
            raise Unsupported(self.text, f"expected {want}")
        self.i += 1
        return tok

    def statement(self) -> tuple[Any, ...]:
        if self.peek("return"):
            self.take()
        node = self.expr()
        while self.peek(";"):
            self.take()
        if self.i != len(self.toks):
            raise Unsupported(self.text, "more than one expression")
        return node

    def expr(self) -> tuple[Any, ...]:
        cond = self.binary(0)
        if self.peek("?:"):
            self.take()
            return ("elvis", cond, self.expr())
        if self.peek("?"):
            self.take()
            yes = self.expr()
            self.take(":")
            return ("if", cond, yes, self.expr())
        return cond

    _LEVELS: Sequence[tuple[str, ...]] = (
        ("||",),
        ("&&",),
        ("==", "!="),
        ("<", ">", "<=", ">="),
        ("+", "-"),
    )

    def binary(self, level: int) -> tuple[Any, ...]:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while (
            (tok := self.peek()) is not None
            and tok.kind == "op"
            and tok.text in self._LEVELS[level]
        ):
            self.take()
            left = ("op", tok.text, left, self.binary(level + 1))
        return left

    def unary(self) -> tuple[Any, ...]:
        if self.peek("!"):
            self.take()
            return ("not", self.unary())
        if self.peek("-"):
            self.take()
            return ("neg", self.unary())
        node = self.postfix(self.primary())
        if self.peek("as"):
            self.take()
            return ("as", node, self.take().text)
        return node

    def postfix(self, node: tuple[Any, ...]) -> tuple[Any, ...]:
        while True:
            if self.peek(".") or self.peek("?."):
                self.take()
                name = self.take().text
                if self.peek("("):
                    node = ("method", node, name, self.arguments()[0])
                else:
                    node = ("prop", node, name)
            elif self.peek("["):
                self.take()
                key = self.expr()
                self.take("]")
                node = ("index", node, key)
            else:
                return node

    def entry_key(self) -> str | None:
        """The key of a ``key: value`` entry (named argument, map entry), consumed."""
        tok = self.peek()
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if tok is None or tok.kind not in ("name", "str") or nxt is None or nxt.text != ":":
            return None
        self.i += 2
        return unquote(tok.text) if tok.kind == "str" else tok.text

    def arguments(self) -> tuple[list[Any], dict[str, Any]]:
        self.take("(")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        while not self.peek(")"):
            key = self.entry_key()
            if key is not None:
                kwargs[key] = self.expr()
            else:
                args.append(self.expr())
            if not self.peek(")"):
                self.take(",")
        self.take(")")
        return args, kwargs

    def primary(self) -> tuple[Any, ...]:
        tok = self.take()
        if tok.kind == "str":
            return ("str", tok.text)
        if tok.kind == "num":
            digits = tok.text.rstrip("LlGgDdFf")
            return ("lit", float(digits) if "." in digits else int(digits))
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                return ("lit", tok.text == "true")
            if tok.text == "null":
                return ("lit", None)
            if self.peek("("):
                args, kwargs = self.arguments()
                return ("call", tok.text, args, kwargs)
            return ("var", tok.text)
        if tok.text == "(":
            node = self.expr()
            self.take(")")
            return node
        if tok.text == "[":
            return self.collection()
        raise Unsupported(self.text, f"unexpected {tok.text!r}")

    def collection(self) -> tuple[Any, ...]:
        if self.peek(":"):
            self.take()
            self.take("]")
            return ("map", [])
        items: list[Any] = []
        pairs: list[tuple[str, Any]] = []
        while not self.peek("]"):
            key = self.entry_key()
            if key is not None:
                pairs.append((key, self.expr()))
            else:
                items.append(self.expr())
            if not self.peek("]"):
                self.take(",")
        self.take("]")
        if pairs and items:
            raise Unsupported(self.text, "a list mixed with map entries")
        return ("map", pairs) if pairs else ("list", items)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body, flags=re.DOTALL)


def unquote(text: str) -> str:
    quote = text[:3] if text[:3] in ("'''", '"""') else text[0]
    return _unescape(text[len(quote) : -len(quote)])


_NAME_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")

# ---- GStrings ----------------------------------------------------------------------------


def gstring_parts(text: str) -> list[str | tuple[Any, ...]]:
    """A double-quoted literal split into text and parsed ``$x.y`` / ``${expr}`` parts."""
    quote = '"""' if text.startswith('"""') else '"'
    body = text[len(quote) : -len(quote)]
    parts: list[str | tuple[Any, ...]] = []
    buf: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            buf.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        elif c == "$" and body.startswith("${", i):
            end = closing_brace(body, i + 2, text)
            parts.append("".join(buf))
            buf = []
            inner = body[i + 2 : end].strip()
            parts.append(Parser(inner).statement() if inner else ("lit", None))
            i = end + 1
        elif c == "$" and i + 1 < len(body) and (body[i + 1].isalpha() or body[i + 1] == "_"):
            m = _NAME_PATH.match(body, i + 1)
            if m is None:  # pragma: no cover - the test above guarantees a name
                raise Unsupported(text, "a bad $name")
            parts.append("".join(buf))
            buf = []
            names = m.group(0).split(".")
            node: tuple[Any, ...] = ("var", names[0])
            for name in names[1:]:
                node = ("prop", node, name)
            parts.append(node)
            i = m.end()
        elif c == "$":
            raise Unsupported(text, "a '$' not followed by a name or '{'")
        else:
            buf.append(c)
            i += 1
    parts.append("".join(buf))
    return parts


def _gstring_end(text: str, start: int) -> int:
    """The end of the one-line double-quoted literal at ``start``: its ``${...}`` parts may
    hold quotes of their own, as in Groovy."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "\n":
            break
        elif text.startswith("${", i):
            i = closing_brace(text, i + 2, text) + 1
        else:
            i += 1
    raise Unsupported(text, "an unterminated string")


def closing_brace(body: str, start: int, text: str) -> int:
    depth, i = 1, start
    while i < len(body):
        if body[i] == '"' and not body.startswith('"""', i):
            i = _gstring_end(body, i)
            continue
        if body[i] in "'\"":
            m = _TOKEN.match(body, i)
            if m is None or m.lastgroup != "str":
                raise Unsupported(text, "an unterminated string inside ${}")
            i = m.end()
            continue
        if body[i] == "{":
            depth += 1
        elif body[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise Unsupported(text, "an unterminated ${")
