"""pytest plugin: each scenario file under ``scenarios/`` is one test item.

Options: ``--lab-driver=local|stack|module:Class`` (default local, or ini ``lab_driver``),
``--lab-keep`` (keep clones, branches and PRs for debugging). Files are collected from
the directories in ini ``lab_scenario_dirs`` (default ``scenarios``), or when named on
the command line, and only when they have the scenario shape (``name`` and ``steps``).
Loaded for every pytest run in the venv (entry point ``pytest11``), so imports stay lazy.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from lab.scenarios.driver import Driver
    from lab.scenarios.model import Scenario

# Marks a scenario may carry (plus any registered elsewhere, e.g. `slow`).
SCENARIO_MARKS = {
    "scenario": "a lab scenario file (added to every scenario item)",
    "pr": "the scenario opens a pull request",
    "commit_back": "the pipeline commits dvc.lock back to the PR branch",
    "quality_gate": "exercises the pull-request quality gate",
    "push": "a push to a branch (no pull request)",
    "credentials": "exercises the pipeline's credentials handling",
    "expect_failure": "the scenario proves a check can fail",
    "train": "the training project (cd4ml-train): parametrized builds and chained jobs",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lab-scenarios", "cd4ml-lab scenarios")
    group.addoption(
        "--lab-driver",
        default=None,
        help="driver for scenario files: local (default), stack, or module:Class",
    )
    group.addoption(
        "--lab-keep",
        action="store_true",
        default=False,
        help="keep what scenarios create (clones, branches, PRs) to debug them",
    )
    parser.addini("lab_driver", "default scenario driver", default="local")
    parser.addini(
        "lab_scenario_dirs",
        "directories (relative to rootdir) whose YAML files are scenarios",
        type="linelist",
        default=["scenarios"],
    )


class _Session:
    """One driver per pytest session, created on first use, closed at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.name: str = config.getoption("--lab-driver") or config.getini("lab_driver")
        self.keep: bool = config.getoption("--lab-keep")
        self._driver: Driver | None = None
        self._unavailable: str | None = None
        self._checked = False

    def driver(self) -> tuple[Driver | None, str | None]:
        if not self._checked:
            self._checked = True
            from lab.scenarios.driver import DriverUnavailable
            from lab.scenarios.drivers import make_driver

            self._driver = make_driver(self.name)
            try:
                self._driver.sanity_check()
            except DriverUnavailable as exc:
                self._unavailable = f"--lab-driver={self.name} cannot run here: {exc}"
        return self._driver, self._unavailable

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()


_SESSION = pytest.StashKey[_Session]()


def pytest_configure(config: pytest.Config) -> None:
    for name, text in SCENARIO_MARKS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    session = _Session(config)
    config.stash[_SESSION] = session
    config.add_cleanup(session.close)


def _registered_marks(config: pytest.Config) -> set[str]:
    names = set()
    for line in config.getini("markers"):
        names.add(line.split(":", 1)[0].split("(", 1)[0].strip())
    return names


def _in_scenario_dirs(path: Path, config: pytest.Config) -> bool:
    for entry in config.getini("lab_scenario_dirs"):
        directory = (config.rootpath / entry).resolve()
        if path.resolve().parent == directory:
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    config = parent.config
    if not (parent.session.isinitpath(file_path) or _in_scenario_dirs(file_path, config)):
        return None
    from lab.scenarios.loader import looks_like_scenario

    if not looks_like_scenario(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    def collect(self) -> Any:
        from lab.errors import LabError
        from lab.scenarios.loader import load

        try:
            scenario = load(self.path)
        except LabError as exc:
            raise self.CollectError(str(exc)) from None
        known = _registered_marks(self.config)
        unknown = [m for m in scenario.marks if m not in known]
        if unknown:
            raise self.CollectError(
                f"{self.path}: marks {unknown} are not registered "
                f"(known: {', '.join(sorted(known))}); register them in pytest's `markers`"
            )
        item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        item.add_marker("scenario")
        for mark in scenario.marks:
            item.add_marker(mark)
        yield item


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.progress_lines: list[str] = []

    def _progress(self, line: str) -> None:
        self.progress_lines.append(line)

    def runtest(self) -> None:
        from lab.scenarios.runner import execute

        session = self.config.stash[_SESSION]
        if session.name in ("local", "stack") and session.name not in self.scenario.drivers:
            pytest.skip(
                f"scenario {self.scenario.name} declares drivers {list(self.scenario.drivers)}; "
                f"this run uses --lab-driver={session.name}"
            )
        driver, unavailable = session.driver()
        if unavailable or driver is None:
            pytest.skip(unavailable or "no driver")
        if driver.kind not in self.scenario.drivers:
            pytest.skip(
                f"scenario {self.scenario.name} declares drivers {list(self.scenario.drivers)}; "
                f"driver {driver.name} stands for {driver.kind}"
            )
        started = time.monotonic()
        try:
            outcome = execute(self.scenario, driver, progress=self._progress, keep=session.keep)
        finally:
            self.progress_lines.append(f"scenario took {time.monotonic() - started:.1f}s")
            self.add_report_section("call", "scenario steps", "\n".join(self.progress_lines))
        if outcome.note:
            self.user_properties.append(("expected_failure", outcome.note))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from lab.errors import LabError

        if isinstance(excinfo.value, LabError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario: {self.scenario.name}"
