"""MinIO alone (the compose pin, by tag and digest): the DVC user and its policy made
by the lab's storage client and convergence, and what MinIO then allows that user.

Upstream behaviour relied on (minio/minio at tag RELEASE.2025-09-07T16-13-09Z, the
compose pin, unless named otherwise):
- readiness: ``GET /minio/health/ready`` (cmd/healthcheck-router.go; the path prefix is
  ``/minio`` + ``/health``, cmd/generic-handlers.go ``minioReservedBucketPath``).
- S3 errors, all HTTP 403: ``AccessDenied``, ``InvalidAccessKeyId``,
  ``SignatureDoesNotMatch`` (cmd/api-errors.go). A body-less 403 (a HEAD) reaches
  minio-py 7.2.20 as ``AccessDenied`` whatever the cause (minio/api.py ``_url_open``:
  no body -> status map, 403 -> AccessDenied; issue 9, break 3). But a client built
  without a region first sends GetBucketLocation, a GET whose 403 has a body
  (minio/api.py ``_execute`` -> ``_get_region``), so the wrong secret shows there; the
  HEAD alone decides only once the region is known (given, or cached by an earlier
  call). The wrong-secret test probes both ways.
- admin API: a user without the admin action gets ``AccessDenied`` (403) from
  ``validateAdminReq`` (cmd/admin-handler-utils.go); reading *its own* user info is
  allowed (cmd/admin-handlers-users.go ``GetUserInfo``, ``checkDenyOnly``), so the
  refusal is checked on policy and user administration, not on that call.
- minio-py 7.2.20: ``MinioAdminException(code, body)`` for any admin status other than
  200/204/206 (minio/minioadmin.py ``_url_open``); ``S3Error.code`` for S3 calls.
"""

from __future__ import annotations

import io
import secrets as random
from collections.abc import Iterator

import pytest
from minio import Minio
from minio.error import S3Error
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

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
from lab.errors import ServiceError
from lab.secrets import Secrets
from tests.containers.services import lab_config, quiet, started
from tests.containers.stack_spec import service

SPEC = service("minio")
S3_PORT = 9000
OTHER_BUCKET = "not-the-dvc-bucket"


@pytest.fixture(scope="module")
def minio(secrets: Secrets) -> Iterator[DockerContainer]:
    wait = HttpWaitStrategy(S3_PORT, "/minio/health/ready").with_startup_timeout(120)
    # MINIO_ROOT_USER/PASSWORD come from the secrets, through compose's own `${...:?}`.
    with started(SPEC, SPEC.env(secrets), port=S3_PORT, wait=wait) as container:
        yield container


@pytest.fixture(scope="module")
def cfg(minio: DockerContainer) -> LabConfig:
    return lab_config(minio, minio=S3_PORT)


@pytest.fixture(scope="module")
def first_convergence(cfg: LabConfig, secrets: Secrets) -> list[str]:
    return converge_minio(cfg, secrets, progress=quiet)


def root_admin(cfg: LabConfig, secrets: Secrets) -> StorageAdmin:
    return StorageAdmin(cfg.minio_url, secrets["MINIO_ROOT_USER"], secrets["MINIO_ROOT_PASSWORD"])


def sdk(cfg: LabConfig, access_key: str, secret_key: str) -> Minio:
    host, secure = split_endpoint(cfg.minio_url)
    return Minio(host, access_key=access_key, secret_key=secret_key, secure=secure)


def s3_code(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(S3Error) as refused:
        call()
    return str(refused.value.code)


def test_first_convergence_makes_bucket_policy_user_and_attachment(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
):
    for step in (
        f"create bucket {cfg.dvc_bucket}",
        f"create policy {DVC_POLICY_NAME}",
        "create DVC user",
        f"attach policy {DVC_POLICY_NAME}",
    ):
        assert any(c.startswith(step) for c in first_convergence), (step, first_convergence)
    assert all(secrets["DVC_ACCESS_KEY"] not in c for c in first_convergence)
    admin = root_admin(cfg, secrets)
    policy = admin.get_policy(DVC_POLICY_NAME)
    assert policy is not None
    assert normalise_policy(policy) == normalise_policy(dvc_policy(cfg.dvc_bucket))
    info = admin.get_user(secrets["DVC_ACCESS_KEY"])
    assert DVC_POLICY_NAME in StorageAdmin.user_policies(info)


def test_dvc_user_reads_and_writes_its_bucket_and_nothing_else(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
):
    access, secret = secrets["DVC_ACCESS_KEY"], secrets["DVC_SECRET_KEY"]
    dvc, root = (
        sdk(cfg, access, secret),
        sdk(cfg, secrets["MINIO_ROOT_USER"], secrets["MINIO_ROOT_PASSWORD"]),
    )
    bucket, key, data = cfg.dvc_bucket, "files/md5/ab/cdef0123", b"dvc object\n"
    dvc.put_object(bucket, key, io.BytesIO(data), len(data))
    assert dvc.get_object(bucket, key).read() == data
    assert key in Storage(cfg.minio_url, access, secret).list_objects(bucket, "files/")
    dvc.remove_object(bucket, key)

    root.make_bucket(OTHER_BUCKET)
    root.put_object(OTHER_BUCKET, "private", io.BytesIO(b"root's"), 6)
    with pytest.raises(ServiceError, match="AccessDenied"):
        Storage(cfg.minio_url, access, secret).list_objects(OTHER_BUCKET)
    assert s3_code(lambda: dvc.get_object(OTHER_BUCKET, "private")) == "AccessDenied"
    assert s3_code(lambda: dvc.put_object(OTHER_BUCKET, "x", io.BytesIO(b"x"), 1)) == (
        "AccessDenied"
    )
    assert s3_code(lambda: dvc.make_bucket("made-by-dvc")) == "AccessDenied"


def test_dvc_user_is_refused_admin_calls(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
):
    as_dvc = StorageAdmin(cfg.minio_url, secrets["DVC_ACCESS_KEY"], secrets["DVC_SECRET_KEY"])
    intruder = "dvc-made-user"
    for attempt in (
        lambda: as_dvc.get_policy(DVC_POLICY_NAME),
        lambda: as_dvc.put_policy("escalated", {"Version": "2012-10-17", "Statement": []}),
        lambda: as_dvc.put_user(intruder, random.token_urlsafe(16)),
        lambda: as_dvc.attach_policy("consoleAdmin", secrets["DVC_ACCESS_KEY"]),
    ):
        with pytest.raises(ServiceError, match=r"HTTP 403 AccessDenied"):
            attempt()
    admin = root_admin(cfg, secrets)
    assert admin.get_user(intruder) is None
    assert admin.get_policy("escalated") is None
    info = admin.get_user(secrets["DVC_ACCESS_KEY"])
    assert StorageAdmin.user_policies(info) == {DVC_POLICY_NAME}


def test_wrong_secret_is_detected_and_repaired(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
):
    access, bucket = secrets["DVC_ACCESS_KEY"], cfg.dvc_bucket
    new_secret = random.token_urlsafe(30)
    for region in (None, "us-east-1"):  # region unknown (location probe first) / known
        ok = Storage(cfg.minio_url, access, secrets["DVC_SECRET_KEY"], region=region)
        unknown = Storage(cfg.minio_url, "dvcNOSUCHKEY0000000", "x" * 40, region=region)
        wrong = Storage(cfg.minio_url, access, new_secret, region=region)
        assert ok.credentials_valid(bucket), region
        assert not unknown.credentials_valid(bucket), region
        assert not wrong.credentials_valid(bucket), region
    # DVC_SECRET_KEY changed in .lab/secrets.env while MinIO's volume kept the old one.
    secrets.set("DVC_SECRET_KEY", new_secret)
    changes = converge_minio(cfg, secrets, progress=quiet)
    assert len(changes) == 1 and changes[0].startswith("reset the secret of DVC user"), changes
    assert new_secret not in changes[0] and access not in changes[0]
    assert Storage(cfg.minio_url, access, new_secret).list_objects(bucket) == []
    assert converge_minio(cfg, secrets, progress=quiet) == []


def test_second_convergence_changes_nothing(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
):
    assert first_convergence
    assert converge_minio(cfg, secrets, progress=quiet) == []
