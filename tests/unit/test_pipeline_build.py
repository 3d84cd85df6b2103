"""A build on the local driver (lab.pipeline.build) on a small synthetic project: real
git over the local forge, the project's own Jenkinsfile read by Groovy and run for real,
the environment Jenkins gives branch and PR builds."""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lab.config import LabConfig
from lab.errors import ConfigError
from lab.gitcreds import git_credential_env
from lab.groovy import groovy_available
from lab.localforge import LocalForge
from lab.pipeline.build import run_build, username_password
from lab.pipeline.buildenv import (
    jenkins_env_for_branch,
    jenkins_env_for_pr,
    lab_global_env,
    lab_node_env,
)
from lab.pipeline.executor import PipelineRun
from lab.wait import poll

if groovy_available() is not None:  # the CI installs it (.ci/run); say why, never fake
    pytest.skip(f"Jenkinsfiles are read with Groovy: {groovy_available()}", allow_module_level=True)

OWNER, REPO = "org", "synthetic"
BOT = "bot"

JENKINSFILE = """\
pipeline {
    agent { dockerfile { filename 'Dockerfile' } }
    stages {
        stage('First') {
            steps { sh 'ci/step.sh first' }
        }
        stage('Branch only') {
            when { not { changeRequest() } }
            steps { sh 'ci/step.sh branch-only' }
        }
        stage('PR only') {
            when { changeRequest() }
            environment { EXTRA = '42' }
            steps {
                withCredentials([usernamePassword(credentialsId: 'TOKEN_CRED',
                        usernameVariable: 'T_USER', passwordVariable: 'T_SECRET')]) {
                    sh 'ci/step.sh pr-only'
                }
            }
        }
        stage('Last') {
            steps { sh 'ci/step.sh last' }
        }
    }
}
"""

STEP_SH = """\
#!/usr/bin/env bash
# Records its name, shows what it was given, fails or hangs on request.
set -euo pipefail
echo "$1" >> "$ORDER_FILE"
echo "step $1: BRANCH_NAME=$BRANCH_NAME CHANGE_ID=${CHANGE_ID:-} GIT_COMMIT=$GIT_COMMIT"
echo "step $1: WORKSPACE=$WORKSPACE EXTRA=${EXTRA:-} T_USER=${T_USER:-}"
if [[ -n "${T_SECRET:-}" ]]; then
    echo "the secret is $T_SECRET"
    printf %s "$T_SECRET" | sha256sum | cut -d' ' -f1 > "$ORDER_FILE.secret"
fi
echo "step $1: HOME=$HOME"
for name in ${REQUIRE:-}; do
    [[ -n "${!name:-}" ]] || { echo "step $1: $name is not set"; exit 4; }
done
if [[ "${SLEEP_AT:-}" == "$1" ]]; then
    sleep 300 &
    echo $! > "$ORDER_FILE.child"
    sleep 300
fi
if [[ "${FAIL_AT:-}" == "$1" ]]; then
    echo "step $1 fails on purpose"
    exit 3
fi
"""


@dataclass
class Project:
    forge: LocalForge
    token: str
    work: Path
    first: str  # main's first commit
    head: str  # main's head
    feature: str  # head of branch `feature`

    @property
    def url(self) -> str:
        return self.forge.clone_url(OWNER, REPO)

    def git_env(self) -> dict[str, str]:
        return git_credential_env(os.environ, (BOT, self.token))


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("pipeline-project")
    token = uuid.uuid4().hex
    with LocalForge(root / "forge", users={BOT: token}) as forge:
        forge.create_repo(OWNER, REPO, private=True)
        work = root / "work"
        (work / "ci").mkdir(parents=True)
        (work / "Jenkinsfile").write_text(JENKINSFILE)
        (work / "ci" / "step.sh").write_text(STEP_SH)
        (work / "ci" / "step.sh").chmod(0o755)
        git(work, "init", "-q", "-b", "main")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "first")
        first = git(work, "rev-parse", "HEAD")
        (work / "README").write_text("second\n")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "second")
        head = git(work, "rev-parse", "HEAD")
        git(work, "checkout", "-q", "-b", "feature")
        (work / "feature.txt").write_text("feature\n")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "feature work")
        feature = git(work, "rev-parse", "HEAD")
        git(work, "remote", "add", "origin", forge.clone_url(OWNER, REPO))
        env = git_credential_env(os.environ, (BOT, token))
        git(work, "push", "-q", "origin", "main", "feature", env=env)
        yield Project(forge, token, work, first, head, feature)


@dataclass
class Build:
    run: PipelineRun
    order: list[str]
    secret_sha: str | None
    child_pid: int | None


def build(
    project: Project,
    tmp_path: Path,
    commit: str,
    jenkins_env: dict[str, str],
    *,
    extra: dict[str, str] | None = None,
    credentials: dict[str, tuple[str, str]] | None = None,
    stage_timeout: float = 60,
    node_env: dict[str, str] | None = None,
    **options: Any,
) -> Build:
    order = tmp_path / f"order-{uuid.uuid4().hex[:6]}"
    env = {"PATH": os.environ["PATH"], "ORDER_FILE": str(order), **jenkins_env, **(extra or {})}
    if credentials is None:
        credentials = {"TOKEN_CRED": ("robot", "s3cr3t-" + project.token[:12])}
    run = run_build(
        clone_url=project.url,
        commit=commit,
        workspace=tmp_path / f"ws-{uuid.uuid4().hex[:6]}",
        env=env,
        credentials={k: username_password(k, *v) for k, v in credentials.items()},
        stage_timeout=stage_timeout,
        git_credentials=(BOT, project.token),
        node_env=node_env,
        **options,
    )
    secret = Path(f"{order}.secret")
    child = Path(f"{order}.child")
    return Build(
        run,
        order.read_text().split() if order.exists() else [],
        secret.read_text().strip() if secret.exists() else None,
        int(child.read_text()) if child.exists() else None,
    )


def running(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie awaiting its reaper is dead)."""
    if not Path("/proc").is_dir():  # no procfs (macOS): signal 0 says whether it exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def names(run: PipelineRun, *, skipped: bool) -> list[str]:
    return [s.name for s in run.stages if s.skipped == skipped]


# ---- stage order and `when` ----------------------------------------------------------------


def test_branch_build_runs_stages_in_order_and_skips_change_request_ones(
    project: Project, tmp_path: Path
):
    b = build(project, tmp_path, project.head, jenkins_env_for_branch("main"))
    assert b.run.result == "SUCCESS", b.run.log
    assert b.order == ["first", "branch-only", "last"]
    assert [s.name for s in b.run.stages] == ["First", "Branch only", "PR only", "Last"]
    assert names(b.run, skipped=True) == ["PR only"]
    pr_only = b.run.stage("PR only")
    assert pr_only.returncode is None and pr_only.reason == "when conditional"
    assert b.secret_sha is None, "a skipped stage's credentials must not be bound"
    log = b.run.log
    assert 'Stage "PR only" skipped due to when conditional' in log
    positions = [log.index(f"[Pipeline] {{ ({name})") for name in ("First", "Branch only", "Last")]
    assert positions == sorted(positions)
    assert "step first: BRANCH_NAME=main CHANGE_ID= " in b.run.stage("First").output
    assert log.rstrip().endswith("Finished: SUCCESS")


def test_pr_build_binds_credentials_masks_them_and_gets_the_change_env(
    project: Project, tmp_path: Path
):
    secret = "s3cr3t-" + uuid.uuid4().hex
    env = jenkins_env_for_pr(7, head="feature", target="main", url="http://forge/pulls/7")
    b = build(
        project, tmp_path, project.feature, env, credentials={"TOKEN_CRED": ("robot", secret)}
    )
    assert b.run.result == "SUCCESS", b.run.log
    assert b.order == ["first", "pr-only", "last"]
    assert names(b.run, skipped=True) == ["Branch only"]
    out = b.run.stage("PR only").output
    assert "BRANCH_NAME=PR-7 CHANGE_ID=7" in out
    assert "EXTRA=42 T_USER=robot" in out
    # bound for real (the stage saw the value) yet never shown
    assert b.secret_sha == hashlib.sha256(secret.encode()).hexdigest()
    assert "the secret is ****" in out and "the secret is ****" in b.run.log
    for text in [b.run.log, *(s.output for s in b.run.stages)]:
        assert secret not in text and project.token not in text
    # only the stage that binds it sees it
    assert "T_USER=robot" not in b.run.stage("First").output


def test_missing_credential_fails_the_stage_like_jenkins(project: Project, tmp_path: Path):
    env = jenkins_env_for_pr(8, head="feature", target="main")
    b = build(project, tmp_path, project.feature, env, credentials={})
    assert b.run.result == "FAILURE"
    assert "Could not find credentials entry with ID 'TOKEN_CRED'" in b.run.stage("PR only").output
    assert b.order == ["first"]
    assert names(b.run, skipped=True) == ["Branch only", "Last"]


def test_first_failing_stage_stops_the_build(project: Project, tmp_path: Path):
    b = build(
        project, tmp_path, project.head, jenkins_env_for_branch("main"), extra={"FAIL_AT": "first"}
    )
    assert b.run.result == "FAILURE"
    assert b.order == ["first"]
    first = b.run.stage("First")
    assert (first.skipped, first.returncode) == (False, 3)
    assert "step first fails on purpose" in first.output
    for name in ("Branch only", "PR only", "Last"):
        stage = b.run.stage(name)
        assert stage.skipped and stage.returncode is None
    assert "ERROR: script returned exit code 3" in b.run.log
    assert 'Stage "Last" skipped due to earlier failure(s)' in b.run.log
    assert b.run.log.rstrip().endswith("Finished: FAILURE")


def test_stage_timeout_aborts_and_kills_the_whole_process_group(project: Project, tmp_path: Path):
    b = build(
        project,
        tmp_path,
        project.head,
        jenkins_env_for_branch("main"),
        extra={"SLEEP_AT": "branch-only"},
        stage_timeout=2,
    )
    assert b.run.result == "ABORTED", b.run.log
    stage = b.run.stage("Branch only")
    assert stage.returncode is None and not stage.skipped
    assert 2 <= stage.seconds < 15
    assert b.run.stage("Last").skipped and b.order == ["first", "branch-only"]
    assert b.child_pid is not None
    pid = b.child_pid
    # killed with its stage (a signal takes a moment to be acted on by a busy machine)
    poll(lambda: not running(pid), what=f"background child {pid} to die", timeout=5, interval=0.05)
    assert b.run.log.rstrip().endswith("Finished: ABORTED")


# ---- checkout ------------------------------------------------------------------------------


def test_workspace_is_detached_at_the_commit_with_remote_branches_and_no_token(
    project: Project, tmp_path: Path
):
    b = build(project, tmp_path, project.first, jenkins_env_for_branch("main"))
    assert b.run.result == "SUCCESS", b.run.log
    ws = Path(b.run.workspace)
    assert b.run.commit == project.first
    assert git(ws, "rev-parse", "HEAD") == project.first  # not main's newer head
    assert subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=ws).returncode != 0
    assert git(ws, "rev-parse", "refs/remotes/origin/main") == project.head
    assert git(ws, "rev-parse", "refs/remotes/origin/feature") == project.feature
    assert f"GIT_COMMIT={project.first}" in b.run.stage("First").output
    assert f"WORKSPACE={ws}" in b.run.stage("First").output
    assert git(ws, "remote", "get-url", "origin") == project.url
    assert project.token not in (ws / ".git" / "config").read_text()
    assert "credential" not in (ws / ".git" / "config").read_text()
    assert not any(project.token in r.url for r in project.forge.requests)


def test_wrong_checkout_credentials_fail_the_build_without_leaking(
    project: Project, tmp_path: Path
):
    wrong = "wrong-" + uuid.uuid4().hex
    run = run_build(
        clone_url=project.url,
        commit=project.head,
        workspace=tmp_path / "ws",
        env={"PATH": os.environ["PATH"], **jenkins_env_for_branch("main")},
        credentials={},
        git_credentials=(BOT, wrong),
    )
    assert run.result == "FAILURE" and run.stages == []
    assert "Authentication failed" in run.log
    assert wrong not in run.log


def test_workspace_must_be_fresh(project: Project, tmp_path: Path):
    ws = tmp_path / "used"
    ws.mkdir()
    (ws / "leftover").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        run_build(
            clone_url=project.url,
            commit=project.head,
            workspace=ws,
            env={},
            credentials={},
            git_credentials=(BOT, project.token),
        )


# ---- the Jenkinsfile ------------------------------------------------------------------------


def _push(project: Project, tmp_path: Path, branch: str, jenkinsfile: str) -> str:
    clone = tmp_path / f"clone-{branch}"
    git(tmp_path, "clone", "-q", project.url, str(clone), env=project.git_env())
    (clone / "Jenkinsfile").write_text(jenkinsfile)
    git(clone, "commit", "-q", "-am", f"Jenkinsfile for {branch}")
    git(clone, "push", "-q", "origin", f"HEAD:refs/heads/{branch}", env=project.git_env())
    return git(clone, "rev-parse", "HEAD")


def test_a_jenkinsfile_that_is_not_declarative_fails_the_build_at_its_line(
    project: Project, tmp_path: Path
):
    """Jenkins fails such a build before any stage (WorkflowScript: LINE: ...)."""
    commit = _push(project, tmp_path, "broken", "pipeline {\n  agent any\n  stages {\n")
    b = build(project, tmp_path, commit, jenkins_env_for_branch("broken"))
    assert b.run.result == "FAILURE" and b.run.stages == []
    assert "ERROR: Jenkinsfile:" in b.run.log
    assert b.order == []


def test_a_construct_that_needs_jenkins_stops_the_build_at_that_step(
    project: Project, tmp_path: Path
):
    jenkinsfile = JENKINSFILE.replace(
        "steps { sh 'ci/step.sh last' }",
        "steps {\n                script { currentBuild.description = 'x' }\n"
        "                sh 'ci/step.sh last'\n            }",
    )
    line = jenkinsfile.splitlines().index(
        "                script { currentBuild.description = 'x' }"
    )
    commit = _push(project, tmp_path, "scripted", jenkinsfile)
    b = build(project, tmp_path, commit, jenkins_env_for_branch("scripted"))
    assert b.run.result == "FAILURE"
    assert b.order == ["first", "branch-only"], "the build stops at the step, never skips it"
    assert "needs the stack driver: script" in b.run.log
    assert f"Jenkinsfile:{line + 1}" in b.run.log


def test_a_replayed_jenkinsfile_runs_instead_of_the_committed_one(project: Project, tmp_path: Path):
    replay = tmp_path / "Replay.jenkinsfile"
    replay.write_text(
        "pipeline {\n  agent any\n  stages {\n"
        "    stage('Only') { steps { sh 'ci/step.sh only' } }\n  }\n}\n"
    )
    env = jenkins_env_for_branch("main")
    b = build(project, tmp_path, project.head, env, credentials={}, jenkinsfile=replay)
    assert b.run.result == "SUCCESS", b.run.log
    assert b.order == ["only"]
    assert f"Replaying {replay}" in b.run.log


def test_stage_selection_skips_the_named_stages_and_says_so(project: Project, tmp_path: Path):
    env = jenkins_env_for_branch("main")
    b = build(project, tmp_path, project.head, env, skip_stages=("First", "Branch only"))
    assert b.run.result == "SUCCESS", b.run.log
    assert b.order == ["last"]
    first = b.run.stage("First")
    assert first.skipped and first.reason == "stage selection"


# ---- Jenkins' environment --------------------------------------------------------------------


# ---- what docker-workflow leaves out of the agent container ----------------------------


def test_variables_equal_to_the_nodes_environment_are_unset_in_stages(
    project: Project, tmp_path: Path
):
    """docker-workflow 634.vedc7242b_eda_7, WithContainerStep l.133-135 and l.293-294:
    an entry equal in name AND value to the node's environment is not passed."""
    env = {**jenkins_env_for_branch("main"), "REQUIRE": "SAME DIFFERENT"}
    extra = {"SAME": "v", "DIFFERENT": "mine"}
    b = build(project, tmp_path, project.head, env, extra=extra, node_env={"DIFFERENT": "node's"})
    assert b.run.result == "SUCCESS", b.run.log
    b = build(project, tmp_path, project.head, env, extra=extra, node_env={"SAME": "v"})
    assert b.run.result == "FAILURE"
    assert "step first: SAME is not set" in b.run.stage("First").output
    assert "equal to the node's environment (docker-workflow WithContainerStep): SAME" in b.run.log


def lab_envs(root: Path, extras: Path) -> tuple[dict[str, str], dict[str, str]]:
    settings = LabConfig.load(root=root, env={}).compose_env()
    build_vars = lab_global_env(
        gitea_url="http://forge.invalid",
        s3_endpoint="http://s3.invalid",
        extras=extras,
        settings=settings,
        bot_user="cd4ml-bot",
        root=root,
    )
    return build_vars, lab_node_env(settings=settings, bot_user="cd4ml-bot", root=root)


# What the demo's ci/commit_back.sh and ci/metrics_report.sh need from Jenkins' globals.
NEEDED = "LAB_BOT_USER LAB_BOT_EMAIL GITEA_URL DVC_S3_ENDPOINT"


def test_the_lab_jenkins_globals_reach_the_stages(project: Project, tmp_path: Path):
    build_vars, node = lab_envs(Path(__file__).resolve().parents[2], tmp_path / "extras")
    assert build_vars["LAB_BOT_EMAIL"] == "cd4ml-bot@lab.invalid"
    assert build_vars["GITEA_URL"] == "http://forge.invalid"
    env = {**build_vars, **jenkins_env_for_branch("main"), "REQUIRE": NEEDED + " LAB_ORG"}
    b = build(project, tmp_path, project.head, env, node_env=node)
    assert b.run.result == "SUCCESS", b.run.log


def test_a_build_variable_set_like_the_controllers_fails_the_build_as_on_the_stack(
    project: Project, tmp_path: Path, stack_config_with_collision: Path
):
    build_vars, node = lab_envs(stack_config_with_collision, tmp_path / "extras")
    env = {**build_vars, **jenkins_env_for_branch("main"), "REQUIRE": NEEDED}
    b = build(project, tmp_path, project.head, env, node_env=node)
    assert b.run.result == "FAILURE"
    assert "step first: LAB_BOT_EMAIL is not set" in b.run.stage("First").output


def test_stages_get_an_empty_home_of_their_own(project: Project, tmp_path: Path):
    """docker-workflow strips the controller's HOME too: the agent has the image's, never
    the caller's (here a fresh directory per build)."""
    b = build(project, tmp_path, project.head, jenkins_env_for_branch("main"))
    homes = {
        line.split("HOME=", 1)[1]
        for line in b.run.stage("First").output.splitlines()
        if "HOME=" in line
    }
    assert len(homes) == 1 and homes != {os.environ.get("HOME", "")}, homes
    assert "lab-agent-home-" in homes.pop()


def test_jenkins_env_for_branch_and_pr():
    branch = jenkins_env_for_branch("feature/x", build_number=4)
    assert branch["BRANCH_NAME"] == "feature/x" and branch["BUILD_NUMBER"] == "4"
    assert not any(k.startswith("CHANGE_") for k in branch)
    assert branch["JOB_NAME"].endswith("feature%2Fx")  # multibranch job names are URL-encoded
    pr = jenkins_env_for_pr(12, head="exp", target="main", url="http://gitea/o/r/pulls/12")
    assert {k: pr[k] for k in pr if k.startswith("CHANGE_") or k == "BRANCH_NAME"} == {
        "BRANCH_NAME": "PR-12",
        "CHANGE_ID": "12",
        "CHANGE_TARGET": "main",
        "CHANGE_BRANCH": "exp",
        "CHANGE_URL": "http://gitea/o/r/pulls/12",
    }
    assert "CHANGE_URL" not in jenkins_env_for_pr(1, head="a", target="b")
