import subprocess

import pytest

from lab.errors import ConfigError
from lab.projects import export_project


def git(path, *args):
    subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)


def test_export_takes_tracked_and_new_files_but_not_ignored_or_caches(tmp_path):
    repo = tmp_path / "repo"
    project = repo / "projects" / "demo"
    (project / "ci").mkdir(parents=True)
    git(repo, "init", "-q")
    (project / "Jenkinsfile").write_text("pipeline {}\n")
    (project / ".gitignore").write_text("/model.pkl\n")
    (project / "model.pkl").write_text("big\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    # an attendee's new, not yet committed script must travel with the project
    (project / "ci" / "data_checks.sh").write_text("echo ok\n")
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "x.pyc").write_text("")
    (tmp_path / "out").mkdir()
    files = export_project(project, tmp_path / "out" / "demo")
    names = sorted(str(f) for f in files)
    assert names == [".gitignore", "Jenkinsfile", "ci/data_checks.sh"]


def test_export_outside_git_skips_caches(tmp_path):
    project = tmp_path / "demo"
    (project / ".dvc" / "cache").mkdir(parents=True)
    (project / ".dvc" / "cache" / "obj").write_text("x")
    (project / ".dvc" / "config").write_text("[core]\n")
    (project / "Jenkinsfile").write_text("pipeline {}\n")
    files = export_project(project, tmp_path / "out")
    assert sorted(str(f) for f in files) == [".dvc/config", "Jenkinsfile"]


def test_export_refuses_a_directory_without_jenkinsfile(tmp_path):
    with pytest.raises(ConfigError, match="no Jenkinsfile"):
        export_project(tmp_path, tmp_path / "out")


def test_export_repository_makes_one_commit_by_the_lab_not_the_bot(tmp_path):
    from lab.projects import LAB_AUTHOR, export_repository

    project = tmp_path / "demo"
    project.mkdir()
    (project / "Jenkinsfile").write_text("pipeline {}\n")
    sha = export_repository(project, tmp_path / "out", "import demo")
    log = subprocess.run(
        ["git", "-C", str(tmp_path / "out"), "log", "--format=%H %an <%ae> %s"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert log == [f"{sha} {LAB_AUTHOR[0]} <{LAB_AUTHOR[1]}> import demo"]
