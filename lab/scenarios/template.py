"""Placeholders in scenario strings: ``{name}`` or ``{name.field}``; ``{{`` and ``}}`` are literal.

Names available (see scenarios/README.md): ``uid``, ``project``, ``driver``, ``bot.user``,
``bot.email``, ``branch`` (current branch), then values captured by earlier steps:
``head_sha`` (commit), ``pr.number``/``pr.head``/``pr.base``/``pr.title`` (open_pr) and
``build.number``/``build.result``/``build.commit``/``build.job``/``build.url``/``build.tag``
(wait_build, wait_chain) and ``chain.tag`` (wait_chain: the chain's first build's tag).
Only ``{`` + a dotted lower-case name + ``}`` is a placeholder; any other brace is literal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)\}")

# Names every scenario can use from its first step.
BASE_NAMES = frozenset({"uid", "project", "driver", "bot.user", "bot.email", "branch"})
# Names each step kind captures for the steps after it.
CAPTURES: dict[str, frozenset[str]] = {
    "commit": frozenset({"head_sha"}),
    "pull": frozenset({"head_sha"}),
    "push": frozenset({"head_sha"}),
    "update_pr": frozenset({"head_sha"}),
    "open_pr": frozenset({"pr.number", "pr.head", "pr.base", "pr.title", "head_sha"}),
    "wait_build": frozenset(
        {"build.number", "build.result", "build.commit", "build.job", "build.url", "build.tag"}
    ),
}
CAPTURES["wait_chain"] = CAPTURES["wait_build"] | {"chain.tag"}


class UnknownPlaceholder(KeyError):
    def __init__(self, name: str, known: frozenset[str] | set[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = frozenset(known)

    def __str__(self) -> str:
        known = ", ".join(sorted(self.known))
        return f"unknown placeholder {{{self.name}}} (available here: {known})"


def names_in(value: Any) -> Iterator[str]:
    """Every placeholder name used in a value (strings inside lists/dicts included)."""
    if isinstance(value, str):
        for match in PLACEHOLDER.finditer(value):
            if match.group(1):
                yield match.group(1)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from names_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from names_in(item)


def render(value: Any, names: Mapping[str, object]) -> Any:
    """``value`` with placeholders replaced (recursively); unknown names raise."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            piece = match.group(0)
            if piece in ("{{", "}}"):
                return piece[0]
            name = match.group(1)
            if name not in names:
                raise UnknownPlaceholder(name, set(names))
            return str(names[name])

        return PLACEHOLDER.sub(sub, value)
    if isinstance(value, Mapping):
        return {key: render(item, names) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, names) for item in value]
    return value
