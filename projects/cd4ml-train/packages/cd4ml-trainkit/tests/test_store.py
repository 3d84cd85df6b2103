from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from trainkit.store import MARKER, StoreError, get, put, split_url


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="lab")
        yield client


def test_split_url():
    assert split_url("s3://lab/wine/7") == ("lab", "wine/7/")
    assert split_url("s3://lab") == ("lab", "")
    with pytest.raises(StoreError, match="expected s3://"):
        split_url("/tmp/x")


def test_put_writes_the_marker_last_and_get_reads_it_back(s3, tmp_path: Path):
    src = tmp_path / "out"
    (src / "model").mkdir(parents=True)
    (src / "metrics.json").write_text('{"accuracy": 0.9}\n')
    (src / "model" / "model.pkl").write_bytes(b"\x00model")
    keys = put(src, "s3://lab/wine/7", s3=s3)
    assert keys[-1] == f"wine/7/{MARKER}"
    assert set(keys[:-1]) == {"wine/7/metrics.json", "wine/7/model/model.pkl"}
    dest = tmp_path / "back"
    get("s3://lab/wine/7", dest, s3=s3)
    assert (dest / "model" / "model.pkl").read_bytes() == b"\x00model"
    assert not (dest / MARKER).exists()


def test_get_refuses_an_incomplete_prefix(s3, tmp_path: Path):
    s3.put_object(Bucket="lab", Key="wine/8/metrics.json", Body=b"{}")
    with pytest.raises(StoreError, match="no complete result"):
        get("s3://lab/wine/8", tmp_path, s3=s3)


def test_put_of_an_empty_directory_fails(s3, tmp_path: Path):
    with pytest.raises(StoreError, match="nothing to upload"):
        put(tmp_path, "s3://lab/wine/9", s3=s3)
