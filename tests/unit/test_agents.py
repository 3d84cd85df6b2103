"""lab/agents.py: the agent images `lab up` builds on the Docker engine. The build script
runs here under a real `sh`, `base64` and `tar`, with a stand-in `docker` that records
what it was asked to build and which context files it saw."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from lab.agents import AGENT_IMAGES, build_agent_images, context_archive
from lab.errors import ConfigError, ServiceError

ROOT = Path(__file__).resolve().parents[2]


class EngineCompose:
    """Runs `docker compose exec -T docker CMD...` as CMD on this machine, with a fake
    `docker` CLI on PATH whose `image inspect` answers from a file it writes at build."""

    def __init__(self, tmp_path: Path, fail: bool = False) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "docker.log"
        self.ids = tmp_path / "ids"
        docker = self.bin / "docker"
        docker.write_text(
            "#!/bin/sh\n"
            f'log="{self.log}"; ids="{self.ids}"\n'
            'if [ "$1" = image ]; then\n'
            '  grep -q . "$ids" 2>/dev/null && cat "$ids" && exit 0; exit 1\n'
            "fi\n"
            'echo "$@" >>"$log"\n'
            'while [ "$1" != -f ]; do shift; done; df="$2"; ctx="$3"\n'
            'find "$ctx" -type f | sed "s|^$ctx/||" | sort >>"$log"\n'
            + ("echo 'pull access denied' >&2; exit 1\n" if fail else "")
            + 'echo sha256:abc >"$ids"\n'
        )
        docker.chmod(0o755)

    def _exec(self, command: list[str], stdin: str | None) -> subprocess.CompletedProcess:
        env = {"PATH": f"{self.bin}:/usr/bin:/bin"}
        return subprocess.run(
            command, input=stdin, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    def exec(self, service: str, command: list[str], **_: Any) -> subprocess.CompletedProcess:
        assert service == "docker"
        return self._exec(command, None)

    def run(
        self, *args: str, input_text: str | None = None, **_: Any
    ) -> subprocess.CompletedProcess:
        assert args[:3] == ("exec", "-T", "docker")
        return self._exec(list(args[3:]), input_text)


def test_the_train_agent_is_built_from_its_context_and_rebuild_is_quiet(tmp_path: Path) -> None:
    compose = EngineCompose(tmp_path)
    notes: list[str] = []
    projects = ROOT / "projects"
    changes = build_agent_images(projects, compose, progress=notes.append)  # type: ignore[arg-type]
    assert changes == ["built agent image cd4ml-lab/train-agent:1 (label train)"]
    lines = compose.log.read_text().splitlines()
    assert lines[0].startswith("build -q -t cd4ml-lab/train-agent:1 -f /")
    assert lines[0].endswith("agent/Dockerfile " + lines[0].split()[-1])
    assert lines[1:] == ["agent/Dockerfile", "requirements.txt"]
    # The same image id afterwards: nothing reported as changed.
    assert build_agent_images(projects, compose, progress=notes.append) == []  # type: ignore[arg-type]
    assert notes == ["agent image cd4ml-lab/train-agent:1: up to date"]


def test_a_failed_build_names_the_image_label_and_dockerfile(tmp_path: Path) -> None:
    compose = EngineCompose(tmp_path, fail=True)
    with pytest.raises(ServiceError) as err:
        build_agent_images(ROOT / "projects", compose)  # type: ignore[arg-type]
    message = str(err.value)
    assert "cd4ml-lab/train-agent:1 (label train)" in message
    assert "cd4ml-train/agent/Dockerfile" in message and "pull access denied" in message


def test_context_archive_is_stable_and_refuses_a_missing_file(tmp_path: Path) -> None:
    (agent,) = AGENT_IMAGES
    root = ROOT / "projects" / agent.project
    assert context_archive(root, agent) == context_archive(root, agent)
    with pytest.raises(ConfigError, match=r"requirements\.txt: missing"):
        (tmp_path / "agent").mkdir()
        (tmp_path / "agent" / "Dockerfile").write_text("FROM scratch\n")
        context_archive(tmp_path, agent)
