"""Exercise 1, add a stage: the check fails on the demo as shipped, passes with the
"Data checks" stage in the Jenkinsfile (the one pipeline description)."""

from __future__ import annotations

import pytest

from .conftest import Lab, apply_solution, commit_all

pytestmark = pytest.mark.slow  # real pipeline builds on the local driver


def test_check_fails_on_the_unmodified_demo(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "1")[0] == 0
    code, _, err = lab_root.lab("exercise", "check", "1")
    assert code == 1, err
    # The build is green (nothing is broken), but the stage the exercise asks for is missing.
    assert "log_contains" in err
    assert "[ci] data checks passed: 569 rows" in err
    assert "last build: ex1-" in err and "SUCCESS" in err
    assert "exercise 1 is not done yet" in err


def test_check_passes_with_the_reference_solution(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "1")[0] == 0
    copy = lab_root.copy(1)
    apply_solution(copy, 1)
    commit_all(copy, "Data checks stage")
    code, out, err = lab_root.lab("exercise", "check", "1")
    assert code == 0, err + out
    assert "exercise 1 passed" in out
