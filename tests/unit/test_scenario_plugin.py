"""The pytest plugin and the `lab scenario` command, run on the fake driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import build_parser
from lab.config import LabConfig
from lab.errors import CheckFailed, ConfigError, PrerequisiteMissing

pytest_plugins = ["pytester"]

FIXTURES = Path(__file__).parent / "fixtures" / "scenarios"
FAKE = "--lab-driver=scenario_fake_driver:FakeDriver"

GREEN = """\
name: green
marks: [pr, commit_back]
steps:
  - branch: {name: "exp-{uid}"}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit: {message: change}
  - open_pr
  - wait_build: {for: pr, result: SUCCESS}
  - expect:
      - branch_gained_commit: {message_contains: "Update dvc.lock"}
"""

RED = """\
name: red
description: the gate blocks
steps:
  - branch: {name: "exp-{uid}"}
  - edit: {file: value.txt, replace: {old: "3", new: "4"}}
  - commit: {message: change}
  - open_pr
  - wait_build: {for: pr}
  - expect:
      - log_contains: "this text is not in the log"
"""

STACK_ONLY = """\
name: stack-only
drivers: [stack]
steps:
  - push
"""


@pytest.fixture
def lab_dir(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.syspath_prepend(str(FIXTURES))
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    (pytester.path / "scenarios").mkdir()
    return pytester


def write(pytester: pytest.Pytester, name: str, text: str) -> Path:
    path = pytester.path / "scenarios" / name
    path.write_text(text)
    return path


def test_collects_one_item_per_scenario_file_and_nothing_else(lab_dir) -> None:
    write(lab_dir, "green.yaml", GREEN)
    write(lab_dir, "settings.yaml", "key: value\n")  # other YAML is not collected
    (lab_dir.path / "elsewhere").mkdir()
    (lab_dir.path / "elsewhere" / "g.yaml").write_text(GREEN)  # not a scenario dir
    result = lab_dir.runpytest("--collect-only", "-q", FAKE)
    result.stdout.fnmatch_lines(["scenarios/green.yaml::green", "1 test collected*"])


def test_passing_and_failing_scenarios_with_a_readable_report(lab_dir) -> None:
    write(lab_dir, "green.yaml", GREEN)
    red = write(lab_dir, "red.yaml", RED)
    result = lab_dir.runpytest(FAKE, "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"scenario red ({red})",
            f"failed at step 6 (expect) at {red}:9",
            f"  log_contains at {red}:10",
            "    expected: the build log to contain 'this text is not in the log'",
            "    seen:     missing 'this text is not in the log'",
            "last build: PR-1 #1 SUCCESS on *",
            "build log (last 40 lines):",
            "  | build PR-1 #1 of *",
            "*Captured scenario steps call*",
            "[1/6] branch (line 4)",
        ]
    )


def test_marks_select_scenarios(lab_dir) -> None:
    write(lab_dir, "green.yaml", GREEN)
    write(lab_dir, "red.yaml", RED)
    result = lab_dir.runpytest(FAKE, "-m", "commit_back")
    result.assert_outcomes(passed=1, deselected=1)
    result = lab_dir.runpytest(FAKE, "-m", "scenario and not pr", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["scenarios/red.yaml::red"])


def test_unregistered_mark_and_invalid_file_are_collection_errors_with_lines(lab_dir) -> None:
    write(lab_dir, "typo.yaml", GREEN.replace("[pr, commit_back]", "[pr, comit_back]"))
    bad = write(lab_dir, "bad.yaml", "name: bad\nsteps:\n  - push\n  - frobnicate: {}\n")
    result = lab_dir.runpytest(FAKE)
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    assert f"{bad}:4: step 2: unknown step kind 'frobnicate'" in out
    assert "marks ['comit_back'] are not registered" in out


def test_driver_restrictions_and_unavailable_drivers_skip_with_the_reason(
    lab_dir, monkeypatch
) -> None:
    write(lab_dir, "stack.yaml", STACK_ONLY)
    result = lab_dir.runpytest(FAKE, "-rs")
    result.assert_outcomes(skipped=1)
    assert "declares drivers ['stack']; driver fake stands for local" in result.stdout.str()
    write(lab_dir, "green.yaml", GREEN)
    monkeypatch.setenv("FAKE_DRIVER_UNAVAILABLE", "1")
    result = lab_dir.runpytest(FAKE, "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*cannot run here: fake driver disabled by*"])


def test_builtin_driver_name_filters_before_starting_anything(lab_dir) -> None:
    write(lab_dir, "stack.yaml", STACK_ONLY)
    result = lab_dir.runpytest("--lab-driver=local", "-rs")
    result.assert_outcomes(skipped=1)
    assert "declares drivers ['stack']; this run uses --lab-driver=local" in result.stdout.str()


def test_unknown_driver_name_is_an_error(lab_dir) -> None:
    write(lab_dir, "green.yaml", GREEN)
    result = lab_dir.runpytest("--lab-driver=cloud")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown scenario driver 'cloud'*"])


# ---- `lab scenario` --------------------------------------------------------


def cli(argv: list[str], root: Path) -> int:
    """`lab ARGV` through the real CLI's parser; errors raised, not turned into exit codes."""
    args = build_parser().parse_args(argv)
    return args.handler(args, LabConfig.load(root=root, env={}))


def test_cli_lists_and_runs_scenarios(lab_dir, capsys) -> None:
    write(lab_dir, "green.yaml", GREEN)
    write(lab_dir, "red.yaml", RED)
    write(lab_dir, "stack.yaml", STACK_ONLY)
    assert cli(["scenario", "list"], lab_dir.path) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["green", "local,stack", "[pr,", "commit_back]"]
    assert out[1].split() == ["red", "local,stack", "the", "gate", "blocks"]
    assert out[2].split() == ["stack-only", "stack"]

    driver = "--driver=scenario_fake_driver:FakeDriver"
    assert cli(["scenario", "run", "green", "stack", driver], lab_dir.path) == 0
    out = capsys.readouterr().out
    assert "==> scenario green (green.yaml, fake)" in out
    assert "    [1/6] branch (line 4)" in out
    assert "skip stack-only: it runs on stack only" in out
    assert "1 scenario(s) passed, 1 skipped" in out

    with pytest.raises(CheckFailed, match="1 of 2 scenario\\(s\\) failed: red"):
        cli(["scenario", "run", "red", "green", driver], lab_dir.path)
    captured = capsys.readouterr()
    assert "failed at step 6 (expect)" in captured.err
    assert "==> scenario green" in captured.out  # a failure does not stop the others


def test_cli_errors(lab_dir, monkeypatch) -> None:
    write(lab_dir, "green.yaml", GREEN)
    with pytest.raises(ConfigError, match="no scenario named nope"):
        cli(["scenario", "run", "nope", "--driver=local"], lab_dir.path)
    monkeypatch.setenv("FAKE_DRIVER_UNAVAILABLE", "1")
    with pytest.raises(PrerequisiteMissing, match="fake driver disabled"):
        cli(["scenario", "run", "green", "--driver=scenario_fake_driver:FakeDriver"], lab_dir.path)
