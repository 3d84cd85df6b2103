"""Where the demo project lives and how to read its pipeline definition."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = REPO_ROOT / "projects" / "cd4ml-demo"
VENV_BIN = REPO_ROOT / ".venv" / "bin"


@dataclass(frozen=True)
class Binding:
    id: str
    username: str
    password: str


@dataclass(frozen=True)
class Stage:
    name: str
    run: str
    when: str
    credentials: tuple[Binding, ...]


def yaml_stages(path: Path = PROJECT / "ci" / "pipeline.yaml") -> list[Stage]:
    data = yaml.safe_load(path.read_text())
    return [
        Stage(
            name=s["name"],
            run=s["run"],
            when=s.get("when", "always"),
            credentials=tuple(
                Binding(c["id"], c["username"], c["password"]) for c in s.get("credentials", [])
            ),
        )
        for s in data["stages"]
    ]


_STAGE = re.compile(r"stage\('([^']+)'\)\s*\{")
_SH = re.compile(r"\bsh\s+'([^']+)'")
_WHEN = re.compile(r"when\s*\{\s*(not\s*\{\s*)?changeRequest\(\)")
_BINDING = re.compile(
    r"usernamePassword\(\s*credentialsId:\s*'([^']+)',\s*usernameVariable:\s*'([^']+)',"
    r"\s*passwordVariable:\s*'([^']+)'\s*\)"
)


def jenkinsfile_stages(path: Path = PROJECT / "Jenkinsfile") -> list[Stage]:
    """The Jenkinsfile's stages: name, its one `sh` call, its `when`, its credential bindings."""
    text = path.read_text()
    starts = [m for m in _STAGE.finditer(text)]
    stages = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        body = text[match.end() : end]
        calls = _SH.findall(body)
        if len(calls) != 1:
            raise AssertionError(f"Jenkinsfile stage {match.group(1)!r}: {len(calls)} sh calls")
        when = _WHEN.search(body)
        stages.append(
            Stage(
                name=match.group(1),
                run=calls[0],
                when="always"
                if not when
                else ("not_change_request" if when.group(1) else "change_request"),
                credentials=tuple(Binding(*b) for b in _BINDING.findall(body)),
            )
        )
    return stages
