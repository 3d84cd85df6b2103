"""The scenario model: what the loader produces and the runner executes (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Step kinds, in the order the README documents them.
STEP_KINDS = (
    "branch",
    "edit",
    "commit",
    "pull",
    "push",
    "open_pr",
    "update_pr",
    "merge_pr",
    "use_credentials",
    "index_refuses",
    "start_build",
    "wait_build",
    "wait_chain",
    "expect",
)
# Step kinds that take no arguments may be written bare (`- push`).
BARE_STEPS = ("commit", "pull", "push", "open_pr", "update_pr", "merge_pr")

EXPECTATION_KINDS = (
    "build_result",
    "branch_gained_commit",
    "commit_changed_files",
    "pr_comment_contains",
    "pr_comment_count",
    "commit_status",
    "remote_has_outputs",
    "no_new_commit",
    "log_contains",
    "log_lacks",
    "s3_prefix",
    "artifact",
)
BARE_EXPECTATIONS = ("no_new_commit",)

DRIVERS = ("local", "stack")
DEFAULT_PROJECT = "cd4ml-demo"


@dataclass(frozen=True)
class Location:
    """Where something was written: a file and a 1-based line."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Expectation:
    kind: str
    arg: Any
    loc: Location

    def describe(self) -> str:
        return f"{self.kind}: {self.arg!r}" if self.arg not in (None, True) else self.kind


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, as shown to users
    kind: str
    args: dict[str, Any]
    loc: Location
    expectations: tuple[Expectation, ...] = ()

    def label(self) -> str:
        return f"step {self.index} ({self.kind}) at {self.loc}"


@dataclass(frozen=True)
class ExpectFailure:
    """A scenario that must fail: which check fails and what its message says."""

    kind: str | None
    contains: str | None
    loc: Location


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    project: str = DEFAULT_PROJECT
    description: str = ""
    marks: tuple[str, ...] = ()
    drivers: tuple[str, ...] = DRIVERS
    steps: tuple[Step, ...] = ()
    expect_failure: ExpectFailure | None = None
    # Pushes to the project's default branch (main) are refused unless this is set.
    push_to_default_branch: bool = False
    line: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def loc(self) -> Location:
        return Location(self.path, self.line)
