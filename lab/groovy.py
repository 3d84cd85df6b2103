"""Syntax-check Groovy files (Jenkinsfiles, Job DSL) with the system's ``groovy``.

One JVM parses many files (about a second in all): the script
``lab/lint/groovy_parse.groovy`` compiles each file to the CONVERSION phase only
(source to AST, no class resolution), so scripts that call undeclared Jenkins
steps or Job DSL methods parse, and only real syntax errors are reported.

:func:`run_script` is the runner both this and ``lab.pipeline.model`` (the declarative
model, ``lab/pipeline/extract.groovy``) use: one JVM, paths on stdin, JSON lines back.

Jenkins' pipeline engine (workflow-cps) parses with Groovy 2.4 too, which is what
Debian's ``groovy`` package ships; install it with ``apt-get install groovy``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import ConfigError, PrerequisiteMissing, ServiceError, WaitTimeout

SCRIPT = Path(__file__).resolve().parent / "lint" / "groovy_parse.groovy"
JVM_DIR = Path("/usr/lib/jvm")
# Groovy 2.4 runs on these JDKs; newer ones are tried last.
_PREFERRED_JDKS = ("17", "21", "11")
INSTALL_HINT = (
    "install Groovy and a JDK (Debian/Ubuntu: `apt-get install groovy openjdk-17-jdk-headless`) "
    "or set JAVA_HOME to a JDK (e.g. /usr/lib/jvm/java-17-openjdk-amd64)"
)


@dataclass(frozen=True)
class GroovyProblem:
    """A problem found while parsing ``path`` (line/column 1-based; 0 when unknown)."""

    path: str
    line: int
    column: int
    message: str


def _has_java(home: Path) -> bool:
    return (home / "bin" / "java").is_file()


def find_java_home(env: Mapping[str, str] | None = None, jvm_dir: Path = JVM_DIR) -> Path | None:
    """``JAVA_HOME`` when it holds a JDK, else a JDK under ``jvm_dir`` (17, 21, 11 first)."""
    env = os.environ if env is None else env
    if env.get("JAVA_HOME") and _has_java(Path(env["JAVA_HOME"])):
        return Path(env["JAVA_HOME"])
    if not jvm_dir.is_dir():
        return None
    homes = sorted(
        p for p in jvm_dir.iterdir() if p.is_dir() and not p.is_symlink() and _has_java(p)
    )

    def rank(home: Path) -> tuple[int, str]:
        for i, version in enumerate(_PREFERRED_JDKS):
            if f"-{version}-" in home.name or home.name.endswith(f"-{version}"):
                return (i, home.name)
        return (len(_PREFERRED_JDKS), home.name)

    return min(homes, key=rank) if homes else None


def groovy_available(env: Mapping[str, str] | None = None, script: Path = SCRIPT) -> str | None:
    """``None`` when ``script`` (the parse script by default) can run here, else why not."""
    if shutil.which("groovy") is None:
        return "the `groovy` command is not installed"
    if find_java_home(env) is None:
        return f"no JDK found (JAVA_HOME unset or without bin/java, none under {JVM_DIR})"
    if not script.is_file():
        return f"the Groovy script {script} is missing from the lab package"
    return None


def _groovy_env(script: Path = SCRIPT) -> dict[str, str]:
    reason = groovy_available(script=script)
    if reason is not None:
        raise PrerequisiteMissing(f"cannot run Groovy: {reason}", hint=INSTALL_HINT)
    env = dict(os.environ)
    env["JAVA_HOME"] = str(find_java_home())
    return env


def run_script(
    script: Path, paths: Sequence[Path], *, timeout: float, verb: str = "parse"
) -> list[tuple[str, dict[str, Any]]]:
    """Run ``groovy script`` once over ``paths``; return its JSON records, in order.

    The script reads one absolute path per line on stdin and prints JSON objects, one a
    line, each with the ``path`` it is about; a record with ``"done": true`` closes each
    file. Records come back as (the path as given, the record). Raises
    :class:`PrerequisiteMissing` without Groovy or a JDK, :class:`ConfigError` for a
    missing file, :class:`WaitTimeout` after ``timeout`` seconds, :class:`ServiceError`
    when the JVM stops before every file is done.
    """
    if not paths:
        return []
    for path in paths:
        if not Path(path).is_file():
            raise ConfigError(f"{path}: no such file to {verb}")
    by_abs = {str(Path(p).resolve()): str(p) for p in paths}
    env = _groovy_env(script)
    try:
        proc = subprocess.run(
            ["groovy", str(script)],
            input="".join(f"{p}\n" for p in by_abs),
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WaitTimeout(
            f"timed out after {timeout:.0f}s trying to {verb} {len(paths)} Groovy file(s) "
            "with `groovy`"
        ) from None
    records: list[tuple[str, dict[str, Any]]] = []
    done: set[str] = set()
    for raw in proc.stdout.splitlines():
        if not raw.startswith("{"):
            continue
        record = json.loads(raw)
        records.append((by_abs.get(record["path"], record["path"]), record))
        if record.get("done"):
            done.add(record["path"])
    missing = [p for p in by_abs if p not in done]
    if proc.returncode != 0 or missing:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise ServiceError(
            f"`groovy {script.name}` exited {proc.returncode} before it could {verb} "
            f"{len(missing)} file(s): {tail or '(no output)'}",
            hint=INSTALL_HINT,
        )
    return records


def parse_files(paths: Sequence[Path], *, timeout: float = 120.0) -> list[GroovyProblem]:
    """Parse every file in one JVM; return the syntax problems (empty list: all parse).

    Problems carry each path as given. Raises as :func:`run_script` does.
    """
    return [
        GroovyProblem(path, int(record["line"]), int(record["column"]), record["message"])
        for path, record in run_script(SCRIPT, paths, timeout=timeout)
        if not record.get("done")
    ]


def parse_text(text: str, name: str, *, timeout: float = 120.0) -> list[GroovyProblem]:
    """Parse Groovy source held in memory; problems name it ``name``."""
    with tempfile.TemporaryDirectory(prefix="lab-groovy-") as tmp:
        path = Path(tmp) / (Path(name).name or "script.groovy")
        path.write_text(text, encoding="utf-8")
        problems = parse_files([path], timeout=timeout)
    return [GroovyProblem(name, p.line, p.column, p.message) for p in problems]
