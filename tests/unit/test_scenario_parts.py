"""Small parts of the scenario engine: placeholders, file edits, DVC lock reading,
credentials switching and the build queue's trigger rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.errors import CheckFailed
from lab.scenarios import edits, template
from lab.scenarios.driver import Build, Target
from lab.scenarios.drivers.queue import BuildQueue
from lab.scenarios.expectations import lock_outputs, object_key, remote_url, uncached_outputs


def test_placeholders_render_names_and_keep_other_braces() -> None:
    names = {"uid": "ab12", "pr.number": 7, "branch": "exp-ab12"}
    assert template.render("exp-{uid}", names) == "exp-ab12"
    assert template.render({"k": ["#{pr.number} on {branch}"]}, names) == {"k": ["#7 on exp-ab12"]}
    assert template.render("literal {{uid}} and {not a name} {}", names) == (
        "literal {uid} and {not a name} {}"
    )
    assert template.render(60, names) == 60
    with pytest.raises(template.UnknownPlaceholder, match=r"unknown placeholder \{pr.title\}"):
        template.render("{pr.title}", names)
    assert sorted(template.names_in({"a": "{uid}-{build.number}", "b": ["{{x}}"]})) == [
        "build.number",
        "uid",
    ]


def test_set_keeps_yaml_comments_and_order(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(
        "# top comment\nseed: 42\ntrain:\n  n_estimators: 30  # trees\n  max_depth: 4\n"
    )
    old = edits.set_keys(tmp_path, "params.yaml", {"train.n_estimators": 60, "seed": 1})
    assert old == {"train.n_estimators": 30, "seed": 42}
    assert (tmp_path / "params.yaml").read_text() == (
        "# top comment\nseed: 1\ntrain:\n  n_estimators: 60  # trees\n  max_depth: 4\n"
    )


def test_set_json_and_errors(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps({"a": {"b": 1}}))
    edits.set_keys(tmp_path, "m.json", {"a.b": 2})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": {"b": 2}}
    with pytest.raises(edits.EditError, match=r"m.json: no key 'a.c' \('c' not under a; keys: b\)"):
        edits.set_keys(tmp_path, "m.json", {"a.c": 1})
    with pytest.raises(edits.EditError, match="no such file"):
        edits.set_keys(tmp_path, "missing.yaml", {"a": 1})


def test_replace_counts(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("x = 1\ny = 1\n")
    with pytest.raises(edits.EditError, match="expected 1 occurrence"):
        edits.replace_text(tmp_path, "t.py", "1", "2", count=1)
    assert edits.replace_text(tmp_path, "t.py", "1", "2") == 2
    assert (tmp_path / "t.py").read_text() == "x = 2\ny = 2\n"


def test_dvc_lock_outputs_skip_uncached_files() -> None:
    dvc_yaml = (
        "stages:\n  evaluate:\n    cmd: x\n    outs: [model.pkl]\n"
        "    metrics:\n      - metrics.json:\n          cache: false\n"
        "    plots:\n      - plots/c.csv:\n          x: a\n"
    )
    lock = (
        "schema: '2.0'\nstages:\n  evaluate:\n    cmd: x\n    outs:\n"
        "    - {path: model.pkl, md5: aa11, size: 1}\n"
        "    - {path: metrics.json, md5: bb22, size: 1}\n"
        "    - {path: plots/c.csv, md5: cc33, size: 1}\n"
        "    - {path: data, md5: dd44.dir, size: 1}\n"
    )
    assert uncached_outputs(dvc_yaml) == {"metrics.json"}
    assert lock_outputs(lock, uncached_outputs(dvc_yaml)) == {
        "model.pkl": "aa11",
        "plots/c.csv": "cc33",
        "data": "dd44.dir",
    }
    assert object_key("dd44.dir") == "files/md5/dd/44.dir"


def test_remote_url_reads_dvc_config() -> None:
    config = (
        "[core]\n    remote = origin\n['remote \"origin\"']\n    url = s3://b/p\n"
        "['remote \"jenkins_local\"']\n    url = /extras/c\n"
    )
    assert remote_url(config, "origin") == "s3://b/p"
    assert remote_url(config, "jenkins_local") == "/extras/c"
    assert remote_url(config, "other") is None


def test_queue_builds_pr_branches_as_pr_only_and_follows_commit_back() -> None:
    queue = BuildQueue()
    heads = {"exp": "c1"}
    ran: list[tuple[str, str]] = []

    def build(target: Target, commit: str, number: int) -> Build:
        ran.append((target.job, commit))
        if target.pr is not None and commit == "c1":
            heads["exp"] = "c2"  # the pipeline commits back
        return Build(target.job, number, "SUCCESS", commit, "")

    queue.pushed("exp", "c1")  # before the PR exists: a branch build...
    queue.pr_opened(1, "exp", "c1")  # ...that the PR supersedes, nobody having waited
    assert queue.pending == [(Target("exp", 1), "c1")]
    first = queue.wait(Target("exp", 1), "c1", build, heads.get)
    assert (first.job, first.number) == ("PR-1", 1)
    # The commit-back queued the next PR build (not a branch build: the branch is a PR).
    assert queue.pending == [(Target("exp", 1), "c2")]
    second = queue.wait(Target("exp", 1), "c2", build, heads.get)
    assert second.number == 2
    assert ran == [("PR-1", "c1"), ("PR-1", "c2")]
    with pytest.raises(CheckFailed, match="no build of c3 was triggered for PR-1"):
        queue.wait(Target("exp", 1), "c3", build, heads.get)


def test_queue_builds_only_the_newest_commit_of_a_head() -> None:
    """Jenkins folds schedules of a queued job and builds the head's tip: a commit
    superseded before its build started is never built, and waiting for it says so."""
    queue = BuildQueue()
    ran: list[str] = []

    def build(target: Target, commit: str, number: int) -> Build:
        ran.append(commit)
        return Build(target.job, number, "SUCCESS", commit, "")

    queue.pushed("feat", "c1")
    queue.pushed("feat", "c2")
    queue.pushed("other", "o1")
    assert queue.pending == [(Target("feat"), "c2"), (Target("other"), "o1")]
    with pytest.raises(CheckFailed, match="no build of c1 will run for branch feat: c2 superseded"):
        queue.wait(Target("feat"), "c1", build, {"feat": "c2"}.get)
    assert ran == []
    newest = queue.wait(Target("feat"), "c2", build, {"feat": "c2"}.get)
    assert (newest.number, ran) == (1, ["c2"])
    # A commit that was built is not "superseded" by a later push.
    queue.pushed("feat", "c3")
    assert queue.wait(Target("feat"), "c3", build, {"feat": "c3"}.get).number == 2
