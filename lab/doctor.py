"""`lab doctor`: can this machine run the lab? Each failed check says how to fix it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lab.config import LabConfig
from lab.errors import PrerequisiteMissing
from lab.stack import NO_COMPOSE, NO_COMPOSE_FIX

# The newest compose feature the lab uses: `up --wait-timeout` (docker/compose#10276) and
# `build.additional_contexts` (docker/compose#10369), both in v2.17.0. 2.17.x resolved
# relative additional_contexts against the current directory (docker/compose#10448);
# lab.stack runs compose from its project directory, so that reading agrees.
# `ps --format json` gives an array before 2.21 and lines after: parse_ps reads both.
# `depends_on.<service>.required: false` (Jenkins on whichever S3 service LAB_S3 selects,
# the other being out of the model through its profile) arrived in v2.20.2 (docker/compose
# release notes, PR #10792): 2.21.0 is the first minor release with it from its start.
# README.md and compose/README.md state this number (tests/unit/test_doctor.py).
MIN_COMPOSE = (2, 21, 0)
MIN_MEMORY_GIB = 4.0
RECOMMENDED_MEMORY_GIB = 6.0
MIN_FREE_DISK_GIB = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    fatal: bool = True  # a failed non-fatal check is a warning

    @property
    def label(self) -> str:
        if self.ok:
            return "ok"
        return "FAIL" if self.fatal else "warn"


Run = Callable[[Sequence[str]], subprocess.CompletedProcess]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=15, check=False)


@dataclass
class Probe:
    """What doctor looks at, injectable for tests."""

    which: Callable[[str], str | None] = shutil.which
    run: Run = _run
    port_free: Callable[[str, int], bool] = lambda host, port: _port_free(host, port)
    free_disk_gib: Callable[[str], float] = lambda path: shutil.disk_usage(path).free / 2**30


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def parse_version(text: str) -> tuple[int, ...]:
    core = text.strip().lstrip("v").split("-")[0].split("+")[0]
    parts = []
    for piece in core.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def run_checks(
    cfg: LabConfig, probe: Probe | None = None, *, lab_ports_in_use: bool = False
) -> list[Check]:
    """All checks, in order; later ones are skipped when the engine is unreachable."""
    probe = probe or Probe()
    checks: list[Check] = []
    if cfg.exposed:
        # Gitea's webhook endpoint in Jenkins takes no secret (shared/upstream/STACK-NOTES.md,
        # gitea-plugin), and the lab's accounts are meant for one person's machine.
        checks.append(
            Check(
                "network exposure",
                False,
                f"LAB_BIND={cfg.bind}: Jenkins, Gitea and MinIO will be reachable from "
                "other machines on the network",
                "unset LAB_BIND (127.0.0.1) unless you mean to share the lab; Jenkins' "
                "Gitea webhook endpoint takes no secret",
                fatal=False,
            )
        )
    if not probe.which("docker"):
        checks.append(
            Check(
                "docker CLI",
                False,
                "`docker` is not on PATH",
                "install Docker Engine (Linux) or Docker Desktop (macOS/Windows)",
            )
        )
        return checks
    checks.append(Check("docker CLI", True, probe.which("docker") or "docker"))
    # A CLI plugin: checked whether or not an engine answers.
    checks.append(compose_check(probe))

    info = probe.run(["docker", "info", "--format", "{{json .}}"])
    engine: dict = {}
    if info.returncode == 0:
        try:
            engine = json.loads(info.stdout or "{}")
        except json.JSONDecodeError:
            engine = {}
    if info.returncode != 0 or not engine.get("ServerVersion"):
        reason = (info.stderr or info.stdout or "no answer").strip().splitlines()
        checks.append(
            Check(
                "Docker engine",
                False,
                f"no Docker engine answers: {reason[-1] if reason else 'no answer'}",
                "start Docker (Linux: `sudo systemctl start docker`; Desktop: open the app); "
                "check DOCKER_HOST / `docker context ls`; on Linux add yourself to the "
                "`docker` group",
            )
        )
        return checks
    checks.append(Check("Docker engine", True, f"server {engine['ServerVersion']}"))

    mem_gib = float(engine.get("MemTotal", 0)) / 2**30
    if mem_gib < MIN_MEMORY_GIB:
        checks.append(
            Check(
                "memory",
                False,
                f"the engine has {mem_gib:.1f} GiB; the lab needs {MIN_MEMORY_GIB:.0f} GiB",
                "give Docker more memory (Docker Desktop: Settings > Resources)",
            )
        )
    elif mem_gib < RECOMMENDED_MEMORY_GIB:
        checks.append(
            Check(
                "memory",
                False,
                f"the engine has {mem_gib:.1f} GiB; {RECOMMENDED_MEMORY_GIB:.0f} GiB recommended",
                "builds may be slow or be killed; give Docker more memory",
                fatal=False,
            )
        )
    else:
        checks.append(Check("memory", True, f"{mem_gib:.1f} GiB available to the engine"))

    if lab_ports_in_use:
        checks.append(Check("ports", True, "in use by the running lab"))
    else:
        busy = [
            f"{name} {cfg.bind}:{port}"
            for name, port in cfg.published_ports().items()
            if not probe.port_free(cfg.bind, port)
        ]
        if busy:
            checks.append(
                Check(
                    "ports",
                    False,
                    "already in use: " + ", ".join(busy),
                    "stop what uses them, or choose others with LAB_JENKINS_PORT, "
                    "LAB_GITEA_PORT, LAB_MINIO_PORT, LAB_MINIO_CONSOLE_PORT",
                )
            )
        else:
            ports = ", ".join(str(p) for p in cfg.published_ports().values())
            checks.append(Check("ports", True, f"free on {cfg.bind}: {ports}"))

    free = probe.free_disk_gib(str(cfg.root))
    checks.append(
        Check(
            "disk",
            free >= MIN_FREE_DISK_GIB,
            f"{free:.0f} GiB free",
            f"images and volumes need about {MIN_FREE_DISK_GIB:.0f} GiB; free some space "
            "(`docker system prune`)",
            fatal=False,
        )
    )
    return checks


def compose_check(probe: Probe) -> Check:
    compose = probe.run(["docker", "compose", "version", "--short"])
    version = compose.stdout.strip() if compose.returncode == 0 else ""
    if not version:
        return Check("compose v2", False, NO_COMPOSE, NO_COMPOSE_FIX)
    if parse_version(version) < MIN_COMPOSE:
        need = ".".join(map(str, MIN_COMPOSE))
        return Check(
            "compose v2",
            False,
            f"docker compose {version} is older than {need}",
            "update Docker Desktop or the docker-compose-plugin package",
        )
    return Check("compose v2", True, f"docker compose {version}")


def fatal_failures(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if not c.ok and c.fatal]


def raise_on_fatal(checks: Sequence[Check], message: str) -> None:
    """PrerequisiteMissing naming the failed checks (and their fixes), if any failed."""
    failed = fatal_failures(checks)
    if failed:
        raise PrerequisiteMissing(
            f"{message}: " + ", ".join(c.name for c in failed),
            hint=" | ".join(c.hint for c in failed if c.hint) or "see `lab doctor`",
        )


def format_checks(checks: Sequence[Check]) -> str:
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for c in checks:
        lines.append(f"  [{c.label:>4}] {c.name:<{width}}  {c.detail}")
        if not c.ok and c.hint:
            lines.append(f"         {'':<{width}}  fix: {c.hint}")
    return "\n".join(lines)
