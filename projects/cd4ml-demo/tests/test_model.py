import pytest

from cd4ml_demo.data import raw_dataset, split
from cd4ml_demo.model import evaluate, train


@pytest.fixture(scope="module")
def data():
    _, features, target = raw_dataset()
    return split(features, target, test_size=0.25, seed=42)


def test_forest_beats_the_majority_class(data):
    x_train, x_test, y_train, y_test = data
    model = train(x_train, y_train, n_estimators=10, max_depth=3, seed=1)
    metrics, predicted = evaluate(model, x_test, y_test)
    majority = max(y_test.mean(), 1 - y_test.mean())
    assert metrics["accuracy"] > majority + 0.2
    assert set(metrics) == {"accuracy", "f1", "roc_auc"}
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert len(predicted) == len(y_test)


def test_same_seed_same_model(data):
    x_train, x_test, y_train, y_test = data
    first = train(x_train, y_train, n_estimators=5, max_depth=2, seed=3)
    second = train(x_train, y_train, n_estimators=5, max_depth=2, seed=3)
    assert evaluate(first, x_test, y_test)[0] == evaluate(second, x_test, y_test)[0]
