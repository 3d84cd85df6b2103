"""LabConfig: every version, port, path and name the lab uses, in one place.

Values come from defaults below, overridden by ``LAB_*`` environment variables
(documented in the README). Nothing here is secret: secrets live in
:mod:`lab.secrets`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

COMPOSE_PROJECT = "cd4ml-lab"

# In-network names of the services (compose service names).
JENKINS_INTERNAL_URL = "http://jenkins:8080"
GITEA_INTERNAL_URL = "http://gitea:3000"
MINIO_INTERNAL_URL = "http://minio:9000"
# The S3 services the stack can run (LAB_S3): compose service -> name in messages. Each
# answers at MINIO_INTERNAL_URL.
S3_NAMES = {"minio": "MinIO", "seaweedfs": "SeaweedFS"}
S3_SERVICES = tuple(S3_NAMES)


def _int_env(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {key}={raw!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise ConfigError(f"environment variable {key}={value} is outside 1..65535")
    return value


def _subnet_env(env: Mapping[str, str], key: str, default: str) -> str:
    raw = env.get(key) or default
    try:
        net = ipaddress.IPv4Network(raw, strict=True)
    except ValueError as exc:
        raise ConfigError(
            f"environment variable {key}={raw!r} is not an IPv4 subnet ({exc})",
            hint="use a private CIDR no other network uses, e.g. 10.213.91.0/24",
        ) from None
    if not net.is_private or net.prefixlen > 28:
        raise ConfigError(
            f"environment variable {key}={raw!r}: need a private subnet of /28 or wider",
            hint="e.g. 10.213.91.0/24",
        )
    return str(net)


@dataclass(frozen=True)
class Ports:
    jenkins: int = 8080
    gitea: int = 3000
    minio: int = 9000
    minio_console: int = 9001
    # The private package index (pypiserver) of the training project.
    pypi: int = 8081

    def as_dict(self) -> dict[str, int]:
        return {
            "jenkins": self.jenkins,
            "gitea": self.gitea,
            "minio": self.minio,
            "minio-console": self.minio_console,
            "pypi": self.pypi,
        }


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+")


@dataclass(frozen=True)
class LabConfig:
    root: Path
    _bind: str = "127.0.0.1"
    _ports: Ports = field(default_factory=Ports)
    # Why LAB_BIND / LAB_*_PORT are unusable, if they are: raised when they are used, so
    # offline commands (lint, scenario list, the local driver) run whatever they say.
    network_error: str = ""
    org: str = "cd4ml"
    _dvc_bucket: str = "cd4ml-dvc"
    bot_email: str = "cd4ml-bot@lab.invalid"
    # The lab network's subnet, pinned so Gitea's webhook allow-list can name it (CIDR).
    subnet: str = "10.213.91.0/24"
    timeout_up: float = 900.0
    # The S3 service the stack runs (LAB_S3, one of S3_SERVICES): its compose service name.
    _s3: str = "minio"
    s3_error: str = ""  # why LAB_S3 is unusable, raised when it is used (as network_error)

    # ---- where the lab listens ---------------------------------------------
    @property
    def bind(self) -> str:
        self._check_network()
        return self._bind

    @property
    def ports(self) -> Ports:
        self._check_network()
        return self._ports

    @property
    def dvc_bucket(self) -> str:
        """LAB_DVC_BUCKET, checked when used, by S3's bucket naming rules (AWS S3 user
        guide, "General purpose bucket naming rules"); without this, a name minio-py
        7.2.20 refuses (`minio/helpers.py` check_bucket_name) ended as its ValueError."""
        name = self._dvc_bucket
        if not _BUCKET_NAME.fullmatch(name) or ".." in name or _IPV4.fullmatch(name):
            raise ConfigError(
                f"environment variable LAB_DVC_BUCKET={name!r} is not a valid S3 bucket name",
                hint="3-63 characters: lower-case letters, digits, '.' and '-', starting "
                "and ending with a letter or digit (default cd4ml-dvc)",
            )
        return name

    @property
    def lab_subnet(self) -> str:
        self._check_network()
        return self.subnet

    @property
    def s3(self) -> str:
        if self.s3_error:
            raise ConfigError(
                self.s3_error, hint=f"use one of: {', '.join(S3_SERVICES)} (default minio)"
            )
        return self._s3

    def published_ports(self) -> dict[str, int]:
        """The host ports the stack publishes: MinIO's console only when MinIO runs."""
        ports = self.ports.as_dict()
        if self.s3 != "minio":
            del ports["minio-console"]
        return ports

    @property
    def exposed(self) -> bool:
        """True when the lab's ports are reachable from other machines (not loopback)."""
        return not ipaddress.ip_address(self.bind).is_loopback

    def _check_network(self) -> None:
        if self.network_error:
            raise ConfigError(self.network_error)

    # ---- paths -------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.root / ".lab"

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.env"

    @property
    def compose_file(self) -> Path:
        return self.root / "compose" / "docker-compose.yml"

    @property
    def projects_dir(self) -> Path:
        return self.root / "projects"

    @property
    def scenarios_dir(self) -> Path:
        return self.root / "scenarios"

    @property
    def casc_dir(self) -> Path:
        return self.root / "casc"

    def project_names(self) -> list[str]:
        """Shipped sample projects: each directory under ``projects/`` with a Jenkinsfile."""
        if not self.projects_dir.is_dir():
            return []
        return sorted(p.name for p in self.projects_dir.iterdir() if (p / "Jenkinsfile").is_file())

    # ---- URLs seen from the host -----------------------------------
    def _host_url(self, port: int) -> str:
        host = "localhost" if self.bind in ("127.0.0.1", "0.0.0.0") else self.bind  # noqa: S104
        return f"http://{host}:{port}"

    @property
    def jenkins_url(self) -> str:
        return self._host_url(self.ports.jenkins)

    @property
    def gitea_url(self) -> str:
        return self._host_url(self.ports.gitea)

    @property
    def minio_url(self) -> str:
        return self._host_url(self.ports.minio)

    @property
    def minio_console_url(self) -> str:
        return self._host_url(self.ports.minio_console)

    @property
    def pypi_url(self) -> str:
        """The private package index (pypiserver) as the host sees it."""
        return self._host_url(self.ports.pypi)

    def compose_env(self) -> dict[str, str]:
        """Non-secret variables interpolated into compose/docker-compose.yml."""
        return {
            "LAB_BIND": self.bind,
            "LAB_JENKINS_PORT": str(self.ports.jenkins),
            "LAB_GITEA_PORT": str(self.ports.gitea),
            "LAB_MINIO_PORT": str(self.ports.minio),
            "LAB_MINIO_CONSOLE_PORT": str(self.ports.minio_console),
            "LAB_PYPI_PORT": str(self.ports.pypi),
            "LAB_GITEA_PUBLIC_URL": self.gitea_url + "/",
            "LAB_JENKINS_PUBLIC_URL": self.jenkins_url + "/",
            "LAB_ORG": self.org,
            "LAB_DVC_BUCKET": self.dvc_bucket,
            "LAB_BOT_EMAIL": self.bot_email,
            "LAB_SUBNET": self.lab_subnet,
        }

    @classmethod
    def load(cls, root: Path | None = None, env: Mapping[str, str] | None = None) -> LabConfig:
        env = os.environ if env is None else env
        if root is None:
            home = env.get("LAB_HOME")
            if home and not Path(home).is_dir():
                raise ConfigError(
                    f"LAB_HOME={home}: no such directory",
                    hint="point LAB_HOME at a cd4ml-lab checkout, or unset it",
                )
            root = Path(home) if home else PACKAGE_ROOT
        ports, bind, error = Ports(), env.get("LAB_BIND", "") or "127.0.0.1", ""
        s3 = env.get("LAB_S3", "") or "minio"
        subnet = cls.subnet
        try:  # the network settings: an error shows only when a command uses them
            ports = _ports(env)
            _check_bind(bind)
            subnet = _subnet_env(env, "LAB_SUBNET", cls.subnet)
        except ConfigError as exc:
            error = exc.message
        return cls(
            root=Path(root).resolve(),
            _bind=bind,
            _ports=ports,
            network_error=error,
            org=env.get("LAB_ORG", "cd4ml") or "cd4ml",
            _dvc_bucket=env.get("LAB_DVC_BUCKET", "cd4ml-dvc") or "cd4ml-dvc",
            subnet=subnet,
            _s3=s3 if s3 in S3_SERVICES else "minio",
            s3_error=""
            if s3 in S3_SERVICES
            else f"environment variable LAB_S3={s3!r} is not an S3 service the lab can run",
        )


def _ports(env: Mapping[str, str]) -> Ports:
    ports = Ports(
        jenkins=_int_env(env, "LAB_JENKINS_PORT", Ports.jenkins),
        gitea=_int_env(env, "LAB_GITEA_PORT", Ports.gitea),
        minio=_int_env(env, "LAB_MINIO_PORT", Ports.minio),
        minio_console=_int_env(env, "LAB_MINIO_CONSOLE_PORT", Ports.minio_console),
        pypi=_int_env(env, "LAB_PYPI_PORT", Ports.pypi),
    )
    if len(set(ports.as_dict().values())) != len(ports.as_dict()):
        raise ConfigError(f"LAB_*_PORT variables must be distinct, got {ports.as_dict()}")
    return ports


def _check_bind(bind: str) -> None:
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        raise ConfigError(
            f"environment variable LAB_BIND={bind!r} is not an IP address "
            "(127.0.0.1 keeps the lab on this machine)"
        ) from None
