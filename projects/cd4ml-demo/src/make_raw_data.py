"""Materialise the DVC-tracked raw data from the dataset shipped in scikit-learn.

Deterministic: with the pinned scikit-learn the file is byte-identical to the one
recorded in data/raw/breast_cancer.csv.dvc, so a fresh DVC remote can be seeded.
"""

import sys

from cd4ml_demo.data import write_raw

RAW = "data/raw/breast_cancer.csv"

if __name__ == "__main__":
    write_raw(sys.argv[1] if len(sys.argv) > 1 else RAW)
