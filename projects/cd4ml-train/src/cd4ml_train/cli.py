"""Command line of the project's steps (ci/*.sh call it): validate, prepare, train,
evaluate, gate. Exit 2 with a one-line message naming the parameter or file at fault."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cd4ml_train import data, model
from cd4ml_train.params import ParamError, TrainParams, chain_params, gate, read_yaml, seed_of
from cd4ml_train.params import validate as validate_params

PARAMS_FILE = Path("params.yaml")


def _params(args: argparse.Namespace) -> TrainParams:
    """From params.yaml's `chain` section (--from-params) or the build parameters (env)."""
    if args.from_params:
        return chain_params(PARAMS_FILE)
    return validate_params(os.environ, seed=seed_of(read_yaml(PARAMS_FILE)))


def cmd_validate(args: argparse.Namespace) -> None:
    p = _params(args)
    print(
        f"parameters: problem={p.problem} n_estimators={p.n_estimators} "
        f"max_depth={p.max_depth} test_size={p.test_size} seed={p.seed}"
    )


def cmd_prepare(args: argparse.Namespace) -> None:
    p = _params(args)
    data.prepare(p.problem, args.out, test_size=p.test_size, seed=p.seed)
    print(f"prepared {p.problem}: {args.out}/train.csv, {args.out}/test.csv")


def cmd_train(args: argparse.Namespace) -> None:
    p = _params(args)
    _, features, target = data.read_table(args.data / "train.csv")
    fitted = model.train(
        features, target, n_estimators=p.n_estimators, max_depth=p.max_depth, seed=p.seed
    )
    model.save(fitted, args.out / "model.pkl")
    print(f"trained: {args.out}/model.pkl ({p.n_estimators} trees, depth {p.max_depth})")


def cmd_evaluate(args: argparse.Namespace) -> None:
    _, features, target = data.read_table(args.data / "test.csv")
    metrics = model.evaluate(model.load(args.model / "model.pkl"), features, target)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print("metrics: " + ", ".join(f"{k}={v}" for k, v in sorted(metrics.items())))


def cmd_gate(args: argparse.Namespace) -> None:
    metric, minimum = gate(PARAMS_FILE)
    metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
    if metric not in metrics:
        raise ParamError(f"{args.metrics}: no metric {metric!r} (params.yaml gate.metric)")
    value = float(metrics[metric])
    verdict = "passed" if value >= minimum else "FAILED"
    print(f"gate {verdict}: {metric}={value} (threshold {minimum}, params.yaml gate.min)")
    if value < minimum:
        sys.exit(1)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m cd4ml_train.cli", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    def add(name: str, func, **paths: str) -> None:
        cmd = sub.add_parser(name)
        cmd.set_defaults(func=func)
        cmd.add_argument("--from-params", action="store_true", help="params.yaml `chain`")
        for flag, default in paths.items():
            cmd.add_argument(f"--{flag}", type=Path, default=Path(default))

    add("validate", cmd_validate)
    add("prepare", cmd_prepare, out="out/data")
    add("train", cmd_train, data="out/data", out="out/model")
    add("evaluate", cmd_evaluate, data="out/data", model="out/model", out="out/metrics.json")
    add("gate", cmd_gate, metrics="out/metrics.json")
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ParamError, OSError, ValueError) as exc:
        print(f"[cd4ml-train] ERROR: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
