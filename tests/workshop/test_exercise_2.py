"""Exercise 2, precision and recall in the PR comment: the check fails on the demo as
shipped, passes once metrics.json reports them and main is reproduced and committed."""

from __future__ import annotations

import pytest

from .conftest import Lab, apply_solution, git, run_in_copy

pytestmark = pytest.mark.slow  # real pipeline builds on the local driver


def test_check_fails_on_the_unmodified_demo(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "2")[0] == 0
    code, _, err = lab_root.lab("exercise", "check", "2")
    assert code == 1, err
    assert "pr_comment_contains" in err
    assert "| precision" in err
    assert "exercise 2 is not done yet" in err


def test_check_passes_with_the_reference_solution(lab_root: Lab) -> None:
    assert lab_root.lab("exercise", "start", "2")[0] == 0
    copy = lab_root.copy(2)
    apply_solution(copy, 2)
    # As the guide says: the raw data from scikit-learn, then reproduce, then commit what
    # changed. dvc.lock and metrics.json are produced here, never written by the test.
    run_in_copy(copy, "python src/make_raw_data.py && dvc repro --quiet")
    assert '"precision"' in (copy / "metrics.json").read_text()
    git(copy, "add", "src", "tests", "dvc.lock", "metrics.json")
    git(copy, "commit", "--quiet", "-m", "Precision and recall")
    code, out, err = lab_root.lab("exercise", "check", "2")
    assert code == 0, err + out
    assert "exercise 2 passed" in out
