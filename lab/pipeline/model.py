"""The declarative model of a Jenkinsfile, in Jenkins' own AST JSON shape.

``extract.groovy`` parses each Jenkinsfile with Groovy's AST (the parser Jenkins uses)
and walks its ``pipeline { }`` block as pipeline-model-definition's ``ModelParser``
does, emitting what Jenkins' ``pipeline-model-converter/toJson`` would: agent,
environment, options, parameters, triggers, tools, libraries, stages (nested, parallel,
matrix), when, steps with their arguments, post, input. Values keep Jenkins' shape:
``{"isLiteral": true, "value": ...}`` for constants, ``isLiteral: false`` with the
Groovy source text for GStrings and any other expression (``"${...}"``).

Beside the pipeline, ``locations`` maps a JSON pointer into the document to the line of
its construct (stages, steps, when and post conditions, environment entries, options,
parameters...), so a consumer can say "at Jenkinsfile:LINE". Anything that is not a
declarative pipeline (a scripted Jenkinsfile, statements outside ``pipeline { }``,
unknown sections, syntax errors) comes back as problems with file, line and column.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from lab import groovy
from lab.errors import ConfigError
from lab.groovy import GroovyProblem

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "extract.groovy"
SCHEMA = HERE / "ast-schema.json"

Problem = GroovyProblem
"""A problem in a Jenkinsfile: path, 1-based line and column (0 when unknown), message."""


@dataclass(frozen=True)
class Extracted:
    """One Jenkinsfile's declarative model.

    ``pipeline`` is the ``{"pipeline": {...}}`` document (None when there is no
    declarative pipeline to read), ``locations`` maps JSON pointers into it to 1-based
    lines, ``problems`` lists what keeps it from being a clean declarative pipeline.
    """

    path: str
    pipeline: dict[str, Any] | None
    locations: dict[str, int]
    problems: list[Problem]

    def line_of(self, pointer: str) -> int | None:
        """The line of the construct at ``pointer``, else of its nearest located parent."""
        while True:
            if pointer in self.locations:
                return self.locations[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]


def _extracted(path: str, record: Mapping[str, Any]) -> Extracted:
    problems = sorted(
        (
            Problem(path, int(p["line"]), int(p["column"]), str(p["message"]))
            for p in record.get("problems", [])
        ),
        key=lambda p: (p.line, p.column),
    )
    locations = {str(k): int(v) for k, v in record.get("locations", {}).items()}
    return Extracted(path, record.get("pipeline"), locations, problems)


def extract_files(paths: Sequence[Path | str], *, timeout: float = 120.0) -> list[Extracted]:
    """Extract every Jenkinsfile in one JVM, in the order given (paths kept as given).

    Raises :class:`PrerequisiteMissing` without Groovy or a JDK, :class:`ConfigError`
    for a missing file, :class:`WaitTimeout` after ``timeout`` seconds.
    """
    records = groovy.run_script(SCRIPT, [Path(p) for p in paths], timeout=timeout, verb="extract")
    by_file = {str(Path(path).resolve()): record for path, record in records if record["done"]}
    return [_extracted(str(p), by_file[str(Path(p).resolve())]) for p in paths]


def extract_text(text: str, name: str, *, timeout: float = 120.0) -> Extracted:
    """Extract a Jenkinsfile held in memory; the result and its problems name it ``name``."""
    with tempfile.TemporaryDirectory(prefix="lab-pipeline-") as tmp:
        path = Path(tmp) / (Path(name).name or "Jenkinsfile")
        path.write_text(text, encoding="utf-8")
        found = extract_files([path], timeout=timeout)[0]
    problems = [Problem(name, p.line, p.column, p.message) for p in found.problems]
    return Extracted(name, found.pipeline, found.locations, problems)


def load(path: Path | str, *, timeout: float = 120.0) -> Extracted:
    """Extract one Jenkinsfile and insist it is a clean declarative pipeline.

    Raises :class:`ConfigError` naming ``<file>:<line>: <message>`` for every problem
    and for every place the model breaks Jenkins' schema.
    """
    found = extract_files([path], timeout=timeout)[0]
    errors = [f"{p.path}:{p.line}: {p.message}" for p in found.problems]
    if found.pipeline is not None and not found.problems:
        for pointer, message in _schema_errors(found.pipeline):
            line = found.line_of(pointer) or 0
            errors.append(f"{found.path}:{line}: {pointer or '/'}: {message}")
    if errors:
        raise ConfigError("\n".join(errors))
    return found


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft4Validator:
    try:
        schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{SCHEMA}: cannot read the declarative AST schema: {exc}") from None
    return jsonschema.Draft4Validator(schema)


def _pointer(parts: Sequence[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _schema_errors(document: Any) -> Iterator[tuple[str, str]]:
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    for error in errors:
        # anyOf/oneOf: name the alternative that got furthest, not the whole instance
        best = jsonschema.exceptions.best_match(error.context) if error.context else error
        message = best.message if len(best.message) <= 200 else best.message[:197] + "..."
        yield _pointer(list(best.absolute_path)), message


def validate(pipeline_json: Any) -> list[str]:
    """Check a ``{"pipeline": ...}`` document against Jenkins' ``ast-schema.json``.

    Returns one ``<JSON pointer>: <message>`` per violation (empty list: valid).
    """
    return [f"{pointer or '/'}: {message}" for pointer, message in _schema_errors(pipeline_json)]


def stage_names(pipeline: Mapping[str, Any]) -> list[str]:
    """Every stage's name in order, a parent before its nested, parallel or matrix stages.

    Names as declared: a matrix's stages count once, not once per cell.

    Takes the ``{"pipeline": ...}`` document or the pipeline object inside it.
    """
    root = pipeline.get("pipeline", pipeline)
    names: list[str] = []

    def walk(stages: Sequence[Mapping[str, Any]]) -> None:
        for stage in stages:
            names.append(str(stage.get("name")))
            walk(stage.get("stages", []))
            walk(stage.get("parallel", []))
            walk(stage.get("matrix", {}).get("stages", []))

    walk(root.get("stages", []))
    return names
