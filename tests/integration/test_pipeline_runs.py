"""The demo project's pipeline run for real (git over HTTP, DVC, S3 stand-in, the
local forge's Gitea API) with the environment Jenkins gives branch and PR builds."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import BOT_EMAIL, BUCKET, OWNER, REPO, Lab, git

MARKER = "<!-- cd4ml-lab:dvc-metrics-report -->"
CHECKS = ["Unit tests", "Lint", "DVC credentials", "Sync remotes"]
# The demo's own unit tests and lint: run by the branch build above and by the
# scenarios; the PR builds below are about DVC, the comment and the commit-back, so the
# local driver skips them there (stage selection), saving ~3 s of CPU per build.
OWN_CHECKS = ("Unit tests", "Lint")


def set_params(**changes: Any):
    """An edit of params.yaml: dotted keys to new values."""

    def edit(checkout: Path) -> None:
        path = checkout / "params.yaml"
        data = yaml.safe_load(path.read_text())
        for dotted, value in changes.items():
            node = data
            *parents, leaf = dotted.split(".")
            for key in parents:
                node = node[key]
            node[leaf] = value
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    return edit


def describe(run: Any) -> str:
    lines = [f"result={run.result}"]
    for stage in run.stages:
        state = "skipped" if stage.skipped else f"rc={stage.returncode}"
        lines.append(f"--- {stage.name} ({state})\n{stage.output[-1500:]}")
    return "\n".join(lines)


def stage(run: Any, name: str) -> Any:
    return next(s for s in run.stages if s.name == name)


def not_run(run: Any, name: str) -> bool:
    """After a failure the runner, like Jenkins, skips (or leaves out) later stages."""
    found = [s for s in run.stages if s.name == name]
    return not found or found[0].skipped or found[0].returncode is None


def ran(run: Any) -> list[str]:
    return [s.name for s in run.stages if not s.skipped]


def our_comments(lab: Lab, number: int) -> list[dict]:
    return [c for c in lab.forge.comments(OWNER, REPO, number) if MARKER in c["body"]]


def lock_outs(lock_text: str) -> dict[str, str]:
    """path -> md5 of every cached output in a dvc.lock (metrics.json is in git)."""
    lock = yaml.safe_load(lock_text)
    return {
        out["path"]: out["md5"]
        for st in lock["stages"].values()
        for out in st.get("outs", [])
        if out["path"] != "metrics.json"
    }


def show(lab: Lab, rev: str, path: str) -> str:
    git(lab.dev_checkout, "fetch", "--quiet", "origin", env=lab.dev_env())
    return git(lab.dev_checkout, "show", f"{rev}:{path}")


# -- case 1 ----------------------------------------------------------------------------


def test_push_to_main_runs_checks_and_sync_only(lab: Lab, tmp_path: Path):
    before = lab.branch_head("main")
    lab.s3.reset_counters()
    run = lab.build_branch("main", tmp_path / "extras")
    assert run.result == "SUCCESS", describe(run)
    assert ran(run) == CHECKS, describe(run)
    assert lab.branch_head("main") == before, "a branch build must not commit"
    # cold /extras: main's data came from origin and now sits in the workspace
    assert lab.s3.object_gets(BUCKET) > 0
    lock = (Path(run.workspace) / "dvc.lock").read_text()
    for path, md5 in lock_outs(lock).items():
        assert hashlib.md5((Path(run.workspace) / path).read_bytes()).hexdigest() == md5, path


# -- cases 2, 3 and 7: one PR, built twice ---------------------------------------------


@dataclass
class PrHistory:
    number: int
    branch: str
    head: str
    extras: Path
    first: Any
    first_gets: int
    comments_after_first: list[dict]
    commit_back: str
    second: Any
    second_gets: int


@pytest.fixture(scope="module")
def param_pr(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> PrHistory:
    branch = lab.unique("exp-shallow")
    head = lab.push_branch(
        branch, set_params(**{"train.max_depth": 2, "train.n_estimators": 8}), "shallower trees"
    )
    number = lab.open_pr(branch, "Try shallower trees")
    extras = tmp_path_factory.mktemp("extras-pr")
    lab.s3.reset_counters()
    first = lab.build_pr(number, branch, extras, skip_stages=OWN_CHECKS)
    first_gets = lab.s3.object_gets(BUCKET)
    comments = our_comments(lab, number)
    commit_back = lab.branch_head(branch)
    lab.s3.reset_counters()
    second = lab.build_pr(number, branch, extras, skip_stages=OWN_CHECKS)
    second_gets = lab.s3.object_gets(BUCKET)
    return PrHistory(
        number, branch, head, extras, first, first_gets, comments, commit_back, second, second_gets
    )


def test_pr_build_reproduces_pushes_comments_and_commits_back(lab: Lab, param_pr: PrHistory):
    run = param_pr.first
    assert run.result == "SUCCESS", describe(run)
    assert ran(run) == [s.name for s in run.stages if s.name not in OWN_CHECKS], describe(run)
    assert "Running stage 'train'" in stage(run, "Reproduce").output

    # the commit-back commit: the bot's, on top of the PR head, dvc.lock + metrics only
    new = param_pr.commit_back
    assert new != param_pr.head, describe(run)
    co = lab.dev_checkout
    git(co, "fetch", "--quiet", "origin", env=lab.dev_env())
    assert git(co, "rev-parse", f"{new}^") == param_pr.head
    assert git(co, "log", "-1", "--format=%ae", new) == BOT_EMAIL
    changed = set(git(co, "diff", "--name-only", param_pr.head, new).split())
    assert "dvc.lock" in changed and changed <= {"dvc.lock", "metrics.json"}, changed

    # every output of the new dvc.lock is in both remotes
    outs = lock_outs(show(lab, new, "dvc.lock"))
    keys = set(lab.s3.object_keys(BUCKET))
    for path, md5 in outs.items():
        suffix = f"files/md5/{md5[:2]}/{md5[2:]}"
        assert any(k.endswith(suffix) for k in keys), f"{path} ({md5}) not in s3://{BUCKET}"
        assert (param_pr.extras / "files" / "md5" / md5[:2] / md5[2:]).is_file(), path

    # one comment holding the metrics diff: every metric that moved, old and new value
    assert len(param_pr.comments_after_first) == 1
    body = param_pr.comments_after_first[0]["body"]
    old = json.loads(show(lab, "origin/main", "metrics.json"))
    new_metrics = json.loads(show(lab, new, "metrics.json"))
    moved = [k for k in old if old[k] != new_metrics[k]]
    assert moved, "the parameter change should move at least one metric"
    for name in moved:
        row = next((line for line in body.splitlines() if f"| {name} " in line), "")
        assert str(old[name]) in row and str(new_metrics[name]) in row, (name, body)
    assert "train.max_depth" in body

    statuses = lab.forge.statuses(OWNER, REPO, param_pr.head)
    ours = [s for s in statuses if s["context"] == "dvc/metrics"]
    assert ours and ours[-1]["state"] == "success", statuses


def test_second_build_updates_the_same_comment(lab: Lab, param_pr: PrHistory):
    assert param_pr.second.result == "SUCCESS", describe(param_pr.second)
    now = our_comments(lab, param_pr.number)
    assert len(now) == 1, now
    assert now[0]["id"] == param_pr.comments_after_first[0]["id"]
    assert param_pr.commit_back[:12] in now[0]["body"], "comment not updated by the second build"


def test_build_of_the_commit_back_commit_makes_no_new_commit(lab: Lab, param_pr: PrHistory):
    run = param_pr.second
    assert run.result == "SUCCESS", describe(run)
    assert lab.branch_head(param_pr.branch) == param_pr.commit_back
    assert "Running stage" not in stage(run, "Reproduce").output
    assert "no loop" in stage(run, "Commit back").output


def test_warm_cache_fetches_nothing_from_origin(lab: Lab, param_pr: PrHistory, tmp_path: Path):
    assert param_pr.first_gets > 0, "the first build should have started cold"
    assert param_pr.second_gets == 0, describe(param_pr.second)
    assert "origin not contacted" in stage(param_pr.second, "Sync remotes").output

    # a clean clone of the PR branch gets everything the PR produced from origin alone
    clone = tmp_path / "clean"
    git(
        tmp_path,
        "clone",
        "--quiet",
        "-b",
        param_pr.branch,
        lab.clone_url,
        str(clone),
        env=lab.dev_env(),
    )
    env = {
        **lab.base_env(tmp_path / "unused"),
        "AWS_ACCESS_KEY_ID": lab.dvc_creds[0],
        "AWS_SECRET_ACCESS_KEY": lab.dvc_creds[1],
    }
    for cmd in (
        ["dvc", "remote", "modify", "--local", "origin", "endpointurl", lab.s3.endpoint_url],
        ["dvc", "pull", "-r", "origin"],
    ):
        proc = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for path, md5 in lock_outs((clone / "dvc.lock").read_text()).items():
        assert hashlib.md5((clone / path).read_bytes()).hexdigest() == md5, path


def test_token_never_appears_in_logs_urls_or_git_config(lab: Lab, param_pr: PrHistory):
    secrets = [lab.tokens["cd4ml-bot"], lab.dvc_creds[1]]
    for run in (param_pr.first, param_pr.second):
        texts = [run.log, *(s.output for s in run.stages)]
        texts.append((Path(run.workspace) / ".git" / "config").read_text())
        dvc_local = Path(run.workspace) / ".dvc" / "config.local"
        if dvc_local.exists():
            texts.append(dvc_local.read_text())
        for secret in secrets:
            assert not any(secret in t for t in texts), "a secret leaked into the build"
    urls = [
        str(getattr(r, "url", None) or (r.get("url") if isinstance(r, dict) else r))
        for r in lab.forge.requests
    ]
    assert urls and not any(s in u for u in urls for s in secrets)


# -- case 4 ----------------------------------------------------------------------------


def test_pr_without_pipeline_change_does_no_repro_and_no_commit(lab: Lab, tmp_path: Path):
    def touch_readme(co: Path) -> None:
        with (co / "README.md").open("a") as fh:
            fh.write("\nA note that changes no pipeline input.\n")

    branch = lab.unique("docs")
    head = lab.push_branch(branch, touch_readme, "docs: a note")
    number = lab.open_pr(branch, "Docs only")
    run = lab.build_pr(number, branch, tmp_path / "extras", skip_stages=OWN_CHECKS)
    assert run.result == "SUCCESS", describe(run)
    assert "Running stage" not in stage(run, "Reproduce").output
    assert "dvc.lock unchanged" in stage(run, "Commit back").output
    assert lab.branch_head(branch) == head


# -- case 5 ----------------------------------------------------------------------------


def test_quality_gate_below_threshold_fails_and_commits_nothing(lab: Lab, tmp_path: Path):
    branch = lab.unique("exp-stump")
    edit = set_params(**{"train.n_estimators": 1, "train.max_depth": 1, "quality_gate.min": 0.99})
    head = lab.push_branch(branch, edit, "a single stump, strict gate")
    number = lab.open_pr(branch, "Stump")
    run = lab.build_pr(number, branch, tmp_path / "extras", skip_stages=OWN_CHECKS)
    assert run.result == "FAILURE", describe(run)
    gate = stage(run, "Quality gate")
    assert gate.returncode != 0 and "quality gate failed: accuracy" in gate.output, describe(run)
    assert "Running stage 'train'" in stage(run, "Reproduce").output  # dvc.lock did change
    assert not_run(run, "Commit back")
    assert lab.branch_head(branch) == head
    statuses = lab.forge.statuses(OWNER, REPO, head)
    assert [s["state"] for s in statuses if s["context"] == "dvc/metrics"][-1:] == ["failure"]


# -- case 6 ----------------------------------------------------------------------------


def test_wrong_dvc_credentials_fail_naming_the_remote(lab: Lab, tmp_path: Path):
    branch = lab.unique("exp-badcreds")
    head = lab.push_branch(branch, set_params(**{"train.n_estimators": 12}), "12 trees")
    number = lab.open_pr(branch, "Bad credentials")
    wrong = (lab.dvc_creds[0], "wrong")
    run = lab.build_pr(number, branch, tmp_path / "extras", wrong, skip_stages=OWN_CHECKS)
    assert run.result == "FAILURE", describe(run)
    creds = stage(run, "DVC credentials")
    assert creds.returncode != 0 and "DVC remote 'origin'" in creds.output, describe(run)
    assert "refused the credentials" in creds.output
    for later in ("Sync remotes", "Reproduce", "Push outputs", "Commit back"):
        assert not_run(run, later), describe(run)
    assert lab.branch_head(branch) == head
