"""Scenario files: schema errors name file, line and step; order and placeholders checked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from lab.scenarios import loader
from lab.scenarios.loader import ScenarioError, load, load_text, looks_like_scenario

FIXTURES = Path(__file__).parent / "fixtures" / "scenarios"
SHIPPED = Path(__file__).resolve().parents[2] / "scenarios"


def problems(name: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load(FIXTURES / name)
    return info.value.problems


def test_minimal_scenario_loads_with_defaults_and_lines() -> None:
    scenario = load(FIXTURES / "valid_minimal.yaml")
    assert scenario.name == "valid-minimal"
    assert scenario.project == "cd4ml-demo"
    assert scenario.drivers == ("local", "stack")
    assert [s.kind for s in scenario.steps] == ["branch", "push", "wait_build", "expect"]
    assert [s.loc.line for s in scenario.steps] == [3, 4, 5, 6]
    assert scenario.steps[1].args == {}  # a bare step has no arguments
    expect = scenario.steps[3]
    assert [(e.kind, e.arg, e.loc.line) for e in expect.expectations] == [
        ("no_new_commit", True, 7),
        ("log_contains", ["tests passed", "branch build"], 8),
    ]


def test_every_schema_problem_is_reported_with_its_line_and_step() -> None:
    path = FIXTURES / "invalid_many.yaml"
    found = problems("invalid_many.yaml")
    assert all(p.startswith(f"{path}:") for p in found)
    text = "\n".join(found)
    assert f"{path}:7: step 2 (edit): unknown key 'sett' (allowed: file, replace, set)" in text
    # Bad indentation is reported once, not as a cascade.
    assert sum(":8: step 3" in p for p in found) == 1
    assert "exactly one key, the step kind; found edit, file" in text
    assert f"{path}:10: step 4: unknown step kind 'pus'" in text
    assert f"{path}:11: step 5: unknown step kind 'frobnicate'" in text
    assert f"{path}:12: step 6 (wait_build) result: 'GREEN' is not one of" in text
    assert f"{path}:14: step 7 (expect), expectation 1: unknown expectation kind 'nope'" in text
    assert f"{path}:15: step 7 (expect), expectation 2 (commit_changed_files):" in text
    assert "needs `only` or `includes`" in text
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)


def test_order_and_placeholder_mistakes_are_reported_with_lines() -> None:
    path = FIXTURES / "invalid_flow.yaml"
    text = "\n".join(problems("invalid_flow.yaml"))
    assert f"{path}:4: step 1 (expect): expectations check a build" in text
    assert f"{path}:6: step 2 (update_pr): needs an open_pr step before it" in text
    assert f"{path}:7: step 3 (commit): unknown placeholder {{pr.number}}" in text
    assert f"{path}:8: step 4 (wait_build): needs an open_pr step before it" in text
    # Captured values become available after the step that captures them.
    assert "{head_sha}" not in text
    assert "{build.commit}" not in text


def test_yaml_syntax_and_duplicate_keys_name_the_line() -> None:
    (syntax,) = problems("invalid_syntax.yaml")
    assert syntax.startswith(f"{FIXTURES / 'invalid_syntax.yaml'}:4: YAML syntax")
    (dup,) = problems("invalid_duplicate.yaml")
    assert dup == f"{FIXTURES / 'invalid_duplicate.yaml'}:4: duplicate key 'name' (first at line 1)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("- push\n", "a scenario is a mapping"),
        ("name: x\n", "'steps' is required"),
        ("name: x\nsteps: []\n", "should be non-empty"),
        ("name: Bad Name\nsteps: [push]\n", "does not match"),
        ("name: x\ndrivers: [cloud]\nsteps: [push]\n", "'cloud' is not one of"),
        ("name: x\nfoo: 1\nsteps: [push]\n", "top level: unknown key 'foo'"),
        ("name: x\nsteps: [branch]\n", "step 'branch' needs arguments"),
        ("name: x\nsteps:\n  - push: {force: true}\n", "unknown key 'force'"),
        (
            "name: x\nsteps:\n  - edit: {file: a, set: {k: 1}, replace: {old: a, new: b}}\n",
            "edit needs exactly one of `set` or `replace`",
        ),
        ("name: x\nexpect_failure: {kind: typo}\nsteps: [push]\n", "'typo' is not one of"),
        (
            "name: x\nsteps:\n  - wait_build: {for: branch}\n"
            "  - expect: [{branch_gained_commit: {message_matches: '(x'}}]\n",
            "expectation 1 (branch_gained_commit) message_matches: '(x' is not a 'regex'",
        ),
    ],
)
def test_invalid_shapes(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(Path("s.yaml"), text)
    assert message in str(info.value)
    assert "s.yaml:" in str(info.value)


def test_expect_failure_is_loaded() -> None:
    text = (
        "name: x\nexpect_failure: {kind: build_result, contains: SUCCESS}\n"
        "steps:\n  - push\n  - wait_build: {for: branch}\n"
        "  - expect: [{build_result: FAILURE}]\n"
    )
    scenario = load_text(Path("s.yaml"), text)
    assert scenario.expect_failure is not None
    assert (scenario.expect_failure.kind, scenario.expect_failure.contains) == (
        "build_result",
        "SUCCESS",
    )
    assert scenario.expect_failure.loc.line == 2


def test_scenario_shape_detection() -> None:
    assert looks_like_scenario(FIXTURES / "valid_minimal.yaml")
    assert not looks_like_scenario(FIXTURES / "not_a_scenario.yaml")
    # A broken file with a top-level `steps:` is still a scenario, so its error shows.
    assert looks_like_scenario(FIXTURES / "invalid_syntax.yaml")


def test_find_by_name_or_stem_and_unknown_names(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("name: first\nsteps: [push]\n")
    (tmp_path / "other.yaml").write_text("a: 1\n")
    assert [s.name for s in loader.find(tmp_path, ["first", "one"])] == ["first", "first"]
    with pytest.raises(Exception, match="no scenario named nope") as info:
        loader.find(tmp_path, ["nope"])
    assert "known scenarios: first" in str(info.value)


def _shipped() -> list[Path]:
    return loader.discover(SHIPPED)


def test_shipped_scenarios_validate_against_the_published_schema() -> None:
    files = _shipped()
    assert len(files) >= 7
    validator = jsonschema.Draft202012Validator(loader.schema())
    for path in files:
        data = yaml.safe_load(path.read_text())
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], f"{path}: {errors}"
        load(path)  # and pass the order/placeholder checks


def test_shipped_scenarios_cover_the_documented_cases() -> None:
    scenarios = [load(p) for p in _shipped()]
    kinds = {s.kind for sc in scenarios for s in sc.steps}
    expectations = {e.kind for sc in scenarios for s in sc.steps for e in s.expectations}
    assert {"branch", "edit", "commit", "push", "open_pr", "update_pr", "wait_build"} <= kinds
    assert {
        "build_result",
        "branch_gained_commit",
        "commit_changed_files",
        "pr_comment_contains",
        "commit_status",
        "remote_has_outputs",
        "no_new_commit",
        "log_contains",
    } <= expectations
    assert any(sc.expect_failure for sc in scenarios)
    assert len({sc.name for sc in scenarios}) == len(scenarios)


def test_schema_file_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(loader.schema())
    assert json.loads((Path(loader.__file__).parent / "schema.json").read_text()) == loader.schema()


BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(99 + i)}: &{chr(99 + i)} [{','.join(['*' + chr(98 + i if i else 97)] * 9)}]\n"
        for i in range(8)
    )
    + "name: x\nsteps: [push]\n"
)


def _timed_problem(path: Path) -> str:
    started = time.monotonic()
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert time.monotonic() - started < 5, "the loader must refuse fast"
    assert looks_like_scenario(path)  # reported, never silently skipped
    return str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (BILLION_LAUGHS.encode(), "YAML aliases"),
        # few aliases, each doubling: the expanded size is what is bounded
        (
            (
                "a0: &a0 [x, x]\n"
                + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 30))
                + "name: x\nsteps: [push]\n"
            ).encode(),
            "expand it past",
        ),
        (b"name: x\nsteps: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested more than 32"),
        (b"name: x\nsteps: [push]\n" + b"# padding\n" * 10_000, "a scenario file is at most"),
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"name: caf\xe9\nsteps: [push]\n", "not a text file (byte 0xe9 at line 1"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
    ],
    ids=["billion-laughs", "doubling-aliases", "deep", "huge", "empty", "blank", "latin1", "png"],
)
def test_hostile_or_broken_files_fail_fast_with_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    text = _timed_problem(path)
    assert text.startswith(f"{path}: invalid scenario")
    assert message in text


def test_a_few_aliases_are_still_fine(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        "name: ok\nsteps:\n  - branch: &b {name: 'b-{uid}'}\n  - push\n"
        "  - wait_build: {for: branch}\n  - expect: &e [no_new_commit]\n"
    )
    assert load(path).name == "ok"


def test_one_broken_file_does_not_stop_the_others(tmp_path, monkeypatch, capsys):
    from lab.cli import main

    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "good.yaml").write_text("name: good\nsteps: [push]\n")
    (scenarios / "laughs.yaml").write_text(BILLION_LAUGHS)
    (scenarios / "empty.yaml").write_text("")
    (scenarios / "latin1.yaml").write_bytes(b"name: caf\xe9\nsteps: [push]\n")
    assert [s.name for s in loader.find(scenarios, ["good"])] == ["good"]
    with pytest.raises(ScenarioError, match="YAML aliases"):
        loader.find(scenarios, ["laughs"])  # asked for by name: its own error
    with pytest.raises(Exception, match="no scenario named nope") as info:
        loader.find(scenarios, ["nope"])
    assert "invalid files: empty, latin1, laughs" in str(info.value)

    monkeypatch.setenv("LAB_HOME", str(tmp_path))
    assert main(["scenario", "list"]) == 2
    captured = capsys.readouterr()
    rows = {line.split()[0]: line for line in captured.out.splitlines() if line[:1] != " "}
    assert set(rows) == {"good", "laughs.yaml", "empty.yaml", "latin1.yaml"}
    assert "INVALID" in rows["laughs.yaml"] and "INVALID" in rows["empty.yaml"]
    assert "YAML aliases" in captured.out and "not a text file" in captured.out
    assert "3 of 4 scenario file(s) are invalid" in captured.err
