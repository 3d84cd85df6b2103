"""`lab scenario list` and `lab scenario run NAME... [--driver] [--project] [--keep]`."""

from __future__ import annotations

import argparse
import sys
import time

from lab.config import LabConfig
from lab.errors import CheckFailed, ConfigError, PrerequisiteMissing
from lab.report import Reporter
from lab.scenarios.model import Scenario


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scenario",
        help="list or run scenarios (scenarios/*.yaml)",
        description="Scenarios are YAML files under scenarios/: what a user does to a lab "
        "project and what the pipeline must do in return (see scenarios/README.md).",
    )
    sub = parser.add_subparsers(dest="scenario_command", metavar="SUBCOMMAND")
    sub.required = True

    lister = sub.add_parser("list", help="list the scenarios with their drivers and marks")
    lister.set_defaults(handler=_list)

    runner = sub.add_parser("run", help="run scenarios by name, step by step, with timings")
    runner.add_argument("names", nargs="+", metavar="NAME", help="scenario name or file stem")
    runner.add_argument(
        "--driver",
        default="stack",
        help="stack (the running lab, default), local (no Docker) or module:Class",
    )
    runner.add_argument("--project", default=None, help="run against this lab project instead")
    runner.add_argument(
        "--keep",
        action="store_true",
        help="keep the clone, branches and pull requests the scenario creates",
    )
    runner.set_defaults(handler=_run)


def _list(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.scenarios import loader

    loaded = loader.load_all(cfg.scenarios_dir)
    if not loaded:
        print(f"no scenarios in {cfg.scenarios_dir}")
        return 0
    width = max(
        len(result.name if isinstance(result, Scenario) else path.name) for path, result in loaded
    )
    invalid = []
    for path, result in loaded:
        if not isinstance(result, Scenario):
            invalid.append(path.name)
            first, *rest = str(result.message).splitlines()
            print(f"{path.name:<{width}}  INVALID    {first}")
            for line in rest:
                print(f"{'':<{width}}             {line.strip()}")
            continue
        s = result
        tags = ",".join(s.drivers)
        marks = f" [{', '.join(s.marks)}]" if s.marks else ""
        summary = s.description.strip().splitlines()[0] if s.description.strip() else ""
        print(f"{s.name:<{width}}  {tags:<11}{marks}  {summary}".rstrip())
    if invalid:
        raise ConfigError(
            f"{len(invalid)} of {len(loaded)} scenario file(s) are invalid: {', '.join(invalid)}",
            hint="the format is described in scenarios/README.md",
        )
    return 0


def _run(args: argparse.Namespace, cfg: LabConfig) -> int:
    from lab.scenarios import loader
    from lab.scenarios.driver import DriverUnavailable
    from lab.scenarios.drivers import make_driver
    from lab.scenarios.runner import execute, with_project
    from lab.scenarios.state import ScenarioFailed

    scenarios = [with_project(s, args.project) for s in loader.find(cfg.scenarios_dir, args.names)]
    driver = make_driver(args.driver)
    try:
        driver.sanity_check()
    except DriverUnavailable as exc:
        raise PrerequisiteMissing(f"driver {args.driver} cannot run: {exc}") from None
    out = Reporter()
    failed: list[str] = []
    skipped = 0
    begun = time.monotonic()
    try:
        for scenario in scenarios:
            if driver.kind not in scenario.drivers:
                out.note(f"skip {scenario.name}: it runs on {', '.join(scenario.drivers)} only")
                skipped += 1
                continue
            try:
                with out.phase(f"scenario {scenario.name} ({scenario.path.name}, {driver.name})"):
                    outcome = execute(scenario, driver, progress=out.note, keep=args.keep)
                    if outcome.note:
                        out.note(outcome.note)
            except ScenarioFailed as exc:
                if exc.broken:  # an error, not a failed check: stop here (exit code kept)
                    raise
                print(exc.report(), file=sys.stderr)
                failed.append(scenario.name)
    finally:
        driver.close()
    total = time.monotonic() - begun
    if failed:
        raise CheckFailed(
            f"{len(failed)} of {len(scenarios)} scenario(s) failed: {', '.join(failed)}"
        )
    ran = len(scenarios) - skipped
    print(f"{ran} scenario(s) passed, {skipped} skipped, in {total:.1f}s")
    return 0
