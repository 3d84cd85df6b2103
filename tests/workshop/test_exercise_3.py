"""Exercise 3, break the quality gate: the check fails on the demo as shipped (its gate
passes), passes once main's gate is tightened."""

from __future__ import annotations

import pytest

from .conftest import Lab, apply_solution, commit_all

pytestmark = pytest.mark.slow  # real pipeline builds on the local driver


def test_check_fails_on_the_unmodified_demo(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "3")[0] == 0
    code, _, err = lab_root.lab("exercise", "check", "3")
    assert code == 1, err
    # The experiment went green: the build result the check waits for is named.
    assert "wait_build" in err
    assert "FAILURE" in err and "SUCCESS" in err
    assert "quality gate passed" in err  # from the build log tail
    assert "exercise 3 is not done yet" in err


def test_check_passes_with_the_reference_solution(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "3")[0] == 0
    copy = lab_root.copy(3)
    apply_solution(copy, 3)
    commit_all(copy, "A stricter quality gate")
    code, out, err = lab_root.lab("exercise", "check", "3")
    assert code == 0, err + out
    assert "exercise 3 passed" in out
