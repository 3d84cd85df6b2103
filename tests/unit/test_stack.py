import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from lab.config import LabConfig
from lab.errors import ConfigError, PrerequisiteMissing, ServiceError
from lab.jenkinsenv import InterpolationError, interpolate
from lab.secrets import ALL_KEYS, GENERATED
from lab.stack import PLACEHOLDER, Compose, parse_ps, stage_one

REPO_COMPOSE = Path(__file__).resolve().parents[2] / "compose" / "docker-compose.yml"


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
    assert ["--env-file", str(cfg.secrets_file)] == argv[8:10]
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


def test_compose_paths_never_depend_on_the_current_directory(cfg, tmp_path, monkeypatch):
    """`build.additional_contexts` was resolved against the current directory by some
    compose releases (docker/compose#10448): the project directory is explicit, and
    compose runs from it, so both readings give the same path."""
    cfg.state_dir.mkdir()
    cfg.secrets_file.write_text("X=1\n")
    compose_dir = str(cfg.compose_file.parent)
    calls = []
    for cwd in (tmp_path, tmp_path / "compose", Path("/")):
        monkeypatch.chdir(cwd)
        rec = Recorder()
        Compose(cfg, runner=rec, environ={}).up(["gitea"], timeout=10)
        calls.append(rec.calls[0])
    argv, kw = calls[0]
    assert argv[argv.index("--project-directory") + 1] == compose_dir
    assert argv[argv.index("-f") + 1] == str(cfg.compose_file)
    assert all(Path(argv[argv.index(opt) + 1]).is_absolute() for opt in ("-f", "--env-file"))
    assert kw["cwd"] == compose_dir
    assert all(call == calls[0] for call in calls), "argv or cwd changed with the cwd"


def test_secrets_in_the_users_shell_never_override_the_env_file(cfg):
    """compose lets the environment win over --env-file: the lab's keys are removed."""
    cfg.state_dir.mkdir()
    cfg.secrets_file.write_text("MINIO_ROOT_PASSWORD=from-the-file\n")
    shell = {"PATH": "/bin", "HOME": "/home/u", **{key: "from-the-shell" for key in ALL_KEYS}}
    rec = Recorder()
    compose = Compose(cfg, runner=rec, environ=shell)
    compose.up(["minio"], timeout=10)
    compose.ps()
    compose.down()
    for argv, kw in rec.calls:
        env = kw["env"]
        assert not {k for k, v in env.items() if v == "from-the-shell"}, argv
        assert env["PATH"] == "/bin" and env["HOME"] == "/home/u"


def compose_accepts(env):
    """Interpolate the lab's real compose file the way compose does with ``env``."""
    interpolate(yaml.safe_load(REPO_COMPOSE.read_text()), env)


def test_down_status_and_logs_work_without_the_secrets_file(cfg):
    """After a `lab up` that died before writing .lab/secrets.env, `${MINIO_ROOT_USER:?}`
    must not stop teardown: read-only commands get a placeholder for absent keys."""
    assert not cfg.secrets_file.exists()
    rec = Recorder()
    compose = Compose(cfg, runner=rec, environ={"PATH": "/bin"})
    compose.down(volumes=True)
    compose.ps()
    compose.logs("jenkins")
    compose.exec("gitea", ["true"])
    for argv, kw in rec.calls:
        assert "--env-file" not in argv
        assert kw["env"]["MINIO_ROOT_USER"] == PLACEHOLDER, argv
        compose_accepts(kw["env"])


def test_placeholders_never_reach_up_nor_replace_a_real_secret(cfg):
    rec = Recorder()
    Compose(cfg, runner=rec, environ={}).up(["minio"], timeout=10)
    env = rec.calls[0][1]["env"]
    assert PLACEHOLDER not in env.values()
    with pytest.raises(InterpolationError, match="MINIO_ROOT_USER"):
        compose_accepts(env)
    cfg.state_dir.mkdir()
    cfg.secrets_file.write_text("".join(f"{key}=real-{key}\n" for key in GENERATED))
    Compose(cfg, runner=rec, environ={}).down()
    env = rec.calls[1][1]["env"]
    assert {k for k, v in env.items() if v == PLACEHOLDER} == {"GITEA_BOT_TOKEN"}


RECORDING_DOCKER = """#!/bin/sh
# stands for a docker CLI: records each call's arguments and environment, answers 0
n=$(ls "$CALLS" | wc -l)
{ printf '%s\\n' "$@"; echo '--env--'; env; } > "$CALLS/$n"
exit 0
"""


def test_lab_down_status_and_logs_without_secrets_file_end_to_end(tmp_path, monkeypatch, capsys):
    """The CLI path: a lab home with the real compose file and no .lab/secrets.env."""
    from lab.cli import main

    home, bindir, calls = tmp_path / "home", tmp_path / "bin", tmp_path / "calls"
    (home / "compose").mkdir(parents=True)
    (home / "compose" / "docker-compose.yml").write_text(REPO_COMPOSE.read_text())
    bindir.mkdir()
    calls.mkdir()
    (bindir / "docker").write_text(RECORDING_DOCKER)
    (bindir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("LAB_HOME", str(home))
    monkeypatch.setenv("CALLS", str(calls))
    assert main(["down", "--volumes"]) == 0
    assert main(["status"]) == 1  # nothing runs: reported, not a crash
    assert main(["logs", "jenkins"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    recorded = [(calls / name).read_text().split("--env--\n") for name in sorted(os.listdir(calls))]
    commands = [
        [a for a in args.splitlines() if a in ("down", "ps", "logs")] for args, _ in recorded
    ]
    assert commands == [["down"], ["ps"], ["logs"]]
    for _, env_text in recorded:
        env = dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line)
        compose_accepts(env)


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


@pytest.mark.parametrize("s3", ["minio", "seaweedfs"])
def test_up_runs_the_s3_service_lab_s3_selects_and_down_sees_both(tmp_path, s3):
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "docker-compose.yml").write_text("services: {}\n")
    cfg = LabConfig.load(root=tmp_path, env={"LAB_S3": s3})
    rec = Recorder()
    compose = Compose(cfg, runner=rec, environ={})
    compose.up(stage_one(cfg), timeout=300)
    compose.down()
    (up_argv, _), (down_argv, _) = rec.calls
    assert up_argv[-4:] == ["docker", "gitea", "pypi", s3]

    def profiles(argv):
        return [argv[i + 1] for i, a in enumerate(argv) if a == "--profile"]

    assert profiles(up_argv) == [s3]
    # A service of the other selection (LAB_S3 changed since) is stopped too.
    assert sorted(profiles(down_argv)) == ["minio", "seaweedfs"]


def test_an_unknown_lab_s3_is_named_when_used(tmp_path):
    cfg = LabConfig.load(root=tmp_path, env={"LAB_S3": "garage"})  # offline use: fine
    with pytest.raises(ConfigError, match=r"LAB_S3='garage'.*") as caught:
        stage_one(cfg)
    assert "minio, seaweedfs" in str(caught.value)
