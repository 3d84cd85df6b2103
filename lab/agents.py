"""Agent images of the Docker cloud's templates (casc/jenkins.yaml `clouds`), built by
`lab up` on the lab's Docker engine (dind), where the cloud starts them with
``pullStrategy: PULL_NEVER``.

The build context (a few small text files) reaches the engine as a base64 tar on the
stdin of ``docker compose exec docker``: the engine's filesystem is not the host's.
"""

from __future__ import annotations

import base64
import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab.errors import ConfigError, ServiceError, output_tail
from lab.stack import Compose


@dataclass(frozen=True)
class AgentImage:
    label: str  # the template's labelString in casc/jenkins.yaml
    image: str  # the template's dockerTemplateBase.image
    project: str  # projects/<project> is the build context
    dockerfile: str  # relative to the context
    files: tuple[str, ...]  # the context: what the Dockerfile COPYs, and itself


AGENT_IMAGES = (
    AgentImage(
        label="train",
        image="cd4ml-lab/train-agent:1",
        project="cd4ml-train",
        dockerfile="agent/Dockerfile",
        files=("agent/Dockerfile", "requirements.txt"),
    ),
)

# Unpack the context in a fresh directory of the engine, build, remove the directory.
_BUILD = (
    'set -eu; d="$(mktemp -d)"; trap \'rm -rf "$d"\' EXIT; '
    'base64 -d | tar -x -C "$d"; docker build -q -t "$1" -f "$d/$2" "$d"'
)


def context_archive(root: Path, agent: AgentImage) -> str:
    """The build context of ``agent`` as a base64 tar (stable: sorted, fixed metadata)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for rel in sorted(agent.files):
            path = root / rel
            if not path.is_file():
                raise ConfigError(f"{path}: missing (build context of agent image {agent.image})")
            data = path.read_bytes()
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()


def _image_id(compose: Compose, image: str) -> str:
    proc = compose.exec(
        "docker", ["docker", "image", "inspect", "-f", "{{.Id}}", image], check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


def build_agent_images(
    projects_dir: Path, compose: Compose, *, progress: Callable[[str], None] = print
) -> list[str]:
    """Build each agent image on the engine (Docker's cache makes a rebuild a no-op)."""
    changes = []
    for agent in AGENT_IMAGES:
        root = projects_dir / agent.project
        before = _image_id(compose, agent.image)
        proc = compose.run(
            "exec", "-T", "docker", "sh", "-c", _BUILD, "sh", agent.image, agent.dockerfile,
            input_text=context_archive(root, agent), check=False, timeout=1800,
            needs_secrets=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise ServiceError(
                f"building agent image {agent.image} (label {agent.label}) from "
                f"{root / agent.dockerfile} on the lab's Docker engine failed:\n"
                + output_tail(proc.stderr or proc.stdout)
            )
        if _image_id(compose, agent.image) != before:
            changes.append(f"built agent image {agent.image} (label {agent.label})")
        else:
            progress(f"agent image {agent.image}: up to date")
    return changes
