"""The workshop: numbered exercises on the lab's projects, each checked by a scenario.

Layout:

- ``exercises/exercise-N.yaml``: the checking scenario (scenario format, project
  ``workshop-N``). Kept out of ``scenarios/``: it fails on the unmodified project by design.
  Its description starts with ``Title: goal.``, shown by ``lab exercise list``.
- ``exercises/starters/exercise-N.patch``: optional starting point (``git apply``),
  committed as "exercise N: starting point".
- ``.lab/workshop/exercise-N/``: the attendee's own copy, a git repository holding the
  files of the exercise's project (:data:`COPY_OF`: the demo unless named), registered
  as the added project ``workshop-N`` (``.lab/projects.json``).
  One copy per exercise, so exercises are independent: exercise 3 makes every
  experiment fail its gate, which would break the checks of exercises 2 and 4 on a
  shared copy, and an instructor may run any subset in any order.

The shipped projects themselves are only ever read.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lab import registry
from lab.config import LabConfig
from lab.errors import CheckFailed, ConfigError, ServiceError
from lab.projects import LAB_AUTHOR, export_repository, find_project
from lab.scenarios.model import Scenario

if TYPE_CHECKING:
    from lab.scenarios.driver import Driver
    from lab.scenarios.runner import Outcome

Progress = Callable[[str], None]

DEMO = "cd4ml-demo"
# The shipped project an exercise copies when it is not the demo (exercises on the
# training project's jobs).
COPY_OF: dict[int, str] = {5: "cd4ml-train"}
GUIDE = "docs/workshop.md"
# Set in a copy only when git has no identity for the attendee (commits would fail).
ATTENDEE = ("Workshop Attendee", "attendee@lab.invalid")
_FILE = re.compile(r"^exercise-([1-9][0-9]*)\.ya?ml$")
GIT_TIMEOUT = 120


@dataclass(frozen=True)
class Exercise:
    number: int
    scenario: Scenario
    starter: Path | None

    @property
    def project(self) -> str:
        return self.scenario.project

    @property
    def source(self) -> str:
        """The shipped project the attendee's copy is made from."""
        return COPY_OF.get(self.number, DEMO)

    @property
    def goal(self) -> str:
        """The description's first sentence (``Title: goal.``)."""
        text = " ".join(self.scenario.description.split())
        first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
        return first

    @property
    def title(self) -> str:
        return self.goal.split(":", 1)[0].strip()

    @property
    def anchor(self) -> str:
        """The guide's heading anchor for this exercise (GitHub's slug rules)."""
        heading = f"Exercise {self.number}: {self.title}".lower()
        return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")

    @property
    def guide(self) -> str:
        return f"{GUIDE}#{self.anchor}"


def exercises_dir(cfg: LabConfig) -> Path:
    return cfg.root / "exercises"


def workshop_dir(cfg: LabConfig) -> Path:
    return cfg.state_dir / "workshop"


def copy_path(cfg: LabConfig, number: int) -> Path:
    return workshop_dir(cfg) / f"exercise-{number}"


def list_exercises(cfg: LabConfig) -> list[Exercise]:
    """Every ``exercises/exercise-N.yaml``, loaded and checked, by number."""
    from lab.scenarios.loader import load

    directory = exercises_dir(cfg)
    found: list[Exercise] = []
    for path in sorted(directory.glob("exercise-*.y*ml")) if directory.is_dir() else []:
        match = _FILE.match(path.name)
        if not match:
            continue
        number = int(match.group(1))
        scenario = load(path)
        for field, want in (("name", f"exercise-{number}"), ("project", f"workshop-{number}")):
            if getattr(scenario, field) != want:
                raise ConfigError(
                    f"{path}: field `{field}` is {getattr(scenario, field)!r}; "
                    f"exercise {number} needs {want!r}"
                )
        if ":" not in scenario.description.split(".", 1)[0]:
            raise ConfigError(f"{path}: field `description` must start with 'Title: goal.'")
        starter = directory / "starters" / f"exercise-{number}.patch"
        found.append(Exercise(number, scenario, starter if starter.is_file() else None))
    return sorted(found, key=lambda e: e.number)


def get_exercise(cfg: LabConfig, number: int) -> Exercise:
    exercises = list_exercises(cfg)
    for exercise in exercises:
        if exercise.number == number:
            return exercise
    known = ", ".join(str(e.number) for e in exercises) or "(none)"
    raise ConfigError(
        f"no exercise {number} in {exercises_dir(cfg)}; exercises: {known}",
        hint="`lab exercise list` shows them with their goals",
    )


# ---- git in a copy -------------------------------------------------------------------


def run_git(
    path: Path, *args: str, check: bool = True, author: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    ident = ["-c", f"user.name={author[0]}", "-c", f"user.email={author[1]}"] if author else []
    try:
        proc = subprocess.run(
            ["git", "-C", str(path), *ident, *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"{path}: git {args[0]} took longer than {GIT_TIMEOUT}s") from None
    if check and proc.returncode != 0:
        raise ServiceError(f"{path}: git {' '.join(args[:2])} failed: {proc.stderr.strip()}")
    return proc


def uncommitted(copy: Path) -> list[str]:
    """``git status --porcelain`` lines of the copy (changes and new, not ignored, files)."""
    out = run_git(copy, "status", "--porcelain", "--untracked-files=all").stdout
    return [line for line in out.splitlines() if line.strip()]


# ---- start ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    exercise: Exercise
    path: Path
    created: bool
    previous: Path | None = None


def start(
    cfg: LabConfig, number: int, *, reset: bool = False, progress: Progress = print
) -> Started:
    """Create (once) the attendee's copy for exercise ``number`` and register it.

    Idempotent: an existing copy is left as it is (only its registration is restored).
    ``reset`` moves the existing copy aside to ``exercise-N.previous-<UTC time>`` (every
    earlier one is kept: nothing an attendee wrote is deleted) and starts again from the
    exercise's project.
    """
    exercise = get_exercise(cfg, number)
    dest = copy_path(cfg, number)
    previous = None
    if reset and dest.exists():
        previous = _aside(dest)
        dest.rename(previous)
        progress(f"moved your previous copy to {previous}")
    created = not dest.exists()
    if created:
        _create_copy(cfg, exercise, dest, progress)
    elif not (dest / ".git").is_dir():
        raise ConfigError(
            f"{dest} exists but is not a git repository",
            hint=f"`lab exercise start {number} --reset` moves it aside and starts again",
        )
    known = registry.load(cfg).get(exercise.project)
    if known is None or known.source != dest.resolve():
        registry.record(cfg, exercise.project, dest)
        progress(f"registered {dest} as lab project {exercise.project}")
    return Started(exercise, dest, created, previous)


def _aside(dest: Path) -> Path:
    """A new name beside ``dest`` for a copy set aside, never one already taken."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = dest.with_name(f"{dest.name}.previous-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = dest.with_name(f"{dest.name}.previous-{stamp}-{n}")
    return candidate


def _create_copy(cfg: LabConfig, exercise: Exercise, dest: Path, progress: Progress) -> None:
    """Build the copy next to ``dest`` and move it in place only when complete."""
    source = find_project(cfg, exercise.source)
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    building = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        export_repository(
            source, building, f"{exercise.source}: workshop copy for exercise {exercise.number}"
        )
        if exercise.starter is not None:
            applied = run_git(building, "apply", "--index", str(exercise.starter), check=False)
            if applied.returncode != 0:
                raise ConfigError(
                    f"{exercise.starter} does not apply to {source}: {applied.stderr.strip()}",
                    hint=f"the starter patch must be regenerated against {exercise.source}",
                )
            run_git(
                building,
                "commit",
                "--quiet",
                "-m",
                f"exercise {exercise.number}: starting point",
                author=LAB_AUTHOR,
            )
        if not run_git(building, "config", "user.email", check=False).stdout.strip():
            run_git(building, "config", "user.name", ATTENDEE[0])
            run_git(building, "config", "user.email", ATTENDEE[1])
            progress(f"git has no identity here: commits in the copy are by {ATTENDEE[0]}")
        building.rename(dest)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    progress(f"created {dest} from {source}")


def require_copy(cfg: LabConfig, exercise: Exercise) -> Path:
    """The copy of ``exercise`` (registered again if needed); ConfigError when not started."""
    dest = copy_path(cfg, exercise.number)
    if not (dest / ".git").is_dir():
        raise ConfigError(
            f"exercise {exercise.number} is not started: no copy at {dest}",
            hint=f"`lab exercise start {exercise.number}` creates it",
        )
    known = registry.load(cfg).get(exercise.project)
    if known is None or known.source != dest.resolve():
        registry.record(cfg, exercise.project, dest)
    return dest


# ---- checks before the scenario ------------------------------------------------------


def stage_problems(copy: Path, *, local: bool = True) -> list[str]:
    """Why the copy's Jenkinsfile, or one of its chain jobs' ``jobs/*.Jenkinsfile``, cannot
    be built: not a declarative pipeline we can read (file:line), or, for the local
    driver, a stage it cannot run (the construct and its line: on the stack driver
    Jenkins runs it)."""
    from lab.pipeline.build import load_model
    from lab.pipeline.executor import plan

    if not (copy / "Jenkinsfile").is_file():
        return [f"{copy / 'Jenkinsfile'}: no Jenkinsfile"]
    problems: list[str] = []
    for path in [copy / "Jenkinsfile", *sorted((copy / "jobs").glob("*.Jenkinsfile"))]:
        source = path.relative_to(copy).as_posix()
        try:
            extracted = load_model(path.read_text(encoding="utf-8"), source)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if not local:
            continue
        planned = plan(extracted.pipeline, locations=extracted.locations, source=source)
        where = "" if source == "Jenkinsfile" else f"{source}: "
        problems += [f"{where}stage {p.name!r}: {p.reason}" for p in planned if not p.runnable]
    return problems


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _lookup(data: Any, dotted: str) -> tuple[bool, Any]:
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return False, None
        data = data[part]
    return True, data


def lock_problems(copy: Path) -> list[str]:
    """What changed in the copy since dvc.lock was written (DVC 3 md5 of the dependency
    files present, and the recorded parameters): main would not reproduce as committed."""
    lock_file = copy / "dvc.lock"
    if not lock_file.is_file():
        return []
    try:
        lock = yaml.safe_load(lock_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return [f"dvc.lock is not valid YAML: {exc}"]
    problems = []
    for stage_name, stage in (lock.get("stages") or {}).items():
        changed = []
        for dep in stage.get("deps") or []:
            path = copy / str(dep.get("path", ""))
            if dep.get("hash") != "md5" or not path.is_file():
                continue  # DVC 2 hashes, directories, or data not materialised here
            if _md5(path) != dep.get("md5"):
                changed.append(str(dep["path"]))
        for params_file, values in (stage.get("params") or {}).items():
            try:
                current = yaml.safe_load((copy / params_file).read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                changed.append(params_file)
                continue
            for key, value in (values or {}).items():
                present, now = _lookup(current, key)
                if not present or now != value:
                    changed.append(f"{params_file}:{key}")
        if changed:
            problems.append(f"stage {stage_name}: {', '.join(changed)} changed since dvc.lock")
    return problems


def require_driver(exercise: Exercise, kind: str) -> None:
    """CheckFailed when the exercise's scenario does not run on driver ``kind``."""
    drivers = exercise.scenario.drivers
    if kind in ("local", "stack") and kind not in drivers:
        raise CheckFailed(
            f"exercise {exercise.number} is checked on the {' and '.join(drivers)} driver "
            f"only, not on {kind}: {exercise.scenario.path.name} says why",
            hint=f"`lab exercise check {exercise.number}` (the local driver, the default)",
        )


STAGES_HINT = (
    "fix the Jenkinsfile at the line named (`lab lint` checks it too); the local driver "
    "runs declarative stages, check with `--driver stack` what needs Jenkins itself"
)
REPRO_HINT = (
    "in the copy: `python src/make_raw_data.py && dvc repro`, then commit dvc.lock and "
    "metrics.json (with the lab's virtualenv active)"
)


def check(
    cfg: LabConfig,
    number: int,
    driver: Driver,
    *,
    progress: Progress = print,
    keep: bool = False,
) -> Outcome:
    """Run exercise ``number``'s checking scenario on ``driver`` against the copy.

    Raises CheckFailed when the copy's Jenkinsfile cannot be built on ``driver`` or its
    dvc.lock is stale (before any build), and the scenario's ScenarioFailed otherwise.
    """
    from lab.scenarios.runner import execute

    exercise = get_exercise(cfg, number)
    copy = require_copy(cfg, exercise)
    require_driver(exercise, driver.kind)
    stages = stage_problems(copy, local=driver.kind == "local")
    lock = lock_problems(copy)
    if stages or lock:
        hints = ([STAGES_HINT] if stages else []) + ([REPRO_HINT] if lock else [])
        raise CheckFailed(
            f"exercise {number}: {copy} is not ready to check (no build was run):\n"
            + "\n".join(f"  - {p}" for p in stages + lock),
            hint="; ".join(hints),
        )
    return execute(exercise.scenario, driver, progress=progress, keep=keep)
