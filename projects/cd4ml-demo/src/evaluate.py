"""Stage evaluate: metrics.json and the confusion plot data on the test table."""

import json
import pickle

from cd4ml_demo.data import read_table, write_table
from cd4ml_demo.model import evaluate


def main():
    _, features, target = read_table("data/prepared/test.csv")
    with open("models/model.pkl", "rb") as handle:
        model = pickle.load(handle)  # noqa: S301 - our own stage output
    metrics, predicted = evaluate(model, features, target)
    with open("metrics.json", "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=2, sort_keys=True)
        handle.write("\n")
    write_table(
        "plots/confusion.csv",
        ["actual", "predicted"],
        ([int(a), int(p)] for a, p in zip(target, predicted)),
    )


if __name__ == "__main__":
    main()
