"""Storage against moto's S3 server; StorageAdmin (MinIO admin API) against a fake."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from minio import Minio
from minio.error import MinioAdminException, S3Error

from lab.bootstrap import converge_minio
from lab.clients.storage import (
    DVC_POLICY_NAME,
    Storage,
    StorageAdmin,
    dvc_policy,
    normalise_policy,
    split_endpoint,
)
from lab.config import LabConfig
from lab.errors import ConfigError, ServiceError
from lab.secrets import Secrets
from lab.wait import poll
from tests.fakes.s3 import FakeS3
from tests.fakes.s3 import serve as serve_s3

MOTO = Path(sys.executable).with_name("moto_server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    if not MOTO.exists():
        pytest.skip(
            f"moto_server not installed next to {sys.executable} (pip install moto[server])"
        )
    port = _free_port()
    proc = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}")
            return requests.get(url + "/moto-api/", timeout=1).ok

        poll(up, what=f"moto S3 server on {url}", timeout=30, interval=0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def bucket() -> str:
    return f"lab-test-{uuid.uuid4().hex[:12]}"


def test_ensure_bucket_is_idempotent(s3_url, bucket):
    store = Storage(s3_url, "key", "secret-key")
    assert store.bucket_exists(bucket) is False
    assert store.ensure_bucket(bucket) is True
    assert store.ensure_bucket(bucket) is False
    assert store.bucket_exists(bucket) is True


def test_list_and_count_objects_under_a_prefix(s3_url, bucket):
    store = Storage(s3_url, "key", "secret-key")
    store.ensure_bucket(bucket)
    host, _ = split_endpoint(s3_url)
    raw = Minio(host, access_key="key", secret_key="secret-key", secure=False)
    for key in ("files/md5/ab/cdef", "files/md5/12/3456", "other/x"):
        raw.put_object(bucket, key, io.BytesIO(b"data"), length=4)
    assert store.list_objects(bucket, "files/") == ["files/md5/12/3456", "files/md5/ab/cdef"]
    assert store.object_count(bucket, "files/md5/ab/") == 1
    assert store.object_count(bucket) == 3
    assert store.object_count(bucket, "nothing/") == 0


def test_listing_a_missing_bucket_names_service_and_bucket(s3_url, bucket):
    store = Storage(s3_url, "key", "secret-key")
    with pytest.raises(ServiceError, match=rf"MinIO: list s3://{bucket}/ at .* NoSuchBucket"):
        store.list_objects(bucket)


def test_unreachable_store_fails_fast_and_clearly():
    url = f"http://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    with pytest.raises(ServiceError, match=rf"MinIO: HEAD bucket lab at {url} failed"):
        Storage(url, "key", "secret-key").bucket_exists("lab")
    admin = StorageAdmin(url, "root", "root-secret")  # the real MinioAdmin, our own pool
    with pytest.raises(ServiceError, match=rf"MinIO admin: read user u at {url} failed"):
        admin.get_user("u")
    assert time.monotonic() - start < 15


def test_credentials_valid_tells_wrong_keys_from_missing_permission(monkeypatch):
    store = Storage("http://127.0.0.1:9", "key", "secret-key")

    def raising(code: str):
        def listing(_bucket: str, **_kwargs: object) -> Iterator[object]:
            raise S3Error(None, code, "msg", "/b", "req", "host")  # type: ignore[arg-type]

        return listing

    for code, valid in [
        ("InvalidAccessKeyId", False),
        ("SignatureDoesNotMatch", False),
        ("AccessDenied", True),
        ("NoSuchBucket", True),
    ]:
        monkeypatch.setattr(store._client, "list_objects", raising(code))
        assert store.credentials_valid("lab") is valid, code
    monkeypatch.setattr(store._client, "list_objects", raising("InternalError"))
    with pytest.raises(ServiceError, match=r"list s3://lab/.* failed: InternalError"):
        store.credentials_valid("lab")


def test_endpoint_parsing():
    assert split_endpoint("http://localhost:9000") == ("localhost:9000", False)
    assert split_endpoint("https://s3.lab:443/") == ("s3.lab:443", True)
    with pytest.raises(ConfigError, match="http://host:port"):
        split_endpoint("http://localhost:9000/bucket")


# ------------------------------------------------------------ policy --
def test_dvc_policy_is_least_privilege_on_the_bucket_only():
    doc = dvc_policy("cd4ml-dvc")
    grants = {(a, r) for st in doc["Statement"] for a in st["Action"] for r in st["Resource"]}
    assert all(st["Effect"] == "Allow" and "Condition" not in st for st in doc["Statement"])
    assert grants == {
        ("s3:ListBucket", "arn:aws:s3:::cd4ml-dvc"),
        ("s3:GetBucketLocation", "arn:aws:s3:::cd4ml-dvc"),
        ("s3:GetObject", "arn:aws:s3:::cd4ml-dvc/*"),
        ("s3:PutObject", "arn:aws:s3:::cd4ml-dvc/*"),
        ("s3:DeleteObject", "arn:aws:s3:::cd4ml-dvc/*"),
        ("s3:AbortMultipartUpload", "arn:aws:s3:::cd4ml-dvc/*"),
    }


def test_policy_comparison_ignores_order_and_string_vs_list():
    doc = dvc_policy("b")
    variant = json.loads(json.dumps(doc))
    variant["Statement"].reverse()
    variant["Statement"][0]["Action"] = list(reversed(variant["Statement"][0]["Action"]))
    variant["Statement"][1]["Resource"] = "arn:aws:s3:::b"
    assert normalise_policy(variant) == normalise_policy(doc)
    variant["Statement"][0]["Action"].append("s3:DeleteBucket")
    assert normalise_policy(variant) != normalise_policy(doc)


# ------------------------------------------------------------- admin --
class FakeMinioAdmin:
    """The MinioAdmin methods StorageAdmin calls, with MinIO's error shapes.

    Signatures and return types as minio-py 7.2.20 `minio/minioadmin.py` (policy_add,
    policy_info, user_add, user_info, attach_policy); a non-2xx answer raises
    MinioAdminException(str(status), body) (`_url_open`). The error codes and the
    user_info JSON (`status`, `policyName`) are MinIO's: tests/fakes/EVIDENCE.md, M3.
    """

    def __init__(self) -> None:
        self.policies: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    @staticmethod
    def _err(status: int, code: str) -> MinioAdminException:
        return MinioAdminException(str(status), json.dumps({"Code": code, "Message": code}))

    def policy_info(self, name: str) -> str:
        if name not in self.policies:
            raise self._err(404, "XMinioAdminNoSuchPolicy")
        return self.policies[name]

    def policy_add(self, name: str, policy_file: Any = None, policy: Any = None) -> str:
        assert policy_file is None and isinstance(policy, dict)
        self.calls.append(f"policy_add {name}")
        self.policies[name] = json.dumps(policy)
        return ""

    def user_info(self, access_key: str) -> str:
        if access_key not in self.users:
            raise self._err(404, "XMinioAdminNoSuchUser")
        user = self.users[access_key]
        return json.dumps({"status": "enabled", "policyName": ",".join(user["policies"])})

    def user_add(self, access_key: str, secret_key: str) -> str:
        self.calls.append(f"user_add {access_key}")
        self.users.setdefault(access_key, {"policies": []})["secret"] = secret_key
        return ""

    def attach_policy(self, policies: list[str], user: str | None = None) -> str:
        self.calls.append(f"attach {policies} {user}")
        if user not in self.users:
            raise self._err(404, "XMinioAdminNoSuchUser")
        if all(p in self.users[user]["policies"] for p in policies):
            raise self._err(400, "XMinioAdminPolicyChangeAlreadyApplied")
        self.users[user]["policies"].extend(policies)
        return "{}"


def test_admin_converges_policy_user_and_attachment():
    fake = FakeMinioAdmin()
    admin = StorageAdmin("http://minio:9000", "root", "root-secret", admin=fake)  # type: ignore[arg-type]
    assert admin.get_policy(DVC_POLICY_NAME) is None
    admin.put_policy(DVC_POLICY_NAME, dvc_policy("cd4ml-dvc"))
    assert admin.get_policy(DVC_POLICY_NAME) == dvc_policy("cd4ml-dvc")
    assert admin.get_user("dvc1") is None
    admin.put_user("dvc1", "a-long-secret")
    assert StorageAdmin.user_policies(admin.get_user("dvc1")) == frozenset()
    assert admin.attach_policy(DVC_POLICY_NAME, "dvc1") is True
    assert admin.attach_policy(DVC_POLICY_NAME, "dvc1") is False  # already applied is fine
    assert StorageAdmin.user_policies(admin.get_user("dvc1")) == {DVC_POLICY_NAME}


def test_admin_errors_name_the_operation_and_code():
    fake = FakeMinioAdmin()
    admin = StorageAdmin("http://minio:9000", "root", "root-secret", admin=fake)  # type: ignore[arg-type]
    with pytest.raises(
        ServiceError,
        match=r"attach policy p to ghost at http://minio:9000 failed: HTTP 404 "
        "XMinioAdminNoSuchUser",
    ):
        admin.attach_policy("p", "ghost")
    with pytest.raises(ConfigError, match="shorter than 8"):
        admin.put_user("dvc1", "short")
    assert fake.calls == ["attach ['p'] ghost"]


def test_user_policies_parses_minio_lists():
    assert StorageAdmin.user_policies({"policyName": "a, b"}) == {"a", "b"}
    assert StorageAdmin.user_policies({}) == frozenset()
    assert StorageAdmin.user_policies(None) == frozenset()


# ------------------------------------------------ a MinIO-like S3 server --
@pytest.fixture
def minio_like() -> Iterator[tuple[FakeS3, str]]:
    fake = FakeS3(
        users={"root": "root-secret", "dvc-user": "dvc-secret-1"},
        grants={"root": {"*"}, "dvc-user": {"dvc"}},
        buckets={"dvc", "other"},
    )
    with serve_s3(fake) as url:
        yield fake, url


@pytest.mark.parametrize("region", [None, "us-east-1"])
def test_credentials_valid_sees_a_wrong_key_or_secret_as_minio_answers(minio_like, region):
    # With a region set, minio-py never sends GET ?location first: a HEAD's body-less
    # 403 would read as AccessDenied, i.e. "valid". The listing sees the real code.
    fake, url = minio_like
    assert Storage(url, "dvc-user", "dvc-secret-1", region=region).credentials_valid("dvc")
    assert not Storage(url, "dvc-user", "wrong-secret", region=region).credentials_valid("dvc")
    assert not Storage(url, "nobody", "dvc-secret-1", region=region).credentials_valid("dvc")
    # Accepted but not allowed, or no bucket yet: the credentials themselves are fine.
    assert Storage(url, "dvc-user", "dvc-secret-1", region=region).credentials_valid("other")
    assert Storage(url, "dvc-user", "dvc-secret-1", region=region).credentials_valid("gone")
    # The fake does answer a HEAD without a body, as MinIO does.
    head_errors = [c for m, _, c in fake.log if m == "HEAD" and c]
    with pytest.raises(ServiceError, match="AccessDenied"):
        Storage(url, "nobody", "x", region="us-east-1").bucket_exists("dvc")
    assert [c for m, _, c in fake.log if m == "HEAD" and c] == [*head_errors, "InvalidAccessKeyId"]


class LinkedMinioAdmin(FakeMinioAdmin):
    """The admin fake, with user secrets shared with the S3 fake (one MinIO)."""

    def __init__(self, s3: FakeS3) -> None:
        super().__init__()
        self.s3 = s3

    def user_add(self, access_key: str, secret_key: str) -> str:
        self.s3.users[access_key] = secret_key
        self.s3.grants.setdefault(access_key, set())
        return super().user_add(access_key, secret_key)


def test_a_changed_dvc_secret_is_detected_and_reset(minio_like, tmp_path):
    fake, url = minio_like
    secrets, _ = Secrets.ensure(tmp_path / ".lab" / "secrets.env")
    cfg = LabConfig.load(root=tmp_path, env={})
    key, secret = secrets["DVC_ACCESS_KEY"], secrets["DVC_SECRET_KEY"]
    admin_api = LinkedMinioAdmin(fake)
    admin = StorageAdmin(url, "root", "root-secret", admin=admin_api)  # type: ignore[arg-type]

    def converge() -> list[str]:
        return converge_minio(
            cfg,
            secrets,
            progress=lambda _: None,
            root=Storage(url, "root", "root-secret", region="us-east-1"),
            admin=admin,
            dvc=Storage(url, key, secret, region="us-east-1"),
        )

    assert len(converge()) == 2  # the bucket; the user with its policy attached
    fake.grants[key] = {cfg.dvc_bucket}
    assert converge() == []
    # The DVC secret was changed in MinIO (or .lab/secrets.env was regenerated with the
    # volumes kept): the next `lab up` puts the lab's secret back.
    fake.users[key] = "changed-elsewhere"
    assert converge() == [f"reset the secret of DVC user {key[:2]}****** to the lab's"]
    assert fake.users[key] == secret
    assert converge() == []
