"""The training steps and expectations of the scenario engine on the small fake driver
(tests/unit/fixtures/scenarios/scenario_fake_driver.py): start_build + wait_build for the
started build, index_refuses, wait_chain, use_credentials of the file credentials,
s3_prefix and artifact, each held and failing, and the loader's checks of their order."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.scenarios.loader import ScenarioError, load_text
from tests.unit.test_scenario_engine import driver, fails, run  # noqa: F401 - fixture

TRAINED = """\
name: toy-train
steps:
  - index_refuses: {requests: 2}
  - start_build: {job: main, params: {PROBLEM: iris, N: 20, DEBUG: true}}
  - wait_build: {for: started, result: SUCCESS}
  - expect:
      - log_contains: ["params: DEBUG=true, N=20, PROBLEM=iris", "Retrying", provisioned]
      - s3_prefix: {path: "iris/{build.tag}", complete: true, includes: [metrics.json]}
      - artifact: {path: out/metrics.json, contains: '"accuracy"'}
"""


def test_a_started_build_with_parameters_is_awaited_and_its_results_checked(driver) -> None:  # noqa: F811
    outcome, _lines = run(TRAINED, driver)
    assert [s.kind for s, _, _ in outcome.steps][:3] == [
        "index_refuses",
        "start_build",
        "wait_build",
    ]
    summaries = [summary for _, _, summary in outcome.steps]
    assert "the private index refuses its next 2 request(s)" in summaries[0]
    assert "PROBLEM=iris, N=20, DEBUG=true" in summaries[1]
    assert summaries[2].startswith("main #1 SUCCESS")


def test_three_refusals_exhaust_the_retries_and_the_wait_reports_the_result(driver) -> None:  # noqa: F811
    failed = fails(TRAINED.replace("requests: 2", "requests: 3"), driver)
    assert failed.failures[0].kind == "wait_build"
    assert "main #1 FAILURE" in failed.failures[0].seen


def test_s3_prefix_and_artifact_fail_with_what_was_seen(driver) -> None:  # noqa: F811
    text = """\
name: toy-aborted
steps:
  - start_build: {params: {PROBLEM: wine, SLOW: true}}
  - wait_build: {for: started, result: ABORTED}
  - expect:
      - s3_prefix: {path: "wine/{build.tag}", complete: false}
      - s3_prefix: {path: "wine/{build.tag}", complete: true, includes: [metrics.json]}
      - artifact: {path: out/metrics.json}
"""
    failed = fails(text, driver)
    kinds = [(f.kind, f.expected, f.seen) for f in failed.failures]
    assert len(kinds) == 2, kinds  # the first s3_prefix held
    prefix, artifact = kinds
    assert prefix[0] == "s3_prefix" and "a complete result and objects metrics.json" in prefix[1]
    assert "1 object(s) under s3://fake-bucket/wine/jenkins-fake-main-1: partial.csv" in prefix[2]
    assert "no marker" in prefix[2] and "missing metrics.json" in prefix[2]
    assert artifact == ("artifact", "artifact out/metrics.json of main #1", "no such artifact")


CHAIN = """\
name: toy-chain
push_to_default_branch: true
steps:
  - edit: {file: gate.txt, replace: {old: "100", new: "GATE"}}
  - commit: {message: gate, allow_empty: true}
  - push
  - wait_chain: {jobs: {preprocess: RESULT, train: RESULT, test: RESULT}}
  - expect:
      - build_result: RESULT
      - log_contains: "gate: out=6 (threshold GATE)"
      - log_contains: "chain {chain.tag}"   # the first build's tag, not the last's
      - log_lacks: "chain {build.tag}"
"""


@pytest.mark.parametrize(("gate", "result"), [("100", "SUCCESS"), ("5", "FAILURE")])
def test_a_push_to_main_runs_the_chain_and_the_last_job_is_the_build_checked(
    driver,  # noqa: F811
    gate: str,
    result: str,
) -> None:
    outcome, _ = run(CHAIN.replace("GATE", gate).replace("RESULT", result), driver)
    summary = next(s for step, _, s in outcome.steps if step.kind == "wait_chain")
    assert summary == (
        f"chain/preprocess #1 {result} -> chain/train #1 {result} -> chain/test #1 {result}"
    )


def test_a_chain_that_differs_names_every_job_and_what_it_ended(driver) -> None:  # noqa: F811
    failed = fails(CHAIN.replace("GATE", "5").replace("RESULT", "SUCCESS"), driver)
    first = failed.failures[0]
    assert first.kind == "wait_chain"
    assert first.expected == "chain preprocess SUCCESS, train SUCCESS, test SUCCESS"
    assert "(preprocess FAILURE; train FAILURE; test FAILURE)" in first.seen


def test_wait_chain_without_a_push_to_main_says_nothing_started_it(driver) -> None:  # noqa: F811
    text = "name: t\nsteps:\n  - wait_chain: {jobs: {test: SUCCESS}}\n"
    failed = fails(text, driver)
    assert (
        "nothing was pushed to main, so no webhook would start the chain" in failed.failures[0].seen
    )


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ("  - wait_build: {for: started}\n", "needs a start_build step before it"),
        (
            "  - start_build: {}\n  - wait_build: {for: started}\n  - wait_build: {for: started}\n",
            "step 3 (wait_build): needs a start_build step before it",
        ),
        ("  - index_refuses: 2\n", "index_refuses"),
        ("  - use_credentials: {s3-credentials: invalid}\n", "s3-credentials"),
        ("  - start_build: {job: main, params: {A: [1]}}\n", "params"),
        ("  - wait_chain: {jobs: {test: GREEN}}\n", "GREEN"),
    ],
)
def test_the_loader_refuses_misuse_of_the_training_steps(steps: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_text(Path("t.yaml"), "name: t\nsteps:\n" + steps)
    assert problem in str(err.value)


def test_the_file_credentials_may_be_made_missing_and_expectations_need_a_build() -> None:
    ok = load_text(Path("t.yaml"), "name: t\nsteps:\n  - use_credentials: {pip-conf: missing}\n")
    assert ok.steps[0].args == {"pip-conf": "missing"}
    with pytest.raises(ScenarioError, match="add a wait_build step before it"):
        load_text(
            Path("t.yaml"), "name: t\nsteps:\n  - expect:\n      - artifact: {path: a.json}\n"
        )
