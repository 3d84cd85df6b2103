"""File edits a scenario makes: set dotted keys in YAML/JSON, or replace text.

YAML is edited round-trip (ruamel.yaml, a DVC dependency) so comments and key order
survive, as they would when a person edits ``params.yaml``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


class EditError(ValueError):
    """An edit cannot be applied; the message names the file and the key or text."""


def resolve(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise EditError(f"{rel}: outside the project checkout")
    if not path.is_file():
        raise EditError(f"{rel}: no such file in the project")
    return path


def _set_dotted(doc: Any, dotted: str, value: Any, rel: str) -> Any:
    parts = dotted.split(".")
    node = doc
    for depth, part in enumerate(parts):
        if not isinstance(node, Mapping) or part not in node:
            where = ".".join(parts[:depth]) or "the top level"
            keys = ", ".join(map(str, node)) if isinstance(node, Mapping) else "(not a mapping)"
            raise EditError(f"{rel}: no key {dotted!r} ({part!r} not under {where}; keys: {keys})")
        if depth == len(parts) - 1:
            old = node[part]
            node[part] = value  # type: ignore[index]
            return old
        node = node[part]
    raise AssertionError("unreachable")


def set_keys(root: Path, rel: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set each dotted key (which must exist) and return the previous values."""
    path = resolve(root, rel)
    old: dict[str, Any] = {}
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        for key, value in values.items():
            old[key] = _set_dotted(doc, key, value, rel)
        path.write_text(json.dumps(doc, indent=2) + "\n")
    elif path.suffix in (".yaml", ".yml"):
        yaml = YAML()
        yaml.preserve_quotes = True
        doc = yaml.load(path.read_text())
        for key, value in values.items():
            old[key] = _set_dotted(doc, key, value, rel)
        out = io.StringIO()
        yaml.dump(doc, out)
        path.write_text(out.getvalue())
    else:
        raise EditError(f"{rel}: `set` edits YAML or JSON files; use `replace` for other files")
    return old


def replace_text(root: Path, rel: str, old: str, new: str, count: int | None = None) -> int:
    """Replace ``old`` by ``new`` (all occurrences, or exactly ``count``); return how many."""
    path = resolve(root, rel)
    text = path.read_text()
    found = text.count(old)
    if found == 0:
        raise EditError(f"{rel}: text to replace not found: {old!r}")
    if count is not None and found != count:
        raise EditError(f"{rel}: expected {count} occurrence(s) of {old!r}, found {found}")
    path.write_text(text.replace(old, new))
    return found
