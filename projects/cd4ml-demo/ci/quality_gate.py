"""The pull-request quality gate: params.yaml `quality_gate: {metric, min}` vs metrics.json.

Usage: python ci/quality_gate.py [ROOT]   (exit 0 pass, 1 fail or misconfigured)
"""

import json
import sys
from pathlib import Path

import yaml


class GateError(Exception):
    """The gate cannot be evaluated (missing file, key or metric)."""


def verdict(root="."):
    """Return (passed, message) for the workspace at ``root``."""
    root = Path(root)
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")) or {}
    gate = params.get("quality_gate")
    if not isinstance(gate, dict) or "metric" not in gate or "min" not in gate:
        raise GateError("params.yaml: quality_gate needs 'metric' and 'min'")
    metrics_file = root / "metrics.json"
    if not metrics_file.is_file():
        raise GateError("metrics.json not found: run `dvc repro` first")
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    name, threshold = gate["metric"], float(gate["min"])
    if name not in metrics:
        raise GateError(f"metrics.json has no '{name}' (params.yaml quality_gate.metric)")
    value = float(metrics[name])
    if value >= threshold:
        return True, f"{name} {value:g} >= {threshold:g}"
    return False, f"{name} {value:g} < {threshold:g} (params.yaml quality_gate.min)"


def main(argv):
    try:
        passed, message = verdict(argv[1] if len(argv) > 1 else ".")
    except GateError as exc:
        print(f"[ci] ERROR: quality gate: {exc}", file=sys.stderr)
        return 1
    if passed:
        print(f"[ci] quality gate passed: {message}")
        return 0
    print(f"[ci] ERROR: quality gate failed: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
