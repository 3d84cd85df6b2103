"""`lab project add` on the real stack: a user's repository gets a Gitea repo, a webhook,
a seeded multibranch job and a green build; `lab project remove` takes it all away."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

from lab.clients.gitea import JENKINS_HOOK_URL, GiteaClient
from lab.clients.jenkins import JenkinsClient
from lab.errors import ConfigError
from lab.projectops import add_project, remove_project
from lab.report import Reporter
from lab.up import converge_jenkins

JENKINSFILE = """\
pipeline {
    agent any
    options { timeout(time: 10, unit: 'MINUTES') }
    stages {
        stage('Hello') {
            steps { echo "hello from ${env.BRANCH_NAME}" }
        }
    }
}
"""


def _user_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "Jenkinsfile").write_text(JENKINSFILE)
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        [
            "git",
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@lab.invalid",
            "commit",
            "-q",
            "-m",
            "my pipeline",
        ],
    ):
        subprocess.run(argv, cwd=path, check=True)
    return path


def test_project_add_seeds_a_job_that_builds_green_and_remove_cleans_up(
    cfg, secrets, uid, tmp_path
):
    name = f"e2e-own-{uid}"
    source = _user_repo(tmp_path / name)
    admin = GiteaClient(
        cfg.gitea_url, basic=(secrets["GITEA_ADMIN_USER"], secrets["GITEA_ADMIN_PASSWORD"])
    )
    jenkins = JenkinsClient(
        cfg.jenkins_url, secrets["JENKINS_ADMIN_USER"], secrets["JENKINS_ADMIN_PASSWORD"]
    )
    reporter = Reporter()

    def seed() -> list[str]:
        return converge_jenkins(cfg, secrets, reporter, always_seed=True)

    try:
        changes = add_project(cfg, secrets, source, gitea=admin, seed_jobs=seed)
        assert f"created Gitea repository {cfg.org}/{name}" in changes
        hooks = admin.list_hooks(cfg.org, name)
        assert [h["config"]["url"] for h in hooks] == [JENKINS_HOOK_URL]
        assert jenkins.job_exists(f"{cfg.org}/{name}")
        # the seeded job indexes its branches and builds main
        build = jenkins.wait_build(f"{cfg.org}/{name}/main", timeout=600, progress=print)
        assert build["result"] == "SUCCESS", jenkins.console(
            f"{cfg.org}/{name}/main", build["number"]
        )[-2000:]
        # adding again changes nothing but the (idempotent) seed run
        again = add_project(cfg, secrets, source, gitea=admin, seed_jobs=lambda: [])
        assert again == []
    finally:
        with contextlib.suppress(ConfigError):  # nothing to remove if add failed early
            remove_project(cfg, secrets, name, gitea=admin, seed_jobs=seed)
    assert admin.get_repo(cfg.org, name) is None
    assert not jenkins.job_exists(f"{cfg.org}/{name}")
