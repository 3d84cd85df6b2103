"""`lab project add/list/remove` against the fake Gitea (real git pushes over HTTP)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lab import registry
from lab.bootstrap import converge_gitea
from lab.clients.gitea import JENKINS_HOOK_URL, GiteaClient
from lab.config import LabConfig
from lab.errors import ConfigError, ServiceError
from lab.projectops import add_project, inspect_repository, list_projects, remove_project
from lab.secrets import Secrets
from tests.fakes.gitea import serve


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def user_repo(path: Path, *, jenkinsfile: bool = True) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    if jenkinsfile:
        (path / "Jenkinsfile").write_text(
            "pipeline { agent any; stages { stage('x') { steps { echo 'hi' } } } }\n"
        )
    (path / "README.md").write_text("mine\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "first")
    git(path, "checkout", "-q", "-b", "feature/exp")
    (path / "exp.txt").write_text("exp\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "exp")
    git(path, "checkout", "-q", "main")
    return path


@pytest.fixture
def lab(tmp_path):
    root = tmp_path / "lab"
    shipped = root / "projects" / "cd4ml-demo"
    shipped.mkdir(parents=True)
    (shipped / "Jenkinsfile").write_text("pipeline { agent any\n stages { } }\n")
    secrets, _ = Secrets.ensure(root / ".lab" / "secrets.env")
    admin = (secrets["GITEA_ADMIN_USER"], secrets["GITEA_ADMIN_PASSWORD"])
    with serve(tmp_path / "git", admin) as (fake, port):
        cfg = LabConfig.load(root=root, env={"LAB_GITEA_PORT": str(port)})
        gitea = GiteaClient(cfg.gitea_url, basic=admin)
        converge_gitea(
            cfg, secrets, [("cd4ml-demo", shipped)], gitea=gitea, progress=lambda m: None
        )
        yield {"cfg": cfg, "secrets": secrets, "fake": fake, "gitea": gitea, "tmp": tmp_path}


def add(lab, source, **kw):
    seeded = []
    changes = add_project(
        lab["cfg"],
        lab["secrets"],
        source,
        gitea=lab["gitea"],
        seed_jobs=lambda: seeded.append(1) or ["seeded"],
        progress=lambda m: None,
        **kw,
    )
    return changes, seeded


def test_add_creates_repo_pushes_every_branch_with_history_and_hooks_it(lab):
    source = user_repo(lab["tmp"] / "my-pipeline")
    changes, seeded = add(lab, source)
    fake = lab["fake"]
    bare = fake.repos["cd4ml/my-pipeline"]["bare"]
    assert git(bare, "rev-parse", "main") == git(source, "rev-parse", "main")
    assert git(bare, "rev-parse", "feature/exp") == git(source, "rev-parse", "feature/exp")
    hooks = fake.hooks["cd4ml/my-pipeline"]
    assert [h["config"]["url"] for h in hooks] == [JENKINS_HOOK_URL]
    assert seeded == [1]
    assert any("created Gitea repository cd4ml/my-pipeline" in c for c in changes)
    assert registry.load(lab["cfg"])["my-pipeline"].source == source.resolve()


def test_adding_again_changes_nothing_then_pushes_only_new_commits(lab):
    source = user_repo(lab["tmp"] / "proj")
    add(lab, source)
    writes = len(lab["fake"].writes)
    changes, _ = add(lab, source)
    assert changes == ["seeded"]  # only the (idempotent) seed job run
    assert len(lab["fake"].writes) == writes
    (source / "more.txt").write_text("more\n")
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "more")
    changes, _ = add(lab, source)
    assert "pushed main to cd4ml/proj" in changes


def test_push_never_forces_over_diverged_history(lab):
    source = user_repo(lab["tmp"] / "proj")
    add(lab, source)
    git(source, "commit", "-q", "--amend", "-m", "rewritten")
    with pytest.raises(ServiceError, match="never force-pushes"):
        add(lab, source)


def test_no_jenkinsfile_or_not_a_repo_is_refused_with_a_hint(lab):
    plain = lab["tmp"] / "plain"
    plain.mkdir()
    with pytest.raises(ConfigError, match="not a git repository"):
        inspect_repository(plain)
    without = user_repo(lab["tmp"] / "nojf", jenkinsfile=False)
    with pytest.raises(ConfigError, match="no branch has a Jenkinsfile"):
        add(lab, without)


def test_names_are_checked(lab):
    source = user_repo(lab["tmp"] / "proj")
    with pytest.raises(ConfigError, match="shipped with the lab"):
        add(lab, source, name="cd4ml-demo")
    with pytest.raises(ConfigError, match="not a valid repository name"):
        add(lab, source, name="bad name")


def test_token_or_password_never_in_the_request_paths(lab):
    source = user_repo(lab["tmp"] / "proj")
    add(lab, source)
    secret = lab["secrets"]["GITEA_ADMIN_PASSWORD"]
    assert not any(secret in path for _, path, _ in lab["fake"].log)


def test_list_and_remove(lab):
    source = user_repo(lab["tmp"] / "proj")
    add(lab, source)
    rows = {r.name: r for r in list_projects(lab["cfg"], lab["gitea"])}
    assert rows["cd4ml-demo"].kind == "shipped" and rows["proj"].kind == "added"
    assert rows["proj"].in_gitea == "yes"
    changes = remove_project(
        lab["cfg"], lab["secrets"], "proj", gitea=lab["gitea"], seed_jobs=lambda: ["reseeded"]
    )
    assert "deleted Gitea repository cd4ml/proj" in changes and "reseeded" in changes
    assert "cd4ml/proj" not in lab["fake"].repos
    assert "proj" not in registry.load(lab["cfg"])
    with pytest.raises(ConfigError, match="shipped"):
        remove_project(lab["cfg"], lab["secrets"], "cd4ml-demo", gitea=lab["gitea"])
    with pytest.raises(ConfigError, match="no project"):
        remove_project(lab["cfg"], lab["secrets"], "proj", gitea=lab["gitea"])


def test_a_subdirectory_is_refused_and_nothing_of_its_parent_is_pushed(lab):
    mono = lab["tmp"] / "mono"
    mono.mkdir()
    git(mono, "init", "-q", "-b", "main")
    (mono / "outside.txt").write_text("not part of svc\n")
    svc = mono / "svc"
    svc.mkdir()
    (svc / "Jenkinsfile").write_text("pipeline { agent any\n stages { } }\n")
    git(mono, "add", "-A")
    git(mono, "commit", "-q", "-m", "mono")
    with pytest.raises(ConfigError, match="subdirectory svc of the git repository") as err:
        add(lab, svc)
    assert "subtree split --prefix=svc" in str(err.value)
    assert "cd4ml/svc" not in lab["fake"].repos
    assert not any("/svc" in path for _, path, _ in lab["fake"].log)


def test_a_shipped_project_directory_says_the_lab_already_pushes_it(lab):
    shipped = lab["cfg"].projects_dir / "cd4ml-demo"
    git(lab["cfg"].root, "init", "-q", "-b", "main")
    git(lab["cfg"].root, "add", "projects")
    git(lab["cfg"].root, "commit", "-q", "-m", "lab")
    with pytest.raises(ConfigError, match="shipped with the lab") as err:
        inspect_repository(shipped, lab["cfg"])
    assert "`lab up` already pushes it as cd4ml/cd4ml-demo" in str(err.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "nowhere", "no such directory"),
        (lambda tmp: (tmp / "file.txt").write_text("x") and tmp / "file.txt", "not a directory"),
        (lambda tmp: (tmp / "plain").mkdir() or tmp / "plain", "not a git repository"),
        (
            lambda tmp: (
                subprocess.run(["git", "init", "-q", str(tmp / "empty")], check=True)
                and tmp / "empty"
            ),
            "has no commit yet",
        ),
        (lambda tmp: user_repo(tmp / "nojf", jenkinsfile=False), "no branch has a Jenkinsfile"),
    ],
    ids=["missing", "file", "plain-dir", "no-commit", "no-jenkinsfile"],
)
def test_cli_checks_the_path_before_contacting_the_lab(
    tmp_path, monkeypatch, capsys, make, message
):
    from lab.cli import main

    home = tmp_path / "home"
    Secrets.ensure(home / ".lab" / "secrets.env")
    monkeypatch.setenv("LAB_HOME", str(home))
    monkeypatch.setenv("LAB_GITEA_PORT", "9")  # nothing answers there: the lab is not up
    source = make(tmp_path)
    assert main(["project", "add", str(source)]) == 2
    err = capsys.readouterr().err
    assert message in err.splitlines()[0]
    assert "Gitea does not answer" not in err
