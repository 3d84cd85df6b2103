"""Stage prepare: split the raw table into train and test tables."""

import yaml

from cd4ml_demo.data import TARGET, read_table, split, write_table


def main():
    params = yaml.safe_load(open("params.yaml", encoding="utf-8"))
    names, features, target = read_table("data/raw/breast_cancer.csv")
    x_train, x_test, y_train, y_test = split(
        features, target, params["split"]["test_size"], params["seed"]
    )
    header = names + [TARGET]
    write_table(
        "data/prepared/train.csv", header, (list(x) + [int(y)] for x, y in zip(x_train, y_train))
    )
    write_table(
        "data/prepared/test.csv", header, (list(x) + [int(y)] for x, y in zip(x_test, y_test))
    )


if __name__ == "__main__":
    main()
