"""SeaweedFS alone (the compose pin, by tag and digest, with the compose service's command
and environment): the bootstrap's S3 convergence, the same code the no-Docker tests run
against the `weed` binary (tests/unit/test_seaweedfs.py), and what the server then
allows the DVC user.

Upstream behaviour relied on: see lab/clients/seaweedfs.py (seaweedfs/seaweedfs at tag
4.44; image 4.48). Readiness: ``GET /healthz`` on the S3 port (weed/s3api/s3api_server.go,
a static 200 once the router serves), then the first admin listing, retried.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from lab.bootstrap import converge_s3, s3_admin
from lab.clients.storage import Storage
from lab.config import LabConfig
from lab.errors import ServiceError
from lab.secrets import Secrets
from lab.wait import poll
from tests.containers.services import lab_config, quiet, started
from tests.containers.stack_spec import service

SPEC = service("seaweedfs")
S3_PORT = 9000
OTHER_BUCKET = "not-the-dvc-bucket"


@pytest.fixture(scope="module")
def seaweedfs(secrets: Secrets) -> Iterator[DockerContainer]:
    wait = HttpWaitStrategy(S3_PORT, "/healthz").with_startup_timeout(120)
    # AWS_ACCESS_KEY_ID/SECRET come from MINIO_ROOT_*, through compose's own `${...:?}`.
    with started(SPEC, SPEC.env(secrets), port=S3_PORT, wait=wait) as container:
        yield container


@pytest.fixture(scope="module")
def cfg(seaweedfs: DockerContainer) -> LabConfig:
    return lab_config(seaweedfs, s3="seaweedfs", minio=S3_PORT)


@pytest.fixture(scope="module")
def first_convergence(cfg: LabConfig, secrets: Secrets) -> list[str]:
    admin = s3_admin(cfg, secrets)

    def answers() -> bool:  # /healthz is static: wait until the admin's calls work
        admin.bucket_exists(cfg.dvc_bucket)
        return True

    poll(answers, what="SeaweedFS' S3 API as the admin", timeout=60, interval=1)
    return converge_s3(cfg, secrets, progress=quiet)


def test_convergence_makes_the_bucket_and_the_dvc_user_then_nothing(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
) -> None:
    assert len(first_convergence) == 2, first_convergence
    assert converge_s3(cfg, secrets, progress=quiet) == []


def test_the_dvc_user_works_in_its_bucket_and_is_refused_elsewhere(
    cfg: LabConfig, secrets: Secrets, first_convergence: list[str]
) -> None:
    root = Storage(cfg.minio_url, secrets["MINIO_ROOT_USER"], secrets["MINIO_ROOT_PASSWORD"])
    root.ensure_bucket(OTHER_BUCKET)
    dvc = Storage(cfg.minio_url, secrets["DVC_ACCESS_KEY"], secrets["DVC_SECRET_KEY"])
    assert dvc.list_objects(cfg.dvc_bucket) == []
    with pytest.raises(ServiceError, match="AccessDenied"):
        dvc.list_objects(OTHER_BUCKET)
    with pytest.raises(ServiceError, match="AccessDenied"):
        dvc.ensure_bucket("made-by-dvc")
    wrong = Storage(cfg.minio_url, secrets["DVC_ACCESS_KEY"], "x" * 40)
    assert not wrong.credentials_valid(cfg.dvc_bucket)
