import hashlib

import numpy as np
import pytest

from cd4ml_demo.data import TARGET, raw_dataset, read_table, split, write_raw, write_table


def test_raw_data_is_byte_identical_between_runs(tmp_path):
    write_raw(tmp_path / "a.csv")
    write_raw(tmp_path / "b.csv")
    digest = [hashlib.md5((tmp_path / n).read_bytes()).hexdigest() for n in ("a.csv", "b.csv")]
    assert digest[0] == digest[1]


def test_raw_table_round_trips_exactly(tmp_path):
    write_raw(tmp_path / "raw.csv")
    names, features, target = read_table(tmp_path / "raw.csv")
    want_names, want_features, want_target = raw_dataset()
    assert names == want_names
    np.testing.assert_array_equal(features, want_features)
    np.testing.assert_array_equal(target, want_target)


def test_read_table_requires_the_target_column_last(tmp_path):
    write_table(tmp_path / "bad.csv", ["a", "b"], [[1, 2]])
    with pytest.raises(ValueError, match=TARGET):
        read_table(tmp_path / "bad.csv")


def test_split_is_stratified_and_reproducible():
    _, features, target = raw_dataset()
    first = split(features, target, test_size=0.25, seed=7)
    second = split(features, target, test_size=0.25, seed=7)
    np.testing.assert_array_equal(first[3], second[3])
    x_train, x_test, y_train, y_test = first
    assert len(x_test) == pytest.approx(0.25 * len(features), abs=1)
    assert abs(y_train.mean() - y_test.mean()) < 0.02
