"""Stage train: fit the classifier on the train table."""

import pickle
from pathlib import Path

import yaml

from cd4ml_demo.data import read_table
from cd4ml_demo.model import train


def main():
    params = yaml.safe_load(open("params.yaml", encoding="utf-8"))
    _, features, target = read_table("data/prepared/train.csv")
    model = train(
        features,
        target,
        n_estimators=params["train"]["n_estimators"],
        max_depth=params["train"]["max_depth"],
        seed=params["seed"],
    )
    Path("models").mkdir(exist_ok=True)
    with open("models/model.pkl", "wb") as handle:
        pickle.dump(model, handle)


if __name__ == "__main__":
    main()
