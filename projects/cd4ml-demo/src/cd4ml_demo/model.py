"""Training and evaluation of the classifier."""

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score


def train(features, target, n_estimators, max_depth, seed):
    """A random forest; n_jobs=1 keeps the fitted model identical run to run."""
    model = RandomForestClassifier(
        n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=1
    )
    return model.fit(features, target)


def evaluate(model, features, target):
    """Metrics (rounded, so the metrics file is stable text) and per-row predictions."""
    predicted = model.predict(features)
    scores = model.predict_proba(features)[:, 1]
    metrics = {
        "accuracy": round(float(accuracy_score(target, predicted)), 4),
        "f1": round(float(f1_score(target, predicted)), 4),
        "roc_auc": round(float(roc_auc_score(target, scores)), 4),
    }
    return metrics, np.asarray(predicted)
