"""Training, evaluation and storage of the classifier."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score


def train(
    features: np.ndarray, target: np.ndarray, *, n_estimators: int, max_depth: int, seed: int
) -> RandomForestClassifier:
    """A random forest; n_jobs=1 keeps the fitted model identical run to run."""
    model = RandomForestClassifier(
        n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=1
    )
    return model.fit(features, target)


def evaluate(model: RandomForestClassifier, features: np.ndarray, target: np.ndarray) -> dict:
    predicted = model.predict(features)
    return {
        "accuracy": round(float(accuracy_score(target, predicted)), 4),
        "f1_macro": round(float(f1_score(target, predicted, average="macro")), 4),
        "n_test": int(len(target)),
    }


def save(model: RandomForestClassifier, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(model, handle)


def load(path: Path) -> RandomForestClassifier:
    # Only models this project wrote itself (its own S3 prefix) are ever loaded.
    with path.open("rb") as handle:
        return pickle.load(handle)  # noqa: S301
