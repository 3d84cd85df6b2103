import argparse
import os
import stat

import pytest

from lab.cli import build_parser, main
from tests.fakes import docker as fake_docker

FAKE_DOCKER = """#!/bin/sh
# stands for a docker CLI whose engine is not running
case "$1" in
  info) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1;;
  compose) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1;;
esac
exit 1
"""


@pytest.fixture
def no_engine(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    docker = bindir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(docker.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("LAB_HOME", str(tmp_path / "home"))
    return tmp_path


def test_help_lists_the_commands_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "up",
        "down",
        "status",
        "seed",
        "doctor",
        "creds",
        "logs",
        "project",
        "scenario",
        "lint",
        "run",
        "exercise",
    ):
        assert f"    {command} " in out
    assert "exit codes:" in out and "3  a prerequisite is missing" in out


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """Every (sub-)command of the real CLI: its words, its parser, its summary in the list."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                found.append(((*path, name), child, summaries.get(name)))
                found.extend(_commands(child, (*path, name)))
    return found


def test_every_command_has_help_text(capsys):
    """`lab --help` lists each command with a summary; `lab X --help` says what X does."""
    commands = _commands(build_parser())
    assert {"lint", "exercise", "project add", "scenario run"} <= {
        " ".join(p) for p, _, _ in commands
    }
    for path, child, summary in commands:
        name = " ".join(path)
        assert summary, f"`lab {name}` has no summary in its parent's --help"
        assert child.description, f"`lab {name} --help` does not say what it does"
        with pytest.raises(SystemExit) as exc:
            main([*path, "--help"])
        assert exc.value.code == 0
        shown = " ".join(capsys.readouterr().out.split())
        assert " ".join(child.description.split()) in shown, name


def test_up_without_engine_stops_early_with_doctor_message(no_engine, capsys):
    code = main(["up"])
    captured = capsys.readouterr()
    assert code == 3
    assert "Docker engine" in captured.out + captured.err
    assert "Traceback" not in captured.err
    assert "fix:" in captured.out
    # nothing was generated or started: it stopped before the secrets phase
    assert not (no_engine / "home" / ".lab" / "secrets.env").exists()


def test_doctor_without_engine_exits_3(no_engine, capsys):
    assert main(["doctor"]) == 3
    assert "no Docker engine answers" in capsys.readouterr().out


def test_creds_before_up_says_what_to_do(no_engine, capsys):
    assert main(["creds"]) == 2
    assert "run `lab up`" in capsys.readouterr().err


def test_creds_masks_secrets_and_shows_one_on_request(no_engine, capsys):
    from lab.config import LabConfig
    from lab.secrets import Secrets

    secrets, _ = Secrets.ensure(LabConfig.load().secrets_file)
    assert main(["creds"]) == 0
    out = capsys.readouterr().out
    assert secrets["GITEA_ADMIN_PASSWORD"] not in out
    assert "lab-admin" in out  # identities are shown
    assert "(not yet created)" in out  # the bot token before Gitea runs
    assert main(["creds", "--show", "GITEA_ADMIN_PASSWORD"]) == 0
    assert capsys.readouterr().out.strip() == secrets["GITEA_ADMIN_PASSWORD"]
    assert main(["creds", "--show", "NOPE"]) == 2


def test_readme_lists_every_command_and_make_target():
    """The README is the contract with a newcomer: it must not lag behind `lab --help`."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        assert f"lab {name}" in readme, f"README does not mention `lab {name}`"
    makefile = (root / "Makefile").read_text()
    for target in ("lab-up", "lab-down", "test", "test-e2e", "lint", "bench"):
        assert f"\n{target}:" in makefile, target
        assert f"make {target}" in readme, f"README does not mention `make {target}`"


def test_up_with_a_state_directory_that_cannot_be_written_is_a_usage_error(
    tmp_path, monkeypatch, capsys
):
    import lab.up

    home = tmp_path / "home"
    home.mkdir()
    (home / ".lab").write_text("")  # fails like a read-only .lab, whoever runs the test
    monkeypatch.setenv("LAB_HOME", str(home))
    monkeypatch.setattr(lab.up, "ensure_prerequisites", lambda *a: None)
    monkeypatch.setattr(lab.up.Compose, "ps", lambda self: [])
    assert main(["up"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lab up: error: cannot write the lab's secrets to ")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("driver", "message"),
    [
        ("os:path", "is a module, not a Driver class"),
        ("lab.errors:ConfigError", "could not be created: TypeError"),
        ("lab.errors:EXIT_CODES", "is a dict, not a Driver class"),
        ("lab.config:LabConfig", "could not be created: TypeError"),
        ("lab.nosuch:Driver", "cannot be imported: ModuleNotFoundError"),
        (":Driver", "cannot be imported: ValueError"),
        ("lab.config:PACKAGE_ROOT", "is a PosixPath, not a Driver class"),
        ("lab.config:Ports", "is not a lab.scenarios.driver.Driver"),
    ],
)
def test_a_bad_driver_is_a_usage_error_without_traceback(driver, message, capsys):
    code = main(["scenario", "run", "push-branch-runs-checks-only", "--driver", driver])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err.splitlines()[0]
    assert "Traceback" not in err


def _docker(tmp_path, monkeypatch, script):
    fake_docker.install(tmp_path / "bin", script, monkeypatch)
    home = tmp_path / "home"
    (home / "compose").mkdir(parents=True)
    (home / "compose" / "docker-compose.yml").write_text("services: {}\n")
    monkeypatch.setenv("LAB_HOME", str(home))


@pytest.mark.parametrize("argv", [["status"], ["down"], ["logs"], ["logs", "gitea"]])
def test_no_compose_plugin_exits_3_with_doctors_message(tmp_path, monkeypatch, capsys, argv):
    _docker(tmp_path, monkeypatch, fake_docker.NO_COMPOSE_PLUGIN)
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert f"lab {argv[0]}: error: `docker compose` (v2 plugin) is missing" in err
    assert "docker-compose-plugin" in err


@pytest.mark.parametrize("argv", [["down"], ["logs"], ["status"]])
def test_engine_down_exits_3(tmp_path, monkeypatch, capsys, argv):
    _docker(tmp_path, monkeypatch, fake_docker.ENGINE_DOWN)
    assert main(argv) == 3
    assert f"lab {argv[0]}: error: no Docker engine answers" in capsys.readouterr().err


def test_doctor_checks_compose(tmp_path, monkeypatch, capsys):
    _docker(tmp_path, monkeypatch, fake_docker.NO_COMPOSE_PLUGIN)
    assert main(["doctor"]) == 3
    captured = capsys.readouterr()
    assert "[FAIL] compose v2" in captured.out
    assert "compose v2" in captured.err


def test_logs_of_an_unknown_service_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["logs", "nosuch"])
    assert exc.value.code == 2
    assert "invalid choice: 'nosuch'" in capsys.readouterr().err


def _crashing_handler(args, cfg):
    raise KeyError("unexpected")


def test_a_bug_in_a_command_is_one_line_and_exit_70_not_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    monkeypatch.delenv("LAB_DEBUG", raising=False)
    parser = build_parser()
    monkeypatch.setattr("lab.cli.build_parser", lambda: parser)
    parser.set_defaults(handler=_crashing_handler)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["creds"].set_defaults(handler=_crashing_handler)
    assert main(["creds"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("lab creds: internal error: KeyError: 'unexpected'")
    assert "Traceback" not in err and "LAB_DEBUG=1" in err

    monkeypatch.setenv("LAB_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["creds"])
