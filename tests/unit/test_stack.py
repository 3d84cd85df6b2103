import json
import subprocess

import pytest

from lab.config import LabConfig
from lab.errors import PrerequisiteMissing, ServiceError
from lab.stack import Compose, parse_ps


class Recorder:
    def __init__(self, returncode=0, stdout="", stderr=""):
        self.calls = []
        self.result = (returncode, stdout, stderr)

    def __call__(self, argv, **kw):
        self.calls.append((argv, kw))
        rc, out, err = self.result
        return subprocess.CompletedProcess(argv, rc, out, err)


@pytest.fixture
def cfg(tmp_path):
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "docker-compose.yml").write_text("services: {}\n")
    return LabConfig.load(root=tmp_path, env={})


def test_up_waits_for_health_with_a_bound_and_the_lab_env(cfg):
    (cfg.state_dir).mkdir()
    cfg.secrets_file.write_text("X=1\n")
    rec = Recorder()
    Compose(cfg, runner=rec, environ={"PATH": "/bin"}).up(["gitea", "minio"], timeout=300)
    argv, kw = rec.calls[0]
    assert argv[:4] == ["docker", "compose", "-p", "cd4ml-lab"]
    assert ["--env-file", str(cfg.secrets_file)] == argv[6:8]
    assert "--wait" in argv and argv[argv.index("--wait-timeout") + 1] == "300"
    assert argv[-2:] == ["gitea", "minio"]
    assert kw["env"]["LAB_BIND"] == "127.0.0.1"
    assert kw["env"]["PATH"] == "/bin"


def test_secrets_never_appear_on_the_command_line(cfg):
    cfg.state_dir.mkdir()
    cfg.secrets_file.write_text("JENKINS_ADMIN_PASSWORD=s3cr3t-value\n")
    rec = Recorder()
    Compose(cfg, runner=rec, environ={}).up(["jenkins"], timeout=10)
    argv, kw = rec.calls[0]
    assert not any("s3cr3t-value" in a for a in argv)
    assert "s3cr3t-value" not in json.dumps(kw["env"])


def test_no_engine_becomes_a_prerequisite_error(cfg):
    rec = Recorder(1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")
    with pytest.raises(PrerequisiteMissing, match="no Docker engine answers"):
        Compose(cfg, runner=rec, environ={}).ps()


def test_command_failure_names_the_command_and_shows_the_tail(cfg):
    rec = Recorder(1, "", 'service "jenkins" didn\'t complete successfully: exit 1')
    with pytest.raises(ServiceError, match="docker compose up") as err:
        Compose(cfg, runner=rec, environ={}).up(["jenkins"], timeout=10)
    assert "didn't complete successfully" in str(err.value)


def test_missing_docker_binary_is_a_prerequisite_error(cfg):
    def runner(argv, **kw):
        raise FileNotFoundError("docker")

    with pytest.raises(PrerequisiteMissing, match="not installed"):
        Compose(cfg, runner=runner, environ={}).ps()


def test_down_keeps_volumes_unless_asked(cfg):
    rec = Recorder()
    Compose(cfg, runner=rec, environ={}).down()
    assert "--volumes" not in rec.calls[0][0]
    Compose(cfg, runner=rec, environ={}).down(volumes=True)
    assert "--volumes" in rec.calls[1][0]


def test_parse_ps_reads_json_lines_and_health():
    lines = "\n".join(
        json.dumps(row)
        for row in [
            {
                "Service": "gitea",
                "ID": "a1",
                "State": "running",
                "Health": "healthy",
                "Publishers": [{"URL": "127.0.0.1", "TargetPort": 3000, "PublishedPort": 3000}],
            },
            {"Service": "jenkins", "ID": "b2", "State": "running", "Health": "starting"},
        ]
    )
    states = parse_ps(lines)
    assert [s.service for s in states] == ["gitea", "jenkins"]
    assert states[0].ok and not states[1].ok
    assert states[0].ports == "127.0.0.1:3000->3000"
    assert parse_ps("") == []


class Docker:
    """Answers as the docker CLI does (docker/cli v29.7.2) without the compose plugin, or
    without an engine: each argv prefix -> (exit code, stderr)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, **kw):
        self.calls.append(argv)
        for prefix, (rc, err) in self.answers.items():
            if " ".join(argv).startswith(prefix):
                return subprocess.CompletedProcess(argv, rc, "", err)
        return subprocess.CompletedProcess(argv, 0, "", "")


NO_PLUGIN = {
    "docker compose -p": (125, "unknown shorthand flag: 'p' in -p\n\nUsage:  docker [OPTIONS]"),
    "docker compose version": (1, "docker: unknown command: docker compose\n"),
}
NO_ENGINE = {
    "docker compose -p": (1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."),
    "docker info": (1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."),
}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.ps(),
        lambda c: c.down(),
        lambda c: c.logs("jenkins"),
    ],
    ids=["ps", "down", "logs"],
)
def test_no_compose_plugin_is_a_prerequisite_error_with_doctor_fix(cfg, call):
    with pytest.raises(PrerequisiteMissing, match="v2 plugin\\) is missing") as err:
        call(Compose(cfg, runner=Docker(NO_PLUGIN), environ={}))
    assert "docker-compose-plugin" in str(err.value)


@pytest.mark.parametrize("call", [lambda c: c.down(), lambda c: c.logs(None)], ids=["down", "logs"])
def test_no_engine_is_recognised_when_the_output_was_streamed(cfg, call):
    docker = Docker(NO_ENGINE)
    with pytest.raises(PrerequisiteMissing, match="no Docker engine answers"):
        call(Compose(cfg, runner=docker, environ={}))
    assert ["docker", "info", "--format", "{{.ID}}"] in docker.calls


def test_a_streamed_failure_with_docker_fine_stays_a_service_error(cfg):
    docker = Docker({"docker compose -p": (1, "")})
    with pytest.raises(ServiceError, match="docker compose down"):
        Compose(cfg, runner=docker, environ={}).down()
