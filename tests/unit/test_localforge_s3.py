"""The S3 stand-in: a real moto server process, real boto3 and DVC clients."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("moto", reason="moto[server] (dev extra) is not installed")

import botocore.exceptions

from lab.localforge import S3StandIn

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def s3() -> Iterator[S3StandIn]:
    with S3StandIn() as server:
        yield server


def bucket_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_bucket_put_get_list_with_created_credentials(s3: S3StandIn):
    bucket = bucket_name()
    s3.create_bucket(bucket)
    s3.create_bucket(bucket)  # idempotent
    client = s3.client(s3.create_credentials())
    client.put_object(Bucket=bucket, Key="a/b.txt", Body=b"payload")
    client.put_object(Bucket=bucket, Key="c.bin", Body=b"\0" * 10)
    assert client.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"payload"
    assert s3.object_keys(bucket) == ["a/b.txt", "c.bin"]
    assert s3.endpoint_url.startswith("http://127.0.0.1:")


def test_object_gets_and_bytes_count_only_successful_object_reads(s3: S3StandIn):
    bucket, other = bucket_name(), bucket_name()
    for name in (bucket, other):
        s3.create_bucket(name)
    client = s3.client(s3.create_credentials())
    client.put_object(Bucket=bucket, Key="k1", Body=b"x" * 1000)
    client.put_object(Bucket=bucket, Key="dir/k2", Body=b"y" * 234)
    client.put_object(Bucket=other, Key="k1", Body=b"z" * 50)
    s3.reset_counters()
    assert s3.object_gets(bucket) == 0

    client.get_object(Bucket=bucket, Key="k1")["Body"].read()
    client.get_object(Bucket=bucket, Key="dir/k2")["Body"].read()
    client.get_object(Bucket=bucket, Key="k1")["Body"].read()
    client.get_object(Bucket=other, Key="k1")["Body"].read()
    client.head_object(Bucket=bucket, Key="k1")
    client.list_objects_v2(Bucket=bucket)
    with pytest.raises(botocore.exceptions.ClientError):
        client.get_object(Bucket=bucket, Key="missing")

    assert s3.object_gets(bucket) == 3
    assert s3.object_bytes_out(bucket) == 1000 + 234 + 1000
    assert s3.object_gets(other) == 1
    s3.reset_counters()
    assert (s3.object_gets(bucket), s3.object_bytes_out(bucket)) == (0, 0)


@pytest.mark.parametrize("which", ["wrong secret", "unknown key"])
def test_wrong_credentials_are_rejected_with_403(s3: S3StandIn, which: str):
    bucket = bucket_name()
    s3.create_bucket(bucket)
    key, secret = s3.create_credentials()
    s3.client((key, secret)).put_object(Bucket=bucket, Key="k", Body=b"v")
    bad = (key, secret[::-1]) if which == "wrong secret" else ("AKIA" + "X" * 16, secret)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.client(bad).get_object(Bucket=bucket, Key="k")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.client(bad).put_object(Bucket=bucket, Key="k2", Body=b"v")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert s3.object_keys(bucket) == ["k"]


def _dvc(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_dvc_push_and_pull_through_the_stand_in_count_every_download(s3: S3StandIn, tmp_path: Path):
    if not (VENV_BIN / "dvc").exists():
        pytest.skip(f"dvc is not installed next to {sys.executable}")
    bucket = bucket_name()
    s3.create_bucket(bucket)
    key, secret = s3.create_credentials()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "DVC_NO_ANALYTICS": "1",
    }
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    files = {"big.bin": os.urandom(200_000), "small.txt": b"tiny\n"}
    for name, data in files.items():
        (repo / name).write_bytes(data)
    # DVC's config written directly (saves `dvc` start-ups); endpoint in config.local
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text(
        f"[core]\n    remote = origin\n['remote \"origin\"']\n    url = s3://{bucket}/store\n"
    )
    (repo / ".dvc" / "config.local").write_text(
        f"['remote \"origin\"']\n    endpointurl = {s3.endpoint_url}\n"
    )
    for args in (("add", "-q", *files), ("push", "-r", "origin")):
        proc = _dvc(repo, env, *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    md5s = {hashlib.md5(data).hexdigest() for data in files.values()}
    assert {k.rsplit("/", 2)[-2] + k.rsplit("/", 1)[-1] for k in s3.object_keys(bucket)} == md5s

    # a cold pull downloads each object once, and the byte count is the data's size
    for name in files:
        (repo / name).unlink()
    subprocess.run(["rm", "-rf", str(repo / ".dvc" / "cache")], check=True)
    s3.reset_counters()
    proc = _dvc(repo, env, "pull", "-r", "origin")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert s3.object_gets(bucket) == len(files)
    assert s3.object_bytes_out(bucket) == sum(len(d) for d in files.values())

    # DVC with a wrong secret fails, and nothing was downloaded
    (repo / "small.txt").unlink()
    subprocess.run(["rm", "-rf", str(repo / ".dvc" / "cache")], check=True)
    s3.reset_counters()
    proc = _dvc(repo, {**env, "AWS_SECRET_ACCESS_KEY": "not-" + secret}, "pull", "-r", "origin")
    assert proc.returncode != 0
    assert "403" in proc.stdout + proc.stderr or "Forbidden" in proc.stdout + proc.stderr
    assert s3.object_gets(bucket) == 0


def test_stop_ends_the_server_process_and_frees_the_port():
    server = S3StandIn()
    server.start()
    pid, url = server._proc.pid, server.endpoint_url  # type: ignore[union-attr]
    assert server.running
    server.stop()
    server.stop()  # idempotent
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    import requests

    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_a_server_that_cannot_start_is_a_clear_service_error(monkeypatch: pytest.MonkeyPatch):
    from lab.errors import ServiceError

    monkeypatch.setattr(sys, "executable", "/bin/false")  # the server process dies at once
    server = S3StandIn(start_timeout=10)
    with pytest.raises(ServiceError, match=r"S3 stand-in \(moto server\) exited with code 1"):
        server.start()
    assert not server.running
