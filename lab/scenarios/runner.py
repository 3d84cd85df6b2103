"""Run one scenario on a driver: steps in order, checks evaluated, everything cleaned up."""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError
from lab.scenarios import template
from lab.scenarios.driver import Driver, Identity, Progress
from lab.scenarios.expectations import EXPECTATIONS
from lab.scenarios.gitrepo import GitRepo
from lab.scenarios.model import Scenario, Step
from lab.scenarios.state import Failure, Run, ScenarioFailed, StepFailed, tail
from lab.scenarios.steps import STEPS

# Who the scenario's own commits are by: never the bot, whose commits the pipeline skips.
SCENARIO_AUTHOR = Identity("Lab Scenario", "scenario@lab.invalid")


def new_uid() -> str:
    """A short id, unique per run, safe in branch names and PR titles."""
    return secrets.token_hex(4)


@dataclass
class Outcome:
    scenario: Scenario
    uid: str
    seconds: float
    steps: list[tuple[Step, float, str]]
    note: str = ""
    kept: Path | None = None


def _fail(
    run: Run, step: Step, failures: list[Failure], *, broken: bool = False, exit_code: int = 1
) -> ScenarioFailed:
    log = tail(run.build.log) if run.build else ""
    return ScenarioFailed(
        run.scenario,
        step,
        failures,
        log_tail=log,
        build=run.build,
        broken=broken,
        exit_code=exit_code,
    )


def _run_step(run: Run, step: Step, progress: Progress) -> str:
    if step.kind == "expect":
        failures = []
        broken: LabError | None = None
        for exp in step.expectations:
            arg = template.render(exp.arg, run.names)
            try:
                check = EXPECTATIONS[exp.kind](run, arg)
            except LookupError as exc:
                failures.append(Failure(exp.kind, exp.loc, exp.describe(), str(exc)))
                continue
            except LabError as exc:
                failures.append(Failure(exp.kind, exp.loc, "the check to run", str(exc)))
                broken = broken or exc
                continue
            if not check.ok:
                failures.append(Failure(exp.kind, exp.loc, check.expected, check.seen))
        if broken is not None:
            raise _fail(run, step, failures, broken=True, exit_code=broken.exit_code)
        if failures:
            raise _fail(run, step, failures)
        return f"{len(step.expectations)} expectation(s) held"
    args = template.render(step.args, run.names)
    try:
        return STEPS[step.kind](run, args, progress)
    except StepFailed as exc:
        raise _fail(run, step, [Failure(step.kind, step.loc, exc.expected, exc.seen)]) from None
    except LabError as exc:
        raise _fail(
            run,
            step,
            [Failure(step.kind, step.loc, "the step to complete", str(exc))],
            broken=True,
            exit_code=exc.exit_code,
        ) from None


def execute(
    scenario: Scenario,
    driver: Driver,
    *,
    progress: Progress,
    keep: bool = False,
    uid: str | None = None,
    workdir: Path | None = None,
) -> Outcome:
    """Run every step; raise :class:`ScenarioFailed` when a step or check does not hold.

    ``expect_failure`` scenarios are judged here: they pass only when a check fails as
    the scenario describes.
    """
    uid = uid or new_uid()
    begun = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix=f"lab-scenario-{scenario.name[:40]}-{uid}-", dir=workdir))
    done: list[tuple[Step, float, str]] = []
    try:
        driver.start(scenario.project, uid, progress)
        bot = driver.bot()
        repo = GitRepo.clone(base / scenario.project, driver.remote(), SCENARIO_AUTHOR)
        names: dict[str, object] = {
            "uid": uid,
            "project": scenario.project,
            "driver": driver.name,
            "bot.user": bot.name,
            "bot.email": bot.email,
            "branch": repo.current_branch(),
        }
        run = Run(scenario, driver, uid, repo, names, default_branch=str(names["branch"]))
        total = len(scenario.steps)
        failed: ScenarioFailed | None = None
        for step in scenario.steps:
            progress(f"[{step.index}/{total}] {step.kind} (line {step.loc.line})")
            started = time.monotonic()
            try:
                summary = _run_step(run, step, progress)
            except ScenarioFailed as exc:
                progress(f"      FAILED after {time.monotonic() - started:.1f}s")
                failed = exc
                break
            took = time.monotonic() - started
            done.append((step, took, summary))
            progress(f"      {summary} ({took:.1f}s)")
        outcome = Outcome(scenario, uid, time.monotonic() - begun, done)
        _judge(scenario, failed, outcome)
        return outcome
    finally:
        driver.finish(keep, progress)
        if keep:
            progress(f"kept the scenario's clone at {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


def _judge(scenario: Scenario, failed: ScenarioFailed | None, outcome: Outcome) -> None:
    wanted = scenario.expect_failure
    if wanted is None:
        if failed is not None:
            raise failed
        return
    described = " ".join(
        part
        for part in (
            f"a {wanted.kind} check" if wanted.kind else "a check",
            f"mentioning {wanted.contains!r}" if wanted.contains else "",
        )
        if part
    )
    if failed is None:
        raise ScenarioFailed(
            scenario,
            None,
            [Failure("expect_failure", wanted.loc, f"{described} to fail", "every check held")],
        )
    if not failed.matches(wanted.kind, wanted.contains):
        raise ScenarioFailed(
            scenario,
            failed.step,
            [
                Failure("expect_failure", wanted.loc, f"{described} to fail", "another failure"),
                *failed.failures,
            ],
            log_tail=failed.log_tail,
            build=failed.build,
            broken=failed.broken,
            exit_code=failed.exit_code,
        )
    first = failed.failures[0]
    outcome.note = (
        f"failed as expected at {failed.step.label() if failed.step else '?'}: "
        f"{first.kind}: expected {first.expected}; seen {first.seen}"
    )


def with_project(scenario: Scenario, project: str | None) -> Scenario:
    return dataclasses.replace(scenario, project=project) if project else scenario
