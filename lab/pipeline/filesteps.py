"""Steps on workspace files: read/write/exists, deleteDir, archiveArtifacts, junit, stash.

- workflow-basic-steps 1098.v808b_fd7f8cf4: ReadFileStep, WriteFileStep, FileExistsStep
  (paths relative to the current directory), DeleteDirStep (the current directory).
- jenkinsci/jenkins core/src/main/java/hudson/tasks/ArtifactArchiver.java (read at
  ff9430ee) l.250-282: ``Archiving artifacts``; no match fails with ``No artifacts found
  that match the file pattern "<p>". Configuration error?`` unless allowEmptyArchive
  (then printed). Artifacts land in ``<workspace>@artifacts`` here.
- junit 1424.vc64a_edde7777 (jenkinsci/junit-plugin, src/main/java/hudson/tasks/junit/):
  ``Recording test results``; no report file fails with ``No test report files were
  found. Configuration error?`` (JUnitParser l.247-254; printed with allowEmptyResults),
  reports without a test with ``None of the test reports contained any result``
  (JUnitResultArchiver l.314-320); failures put an UNSTABLE warning on the stage and make
  the build UNSTABLE unless skipMarkingStageUnstable / skipMarkingBuildUnstable
  (pipeline/JUnitResultsStepExecution l.65-75).
- workflow-api 1413.v2ff1a_5e720fa_ (jenkinsci/workflow-api-plugin, StashManager.java
  l.114-160): includes default to everything, ``Warning: overwriting stash 'n'``,
  ``Stashed N file(s)``, ``No files included in stash 'n'`` unless allowEmpty, ``No such
  saved stash 'n'`` (the name in typographic quotes, U+2018/U+2019).
Patterns are Ant patterns (``**/*.xml``, comma-separated), matched by ``ant_match``.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from lab.pipeline.context import Ctx
from lab.pipeline.groovyexpr import to_text
from lab.pipeline.runtime import StepError

# Ant's DirectoryScanner default excludes (the common ones).
_DEFAULT_EXCLUDES = ("**/.git/**", "**/.git", "**/.svn/**", "**/.hg/**", "**/*~", "**/.DS_Store")


@lru_cache(maxsize=256)
def _segment(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE)


def ant_match(pattern: str, path: str, case_sensitive: bool = True) -> bool:
    """Ant SelectorUtils.matchPath: ``*``/``?`` within a segment, ``**`` any segments; a
    pattern ending with ``/`` means ``/**``."""
    if pattern.endswith("/"):
        pattern += "**"
    pats = [p for p in pattern.split("/") if p]
    parts = [p for p in path.split("/") if p]

    def match(i: int, j: int) -> bool:
        if i == len(pats):
            return j == len(parts)
        if pats[i] == "**":
            return any(match(i + 1, k) for k in range(j, len(parts) + 1))
        if j == len(parts):
            return False
        return bool(_segment(pats[i], case_sensitive).fullmatch(parts[j])) and match(i + 1, j + 1)

    return match(0, 0)


def _patterns(value: Any) -> list[str]:
    return [p.strip() for p in to_text(value or "").split(",") if p.strip()]


def scan(base: Path, includes: Any, excludes: Any = "", default_excludes: bool = True) -> list[str]:
    """Relative paths of the files under ``base`` matched like a FileSet."""
    incs = _patterns(includes) or ["**"]
    excs = _patterns(excludes) + (list(_DEFAULT_EXCLUDES) if default_excludes else [])
    if not base.is_dir():
        return []
    found = []
    for path in sorted(base.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(base).as_posix()
        if any(ant_match(p, rel) for p in incs) and not any(ant_match(p, rel) for p in excs):
            found.append(rel)
    return found


def _copy(base: Path, rels: Iterable[str], target: Path) -> int:
    count = 0
    for rel in rels:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(base / rel, dest)
        count += 1
    return count


def artifacts_dir(workspace: Path) -> Path:
    """Where ``archiveArtifacts`` copies to: ``<workspace>@artifacts``."""
    return workspace.with_name(workspace.name + "@artifacts")


def read_file(ctx: Ctx, file: Any) -> str:
    ctx.require_node()
    path = ctx.cwd / to_text(file)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StepError(f"{path} does not exist.") from None
    except OSError as exc:
        raise StepError(f"{path}: {exc.strerror}") from None


def write_file(ctx: Ctx, file: Any, text: Any) -> None:
    ctx.require_node()
    path = ctx.cwd / to_text(file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_text(text), encoding="utf-8")


def file_exists(ctx: Ctx, file: Any) -> bool:
    ctx.require_node()
    return (ctx.cwd / to_text(file or "")).exists()


def delete_dir(ctx: Ctx) -> None:
    ctx.require_node()
    shutil.rmtree(ctx.cwd, ignore_errors=True)


def archive_artifacts(ctx: Ctx, args: Any) -> None:
    ctx.require_node()
    pattern = to_text(args.require("artifacts", "archiveArtifacts"))
    if args.get("onlyIfSuccessful", False) and ctx.build.result != "SUCCESS":
        ctx.log("Skipped archiving because build is not successful")
        return
    ctx.log("Archiving artifacts")
    rels = scan(ctx.cwd, pattern, args.get("excludes", ""), bool(args.get("defaultExcludes", True)))
    if not rels:
        message = (
            f'No artifacts found that match the file pattern "{pattern}". Configuration error?'
        )
        if args.get("allowEmptyArchive", False):
            ctx.log(message)
            return
        raise StepError(message)
    _copy(ctx.cwd, rels, artifacts_dir(ctx.build.workspace))


def _count(report: Path) -> tuple[int, int]:
    """(tests, failures+errors) in a JUnit XML report."""
    try:
        root = ET.parse(report).getroot()  # noqa: S314 - the build's own output
    except (ET.ParseError, OSError) as exc:
        raise StepError(f"Failed to read test report file {report}: {exc}") from None
    tests = failed = 0
    for case in root.iter("testcase"):
        tests += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
    return tests, failed


def junit(ctx: Ctx, args: Any) -> None:
    ctx.require_node()
    ctx.log("Recording test results")
    allow_empty = bool(args.get("allowEmptyResults", False))
    rels = scan(ctx.cwd, args.require("testResults", "junit"), "", True)
    if not rels:
        if not allow_empty:
            raise StepError("No test report files were found. Configuration error?")
        ctx.log("No test report files were found. Configuration error?")
    tests = failed = 0
    for rel in rels:
        t, f = _count(ctx.cwd / rel)
        tests, failed = tests + t, failed + f
    if tests == 0 and ctx.build.result != "FAILURE":
        if not allow_empty:
            raise StepError("None of the test reports contained any result")
        ctx.log("None of the test reports contained any result")
    ctx.log(f"[local driver] {tests} test(s), {failed} failed, in {len(rels)} report(s)")
    if failed and not args.get("skipMarkingStageUnstable", False):
        ctx.warn("UNSTABLE")
        if not args.get("skipMarkingBuildUnstable", False):
            ctx.build.set_result("UNSTABLE")


def stash(ctx: Ctx, args: Any) -> None:
    ctx.require_node()
    name = to_text(args.require("name", "stash"))
    rels = scan(
        ctx.cwd,
        args.get("includes", ""),
        args.get("excludes", ""),
        bool(args.get("useDefaultExcludes", True)),
    )
    if not rels and not args.get("allowEmpty", False):
        raise StepError(f"No files included in stash \u2018{name}\u2019")
    target = ctx.build.stash_dir / name
    if target.exists():
        ctx.log(f"Warning: overwriting stash \u2018{name}\u2019")
        shutil.rmtree(target)
    target.mkdir(parents=True)
    ctx.log(f"Stashed {_copy(ctx.cwd, rels, target)} file(s)")


def unstash(ctx: Ctx, args: Any) -> None:
    ctx.require_node()
    name = to_text(args.require("name", "unstash"))
    source = ctx.build.stash_dir / name
    if not source.is_dir():
        raise StepError(f"No such saved stash \u2018{name}\u2019")
    rels = [p.relative_to(source).as_posix() for p in sorted(source.rglob("*")) if p.is_file()]
    _copy(source, rels, ctx.cwd)
