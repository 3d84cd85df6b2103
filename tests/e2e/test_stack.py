"""The lab on the real Docker stack: up, health, seeding, webhook builds, credentials,
idempotence and `lab down` keeping data. Skipped where no Docker engine answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lab.clients.gitea import GiteaClient
from lab.clients.jenkins import JenkinsClient, branch_job
from lab.gitcreds import git_with_credentials
from lab.report import Reporter
from lab.status import collect_status
from lab.up import lab_up

PROJECT = "cd4ml-demo"
MASKING_DVC_SECRET = re.compile(r"Masking supported pattern matches of .*\$AWS_SECRET_ACCESS_KEY")


@pytest.fixture(scope="session")
def jenkins(cfg, secrets) -> JenkinsClient:
    return JenkinsClient(
        cfg.jenkins_url, secrets["JENKINS_ADMIN_USER"], secrets["JENKINS_ADMIN_PASSWORD"]
    )


@pytest.fixture(scope="session")
def gitea(cfg, secrets) -> GiteaClient:
    return GiteaClient(cfg.gitea_url, token=secrets["GITEA_BOT_TOKEN"])


def test_every_service_is_healthy_after_up(cfg, compose, first_up):
    status = collect_status(cfg, compose, with_jobs=False)
    unhealthy = [
        (name, s and (s.health or s.state)) for s, name, _ in status.services if not (s and s.ok)
    ]
    assert unhealthy == []


def test_jobs_are_seeded_for_every_project(cfg, jenkins, gitea, first_up):
    repos = sorted(r["name"] for r in gitea.list_org_repos(cfg.org))
    assert PROJECT in repos
    for repo in repos:
        assert jenkins.job_exists(f"{cfg.org}/{repo}"), f"no multibranch job for {repo}"


def test_credentials_exist_in_jenkins(jenkins, first_up):
    assert jenkins.credential_exists("DVC_Remote_Creds")
    assert jenkins.credential_exists("GIT_PAT")


def test_push_triggers_a_build_through_the_webhook_and_credentials_resolve(
    cfg, secrets, jenkins, gitea, uid, tmp_path
):
    branch = f"e2e-hook-{uid}"
    job = f"{cfg.org}/{PROJECT}/{branch_job(branch)}"
    work = tmp_path / "clone"
    clone_url = f"{cfg.gitea_url}/{cfg.org}/{PROJECT}.git"
    user, token = secrets["GITEA_BOT_USER"], secrets["GITEA_BOT_TOKEN"]
    try:
        git_with_credentials(["clone", "-q", clone_url, str(work)], user, token)
        _commit(work, "e2e: webhook check")
        sha = _rev(work)
        git_with_credentials(
            ["push", "-q", "origin", f"HEAD:refs/heads/{branch}"], user, token, cwd=work
        )
        # No scan is triggered here: only the webhook can start this build in time
        # (the periodic scan fallback is 30 minutes).
        build = jenkins.wait_build(job, timeout=900, interval=5, progress=print)
        assert jenkins.build_commit(job, build["number"]) == sha
        console = jenkins.console(job, build["number"])
        assert build["result"] == "SUCCESS", console[-3000:]
        # The DVC stages bound DVC_Remote_Creds with masking on (credentials-binding
        # 728.v902a_273b_8947 BindingStep prints this line only when withCredentials
        # binds a secret; a missing credential fails the step instead), the remote
        # accepted it (ci/check_remote.py prints the key's first 4 characters only),
        # and no secret value reached the log.
        assert MASKING_DVC_SECRET.search(console), console[-3000:]
        assert f"accepts access key {secrets['DVC_ACCESS_KEY'][:4]}..." in console
        for key in ("DVC_SECRET_KEY", "DVC_ACCESS_KEY", "GITEA_BOT_TOKEN"):
            assert secrets[key] not in console, f"{key} is in the build log"
    finally:
        gitea.delete_branch(cfg.org, PROJECT, branch)


def test_second_up_changes_nothing(cfg, first_up):
    assert lab_up(cfg, reporter=Reporter()) == []


def test_down_keeps_volumes_and_up_resumes(cfg, compose, gitea, secrets, first_up):
    before = gitea.get_repo(cfg.org, PROJECT)
    subprocess.run([sys.executable, "-m", "lab", "down"], check=True, timeout=600)
    assert all(s.state != "running" for s in compose.ps())
    changes = lab_up(cfg, reporter=Reporter())
    # Every service's container comes back, and nothing else is created again: repos,
    # hooks, token and jobs are kept. (An empty list would mean `down` removed nothing.)
    assert changes == [f"created container for {s}" for s in sorted(compose.services())]
    after = gitea.get_repo(cfg.org, PROJECT)
    assert after is not None and before is not None and after["id"] == before["id"]
    # a new client: python-jenkins caches the crumb of the previous Jenkins process
    jenkins = JenkinsClient(
        cfg.jenkins_url, secrets["JENKINS_ADMIN_USER"], secrets["JENKINS_ADMIN_PASSWORD"]
    )
    assert jenkins.job_exists(f"{cfg.org}/{PROJECT}")


def _commit(work: Path, message: str) -> None:
    (work / "E2E.md").write_text(message + "\n")
    subprocess.run(["git", "-C", str(work), "add", "E2E.md"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(work),
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@lab.invalid",
            "commit",
            "-q",
            "-m",
            message,
        ],
        check=True,
    )


def _rev(work: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(work), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
