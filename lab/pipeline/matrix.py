"""``matrix``: one generated stage per combination of axis values, run in parallel.

pipeline-model-definition RuntimeASTTransformer.groovy (read at HEAD 42c9dc3e, pin
2.2293.v6e7193cec599 newer) l.884-985: ``expandAxes`` builds the cells axis by axis (for
each value of the next axis, every cell so far); ``filterExcludes`` drops the cells that
match every axis of an exclude (``values``, or anything but them with ``inverse``); each
cell is a stage named ``Matrix - A = 'x', B = 'y'`` holding the matrix's agent, when,
environment, options, input, post and stages, with the cell's values as environment
variables set before anything else (ModelInterpreter ``getMatrixCellEnvVars``). The
stage holding the matrix runs the cells like a ``parallel`` (failFast included).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab.pipeline.groovyexpr import to_text

# Keys a generated cell stage carries over from the matrix.
_CARRIED = ("agent", "when", "environment", "options", "input", "post", "tools", "stages")
CELL_ENV = "_cell_env"  # the cell's axis values (not part of the model's schema)
POINTER = "_pointer"  # where the cell's content is in the model (for lines)


def _values(axis: Mapping[str, Any]) -> list[str]:
    return [to_text(v.get("value")) for v in axis.get("values", [])]


def cells(matrix: Mapping[str, Any]) -> list[dict[str, str]]:
    result: list[dict[str, str]] = [{}]
    for axis in matrix.get("axes", []):
        result = [{**cell, str(axis["name"]): value} for value in _values(axis) for cell in result]
    for exclude in matrix.get("excludes", []):
        result = [
            cell
            for cell in result
            if not all(
                (cell.get(str(axis["name"])) in _values(axis)) != bool(axis.get("inverse"))
                for axis in exclude
            )
        ]
    return result


def expand(stage: Mapping[str, Any], pointer: str) -> dict[str, Any]:
    """The stage with its matrix replaced by the parallel cells it generates."""
    matrix = stage["matrix"]
    generated = []
    for cell in cells(matrix):
        name = "Matrix - " + ", ".join(f"{k} = '{v}'" for k, v in cell.items())
        body = {key: matrix[key] for key in _CARRIED if key in matrix}
        generated.append({"name": name, **body, CELL_ENV: cell, POINTER: f"{pointer}/matrix"})
    expanded = {k: v for k, v in stage.items() if k != "matrix"}
    expanded["parallel"] = generated
    return expanded
