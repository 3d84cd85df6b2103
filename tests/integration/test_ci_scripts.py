"""The demo's ci/ scripts run directly against the local forge, on the edge cases a
pipeline build would rarely meet: the quality gate at its threshold, a marked comment
by another user, a workspace holding more than "Reproduce" changed, a branch that
moved during the build, a fork PR."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from lab.pipeline import buildenv

from ._project import PROJECT, VENV_BIN
from .conftest import BOT_EMAIL, BOT_USER, DEV_USER, OWNER, REPO, Lab, git
from .test_pipeline_runs import MARKER, set_params

PYTHON = str(VENV_BIN / "python")


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _pr_workspace(lab: Lab, tmp_path: Path, stem: str, n_estimators: int) -> tuple:
    """A PR branch with a parameter change, and a clone of it as a build's workspace."""
    branch = lab.unique(stem)
    built = lab.push_branch(branch, set_params(**{"train.n_estimators": n_estimators}), stem)
    number = lab.open_pr(branch, stem)
    ws = tmp_path / "ws"
    git(tmp_path, "clone", "--quiet", "-b", branch, lab.clone_url, str(ws), env=lab.dev_env())
    return branch, built, number, ws


def _pr_env(lab: Lab, tmp_path: Path, number: int, branch: str, built: str) -> dict[str, str]:
    """What a PR build's stage with the GIT_PAT binding sees."""
    return {
        **lab.base_env(tmp_path / "extras"),
        **buildenv.jenkins_env_for_pr(number, head=branch, target="main"),
        "GIT_COMMIT": built,
        "GIT_USER": BOT_USER,
        "GIT_TOKEN": lab.tokens[BOT_USER],
    }


# -- the quality gate at its threshold -------------------------------------------------


@pytest.mark.parametrize(("offset", "passes"), [(0.0, True), (0.01, True), (-0.0001, False)])
def test_quality_gate_passes_at_the_threshold_and_fails_below_it(
    tmp_path: Path, offset: float, passes: bool
):
    """params.yaml: the build fails when the metric is *below* `min`; equal passes."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    metric, threshold = params["quality_gate"]["metric"], params["quality_gate"]["min"]
    value = threshold + offset if offset else threshold  # exactly the threshold's float
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "metrics.json").write_text(json.dumps({metric: value}))
    proc = _run([PYTHON, "ci/quality_gate.py", str(tmp_path)], PROJECT, {"PATH": str(VENV_BIN)})
    assert (proc.returncode == 0) == passes, proc.stdout + proc.stderr
    if passes:
        assert f"quality gate passed: {metric} {value:g} >= {threshold:g}" in proc.stdout
    else:
        assert f"quality gate failed: {metric} {value:g} < {threshold:g}" in proc.stderr


# -- the metrics report and other users' comments --------------------------------------


def test_metrics_report_never_edits_another_users_comment_holding_the_marker(
    lab: Lab, tmp_path: Path
):
    """A developer quoting the report copies its hidden marker: the bot must leave that
    comment alone and keep its own. (Gitea lets any user with write access to pull
    requests edit others' comments: go-gitea/gitea routers/api/v1/repo/issue_comment.go
    editIssueComment checks `Doer.ID != PosterID && !CanWriteIssuesOrPulls`. The local
    forge answers 403 instead; either way this test fails if the filter goes.)"""
    branch, built, number, ws = _pr_workspace(lab, tmp_path, "report", 11)
    quoted = f"{MARKER}\nQuoting the report: did accuracy really move?\n"
    answer = requests.post(
        f"{lab.forge.url}/api/v1/repos/{OWNER}/{REPO}/issues/{number}/comments",
        headers={"Authorization": f"token {lab.tokens[DEV_USER]}"},
        json={"body": quoted},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    (tmp_path / "metrics.md").write_text("| Path | Metric | main | workspace | Change |\n")
    (tmp_path / "params.md").write_text("| Path | Param | main | workspace |\n")
    argv = [
        PYTHON,
        "ci/gitea_report.py",
        "--metrics",
        str(tmp_path / "metrics.md"),
        "--params",
        str(tmp_path / "params.md"),
    ]
    env = _pr_env(lab, tmp_path, number, branch, built)

    ours: list[int] = []
    for attempt in ("first", "second"):
        proc = _run(argv, ws, env)
        assert proc.returncode == 0, f"{attempt} report: {proc.stdout}{proc.stderr}"
        comments = lab.forge.comments(OWNER, REPO, number)
        by = {c["id"]: (c["user"]["login"], c["body"]) for c in comments}
        assert by[answer.json()["id"]] == (DEV_USER, quoted), f"{attempt}: edited {by}"
        bots = [i for i, (user, body) in by.items() if user == BOT_USER and MARKER in body]
        assert len(bots) == 1, by
        assert "### DVC metrics vs `main`" in by[bots[0]][1]
        ours.append(bots[0])
    assert ours[0] == ours[1], "the second report must edit the bot's own comment"


# -- commit-back: what it commits, when it refuses -------------------------------------


def _reproduced(ws: Path, n_estimators: int) -> None:
    """What "Reproduce" leaves behind: a changed dvc.lock and metrics.json."""
    lock = ws / "dvc.lock"
    lock.write_text(lock.read_text().replace("n_estimators: 30", f"n_estimators: {n_estimators}"))
    metrics = json.loads((ws / "metrics.json").read_text())
    (ws / "metrics.json").write_text(json.dumps({**metrics, "accuracy": 0.951}, indent=2) + "\n")


def test_commit_back_commits_only_dvc_lock_and_metrics_never_other_workspace_files(
    lab: Lab, tmp_path: Path
):
    branch, built, number, ws = _pr_workspace(lab, tmp_path, "exp-stray", 13)
    _reproduced(ws, 13)
    # What else a build can leave in a workspace: an untracked file, an edited one.
    (ws / "stray.txt").write_text("left by a build step\n")
    with (ws / "README.md").open("a") as fh:
        fh.write("\nedited by a build step\n")
    proc = _run(["bash", "ci/commit_back.sh"], ws, _pr_env(lab, tmp_path, number, branch, built))
    assert proc.returncode == 0, proc.stdout + proc.stderr

    new = lab.branch_head(branch)
    assert new != built, proc.stdout
    co = lab.dev_checkout
    git(co, "fetch", "--quiet", "origin", env=lab.dev_env())
    assert git(co, "log", "-1", "--format=%ae", new) == BOT_EMAIL
    changed = set(git(co, "diff", "--name-only", built, new).split())
    assert changed == {"dvc.lock", "metrics.json"}, changed


def test_commit_back_refuses_to_overwrite_a_moved_branch(lab: Lab, tmp_path: Path):
    branch, built, number, ws = _pr_workspace(lab, tmp_path, "exp-moved", 14)
    _reproduced(ws, 14)
    env = _pr_env(lab, tmp_path, number, branch, built)

    fork = _run(["bash", "ci/commit_back.sh"], ws, {**env, "CHANGE_FORK": "someone"})
    assert fork.returncode == 0 and "fork PR" in fork.stdout, fork.stdout + fork.stderr
    assert lab.branch_head(branch) == built

    moved = lab.push_branch(
        branch, lambda co: (co / "README.md").write_text("moved\n"), "meanwhile", base=branch
    )
    proc = _run(["bash", "ci/commit_back.sh"], ws, env)
    assert proc.returncode != 0
    assert f"branch {branch} moved during the build" in proc.stderr
    assert "not force-pushing" in proc.stderr
    assert lab.branch_head(branch) == moved
    assert lab.tokens[BOT_USER] not in proc.stdout + proc.stderr
    assert lab.tokens[BOT_USER] not in (ws / ".git" / "config").read_text()
    assert not re.search(r"https?://[^/\s]*@", git(ws, "remote", "-v"))
