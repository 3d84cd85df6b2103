"""Tabular data as plain CSV: written deterministically, read without pandas."""

import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

TARGET = "target"


def _fmt(value):
    """One stable text form per number: repr() round-trips floats exactly."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


def write_table(path, header, rows):
    """Write ``rows`` under ``header`` as CSV with LF line ends (byte-stable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_fmt(v) for v in row])


def read_table(path):
    """Return (feature names, X as float array, y as int array) of a CSV table."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [list(map(float, row)) for row in reader]
    if not header or header[-1] != TARGET:
        raise ValueError(f"{path}: last column must be '{TARGET}', got {header[-1:]}")
    values = np.asarray(rows, dtype=float).reshape(len(rows), len(header))
    return header[:-1], values[:, :-1], values[:, -1].astype(int)


def raw_dataset():
    """The raw dataset shipped inside scikit-learn: (feature names, X, y)."""
    bunch = load_breast_cancer()
    return list(bunch.feature_names), bunch.data, bunch.target


def write_raw(path):
    names, features, target = raw_dataset()
    rows = (list(x) + [int(t)] for x, t in zip(features, target))
    write_table(path, names + [TARGET], rows)


def split(features, target, test_size, seed):
    """Stratified train/test split, reproducible for a given seed."""
    return train_test_split(
        features, target, test_size=test_size, random_state=seed, stratify=target
    )
