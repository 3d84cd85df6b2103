import json
import re
import subprocess
from pathlib import Path

from lab.config import LabConfig
from lab.doctor import (
    MIN_COMPOSE,
    Probe,
    fatal_failures,
    format_checks,
    parse_version,
    run_checks,
)

ROOT = Path(__file__).resolve().parents[2]

GIB = 2**30


def fake_run(engine=None, compose="2.29.1", engine_error="Cannot connect to the Docker daemon"):
    def run(argv):
        if argv[:2] == ["docker", "info"]:
            if engine is None:
                return subprocess.CompletedProcess(argv, 1, "", engine_error)
            return subprocess.CompletedProcess(argv, 0, json.dumps(engine), "")
        if argv[:3] == ["docker", "compose", "version"]:
            if compose is None:
                return subprocess.CompletedProcess(argv, 1, "", "'compose' is not a docker command")
            return subprocess.CompletedProcess(argv, 0, compose + "\n", "")
        raise AssertionError(argv)

    return run


def probe(**kw):
    engine = kw.pop("engine", {"ServerVersion": "27.3.1", "MemTotal": 16 * GIB})
    busy = kw.pop("busy", set())
    return Probe(
        which=lambda name: None if kw.get("no_cli") else f"/usr/bin/{name}",
        run=fake_run(engine=engine, compose=kw.get("compose", "2.29.1")),
        port_free=lambda host, port: port not in busy,
        free_disk_gib=lambda path: kw.get("disk", 100.0),
    )


def cfg(tmp_path):
    return LabConfig.load(root=tmp_path, env={})


def names_failed(checks):
    return [c.name for c in fatal_failures(checks)]


def test_healthy_machine_passes_every_check(tmp_path):
    checks = run_checks(cfg(tmp_path), probe())
    assert names_failed(checks) == []
    assert [c.name for c in checks] == [
        "docker CLI",
        "compose v2",
        "Docker engine",
        "memory",
        "ports",
        "disk",
    ]


def test_no_docker_cli_stops_with_install_hint(tmp_path):
    checks = run_checks(cfg(tmp_path), probe(no_cli=True))
    assert names_failed(checks) == ["docker CLI"]
    assert "Docker Desktop" in checks[0].hint


def test_unreachable_engine_is_named_with_the_fix(tmp_path):
    checks = run_checks(cfg(tmp_path), probe(engine=None))
    assert names_failed(checks) == ["Docker engine"]
    text = format_checks(checks)
    assert "Cannot connect to the Docker daemon" in text
    assert "fix:" in text and "systemctl start docker" in text


def test_compose_v1_only_or_too_old_fails(tmp_path):
    assert names_failed(run_checks(cfg(tmp_path), probe(compose=None))) == ["compose v2"]
    assert names_failed(run_checks(cfg(tmp_path), probe(compose="2.12.2"))) == ["compose v2"]


def test_compose_minimum_is_the_documented_one(tmp_path):
    need = ".".join(map(str, MIN_COMPOSE[:2]))
    older = f"{MIN_COMPOSE[0]}.{MIN_COMPOSE[1] - 1}.9"
    assert names_failed(run_checks(cfg(tmp_path), probe(compose=need + ".0"))) == []
    assert names_failed(run_checks(cfg(tmp_path), probe(compose=older))) == ["compose v2"]
    for doc in ("README.md", "compose/README.md"):
        lines = [ln for ln in (ROOT / doc).read_text().splitlines() if "ompose" in ln]
        stated = {m for ln in lines for m in re.findall(r"\b(2\.\d+)(?:\.\d+)?\b", ln)}
        assert stated == {need}, f"{doc} states compose {stated}; lab doctor needs {need}"


def test_busy_port_is_named_with_override_variable(tmp_path):
    checks = run_checks(cfg(tmp_path), probe(busy={3000}))
    assert names_failed(checks) == ["ports"]
    port_check = next(c for c in checks if c.name == "ports")
    assert "gitea 127.0.0.1:3000" in port_check.detail
    assert "LAB_GITEA_PORT" in port_check.hint


def test_ports_held_by_the_running_lab_are_not_a_conflict(tmp_path):
    checks = run_checks(cfg(tmp_path), probe(busy={3000, 8080}), lab_ports_in_use=True)
    assert names_failed(checks) == []


def test_low_memory_fails_and_modest_memory_warns(tmp_path):
    low = run_checks(cfg(tmp_path), probe(engine={"ServerVersion": "27", "MemTotal": 2 * GIB}))
    assert names_failed(low) == ["memory"]
    modest = run_checks(cfg(tmp_path), probe(engine={"ServerVersion": "27", "MemTotal": 5 * GIB}))
    assert names_failed(modest) == []
    assert next(c for c in modest if c.name == "memory").label == "warn"


def test_little_disk_is_a_warning(tmp_path):
    checks = run_checks(cfg(tmp_path), probe(disk=3.0))
    assert names_failed(checks) == []
    assert next(c for c in checks if c.name == "disk").label == "warn"


def test_parse_version_handles_prefixes_and_suffixes():
    assert parse_version("v2.29.1-desktop.1") == (2, 29, 1)
    assert parse_version("2.20.0+ds1") == (2, 20, 0)


def test_raise_on_fatal_names_failures_and_fixes_but_not_warnings(tmp_path):
    import pytest

    from lab.doctor import raise_on_fatal
    from lab.errors import PrerequisiteMissing

    raise_on_fatal(run_checks(cfg(tmp_path), probe(disk=3.0)), "cannot run")  # warning only
    with pytest.raises(PrerequisiteMissing) as err:
        raise_on_fatal(run_checks(cfg(tmp_path), probe(busy={3000})), "cannot run")
    assert str(err.value).startswith("cannot run: ports")
    assert "LAB_GITEA_PORT" in str(err.value)


def test_compose_is_checked_even_when_no_engine_answers(tmp_path):
    checks = run_checks(cfg(tmp_path), probe(engine=None, compose=None))
    assert names_failed(checks) == ["compose v2", "Docker engine"]
    assert "docker-compose-plugin" in format_checks(checks)


def test_binding_beyond_loopback_is_a_warning_naming_the_exposure(tmp_path):
    exposed = LabConfig.load(root=tmp_path, env={"LAB_BIND": "0.0.0.0"})
    checks = run_checks(exposed, probe())
    assert names_failed(checks) == []
    (warning,) = [c for c in checks if c.label == "warn"]
    assert warning.name == "network exposure"
    assert "reachable from other machines" in warning.detail
    assert all(c.ok for c in run_checks(cfg(tmp_path), probe()))


def test_the_minio_console_port_matters_only_when_minio_runs(tmp_path):
    """SeaweedFS (LAB_S3=seaweedfs) publishes the S3 port only: a busy 9001 is no conflict."""
    seaweedfs = LabConfig.load(root=tmp_path, env={"LAB_S3": "seaweedfs"})
    assert names_failed(run_checks(seaweedfs, probe(busy={9001}))) == []
    assert names_failed(run_checks(seaweedfs, probe(busy={9000}))) == ["ports"]
    assert names_failed(run_checks(cfg(tmp_path), probe(busy={9001}))) == ["ports"]
