"""Training parameters: from build parameters (environment) or from params.yaml, validated
with messages that name the parameter, its value and what is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from cd4ml_train.data import PROBLEMS

LIMITS = {"N_ESTIMATORS": (1, 500), "MAX_DEPTH": (1, 32)}
TEST_SIZE = (0.1, 0.5)


class ParamError(ValueError):
    """An invalid training parameter."""


@dataclass(frozen=True)
class TrainParams:
    problem: str
    n_estimators: int
    max_depth: int
    test_size: float
    seed: int


def _number(name: str, raw: object, cast: type, low: float, high: float):
    """``raw`` as ``cast`` (int or float) within [low, high]; ParamError naming it."""
    kind = "an integer" if cast is int else "a number"
    try:
        value = cast(str(raw).strip())
    except ValueError:
        raise ParamError(f"{name}={raw!r}: not {kind} (allowed: {low}..{high})") from None
    if not low <= value <= high:
        raise ParamError(f"{name}={value}: out of range (allowed: {low}..{high})")
    return value


def validate(values: Mapping[str, object], *, seed: int) -> TrainParams:
    """``values``: PROBLEM, N_ESTIMATORS, MAX_DEPTH, TEST_SIZE (strings, as Jenkins passes
    build parameters). Raises :class:`ParamError` on the first invalid one."""
    missing = [k for k in ("PROBLEM", "N_ESTIMATORS", "MAX_DEPTH") if not str(values.get(k, ""))]
    if missing:
        raise ParamError(f"missing parameter(s): {', '.join(missing)}")
    problem = str(values["PROBLEM"]).strip()
    if problem not in PROBLEMS:
        raise ParamError(f"PROBLEM={problem!r}: unknown (allowed: {', '.join(sorted(PROBLEMS))})")
    return TrainParams(
        problem=problem,
        n_estimators=_number("N_ESTIMATORS", values["N_ESTIMATORS"], int, *LIMITS["N_ESTIMATORS"]),
        max_depth=_number("MAX_DEPTH", values["MAX_DEPTH"], int, *LIMITS["MAX_DEPTH"]),
        test_size=_number("TEST_SIZE", values.get("TEST_SIZE") or 0.3, float, *TEST_SIZE),
        seed=seed,
    )


def read_yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ParamError(f"{path}: expected a mapping at the top level")
    return data


def seed_of(params: Mapping) -> int:
    return int(params.get("seed", 42))


def chain_params(path: Path) -> TrainParams:
    """The chained jobs' parameters: section ``chain`` of params.yaml."""
    params = read_yaml(path)
    chain = params.get("chain")
    if not isinstance(chain, dict):
        raise ParamError(f"{path}: section 'chain' is missing")
    values = {k.upper(): v for k, v in chain.items()}
    try:
        return validate(values, seed=seed_of(params))
    except ParamError as exc:
        raise ParamError(f"{path}: chain: {exc}") from None


def gate(path: Path) -> tuple[str, float]:
    """(metric, minimum) of section ``gate`` of params.yaml."""
    section = read_yaml(path).get("gate")
    if not isinstance(section, dict) or "metric" not in section or "min" not in section:
        raise ParamError(f"{path}: section 'gate' needs 'metric' and 'min'")
    return str(section["metric"]), float(section["min"])
