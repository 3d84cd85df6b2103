"""`lab run`: a Jenkinsfile run on this host against its repository's HEAD, in-process
through the CLI (real git, real `sh` steps, the Jenkinsfile read by Groovy)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lab.cli import main
from lab.groovy import groovy_available

if groovy_available() is not None:  # the CI installs it (.ci/run); say why, never fake
    pytest.skip(f"Jenkinsfiles are read with Groovy: {groovy_available()}", allow_module_level=True)

JENKINSFILE = """\
pipeline {
    agent any
    parameters {
        string(name: 'GREETING', defaultValue: 'hello')
    }
    stages {
        stage('Build') {
            steps {
                sh 'echo "$GREETING from $BRANCH_NAME change=${CHANGE_ID:-none}" > out.txt'
                sh 'cat out.txt'
            }
        }
        stage('Secret') {
            steps {
                withCredentials([string(credentialsId: 'API_TOKEN', variable: 'TOKEN')]) {
                    sh 'echo "token is $TOKEN"'
                }
            }
        }
        stage('Commit back') {
            when { changeRequest() }
            steps {
                sh 'git -c user.name=bot -c user.email=bot@x commit -q --allow-empty -m back'
                sh 'git push -q origin HEAD:refs/heads/$CHANGE_BRANCH'
            }
        }
    }
}
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "lab-home"
    home.mkdir()
    monkeypatch.setenv("LAB_HOME", str(home))
    repo = tmp_path / "my-model"
    repo.mkdir()
    (repo / "Jenkinsfile").write_text(JENKINSFILE)
    git(repo, "init", "-q", "-b", "feature")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=dev", "-c", "user.email=dev@x", "commit", "-q", "-m", "first")
    return repo


def credentials(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "creds.env"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_plan_lists_the_stages_and_builds_nothing(repo, capsys):
    assert main(["run", "--plan", str(repo / "Jenkinsfile")]) == 0
    out = capsys.readouterr().out
    assert "  Build: runs here" in out and "  Commit back: runs here" in out
    assert not (repo.parent / "lab-home" / ".lab" / "runs").exists() or not any(
        (repo.parent / "lab-home" / ".lab" / "runs").iterdir()
    )


def test_a_branch_build_runs_the_steps_with_params_and_masks_credentials(repo, tmp_path, capsys):
    secret = "tok-" + os.urandom(6).hex()
    creds = credentials(tmp_path, f"API_TOKEN={secret}\n")
    code = main(
        ["run", str(repo / "Jenkinsfile"), "--param", "GREETING=hi", "--credentials", str(creds)]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "hi from feature change=none" in out
    assert "token is ****" in out and secret not in out + err
    assert 'Stage "Commit back" skipped due to when conditional' in out
    assert "no agent container is started" in out
    # a green build leaves no workspace behind
    assert not any((tmp_path / "lab-home" / ".lab" / "runs").iterdir())


def test_a_pr_build_pushes_to_a_scratch_forge_never_to_the_checkout(repo, tmp_path, capsys):
    creds = credentials(tmp_path, "API_TOKEN=x\n")
    before = git(repo, "rev-parse", "feature")
    code = main(
        ["run", str(repo / "Jenkinsfile"), "--pr", "7", "--credentials", str(creds), "--keep"]
    )
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "hello from PR-7 change=7" in out
    assert git(repo, "rev-parse", "feature") == before, "the user's branch moved"
    runs = list((tmp_path / "lab-home" / ".lab" / "runs").iterdir())
    assert len(runs) == 1 and "workspace kept" in err
    origin = runs[0] / "origin.git"
    assert git(origin, "log", "-1", "--format=%s", "feature") == "back"


def test_a_missing_credential_fails_the_build_like_jenkins_and_keeps_the_workspace(repo, capsys):
    code = main(["run", str(repo / "Jenkinsfile")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Could not find credentials entry with ID 'API_TOKEN'" in out
    assert "Secret                         FAILURE" in out
    assert "workspace kept:" in err


def test_an_edited_jenkinsfile_is_replayed_on_the_committed_files(repo, tmp_path, capsys):
    creds = credentials(tmp_path, "API_TOKEN=x\n")
    (repo / "Jenkinsfile").write_text(JENKINSFILE.replace("'hello'", "'edited'"))
    assert main(["run", str(repo / "Jenkinsfile"), "--credentials", str(creds)]) == 0
    out = capsys.readouterr().out
    assert "edited from feature" in out and "Replaying" in out
    assert "uncommitted changes" in out


def test_a_project_inside_a_larger_repository_is_built_as_its_own(tmp_path, repo, capsys):
    mono = tmp_path / "mono"
    (mono / "svc").mkdir(parents=True)
    (mono / "svc" / "Jenkinsfile").write_text(JENKINSFILE)
    git(mono, "init", "-q", "-b", "main")
    git(mono, "add", "-A")
    git(mono, "-c", "user.name=dev", "-c", "user.email=dev@x", "commit", "-q", "-m", "m")
    creds = credentials(tmp_path, "API_TOKEN=x\n")
    assert main(["run", str(mono / "svc" / "Jenkinsfile"), "--credentials", str(creds)]) == 0
    out = capsys.readouterr().out
    assert "is not the top of its git repository" in out
    assert "hello from main" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "NOPE=1"], "NOPE"),
        (["--param", "novalue"], "--param 'novalue': expected KEY=VALUE"),
    ],
)
def test_bad_parameters_are_usage_errors(repo, capsys, args, message):
    assert main(["run", str(repo / "Jenkinsfile"), *args]) == 2
    assert message in capsys.readouterr().err


def test_a_credentials_file_readable_by_others_is_refused(repo, tmp_path, capsys):
    creds = credentials(tmp_path, "API_TOKEN=x\n", mode=0o644)
    assert main(["run", str(repo / "Jenkinsfile"), "--credentials", str(creds)]) == 2
    assert "is readable by others" in capsys.readouterr().err


def test_a_jenkinsfile_outside_git_or_not_declarative_names_the_problem(tmp_path, repo, capsys):
    loose = tmp_path / "loose" / "Jenkinsfile"
    loose.parent.mkdir()
    loose.write_text(JENKINSFILE)
    assert main(["run", str(loose)]) == 2
    assert "not in a git repository" in capsys.readouterr().err
    (repo / "Jenkinsfile").write_text("node {\n  sh 'make'\n}\n")
    assert main(["run", "--plan", str(repo / "Jenkinsfile")]) == 2
    assert "Jenkinsfile:1:" in capsys.readouterr().err
