"""`lab exercise list/start/check` without builds: copies, idempotence, errors, and the
checks made before any build (a Jenkinsfile the local driver cannot run, a stale dvc.lock)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from lab import registry, workshop

from .conftest import REPO_ROOT, Lab, apply_solution, commit_all, git

DEMO = REPO_ROOT / "projects" / "cd4ml-demo"
TRAIN = REPO_ROOT / "projects" / "cd4ml-train"
GUIDE = REPO_ROOT / "docs" / "workshop.md"


def _snapshot(path: Path) -> dict[str, str]:
    """Every file under ``path`` (ignored ones too) with its digest, and git's view of it."""
    files = {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--", "."],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {**files, "<git status>": status}


def test_start_creates_one_copy_per_exercise_idempotently_and_never_touches_the_demo(
    lab_root: Lab,
) -> None:
    before = _snapshot(DEMO)
    code, out, err = lab_root.lab("exercise", "start", "4")
    assert code == 0, err
    copy = lab_root.copy(4)
    assert f"your copy:    {copy}" in out
    assert "docs/workshop.md#exercise-4-" in out
    # A git repository with the demo's files, the starter committed on top, nothing pending.
    assert (copy / "Jenkinsfile").read_bytes() == (DEMO / "Jenkinsfile").read_bytes()
    subjects = git(copy, "log", "--format=%s").splitlines()
    assert subjects == ["exercise 4: starting point", "cd4ml-demo: workshop copy for exercise 4"]
    assert "build-info.json" in (copy / "ci" / "commit_back.sh").read_text()
    assert git(copy, "status", "--porcelain") == ""
    assert registry.load(lab_root.cfg)["workshop-4"].source == copy.resolve()
    head = git(copy, "rev-parse", "HEAD")

    (copy / "notes.txt").write_text("attendee's work in progress\n")
    code, out, _ = lab_root.lab("exercise", "start", "4")
    assert code == 0
    assert "already started" in out
    assert git(copy, "rev-parse", "HEAD") == head
    assert (copy / "notes.txt").is_file()  # an attendee's work is never lost by a start
    assert _snapshot(DEMO) == before


def test_start_reset_keeps_the_previous_copy_aside(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "3")[0] == 0
    copy = lab_root.copy(3)
    apply_solution(copy, 3)
    commit_all(copy, "my gate")
    code, out, _ = lab_root.lab("exercise", "start", "3", "--reset")
    assert code == 0
    (previous,) = re.findall(r"moved your previous copy to (\S+)", out)
    assert Path(previous).name.startswith("exercise-3.previous-")
    assert "my gate" in git(Path(previous), "log", "--format=%s")
    assert "my gate" not in git(copy, "log", "--format=%s")
    assert "metric: accuracy" in (copy / "params.yaml").read_text()

    # A second reset, within the same second even, keeps the first saved copy too.
    (copy / "notes.txt").write_text("second try\n")
    commit_all(copy, "second try")
    code, out, _ = lab_root.lab("exercise", "start", "3", "--reset")
    assert code == 0
    (second,) = re.findall(r"moved your previous copy to (\S+)", out)
    assert second != previous
    assert "my gate" in git(Path(previous), "log", "--format=%s")
    assert "second try" in git(Path(second), "log", "--format=%s")
    kept = sorted(p.name for p in copy.parent.iterdir() if ".previous" in p.name)
    assert kept == sorted([Path(previous).name, Path(second).name])


@pytest.mark.parametrize("command", ["start", "check"])
def test_an_unknown_exercise_is_a_clear_usage_error(lab_root: Lab, command: str) -> None:
    code, _, err = lab_root.lab("exercise", command, "9")
    assert code == 2
    assert "no exercise 9" in err
    assert "exercises: 1, 2, 3, 4, 5" in err


def test_check_before_start_says_how_to_start(lab_root: Lab) -> None:
    code, _, err = lab_root.lab("exercise", "check", "2")
    assert code == 2
    assert "exercise 2 is not started" in err
    assert "lab exercise start 2" in err


def test_check_refuses_a_jenkinsfile_the_local_driver_cannot_run(lab_root: Lab) -> None:
    """A `script { }` block runs in Jenkins only: the local driver says where, before any
    build, instead of skipping it."""
    assert lab_root.lab("exercise", "start", "1")[0] == 0
    copy = lab_root.copy(1)
    script = "                script { currentBuild.description = 'x' }"
    _edit(copy / "Jenkinsfile", "sh 'ci/lint.sh'\n", f"sh 'ci/lint.sh'\n{script}\n")
    line = (copy / "Jenkinsfile").read_text().splitlines().index(script)
    code, _, err = lab_root.lab("exercise", "check", "1")
    assert code == 1
    assert "stage 'Lint': needs the stack driver: script" in err
    assert f"Jenkinsfile:{line + 1}" in err
    assert "no build was run" in err


def test_check_refuses_a_stale_dvc_lock_on_main(lab_root: Lab) -> None:
    """Exercise 2 done without `dvc repro`: main would not reproduce as committed."""
    assert lab_root.lab("exercise", "start", "2")[0] == 0
    copy = lab_root.copy(2)
    apply_solution(copy, 2)
    commit_all(copy, "precision and recall, no repro")
    code, _, err = lab_root.lab("exercise", "check", "2")
    assert code == 1
    assert "stage evaluate: src/cd4ml_demo/model.py changed since dvc.lock" in err
    assert "dvc repro" in err


def test_list_shows_every_exercise_with_its_goal_and_copy(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "2")[0] == 0
    code, out, _ = lab_root.lab("exercise", "list")
    assert code == 0
    assert re.findall(r"^(\d)\. ", out, re.M) == ["1", "2", "3", "4", "5"]
    assert "1. Add a stage:" in out
    assert "5. Add an evaluation job to the chain:" in out
    assert f"copy: {lab_root.copy(2)}" in out
    assert out.count("not started") == 4


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_exercise_points_at_its_section_of_the_guide(lab_root: Lab) -> None:
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", GUIDE.read_text(), re.M)}
    for exercise in workshop.list_exercises(lab_root.cfg):
        assert exercise.anchor in anchors, f"{GUIDE} has no heading for {exercise.guide}"
        assert exercise.starter is None or exercise.number in (4, 5)


def test_exercise_5_copies_the_training_project_and_is_checked_locally_only(
    lab_root: Lab,
) -> None:
    code, out, _ = lab_root.lab("exercise", "start", "5")
    assert code == 0
    assert f"from {lab_root.root / 'projects' / 'cd4ml-train'}" in out
    assert "lab exercise check 5\n" in out  # no `--driver stack` offered
    copy = lab_root.copy(5)
    subjects = git(copy, "log", "--format=%s").splitlines()
    assert subjects == ["exercise 5: starting point", "cd4ml-train: workshop copy for exercise 5"]
    # the starting point: the chain's jobs start their downstream jobs in the copy's folder
    train = (copy / "jobs" / "train.Jenkinsfile").read_text()
    assert '"/${env.LAB_ORG}/workshop-5-chain/test"' in train
    assert workshop.stage_problems(copy) == []
    # refused before anything is pushed: the lab's seed job makes no chain of a copy
    code, _, err = lab_root.lab("exercise", "check", "5", "--driver", "stack")
    assert code == 1
    assert "exercise 5 is checked on the local driver only, not on stack" in err


# ---- the checks made before any build, on plain copies ------------------------------


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    from lab.projects import export_project

    export_project(DEMO, tmp_path / "copy")
    return tmp_path / "copy"


def test_the_shipped_demo_passes_the_checks_made_before_a_build(demo_copy: Path) -> None:
    assert workshop.stage_problems(demo_copy) == []
    assert workshop.lock_problems(demo_copy) == []


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_stage_problems_name_the_chain_job_file_and_line(tmp_path: Path) -> None:
    from lab.projects import export_project

    copy = tmp_path / "copy"
    export_project(TRAIN, copy)
    assert workshop.stage_problems(copy) == []
    _edit(copy / "jobs" / "test.Jenkinsfile", "    stages {\n", "    stages {{\n")
    problems = workshop.stage_problems(copy)
    assert len(problems) == 1 and problems[0].startswith("jobs/test.Jenkinsfile:"), problems


def test_stage_problems_name_the_line_of_a_broken_jenkinsfile(demo_copy: Path) -> None:
    jenkinsfile = demo_copy / "Jenkinsfile"
    _edit(jenkinsfile, "        stage('Lint') {\n", "        stage('Lint') {{\n")
    problems = workshop.stage_problems(demo_copy)
    assert len(problems) == 1 and problems[0].startswith("Jenkinsfile:"), problems
    # on the stack driver Jenkins runs what the local driver cannot, but not a broken file
    assert workshop.stage_problems(demo_copy, local=False) == problems


def test_lock_problems_name_the_stage_and_what_changed(demo_copy: Path) -> None:
    _edit(demo_copy / "params.yaml", "n_estimators: 30", "n_estimators: 31")
    _edit(demo_copy / "src" / "prepare.py", '"""Stage prepare', '"""The stage prepare')
    problems = workshop.lock_problems(demo_copy)
    assert "stage prepare: src/prepare.py changed since dvc.lock" in problems
    assert "stage train: params.yaml:train.n_estimators changed since dvc.lock" in problems
    assert not any(p.startswith("stage evaluate") for p in problems)


def test_check_on_the_stack_without_a_lab_says_how_to_start_it(
    lab_root: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{lab_root.root}/no-docker.sock")
    assert lab_root.lab("exercise", "start", "1")[0] == 0
    code, _, err = lab_root.lab("exercise", "check", "1", "--driver", "stack")
    assert code == 3
    assert "driver stack cannot run" in err
    assert "make lab-up" in err


def test_start_with_a_state_directory_that_cannot_be_written_is_a_usage_error(
    lab_root: Lab,
) -> None:
    # `.lab` as a file fails like a read-only one, whoever runs the test (root too)
    (lab_root.root / ".lab").write_text("")
    code, out, err = lab_root.lab("exercise", "start", "1")
    assert code == 2
    assert err.startswith("lab exercise: error: cannot use ")
    assert ".lab" in err.splitlines()[0]
    assert "Traceback" not in out + err
