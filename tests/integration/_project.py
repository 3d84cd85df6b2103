"""Where the demo project lives and its Jenkinsfile's stages, read as Jenkins' model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = REPO_ROOT / "projects" / "cd4ml-demo"
VENV_BIN = REPO_ROOT / ".venv" / "bin"


@dataclass(frozen=True)
class DemoStage:
    name: str
    scripts: tuple[str, ...]  # the `sh` scripts, in order
    when: tuple[str, ...]  # the `when` conditions' names
    bindings: tuple[tuple[str, str, str], ...]  # usernamePassword (id, user var, password var)


def _literal(value: Any) -> Any:
    assert isinstance(value, dict) and value.get("isLiteral"), f"not a literal: {value}"
    return value["value"]


def _named(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):  # one unnamed argument
        return {"": arguments}
    return {a["key"]: a["value"] for a in arguments if isinstance(a, dict) and "key" in a}


def _walk(steps: list[dict[str, Any]], scripts: list[str], bindings: list[tuple[str, ...]]) -> None:
    for step in steps:
        args = _named(step.get("arguments") or [])
        if step["name"] == "sh":
            scripts.append(_literal(args.get("script") or args[""]))
        if step["name"] == "withCredentials":
            # withCredentials([usernamePassword(credentialsId: ..., ...)]): a non-literal
            # list, kept as Groovy source by the model; read the three names from it
            source = str(next(iter(args.values()))["value"])
            for m in re.finditer(
                r"usernamePassword\(credentialsId:\s*'([^']+)',\s*usernameVariable:\s*"
                r"'([^']+)',\s*passwordVariable:\s*'([^']+)'\)",
                source,
            ):
                bindings.append(m.groups())
        _walk(step.get("children") or [], scripts, bindings)


def demo_stages(path: Path = PROJECT / "Jenkinsfile") -> list[DemoStage]:
    """The demo Jenkinsfile's stages as the local driver reads them (its model)."""
    from lab.pipeline.build import load_model

    model = load_model(path.read_text(encoding="utf-8"), "Jenkinsfile").pipeline["pipeline"]
    stages = []
    for stage in model["stages"]:
        scripts: list[str] = []
        bindings: list[tuple[str, ...]] = []
        for branch in stage.get("branches") or []:
            _walk(branch.get("steps") or [], scripts, bindings)
        when = tuple(c["name"] for c in (stage.get("when") or {}).get("conditions") or [])
        stages.append(DemoStage(stage["name"], tuple(scripts), when, tuple(bindings)))  # type: ignore[arg-type]
    return stages
