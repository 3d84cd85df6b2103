"""The S3 service's side of the lab, one interface for every server the lab can run.

DVC needs a bucket and an identity that may read, write and delete objects in that
bucket and do nothing else (:func:`lab.clients.storage.dvc_policy`). How a server makes
such an identity differs (MinIO: admin API, canned policy, attachment; SeaweedFS: its
embedded IAM API, an inline user policy), so each server has an implementation of
:class:`S3Admin`: :class:`lab.clients.storage.MinioS3Admin` and
:class:`lab.clients.seaweedfs.SeaweedS3Admin`. :mod:`lab.bootstrap` plans and applies
with this interface only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DvcIdentity:
    """What the server says about the DVC identity."""

    exists: bool
    # How its rights differ from least privilege on the bucket (empty: exactly that).
    drift: tuple[str, ...] = ()


class S3Admin(Protocol):
    """Bucket, DVC identity, its rights and its secret, as the server's admin."""

    service: str  # the server's name in messages: "MinIO", "SeaweedFS"
    endpoint: str

    def bucket_exists(self, bucket: str) -> bool: ...

    def ensure_bucket(self, bucket: str) -> bool:
        """Create ``bucket`` unless it exists; True if it was created."""
        ...

    def dvc_identity(self, access_key: str, bucket: str) -> DvcIdentity: ...

    def ensure_dvc_identity(self, access_key: str, secret_key: str, bucket: str) -> None:
        """Create the identity if missing and leave it with least privilege on ``bucket``."""
        ...

    def repair_secret(self, access_key: str, secret_key: str) -> None:
        """Make ``secret_key`` the identity's secret (the server keeps its rights)."""
        ...

    def secret_accepted(self, access_key: str, secret_key: str, bucket: str) -> bool:
        """False if the server refuses these credentials (wrong key or secret); True if it
        accepts them, even when it then denies the request."""
        ...
