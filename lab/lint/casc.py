"""Credential ids a JCasC file (``casc/jenkins.yaml``) defines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lab.errors import ConfigError
from lab.inputs import read_text_file


def _ids(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "id" and isinstance(value, str):
                out.add(value)
            else:
                _ids(value, out)
    elif isinstance(node, list):
        for item in node:
            _ids(item, out)


def credential_ids(path: Path) -> set[str]:
    """Every ``id`` under the top-level ``credentials:`` section (system and folder domains)."""
    text = read_text_file(path, "a JCasC file (jenkins.yaml)")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping of JCasC sections at the top level")
    ids: set[str] = set()
    _ids(doc.get("credentials", {}), ids)
    return ids
