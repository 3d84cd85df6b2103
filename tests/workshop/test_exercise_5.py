"""Exercise 5, add an evaluation job to the chain: the check fails on the starting point (a
copy of cd4ml-train whose chain is preprocess -> train -> test), passes once train starts
a new evaluate job that stores the report test gates on."""

from __future__ import annotations

import pytest

from .conftest import Lab, apply_solution, commit_all, git

pytestmark = pytest.mark.slow  # real chain builds on the local driver


def test_check_fails_on_the_starting_point(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "5")[0] == 0
    copy = lab_root.copy(5)
    assert "cd4ml-train: workshop copy for exercise 5" in git(copy, "log", "--format=%s")
    assert (copy / "jobs" / "train.Jenkinsfile").is_file()
    code, _, err = lab_root.lab("exercise", "check", "5")
    assert code == 1, err
    # The chain ran green without the job the exercise adds.
    assert "chain preprocess SUCCESS, train SUCCESS, evaluate SUCCESS, test SUCCESS" in err
    assert "evaluate did not run" in err
    assert "exercise 5 is not done yet" in err


def test_check_passes_with_the_reference_solution(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "5")[0] == 0
    copy = lab_root.copy(5)
    apply_solution(copy, 5)
    commit_all(copy, "An evaluate job between train and test; test gates on its report")
    code, out, err = lab_root.lab("exercise", "check", "5")
    assert code == 0, err + out
    assert "exercise 5 passed" in out
