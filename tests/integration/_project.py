"""Where the demo project lives and how to read its pipeline definition."""

from __future__ import annotations

import re
from pathlib import Path

from lab.localforge.pipeline import CredentialBinding, Stage, load_stages

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = REPO_ROOT / "projects" / "cd4ml-demo"
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def yaml_stages(project: Path = PROJECT) -> list[Stage]:
    """The stages of ci/pipeline.yaml, read by the lab's own loader (as the local driver does)."""
    return load_stages(project)


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
                credentials=tuple(CredentialBinding(*b) for b in _BINDING.findall(body)),
            )
        )
    return stages
