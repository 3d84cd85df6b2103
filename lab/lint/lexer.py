"""A small Groovy tokenizer for the lint rules: identifiers, strings and their positions.

Not a parser (``lab.groovy`` runs the real one): it tells code from comments and
string literals, records where each string's content starts, and lists the
``$x`` / ``${...}`` interpolations of double-quoted strings, which is what the
rules need. Slashy strings (``/.../``) are told from division by the token
before them, as Groovy's own lexer does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

IDENT = "ident"
STRING = "string"  # no interpolation: '...', '''...''', or a "..." without $
GSTRING = "gstring"  # "..." / \"\"\"...\"\"\" / slashy with interpolations
NUMBER = "number"
OP = "op"

_IDENT_START = re.compile(r"[A-Za-z_$]")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"[0-9][0-9_]*(\.[0-9]+)?([eE][+-]?[0-9]+)?[A-Za-z]?")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
# After these a "/" starts a slashy string rather than a division.
_REGEX_BEFORE = set("([{,=:;!&|?~+-*%<>") | {"return", "in", ""}


@dataclass(frozen=True)
class Interpolation:
    """``$name`` or ``${expr}`` inside a double-quoted string: ``expr`` is its source."""

    expr: str
    line: int
    column: int


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # identifier/op/number text, or a string's raw content (without quotes)
    line: int  # 1-based position of the token's first character
    column: int
    content_line: int = 0  # strings: where the content starts (after the opening quotes)
    content_column: int = 0
    interpolations: tuple[Interpolation, ...] = field(default=())

    @property
    def is_string(self) -> bool:
        return self.kind in (STRING, GSTRING)

    def position_of(self, offset: int) -> tuple[int, int]:
        """Line and column of ``offset`` within a string token's content."""
        before = self.text[:offset]
        newlines = before.count("\n")
        if newlines == 0:
            return self.content_line, self.content_column + offset
        return self.content_line + newlines, offset - before.rfind("\n")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.col = 1

    def peek(self, n: int = 0) -> str:
        j = self.i + n
        return self.text[j] if j < len(self.text) else ""

    def startswith(self, s: str) -> bool:
        return self.text.startswith(s, self.i)

    def advance(self, n: int = 1) -> str:
        out = self.text[self.i : self.i + n]
        for ch in out:
            if ch == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
        self.i += len(out)
        return out

    @property
    def done(self) -> bool:
        return self.i >= len(self.text)


def _read_interpolation(r: _Reader) -> str:
    """At ``${``: read to the matching ``}`` (nested braces and quotes), return the inside."""
    r.advance(2)
    depth = 1
    start = r.i
    quote = ""
    while not r.done:
        ch = r.peek()
        if quote:
            if ch == "\\":
                r.advance(2)
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                inside = r.text[start : r.i]
                r.advance()
                return inside
        r.advance()
    return r.text[start : r.i]


def _read_string(r: _Reader, close: str, *, interpolating: bool, escapes: bool) -> Token:
    line, col = r.line, r.col
    r.advance(len(close) if close != "/$" else 2)  # the opening delimiter
    c_line, c_col = r.line, r.col
    start = r.i
    interps: list[Interpolation] = []
    while not r.done:
        if escapes and r.peek() == "\\":
            r.advance(2)
            continue
        if r.startswith(close):
            break
        if len(close) == 1 and close != "/" and r.peek() == "\n":
            break  # unterminated single-line string: stop at the line end
        if interpolating and r.peek() == "$":
            if r.peek(1) == "{":
                i_line, i_col = r.line, r.col
                interps.append(Interpolation(_read_interpolation(r).strip(), i_line, i_col))
                continue
            m = _DOTTED.match(r.text, r.i + 1)
            if m:
                interps.append(Interpolation(m.group(0), r.line, r.col))
                r.advance(1 + len(m.group(0)))
                continue
        r.advance()
    content = r.text[start : r.i]
    r.advance(len(close))
    kind = GSTRING if interps else STRING
    return Token(kind, content, line, col, c_line, c_col, tuple(interps))


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` except whitespace and comments."""
    return list(_tokens(text))


def _tokens(text: str) -> Iterator[Token]:
    r = _Reader(text)
    if r.startswith("#!"):
        while not r.done and r.peek() != "\n":
            r.advance()
    prev = ""
    while not r.done:
        ch = r.peek()
        if ch.isspace():
            r.advance()
            continue
        if r.startswith("//"):
            while not r.done and r.peek() != "\n":
                r.advance()
            continue
        if r.startswith("/*"):
            end = text.find("*/", r.i + 2)
            r.advance((end + 2 if end >= 0 else len(text)) - r.i)
            continue
        tok: Token
        if r.startswith("'''"):
            tok = _read_string(r, "'''", interpolating=False, escapes=True)
        elif r.startswith('"""'):
            tok = _read_string(r, '"""', interpolating=True, escapes=True)
        elif ch == "'":
            tok = _read_string(r, "'", interpolating=False, escapes=True)
        elif ch == '"':
            tok = _read_string(r, '"', interpolating=True, escapes=True)
        elif r.startswith("$/"):
            tok = _read_string(r, "/$", interpolating=True, escapes=False)
        elif ch == "/" and prev in _REGEX_BEFORE:
            tok = _read_string(r, "/", interpolating=True, escapes=True)
        elif _IDENT_START.match(ch):
            m = _IDENT.match(text, r.i)
            assert m is not None
            tok = Token(IDENT, m.group(0), r.line, r.col)
            r.advance(len(m.group(0)))
        elif ch.isdigit():
            m = _NUMBER.match(text, r.i)
            assert m is not None
            tok = Token(NUMBER, m.group(0), r.line, r.col)
            r.advance(len(m.group(0)))
        else:
            tok = Token(OP, ch, r.line, r.col)
            r.advance()
        prev = tok.text if tok.kind in (OP, IDENT) else "\0"
        yield tok


def literal(tok: Token | None) -> str | None:
    """The value of a plain string literal token (no interpolation), else ``None``."""
    if tok is None or tok.kind != STRING:
        return None
    return tok.text


_CALL_FOLLOWERS = {"(", "{", "["}
_NOT_CALL_KEYWORDS = {"def", "new", "class", "import", "package", "String", "boolean", "int"}


def calls(tokens: list[Token]) -> Iterator[tuple[int, Token]]:
    """Identifiers used as a step/method call or a block: ``name(...)``, ``name {``,
    ``name 'arg'``, ``name arg`` (command syntax on the same line), not ``x.name``,
    ``name = ...`` or a map key ``name:``."""
    for i, tok in enumerate(tokens):
        if tok.kind != IDENT:
            continue
        prev = tokens[i - 1] if i > 0 else None
        if prev is not None and (
            (prev.kind == OP and prev.text in ".?&@")
            or (prev.kind == IDENT and prev.text in _NOT_CALL_KEYWORDS)
        ):
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None:
            continue
        if nxt.kind == OP and nxt.text in _CALL_FOLLOWERS:
            yield i, tok
        elif nxt.line == tok.line and (nxt.is_string or nxt.kind in (IDENT, NUMBER)):
            after = tokens[i + 2] if i + 2 < len(tokens) else None
            # `name x = ...` declares a variable of type `name`.
            if nxt.kind == IDENT and after is not None and after.kind == OP and after.text == "=":
                continue
            yield i, tok


def closing(tokens: list[Token], i: int) -> int:
    """Index of the bracket closing the one at ``i`` (or the last token)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    open_ = tokens[i].text
    close = pairs[open_]
    depth = 0
    for j in range(i, len(tokens)):
        t = tokens[j]
        if t.kind != OP:
            continue
        if t.text == open_:
            depth += 1
        elif t.text == close:
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1
