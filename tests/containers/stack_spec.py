"""What the container tier reads from compose/docker-compose.yml, so one pin serves both.

Images, commands, environments and the Jenkins build come from the compose file: the
tier runs each service as the lab does, one at a time. Interpolation follows the
Compose file reference, "Interpolation" (read in Docker's Compose documentation; the
Compose specification's 12-interpolation.md says the same): ``$VAR``, ``${VAR}``,
``${VAR:-default}`` / ``${VAR-default}``, ``${VAR:?error}`` / ``${VAR?error}`` and
``$$`` for a literal dollar; a ``$`` not starting a name is kept. The forms the lab's
file does not use (``:+``/``+`` alternatives, nested defaults) are refused with the file
and field named, so the tier never starts a service configured differently from compose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose" / "docker-compose.yml"

_VARIABLE = re.compile(
    r"\$(?:(?P<dollar>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:-|-|:\?|\?)?(?P<arg>[^}]*)\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class SpecError(Exception):
    """The compose file does not say what the tier needs (message names file and field)."""


def interpolate(value: str, env: Mapping[str, str], *, where: str) -> str:
    """Resolve ``value`` as Compose would with ``env`` as the only environment."""

    def one(match: re.Match[str]) -> str:
        if match["dollar"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        if (match["bare"] is None and op is None and arg) or "${" in arg:
            raise SpecError(f"{where}: unsupported interpolation {match[0]!r}")
        current = env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return arg if current is None else current
        if op in (":?", "?") and (current is None or (op == ":?" and not current)):
            raise SpecError(f"{where}: {name} is required ({arg or 'no message'})")
        return current or ""

    return _VARIABLE.sub(one, value)


@dataclass(frozen=True)
class BuildSpec:
    context: Path
    dockerfile: Path
    additional_contexts: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str
    command: list[str] | None
    environment: dict[str, str]  # as written, not interpolated
    build: BuildSpec | None

    def env(self, values: Mapping[str, str]) -> dict[str, str]:
        """The service's environment, interpolated with ``values`` (nothing else)."""
        where = f"{COMPOSE_FILE.name}: services.{self.name}.environment"
        return {
            k: interpolate(v, values, where=f"{where}.{k}") for k, v in self.environment.items()
        }

    @property
    def tag(self) -> str:
        """The image tag (``gitea/gitea:1.27.1`` -> ``1.27.1``), digest left out."""
        ref = self.image.split("@", 1)[0]
        name, _, tag = ref.rpartition(":")
        if not name or "/" in tag:
            raise SpecError(f"{COMPOSE_FILE.name}: services.{self.name}.image has no tag")
        return tag


def _environment(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    if isinstance(raw, list):  # the KEY=VALUE list form
        pairs = [str(item).partition("=") for item in raw]
        return {k: v for k, _, v in pairs}
    raise SpecError(f"{where}: expected a mapping or a list")


def _build(raw: Any, compose_dir: Path, where: str) -> BuildSpec | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"context": raw}
    if not isinstance(raw, Mapping) or "context" not in raw:
        raise SpecError(f"{where}: expected a build context")
    context = (compose_dir / str(raw["context"])).resolve()
    extra = raw.get("additional_contexts") or {}
    if isinstance(extra, list):
        extra = dict(str(item).split("=", 1) for item in extra)
    contexts: dict[str, Path] = {}
    for name, path in extra.items():
        if "://" in str(path):  # docker-image://, https:// ... : not used by the lab
            raise SpecError(f"{where}.additional_contexts.{name}: only paths are supported")
        contexts[str(name)] = (compose_dir / str(path)).resolve()
    return BuildSpec(
        context=context,
        dockerfile=context / str(raw.get("dockerfile", "Dockerfile")),
        additional_contexts=contexts,
    )


def service(name: str, compose_file: Path = COMPOSE_FILE) -> ServiceSpec:
    """The service ``name`` of the lab's compose file."""
    doc = yaml.safe_load(compose_file.read_text(encoding="utf-8")) or {}
    services = doc.get("services") or {}
    if name not in services:
        raise SpecError(f"{compose_file}: no service {name!r}")
    raw = services[name]
    where = f"{compose_file.name}: services.{name}"
    image = raw.get("image")
    if not image:
        raise SpecError(f"{where}.image is missing")
    command = raw.get("command")
    if isinstance(command, str):
        command = command.split()
    return ServiceSpec(
        name=name,
        image=str(image),
        command=[str(c) for c in command] if command is not None else None,
        environment=_environment(raw.get("environment"), f"{where}.environment"),
        build=_build(raw.get("build"), compose_file.parent, f"{where}.build"),
    )


def build_argv(spec: BuildSpec, tag: str) -> list[str]:
    """``docker build`` of ``spec`` as compose builds it: same context, Dockerfile and
    named contexts (``--build-context``, a BuildKit feature: Docker >= 23 builds with
    buildx by default). The docker SDK cannot do this: docker-py's ``images.build`` (and
    so testcontainers' ``DockerImage``, testcontainers-python tag testcontainers-v4.15.0,
    src/testcontainers/core/docker_client.py ``build``) has no named build contexts."""
    argv = ["docker", "build", "--tag", tag, "--file", str(spec.dockerfile)]
    for name, path in sorted(spec.additional_contexts.items()):
        argv += ["--build-context", f"{name}={path}"]
    return [*argv, str(spec.context)]
