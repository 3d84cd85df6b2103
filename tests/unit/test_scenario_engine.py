"""The scenario runner on a small fake driver: every step kind, every expectation held and
failing, build triggering, expect_failure, error reporting and cleanup."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lab.errors import ServiceError
from lab.scenarios.loader import load_text
from lab.scenarios.runner import execute
from lab.scenarios.state import ScenarioFailed

FIXTURES = Path(__file__).parent / "fixtures" / "scenarios"


def _fake_module() -> ModuleType:
    name = "scenario_fake_driver"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def driver():
    d = _fake_module().FakeDriver()
    yield d
    d.close()


def run(text: str, driver, **kw):
    scenario = load_text(Path("t.yaml"), text)
    lines: list[str] = []
    outcome = execute(scenario, driver, progress=lines.append, workdir=driver.base, **kw)
    return outcome, lines


def fails(text: str, driver) -> ScenarioFailed:
    with pytest.raises(ScenarioFailed) as info:
        run(text, driver)
    return info.value


PR_FLOW = """\
name: toy-pr
steps:
  - branch: {name: "exp-{uid}", from: main}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - edit: {file: params.yaml, set: {train.n: 5}}
  - commit: {message: "value 4 for {uid}"}
  - open_pr: {base: main, title: "try {branch}"}
  - wait_build: {for: pr, result: SUCCESS}
  - expect:
      - build_result: SUCCESS
      - branch_gained_commit: {message_contains: "Update dvc.lock", author: "{bot.email}"}
      - branch_gained_commit: {message_matches: "^Update .*\\\\[ci\\\\]$"}
      - commit_changed_files: {only: [dvc.lock, "out.*"], includes: [dvc.lock]}
      - pr_comment_contains: "| out.txt | value | 6 | 8 |"
      - pr_comment_count: 1
      - pr_comment_count: {min: 1, max: 2}
      - commit_status: {context: "fake/*", state: success}
      - remote_has_outputs: origin
      - remote_has_outputs: jenkins_local
      - log_contains: ["build PR-{pr.number} #1 of {head_sha}", committed dvc.lock back]
      - log_lacks: fake-token-123
  - wait_build: {for: pr, result: SUCCESS}
  - expect:
      - no_new_commit
      - log_contains: "HEAD is a commit-back commit"
  - pull
  - edit: {file: value.txt, replace: {old: "4", new: "5"}}
  - commit: {message: "value 5"}
  - update_pr
  - wait_build: {for: pr, result: SUCCESS}
  - expect:
      - branch_gained_commit: {message_contains: "Update dvc.lock"}
      - pr_comment_count: 2
      - pr_comment_contains: "| 8 | 10 |"
  - merge_pr
  - wait_build: {for: branch, branch: main, result: SUCCESS}
  - expect:
      - log_contains: "branch build: tests only"
      - no_new_commit
"""


def test_pr_flow_runs_every_step_kind_and_every_expectation_holds(driver) -> None:
    outcome, lines = run(PR_FLOW, driver)
    assert [s.kind for s, _, _ in outcome.steps][-3:] == ["merge_pr", "wait_build", "expect"]
    assert len(outcome.steps) == 18
    summaries = [summary for _, _, summary in outcome.steps]
    assert summaries[1] == "value.txt (1 replacement(s))"
    assert summaries[2] == "params.yaml (train.n: 3 -> 5)"
    assert summaries[4].startswith("PR #1 exp-")
    assert summaries[5].startswith("PR-1 #1 SUCCESS")
    assert summaries[7].startswith("PR-1 #2 SUCCESS")  # the commit-back build
    assert summaries[9] == f"exp-{outcome.uid}: 1 new commit(s) from the remote"
    assert summaries[13].startswith("PR-1 #3 SUCCESS")
    assert summaries[15].startswith("PR #1 into main")
    assert summaries[16].startswith("main #1 SUCCESS")
    assert lines[1] == "[1/18] branch (line 3)"
    assert driver.finished == [False]


def test_each_expectation_kind_can_fail_and_says_what_it_saw(driver) -> None:
    text = """\
name: all-wrong
steps:
  - branch: {name: "exp-{uid}"}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit: {message: change}
  - open_pr
  - wait_build: {for: pr}
  - expect:
      - build_result: FAILURE
      - branch_gained_commit: {message_contains: "nothing like this"}
      - branch_gained_commit: {author: "someone-else"}
      - commit_changed_files: {only: [dvc.lock]}
      - commit_changed_files: {includes: [params.yaml]}
      - pr_comment_contains: "| accuracy"
      - pr_comment_count: 3
      - pr_comment_count: {min: 2}
      - commit_status: {context: "fake/gate", state: failure}
      - commit_status: {context: "jenkins/*", state: success}
      - no_new_commit
      - log_contains: "never logged"
      - log_lacks: "tests passed"
"""
    failure = fails(text, driver)
    assert not failure.broken and failure.exit_code == 1
    assert failure.step is not None and failure.step.index == 6
    kinds = [f.kind for f in failure.failures]
    assert kinds == [
        "build_result",
        "branch_gained_commit",
        "branch_gained_commit",
        "commit_changed_files",
        "commit_changed_files",
        "pr_comment_contains",
        "pr_comment_count",
        "pr_comment_count",
        "commit_status",
        "commit_status",
        "no_new_commit",
        "log_contains",
        "log_lacks",
    ]
    assert [f.loc.line for f in failure.failures] == list(range(9, 22))
    seen = {f"{f.kind}@{f.loc.line}": f.seen for f in failure.failures}
    assert seen["build_result@9"] == "PR-1 #1 SUCCESS"
    assert "message differs" in seen["branch_gained_commit@10"]
    assert "author differs" in seen["branch_gained_commit@11"]
    assert "outside `only`: ['out.txt']" in seen["commit_changed_files@12"]
    assert "not changed: ['params.yaml']" in seen["commit_changed_files@13"]
    assert seen["pr_comment_count@15"] == "1"
    assert seen["commit_status@17"] == "fake/gate=success"
    assert "no status with that context (contexts: ['fake/gate'])" in seen["commit_status@18"]
    assert "1 new commit(s)" in seen["no_new_commit@19"]
    assert "missing 'never logged'" in seen["log_contains@20"]
    assert "found in 1 line(s)" in seen["log_lacks@21"]
    report = failure.report()
    assert "failed at step 6 (expect) at t.yaml:8" in report
    assert "build_result at t.yaml:9\n    expected: result FAILURE\n    seen:     PR-1 #1" in report
    assert "build log (last 40 lines):\n  | build PR-1 #1 of" in report
    assert driver.finished == [False]  # cleanup ran despite the failure


def test_remote_and_gate_failures(driver) -> None:
    text = """\
name: gate
steps:
  - branch: {name: "exp-{uid}"}
  - edit: {file: gate.txt, replace: {old: "100", new: "7"}}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit: {message: tighten}
  - open_pr
  - wait_build: {for: pr, result: FAILURE}
  - expect:
      - commit_status: {context: "fake/gate", state: success}
      - remote_has_outputs: origin
"""
    failure = fails(text, driver)
    seen = [f.seen for f in failure.failures]
    assert seen[0] == "fake/gate=failure"  # the latest status of the context counts
    assert "missing ['out.txt']" in seen[1]  # head's dvc.lock (not committed back) vs remote


def test_log_lacks_never_echoes_the_text_it_looks_for(driver) -> None:
    text = """\
name: leak
steps:
  - branch: {name: "exp-{uid}"}
  - edit: {file: params.yaml, set: {debug: true}}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit
  - open_pr
  - wait_build: {for: pr}
  - expect:
      - log_lacks: fake-token-123
"""
    failure = fails(text, driver)
    (only,) = failure.failures
    assert only.seen == "found in 1 line(s), e.g. 'debug: token=<match>'"
    assert "fake-token-123" not in only.expected + only.seen


def test_wait_build_result_mismatch_reports_the_log_tail(driver) -> None:
    text = """\
name: red
steps:
  - branch: {name: "exp-{uid}"}
  - edit: {file: value.txt, replace: {old: "3", new: "3 "}}
  - commit: {message: break}
  - push
  - wait_build: {for: branch, result: FAILURE}
"""
    failure = fails(text, driver)
    (only,) = failure.failures
    assert only.kind == "wait_build" and only.loc.line == 7
    assert only.expected == "build result FAILURE"
    assert only.seen.startswith("exp-")
    assert "SUCCESS" in only.seen
    assert "branch build: tests only" in failure.log_tail


def test_nothing_due_and_missing_pull_are_explained(driver) -> None:
    no_build = """\
name: no-build
steps:
  - branch: {name: "exp-{uid}"}
  - push
  - wait_build: {for: branch}
  - wait_build: {for: branch}
"""
    failure = fails(no_build, driver)
    assert failure.step is not None and failure.step.index == 4
    assert "no webhook would start one" in failure.failures[0].seen
    assert "since build #1" in failure.failures[0].seen

    stale = """\
name: stale
steps:
  - branch: {name: "exp-{uid}"}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit
  - open_pr
  - wait_build: {for: pr}
  - edit: {file: value.txt, replace: {old: "4", new: "5"}}
  - commit
  - update_pr
"""
    failure = fails(stale, driver)
    assert failure.step is not None and failure.step.kind == "update_pr"
    assert "add a `pull` step" in failure.failures[0].seen


def test_step_errors_name_the_step(driver) -> None:
    cases = {
        "  - edit: {file: params.yaml, set: {train.trees: 1}}\n": "no key 'train.trees'",
        "  - edit: {file: ../escape.txt, replace: {old: a, new: b}}\n": "outside the project",
        "  - edit: {file: value.txt, replace: {old: '9', new: '1'}}\n": "not found: '9'",
        "  - edit: {file: value.txt, set: {a: 1}}\n": "`set` edits YAML or JSON files",
        "  - commit\n": "nothing changed since the last commit",
        "  - branch: {name: x, from: nowhere}\n": "no such branch",
        "  - open_pr\n": "a branch other than the base",
    }
    for step, message in cases.items():
        failure = fails(f"name: err\nsteps:\n{step}", driver)
        (only,) = failure.failures
        assert only.loc.line == 3
        assert message in f"{only.expected} {only.seen}", (step, only)


def test_driver_errors_are_broken_runs_with_the_original_exit_code(driver, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise ServiceError("Gitea answered HTTP 500 on POST /pulls")

    monkeypatch.setattr(driver, "open_pr", refuse)
    text = "name: boom\nsteps:\n  - branch: {name: 'b-{uid}'}\n  - open_pr\n"
    failure = fails(text, driver)
    assert failure.broken and failure.exit_code == ServiceError.exit_code
    assert "broke at step 2 (open_pr) at t.yaml:4" in failure.report()
    assert "HTTP 500" in failure.failures[0].seen


EXPECTED_RED = """\
name: must-fail
expect_failure: {kind: build_result, contains: "result FAILURE"}
steps:
  - branch: {name: "exp-{uid}"}
  - push
  - wait_build: {for: branch}
  - expect:
      - build_result: FAILURE
"""


def test_expect_failure_passes_when_the_described_check_fails(driver) -> None:
    outcome, _ = run(EXPECTED_RED, driver)
    assert outcome.note.startswith("failed as expected at step 4 (expect)")
    assert "seen exp-" in outcome.note


def test_expect_failure_fails_when_every_check_holds_or_another_fails(driver) -> None:
    holds = EXPECTED_RED.replace("build_result: FAILURE", "build_result: SUCCESS")
    failure = fails(holds, driver)
    assert failure.failures[0].kind == "expect_failure"
    assert failure.failures[0].seen == "every check held"
    other = EXPECTED_RED.replace("build_result: FAILURE", "log_contains: nope")
    failure = fails(other, driver)
    assert [f.kind for f in failure.failures] == ["expect_failure", "log_contains"]
    assert failure.failures[0].seen == "another failure"


def test_keep_leaves_the_clone_and_unique_uids(driver) -> None:
    text = "name: keep\nsteps:\n  - branch: {name: 'b-{uid}'}\n  - push\n"
    first, lines = run(text, driver, keep=True)
    second, _ = run(text, driver)
    assert first.uid != second.uid
    assert driver.finished == [True, False]
    kept = [line for line in lines if line.startswith("kept the scenario's clone at ")]
    assert kept and Path(kept[0].split(" at ", 1)[1]).is_dir()


def test_use_credentials_switches_what_later_builds_get(driver) -> None:
    text = """\
name: creds
steps:
  - use_credentials: {DVC_Remote_Creds: invalid}
  - branch: {name: "b-{uid}"}
  - push
  - wait_build: {for: branch, result: FAILURE}
  - expect:
      - log_contains: "refused the credentials"
  - use_credentials: {DVC_Remote_Creds: valid}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit
  - push
  - wait_build: {for: branch, result: SUCCESS}
"""
    outcome, _ = run(text, driver)
    assert outcome.steps[0][2] == "DVC_Remote_Creds=invalid for the next builds"


ON_MAIN = """\
name: forgot-branch
steps:
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit
  - push
"""


def _refused(text: str, driver) -> ScenarioFailed:
    with pytest.raises(ScenarioFailed) as info:
        run(text, driver, keep=True)  # keep the fake forge to look at its main
    return info.value


def test_a_push_to_the_default_branch_is_refused_unless_the_scenario_says_so(driver) -> None:
    failure = _refused(ON_MAIN, driver)
    assert failure.broken and failure.exit_code == 2
    assert "broke at step 3 (push)" in failure.report()
    assert "would push to main, the project's default branch" in failure.failures[0].seen
    assert "push_to_default_branch: true" in failure.failures[0].seen
    assert _main_subject(driver) == "seed"  # main never moved
    assert driver.queue.pending == []  # no build was triggered

    outcome, _ = run("push_to_default_branch: true\n" + ON_MAIN, driver, keep=True)
    assert outcome.steps[-1][2].endswith("to main")
    assert _main_subject(driver).startswith("scenario forgot-branch")


def test_opening_a_pr_from_the_default_branch_does_not_push_it_either(driver) -> None:
    text = ON_MAIN.replace("  - push\n", "  - open_pr: {base: other}\n")
    failure = _refused(text, driver)
    assert failure.broken and "would push to main" in failure.failures[0].seen
    assert _main_subject(driver) == "seed"


def _main_subject(driver) -> str:
    return subprocess.run(
        ["git", "-C", str(driver.bare), "log", "-1", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_jenkins_builds_only_the_newest_commit_of_a_head(driver) -> None:
    """Two pushes before anyone waits: one build, of the second commit (as Jenkins)."""
    text = """\
name: two-pushes
steps:
  - branch: {name: "feat-{uid}"}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit: {message: first}
  - push
  - edit: {file: value.txt, replace: {old: "4", new: "5"}}
  - commit: {message: second}
  - push
  - wait_build: {for: branch, result: SUCCESS}
"""
    outcome, _ = run(text, driver)
    assert outcome.steps[-1][2].startswith(f"feat-{outcome.uid} #1 SUCCESS")
    built = [(b.job, b.number, b.commit) for b in driver.queue.history]
    assert len(built) == 1 and built[0][1] == 1
    ((older, newer),) = driver.queue.superseded.items()
    assert newer == built[0][2] and older[0].branch == f"feat-{outcome.uid}"


def test_open_pr_supersedes_a_branch_build_nobody_waited_for(driver) -> None:
    text = """\
name: push-then-pr
steps:
  - branch: {name: "exp-{uid}"}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit: {message: change}
  - push
  - open_pr
  - wait_build: {for: branch}
"""
    failure = fails(text, driver)
    assert "is the head of open PR #1: it builds as PR-1 only" in failure.failures[0].seen
    assert driver.queue.pending[0][0].pr == 1 and len(driver.queue.pending) == 1
