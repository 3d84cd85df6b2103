import json
from pathlib import Path

import pytest

from cd4ml_train import cli, data, model
from cd4ml_train.params import ParamError, chain_params, gate, validate

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("problem", sorted(data.PROBLEMS))
def test_every_problem_trains_above_the_gate(problem, tmp_path):
    data.prepare(problem, tmp_path, test_size=0.3, seed=42)
    _, x_train, y_train = data.read_table(tmp_path / "train.csv")
    _, x_test, y_test = data.read_table(tmp_path / "test.csv")
    fitted = model.train(x_train, y_train, n_estimators=30, max_depth=6, seed=42)
    assert model.evaluate(fitted, x_test, y_test)["accuracy"] >= 0.8


def test_prepare_is_byte_stable(tmp_path):
    data.prepare("iris", tmp_path / "a", test_size=0.3, seed=1)
    data.prepare("iris", tmp_path / "b", test_size=0.3, seed=1)
    for name in ("train.csv", "test.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"PROBLEM": "mnist", "N_ESTIMATORS": "5", "MAX_DEPTH": "3"}, "PROBLEM='mnist': unknown"),
        ({"PROBLEM": "wine", "N_ESTIMATORS": "many", "MAX_DEPTH": "3"}, "N_ESTIMATORS='many'"),
        ({"PROBLEM": "wine", "N_ESTIMATORS": "5", "MAX_DEPTH": "0"}, "MAX_DEPTH=0: out of range"),
        ({"PROBLEM": "wine", "N_ESTIMATORS": "5"}, "missing parameter(s): MAX_DEPTH"),
        (
            {"PROBLEM": "wine", "N_ESTIMATORS": "5", "MAX_DEPTH": "3", "TEST_SIZE": "0.9"},
            "TEST_SIZE=0.9: out of range",
        ),
    ],
)
def test_invalid_parameters_are_named(values, message):
    with pytest.raises(ParamError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(values, seed=1)


def test_shipped_params_yaml_is_valid_and_gates_at_0_8():
    assert chain_params(ROOT / "params.yaml").problem == "wine"
    assert gate(ROOT / "params.yaml") == ("accuracy", 0.8)


def test_gate_fails_below_the_threshold_and_says_both_numbers(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"accuracy": 0.5}))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["gate", "--metrics", str(metrics)])
    assert exit_.value.code == 1
    assert "gate FAILED: accuracy=0.5 (threshold 0.8" in capsys.readouterr().out
    metrics.write_text(json.dumps({"accuracy": 0.95}))
    cli.main(["gate", "--metrics", str(metrics)])
    assert "gate passed: accuracy=0.95" in capsys.readouterr().out


def test_cli_runs_the_steps_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PROBLEM", "iris")
    monkeypatch.setenv("N_ESTIMATORS", "10")
    monkeypatch.setenv("MAX_DEPTH", "3")
    out = tmp_path / "out"
    cli.main(["prepare", "--out", str(out / "data")])
    cli.main(["train", "--data", str(out / "data"), "--out", str(out / "model")])
    cli.main(["evaluate", "--data", str(out / "data"), "--model", str(out / "model"),
              "--out", str(out / "metrics.json")])
    assert json.loads((out / "metrics.json").read_text())["accuracy"] > 0.8
