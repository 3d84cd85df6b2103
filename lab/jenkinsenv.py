"""The environment of the lab's Jenkins controller and of its builds, read from the stack's files.

Why it matters: docker-workflow runs ``agent { dockerfile }`` steps in a container and
passes them the step's environment *minus every entry whose name and value equal the
node's own environment* (jenkinsci/docker-workflow-plugin tag 634.vedc7242b_eda_7,
``src/main/java/org/jenkinsci/plugins/docker/workflow/WithContainerStep.java``:
``Execution.start`` l.133-135, ``envReduced.entrySet().removeAll(computer.getEnvironment()
.entrySet())`` for the ``docker run -e`` list, and ``Decorator.launch`` l.293-294, the same
removal for every ``docker exec --env``; summarised in shared/upstream/STACK-NOTES.md).
The lab's builds run on the built-in node, whose environment is the controller JVM's. So
a global build variable (casc/jenkins.yaml) that the jenkins service (compose) also sets,
to the same value, is *unset* inside the agent; HOME is stripped the same way.

This module computes both sides from the files the stack is built from, so the local
driver can strip what the stack strips and the tests can refuse a collision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from lab.config import PACKAGE_ROOT
from lab.errors import ConfigError

COMPOSE_REL = Path("compose") / "docker-compose.yml"
JCASC_REL = Path("casc") / "jenkins.yaml"
IMAGE_REL = Path("casc") / "Dockerfile"
ENTRYPOINT_REL = Path("casc") / "check-env.sh"
JENKINS_SERVICE = "jenkins"

# What the jenkins/jenkins base image puts in the controller's environment besides its
# ENV lines we do not restate: jenkinsci/docker tag 2.568.2, debian/Dockerfile l.99-112
# (`ENV JENKINS_HOME=/var/jenkins_home`; `useradd -d "$JENKINS_HOME" ... jenkins`, so
# Docker sets HOME=/var/jenkins_home for the jenkins user). Its other ENV (PATH, LANG,
# JAVA_HOME, ...) is left out: the lab sets none of those as a build variable.
BASE_IMAGE_ENV = {"JENKINS_HOME": "/var/jenkins_home", "HOME": "/var/jenkins_home"}

# Compose interpolation: $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err},
# ${NAME?err}, $NAME.
_COMPOSE_VAR = re.compile(
    r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
# JCasC: ${NAME}, ${NAME:-default}; `^${...}` is a literal.
JCASC_VAR = re.compile(r"(?<!\^)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class InterpolationError(ConfigError):
    """A `${NAME:?message}` whose variable is unset (compose refuses the file)."""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose-style interpolation of every string in a loaded compose document."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg, current = m.group("op"), m.group("arg") or "", env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return current if current is not None else arg
        if op in (":?", "?") and (current is None or (op == ":?" and current == "")):
            raise InterpolationError(f"{name}: {arg}")
        return current or ""

    return _COMPOSE_VAR.sub(sub, value)


def compose_variables(text: str) -> set[str]:
    """Names of the variables compose interpolates in ``text``."""
    return {
        m.group("name") or m.group("bare")
        for m in _COMPOSE_VAR.finditer(text)
        if m.group(0) != "$$"
    }


def resolve_jcasc(text: str, env: Mapping[str, str]) -> str:
    """JCasC's substitution of ``${NAME}`` / ``${NAME:-default}`` (unset -> default or "")."""

    def sub(m: re.Match[str]) -> str:
        value = env.get(m.group("name"))
        if value is None:
            return m.group("default") or ""
        return value

    return JCASC_VAR.sub(sub, text).replace("^${", "${")


# ---- reading the stack's files ------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(_read(path))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def jenkins_service_env(root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """The jenkins service's ``environment`` in compose, uninterpolated."""
    path = root / COMPOSE_REL
    doc = _load_yaml(path)
    try:
        raw = doc["services"][JENKINS_SERVICE].get("environment") or {}
    except (KeyError, TypeError, AttributeError):
        raise ConfigError(f"{path}: no services.{JENKINS_SERVICE}") from None
    if isinstance(raw, list):
        return dict(str(item).split("=", 1) for item in raw)
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def image_env(root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """The ``ENV`` lines of the Jenkins image (casc/Dockerfile) on top of the base image's."""
    text = _read(root / IMAGE_REL).replace("\\\n", " ")
    env = dict(BASE_IMAGE_ENV)
    for line in text.splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)', line):
                env[key] = value.strip('"')
    return env


def entrypoint_unsets(root: Path = PACKAGE_ROOT) -> list[str]:
    """The variables casc/check-env.sh moves to files and unsets before Jenkins starts."""
    path = root / ENTRYPOINT_REL
    m = re.search(r"^secret=\(([^)]*)\)", _read(path), re.MULTILINE)
    if m is None:
        raise ConfigError(f"{path}: no `secret=(...)` list")
    return m.group(1).split()


def global_build_vars_raw(root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """casc/jenkins.yaml ``jenkins.globalNodeProperties[].envVars.env``, unresolved."""
    path = root / JCASC_REL
    doc = _load_yaml(path)
    try:
        props = doc["jenkins"].get("globalNodeProperties") or []
        return {
            str(e["key"]): str(e["value"])
            for prop in props
            for e in (prop.get("envVars") or {}).get("env") or []
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: jenkins.globalNodeProperties is malformed ({exc})") from None


def controller_env(host_env: Mapping[str, str], root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """The controller JVM's environment when compose runs with ``host_env``: image ENV,
    then the jenkins service's environment, minus what the entrypoint unsets."""
    try:
        service = interpolate(jenkins_service_env(root), host_env)
    except InterpolationError as exc:
        raise ConfigError(f"{root / COMPOSE_REL}: service {JENKINS_SERVICE}: {exc}") from None
    env = {**image_env(root), **service}
    for name in entrypoint_unsets(root):
        env.pop(name, None)
    return env


def global_build_vars(node_env: Mapping[str, str], root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """The global build variables as JCasC resolves them against the controller's env."""
    return {k: resolve_jcasc(v, node_env) for k, v in global_build_vars_raw(root).items()}


# ---- what docker-workflow strips ----------------------------------------------------------


def strip_node_env(env: Mapping[str, str], node_env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus every entry equal in name and value to ``node_env`` (docker-workflow)."""
    return {k: v for k, v in env.items() if node_env.get(k) != v}


def collisions(build_vars: Mapping[str, str], node_env: Mapping[str, str]) -> list[str]:
    """Build variables that docker-workflow would unset in an agent container."""
    return sorted(k for k, v in build_vars.items() if node_env.get(k) == v)


def _source(value: str) -> tuple[str, str]:
    """Where a value comes from: ("var", NAME) for one compose `${NAME...}` expression,
    else ("literal", value). Same source means same value whatever the host sets."""
    m = _COMPOSE_VAR.fullmatch(value.strip())
    if m and m.group(0) != "$$":
        return ("var", m.group("name") or m.group("bare"))
    return ("literal", value)


def symbolic_collisions(root: Path = PACKAGE_ROOT) -> list[str]:
    """Global build variables that equal the controller's variable of the same name for
    *every* host environment: both are the same literal, or both come from the same
    compose variable (``LAB_X: ${LAB_X:-d}`` in compose and ``${LAB_X:-d}`` in JCasC)."""
    node_raw = {**image_env(root), **jenkins_service_env(root)}
    for name in entrypoint_unsets(root):
        node_raw.pop(name, None)
    found = []
    for key, value in global_build_vars_raw(root).items():
        if key not in node_raw:
            continue
        m = JCASC_VAR.fullmatch(value.strip())
        if m and m.group("name") in node_raw:
            build_source = _source(node_raw[m.group("name")])
        elif m:
            build_source = ("literal", m.group("default") or "")
        else:
            build_source = ("literal", value)
        if build_source == _source(node_raw[key]):
            found.append(key)
    return sorted(found)
