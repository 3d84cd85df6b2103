"""The Docker Compose stack: a thin wrapper over ``docker compose`` for the lab's project.

Every call runs ``docker compose -p cd4ml-lab --project-directory <root>/compose
-f <root>/compose/docker-compose.yml --env-file <root>/.lab/secrets.env`` from the
compose directory, so relative paths in the file (``build.context``,
``build.additional_contexts``) never depend on where the user stands (some compose
releases resolved ``additional_contexts`` against the current directory:
docker/compose#10448). The environment is the user's minus the lab's secret keys
(compose lets the environment override ``--env-file``; .lab/secrets.env must win),
plus the non-secret ``LAB_*`` variables from :class:`lab.config.LabConfig`. Output of
long operations is streamed so the user sees progress.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.config import COMPOSE_PROJECT, S3_SERVICES, LabConfig
from lab.errors import ConfigError, LabError, PrerequisiteMissing, ServiceError
from lab.secrets import ALL_KEYS

Runner = Callable[..., subprocess.CompletedProcess]

_NO_ENGINE_MARKERS = (
    "Cannot connect to the Docker daemon",
    "error during connect",
    "docker daemon is not running",
)

# What the docker CLI says when the compose v2 plugin is missing. `docker compose -p ...`:
# the root command parses `-p` itself (TraverseChildren) and pflag answers "unknown
# shorthand flag: 'p' in -p" (spf13/pflag errors.go, v1.0.10; docker/cli cli/cobra.go
# FlagErrorFunc, v29.7.2). `docker compose version`: "docker: 'compose' is not a docker
# command." up to docker/cli v27.5.1, "docker: unknown command: docker compose" from
# v28.0.0 (cmd/docker/docker.go at those tags).
_NO_COMPOSE_MARKERS = (
    "unknown shorthand flag: 'p' in -p",
    "'compose' is not a docker command",
    "unknown command: docker compose",
)
NO_COMPOSE = "`docker compose` (v2 plugin) is missing"
NO_COMPOSE_FIX = (
    "install the docker-compose-plugin package or update Docker Desktop; "
    "the v1 `docker-compose` script is not enough"
)

# Services `lab up` starts before the bootstrap, and the ones that need its results.
# The S3 service of stage one is the one LAB_S3 selects (stage_one()); minio by default.
STAGE_ONE = ("docker", "gitea", "pypi", "minio")
STAGE_TWO = ("jenkins",)


def stage_one(cfg: LabConfig) -> tuple[str, ...]:
    """Stage one with the S3 service LAB_S3 selects (its compose service and profile)."""
    return (*STAGE_ONE[:-1], cfg.s3)


# Compose interpolates the whole file on every call, and `${MINIO_ROOT_USER:?...}` refuses
# it when .lab/secrets.env lacks the key (e.g. after a `lab up` that died early). Commands
# that only look at or remove the project's containers (down, ps, logs, exec, config
# --services) get this value for each secret key the file lacks; `up`, which creates
# containers from the values, never does.
PLACEHOLDER = "absent-from-lab-secrets"


@dataclass(frozen=True)
class ServiceState:
    service: str
    container_id: str
    state: str  # running, exited, ...
    health: str  # healthy, unhealthy, starting, "" when no healthcheck
    ports: str

    @property
    def ok(self) -> bool:
        return self.state == "running" and self.health in ("healthy", "")


class Compose:
    def __init__(
        self,
        cfg: LabConfig,
        *,
        runner: Runner = subprocess.run,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.cfg = cfg
        self._run = runner
        self._environ = dict(os.environ if environ is None else environ)

    # ---- plumbing --------------------------------------------------------
    def argv(self, *args: str, all_profiles: bool = False) -> list[str]:
        """``docker compose`` with the lab's project, file, env file and the profile of the
        S3 service LAB_S3 selects; ``all_profiles`` for commands that look at or remove
        containers, so a service of the other selection is seen too."""
        compose_file = self.cfg.compose_file
        if not compose_file.is_file():
            raise ConfigError(f"compose file not found: {compose_file}")
        base = [
            "docker",
            "compose",
            "-p",
            COMPOSE_PROJECT,
            "--project-directory",
            str(compose_file.parent.resolve()),
            "-f",
            str(compose_file.resolve()),
        ]
        if self.cfg.secrets_file.is_file():
            base += ["--env-file", str(self.cfg.secrets_file.resolve())]
        for profile in S3_SERVICES if all_profiles else (self.cfg.s3,):
            base += ["--profile", profile]
        return [*base, *args]

    def env(self, *, placeholders: bool = False) -> dict[str, str]:
        """The user's environment without the lab's secret keys, plus the LAB_* settings;
        with ``placeholders``, :data:`PLACEHOLDER` for each secret key the file lacks."""
        env = {k: v for k, v in self._environ.items() if k not in ALL_KEYS}
        if placeholders:
            present = _env_file_keys(self.cfg.secrets_file)
            env.update({key: PLACEHOLDER for key in ALL_KEYS if key not in present})
        return {**env, **self.cfg.compose_env()}

    def run(
        self,
        *args: str,
        capture: bool = True,
        check: bool = True,
        timeout: float | None = 120,
        input_text: str | None = None,
        needs_secrets: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run ``docker compose ARGS`` from the compose directory. ``needs_secrets=False``
        for commands that create nothing from the file's values (see PLACEHOLDER)."""
        argv = self.argv(*args, all_profiles=not needs_secrets)
        try:
            proc = self._run(
                argv,
                env=self.env(placeholders=not needs_secrets),
                cwd=str(self.cfg.compose_file.parent.resolve()),
                text=True,
                capture_output=capture,
                timeout=timeout,
                input=input_text,
                check=False,
            )
        except FileNotFoundError:
            raise PrerequisiteMissing(
                "the `docker` command is not installed",
                hint="install Docker Engine or Docker Desktop (compose v2), then `lab doctor`",
            ) from None
        except subprocess.TimeoutExpired:
            raise ServiceError(
                f"`docker compose {' '.join(args[:2])}` did not finish within {timeout:.0f}s"
            ) from None
        if check and proc.returncode != 0:
            tail = _tail((proc.stderr or "") + (proc.stdout or ""))
            if not capture:  # streamed to the user: ask docker what is missing
                tail = self._diagnose() or tail
            if any(marker in tail for marker in _NO_COMPOSE_MARKERS):
                raise PrerequisiteMissing(
                    f"{NO_COMPOSE}: {tail.splitlines()[0]}", hint=NO_COMPOSE_FIX
                )
            if any(marker in tail for marker in _NO_ENGINE_MARKERS):
                raise PrerequisiteMissing(
                    f"no Docker engine answers: {tail.splitlines()[-1]}",
                    hint="start Docker, then run `lab doctor` to check the rest",
                )
            raise ServiceError(
                f"`docker compose {' '.join(args[:3])}` failed (exit {proc.returncode})"
                + (f":\n{tail}" if tail else "")
            )
        return proc

    def _diagnose(self) -> str:
        """After a streamed command failed: the output of the first of `docker compose
        version` and `docker info` that fails too (a missing plugin or engine), else ""."""
        for argv in (["docker", "compose", "version"], ["docker", "info", "--format", "{{.ID}}"]):
            try:
                probe = self._run(
                    argv, env=self.env(), text=True, capture_output=True, timeout=15, check=False
                )
            except (OSError, subprocess.TimeoutExpired):
                return ""
            if probe.returncode != 0:
                return _tail((probe.stderr or "") + (probe.stdout or ""))
        return ""

    # ---- operations ------------------------------------------------------
    def up(self, services: Sequence[str], *, timeout: float) -> None:
        """Build (if needed) and start ``services``, returning once their healthchecks pass."""
        self.run(
            "up",
            "--detach",
            "--build",
            "--wait",
            "--wait-timeout",
            str(int(timeout)),
            *services,
            capture=False,
            timeout=timeout + 600,  # building the Jenkins image can take minutes
        )

    def down(self, *, volumes: bool = False) -> None:
        args = ["down", "--remove-orphans"]
        if volumes:
            args.append("--volumes")
        self.run(*args, capture=False, timeout=300, needs_secrets=False)

    def ps(self) -> list[ServiceState]:
        proc = self.run("ps", "--all", "--format", "json", needs_secrets=False)
        return parse_ps(proc.stdout)

    def exec(
        self, service: str, command: Sequence[str], *, user: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        args = ["exec", "-T"]
        if user:
            args += ["-u", user]
        return self.run(*args, service, *command, check=check, needs_secrets=False)

    def logs(self, service: str | None, *, tail: int = 200, follow: bool = False) -> None:
        args = ["logs", "--no-color", "--tail", str(tail)]
        if follow:
            args.append("--follow")
        if service:
            args.append(service)
        self.run(*args, capture=False, timeout=None if follow else 120, needs_secrets=False)

    def is_running(self) -> bool:
        """True when a lab container runs (its ports are then ours, not a conflict)."""
        try:
            return any(s.state == "running" for s in self.ps())
        except LabError:
            return False

    def services(self) -> list[str]:
        proc = self.run("config", "--services", needs_secrets=False)
        return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def parse_ps(output: str) -> list[ServiceState]:
    """Parse ``docker compose ps --format json``: one JSON object per line (or one array)."""
    text = output.strip()
    if not text:
        return []
    try:
        rows = (
            json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines()]
        )
    except json.JSONDecodeError as exc:
        raise ServiceError(f"unexpected `docker compose ps` output: {exc}") from None
    states = []
    for row in rows:
        states.append(
            ServiceState(
                service=row.get("Service", ""),
                container_id=row.get("ID", ""),
                state=row.get("State", ""),
                health=row.get("Health", ""),
                ports=_ports(row),
            )
        )
    return sorted(states, key=lambda s: s.service)


def _ports(row: Mapping[str, object]) -> str:
    publishers = row.get("Publishers") or []
    if isinstance(publishers, list) and publishers:
        return ", ".join(
            f"{p.get('URL', '')}:{p.get('PublishedPort')}->{p.get('TargetPort')}"
            for p in publishers
            if isinstance(p, dict) and p.get("PublishedPort")
        )
    return str(row.get("Ports", ""))


def _env_file_keys(path: Path) -> set[str]:
    """Keys with a non-empty value in an env file (none when it does not exist)."""
    if not path.is_file():
        return set()
    keys = set()
    for raw in path.read_text().splitlines():
        key, sep, value = raw.strip().partition("=")
        if sep and not key.startswith("#") and value.strip():
            keys.add(key.strip())
    return keys


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def engine_unavailable_reason(timeout: float = 5.0) -> str | None:
    """None when a Docker engine answers (docker SDK ping), else why not, in one line."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - docker is a pinned dependency
        return "the docker Python package is not installed"
    try:
        client = docker.from_env(timeout=int(timeout))
        try:
            client.ping()
        finally:
            client.close()
    except DockerException as exc:
        return f"no Docker engine answers ({str(exc).splitlines()[0][:160]})"
    except Exception as exc:
        return f"no Docker engine answers ({type(exc).__name__}: {exc})"
    return None
