"""Exercise 4, fix a commit-back loop: the check fails on the starting point (the loop the
starter patch introduces), passes once the bot's own commits are skipped again."""

from __future__ import annotations

import pytest

from .conftest import Lab, apply_solution, commit_all, git

pytestmark = pytest.mark.slow  # real pipeline builds on the local driver


def test_check_fails_on_the_starting_point(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "4")[0] == 0
    assert "exercise 4: starting point" in git(lab_root.copy(4), "log", "--format=%s")
    code, _, err = lab_root.lab("exercise", "check", "4")
    assert code == 1, err
    # The build of the commit-back commit committed again: the loop.
    assert "no_new_commit" in err
    assert "1 new commit(s)" in err and "Update dvc.lock" in err
    assert "exercise 4 is not done yet" in err


def test_check_passes_with_the_reference_solution(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "4")[0] == 0
    copy = lab_root.copy(4)
    apply_solution(copy, 4)
    commit_all(copy, "Skip the bot's own commits again")
    code, out, err = lab_root.lab("exercise", "check", "4")
    assert code == 0, err + out
    assert "exercise 4 passed" in out
