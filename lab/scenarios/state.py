"""What a scenario run knows as it goes, and how a failed check is described."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.errors import CheckFailed
from lab.scenarios.driver import Build, Driver, PullRequest, Target
from lab.scenarios.gitrepo import GitRepo
from lab.scenarios.model import Location, Scenario, Step

LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class Failure:
    """One check that did not hold: which, where, what was expected and what was seen."""

    kind: str
    loc: Location
    expected: str
    seen: str

    def describe(self) -> str:
        return (
            f"{self.kind} at {self.loc}\n    expected: {self.expected}\n    seen:     {self.seen}"
        )


class StepFailed(Exception):
    """Raised by a step function: the step could not do what the scenario asked."""

    def __init__(self, expected: str, seen: str) -> None:
        super().__init__(f"expected {expected}; seen {seen}")
        self.expected = expected
        self.seen = seen


class ScenarioFailed(CheckFailed):
    """A scenario did not behave as written. ``broken`` marks errors (not failed checks)."""

    def __init__(
        self,
        scenario: Scenario,
        step: Step | None,
        failures: list[Failure],
        *,
        log_tail: str = "",
        build: Build | None = None,
        broken: bool = False,
        exit_code: int = 1,
        note: str = "",
    ) -> None:
        self.scenario = scenario
        self.step = step
        self.failures = failures
        self.log_tail = log_tail
        self.build = build
        self.broken = broken
        self.note = note
        self.exit_code = exit_code
        super().__init__(self.report())

    def report(self) -> str:
        lines = [f"scenario {self.scenario.name} ({self.scenario.path})"]
        if self.note:
            lines.append(self.note)
        if self.step is not None:
            what = "broke at" if self.broken else "failed at"
            lines.append(f"{what} {self.step.label()}")
        lines += [f"  {f.describe()}" for f in self.failures]
        if self.build is not None:
            b = self.build
            lines.append(
                f"last build: {b.job} #{b.number} {b.result} on {b.commit[:10]}"
                + (f" {b.url}" if b.url else "")
            )
        if self.log_tail:
            lines.append(f"build log (last {LOG_TAIL_LINES} lines):")
            lines += [f"  | {line}" for line in self.log_tail.splitlines()]
        return "\n".join(lines)

    def matches(self, kind: str | None, contains: str | None) -> bool:
        """Whether one of the failed checks is of ``kind`` and mentions ``contains``."""
        if self.broken:
            return False
        for f in self.failures:
            text = f"{f.expected}\n{f.seen}"
            if (kind is None or f.kind == kind) and (contains is None or contains in text):
                return True
        return False


def tail(text: str, n: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-n:])


@dataclass
class Run:
    """The state of one scenario run, shared by step and expectation functions."""

    scenario: Scenario
    driver: Driver
    uid: str
    repo: GitRepo
    names: dict[str, Any]
    # The branch the clone started on: the remote's HEAD, the project's default branch.
    default_branch: str = "main"
    pr: PullRequest | None = None
    pr_open: bool = False
    build: Build | None = None
    target: Target | None = None
    # The commit whose build each target is due to run next (what the webhook triggers).
    due: dict[Target, str] = field(default_factory=dict)
    timings: list[tuple[Step, float]] = field(default_factory=list)
    # The branch job the last start_build started (its build not awaited yet).
    started: str | None = None

    def pr_target(self) -> Target | None:
        return Target(self.pr.head, self.pr.number) if self.pr else None

    def note_push(self, branch: str, commit: str) -> None:
        """A change reached ``branch``: the open PR on it, else the branch, is due a build
        (the seed job discovers branches that are also PRs as PR-N only)."""
        pr = self.pr_target()
        if pr is not None and self.pr_open and pr.branch == branch:
            self.due[pr] = commit
            self.due.pop(Target(branch), None)
        else:
            self.due[Target(branch)] = commit
