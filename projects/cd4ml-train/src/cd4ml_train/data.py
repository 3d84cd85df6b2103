"""Datasets bundled in scikit-learn (no download), split and stored as plain CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

TARGET = "target"
# Problem name -> loader of a dataset shipped inside the scikit-learn wheel.
PROBLEMS: dict[str, Callable] = {
    "wine": datasets.load_wine,
    "iris": datasets.load_iris,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}


def load(problem: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(feature names, X, y) of ``problem``; ValueError naming the known problems."""
    if problem not in PROBLEMS:
        raise ValueError(f"unknown problem {problem!r}; known: {', '.join(sorted(PROBLEMS))}")
    bunch = PROBLEMS[problem]()
    names = [str(n) for n in getattr(bunch, "feature_names", [])]
    if len(names) != bunch.data.shape[1]:
        names = [f"x{i}" for i in range(bunch.data.shape[1])]
    return names, bunch.data, bunch.target


def write_table(path: Path, header: list[str], features: np.ndarray, target: np.ndarray) -> None:
    """Features and target as CSV, LF line ends, floats in repr form (byte-stable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*header, TARGET])
        for row, label in zip(features, target, strict=True):
            writer.writerow([repr(float(v)) for v in row] + [int(label)])


def read_table(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows = [list(map(float, row)) for row in reader]
    if not header or header[-1] != TARGET:
        raise ValueError(f"{path}: last column must be {TARGET!r}, got {header[-1:]}")
    values = np.asarray(rows, dtype=float).reshape(len(rows), len(header))
    return header[:-1], values[:, :-1], values[:, -1].astype(int)


def prepare(problem: str, out_dir: Path, *, test_size: float, seed: int) -> None:
    """Write ``train.csv`` and ``test.csv`` (stratified split) of ``problem`` to ``out_dir``."""
    names, features, target = load(problem)
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=test_size, random_state=seed, stratify=target
    )
    write_table(out_dir / "train.csv", names, x_train, y_train)
    write_table(out_dir / "test.csv", names, x_test, y_test)
