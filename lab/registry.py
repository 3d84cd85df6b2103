"""Projects a user added with `lab project add`: name -> the local repository they came from.

Stored in ``.lab/projects.json`` beside the secrets. Gitea stays the source of
truth for the stack (repos survive `lab down`/`lab up` with the volumes); this
file lets `lab up` keep their webhooks converged and lets the local scenario
driver find their sources.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lab.config import LabConfig
from lab.errors import ConfigError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class AddedProject:
    name: str
    source: Path
    added: str


def registry_file(cfg: LabConfig) -> Path:
    return cfg.state_dir / "projects.json"


def check_name(name: str) -> str:
    if not NAME_RE.match(name) or name.endswith((".git", ".wiki")):
        raise ConfigError(
            f"project name {name!r} is not a valid repository name",
            hint="letters, digits, '.', '_' and '-'; pass --name to choose one",
        )
    return name


def load(cfg: LabConfig) -> dict[str, AddedProject]:
    path = registry_file(cfg)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        return {
            name: AddedProject(name, Path(entry["source"]), str(entry.get("added", "")))
            for name, entry in data["projects"].items()
        }
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not a valid project registry ({exc})") from None


def save(cfg: LabConfig, projects: dict[str, AddedProject]) -> None:
    path = registry_file(cfg)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {
        "projects": {
            p.name: {"source": str(p.source), "added": p.added}
            for p in sorted(projects.values(), key=lambda p: p.name)
        }
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path)


def record(cfg: LabConfig, name: str, source: Path) -> AddedProject:
    projects = load(cfg)
    entry = AddedProject(name, source.resolve(), datetime.now(UTC).isoformat(timespec="seconds"))
    projects[name] = entry
    save(cfg, projects)
    return entry


def forget(cfg: LabConfig, name: str) -> bool:
    projects = load(cfg)
    if projects.pop(name, None) is None:
        return False
    save(cfg, projects)
    return True
