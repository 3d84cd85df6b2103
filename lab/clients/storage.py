"""The lab's object store (MinIO, or any S3 for the data-plane part) through the minio SDK.

:class:`Storage` speaks plain S3 (buckets, objects), so tests can run it
against moto's S3 server or SeaweedFS. :class:`StorageAdmin` uses MinIO's admin API
for the DVC user and its least-privilege policy; :class:`MinioS3Admin` is MinIO's
implementation of :class:`lab.clients.s3admin.S3Admin` on top of the two. Both use
their own urllib3 pool with short timeouts and few retries: the SDK defaults (5
minutes, 5 retries) would make a stopped MinIO look like a hang.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import urllib3
from minio import Minio, MinioAdmin
from minio.credentials import StaticProvider
from minio.error import MinioAdminException, S3Error
from urllib3.util import Retry, Timeout

from lab.clients.s3admin import DvcIdentity
from lab.errors import ConfigError, ServiceError

SERVICE = "MinIO"
DVC_POLICY_NAME = "cd4ml-dvc-rw"
# S3 error codes that mean "these credentials are wrong" (not "not allowed").
BAD_CREDENTIAL_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch"})
# S3 error codes that an accepted signature can still get: MinIO authenticates a
# request before it checks the policy or looks the bucket up.
ACCEPTED_CREDENTIAL_CODES = frozenset({"AccessDenied", "NoSuchBucket"})
# The credential probe lists this prefix: nothing lives under it, so the answer is one
# short page, but unlike HEAD it carries MinIO's error body.
PROBE_PREFIX = ".cd4ml-lab-credential-probe/"
ALREADY_APPLIED = "XMinioAdminPolicyChangeAlreadyApplied"


def _pool(connect: float = 5.0, read: float = 30.0) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=Timeout(connect=connect, read=read),
        retries=Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


def split_endpoint(url: str) -> tuple[str, bool]:
    """``http://localhost:9000`` -> (``localhost:9000``, secure=False)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(f"S3 endpoint {url!r} must look like http://host:port")
    return parts.netloc, parts.scheme == "https"


def dvc_policy(bucket: str) -> dict[str, Any]:
    """Least privilege for a DVC remote at ``s3://bucket``.

    DVC lists and locates the bucket (HeadBucket falls back to ListBucket, so no
    ``s3:prefix`` condition) and reads, writes and deletes objects, including
    aborting multipart uploads. Nothing else: no bucket creation, policy or admin.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:AbortMultipartUpload",
                    "s3:DeleteObject",
                    "s3:GetObject",
                    "s3:PutObject",
                ],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            },
        ],
    }


def normalise_policy(doc: dict[str, Any]) -> dict[str, Any]:
    """A policy document in a canonical form (strings vs lists, order) for comparison."""

    def as_list(value: Any) -> list[str]:
        return sorted([value] if isinstance(value, str) else list(value or []))

    statements = [
        {
            "Effect": st.get("Effect"),
            "Action": as_list(st.get("Action")),
            "Resource": as_list(st.get("Resource")),
            **({"Condition": st["Condition"]} if st.get("Condition") else {}),
        }
        for st in doc.get("Statement", [])
    ]
    statements.sort(key=lambda s: json.dumps(s, sort_keys=True))
    return {"Version": doc.get("Version"), "Statement": statements}


class Storage:
    """Buckets and objects, as a given S3 user."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        region: str | None = None,
        service: str = SERVICE,
    ) -> None:
        host, secure = split_endpoint(endpoint)
        self.endpoint = endpoint
        self.service = service  # the server's name in messages
        self._client = Minio(
            endpoint=host,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=_pool(),
        )

    def __repr__(self) -> str:
        return f"Storage({self.endpoint!r})"

    def _fail(self, what: str, exc: Exception) -> ServiceError:
        code = getattr(exc, "code", type(exc).__name__)
        return ServiceError(f"{self.service}: {what} at {self.endpoint} failed: {code}")

    def bucket_exists(self, bucket: str) -> bool:
        try:
            return bool(self._client.bucket_exists(bucket))
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise self._fail(f"HEAD bucket {bucket}", exc) from None

    def ensure_bucket(self, bucket: str) -> bool:
        """Create ``bucket`` unless it exists; True if it was created."""
        if self.bucket_exists(bucket):
            return False
        try:
            self._client.make_bucket(bucket)
        except S3Error as exc:
            if exc.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return False
            raise self._fail(f"create bucket {bucket}", exc) from None
        except urllib3.exceptions.HTTPError as exc:
            raise self._fail(f"create bucket {bucket}", exc) from None
        return True

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` (recursive), sorted."""
        try:
            return sorted(
                str(o.object_name)
                for o in self._client.list_objects(bucket, prefix=prefix or None, recursive=True)
            )
        except (S3Error, urllib3.exceptions.HTTPError) as exc:
            raise self._fail(f"list s3://{bucket}/{prefix}", exc) from None

    def object_count(self, bucket: str, prefix: str = "") -> int:
        return len(self.list_objects(bucket, prefix))

    def credentials_valid(self, bucket: str) -> bool:
        """False if S3 rejects these credentials; True if accepted (even if access is denied).

        Probed with a listing, not a HEAD: MinIO answers a failed HEAD with no body
        (cmd/api-response.go writeErrorResponseHeadersOnly), and minio-py 7.2.20
        (minio/api.py `_url_open`) maps every body-less 403 to AccessDenied, so a
        wrong key or secret would look like a mere "not allowed". A listing's error
        has an XML body naming InvalidAccessKeyId or SignatureDoesNotMatch. (A HEAD
        only worked by luck: with no region set, minio-py's first call for a bucket
        is a GET ?location, which has a body; once a region is given or cached, not.)
        """
        what = f"list s3://{bucket}/{PROBE_PREFIX}"
        try:
            for _ in self._client.list_objects(bucket, prefix=PROBE_PREFIX):
                break
        except S3Error as exc:
            if exc.code in BAD_CREDENTIAL_CODES:
                return False
            if exc.code in ACCEPTED_CREDENTIAL_CODES:
                return True
            raise self._fail(what, exc) from None
        except urllib3.exceptions.HTTPError as exc:
            raise self._fail(what, exc) from None
        return True


def _admin_code(exc: MinioAdminException) -> str:
    """The MinIO error code in an admin error body (e.g. XMinioAdminNoSuchUser)."""
    body = getattr(exc, "_body", "") or ""
    try:
        return str(json.loads(body).get("Code", ""))
    except (ValueError, AttributeError):
        return body


def _admin_status(exc: MinioAdminException) -> str:
    return str(getattr(exc, "_code", ""))


class StorageAdmin:
    """MinIO's admin API (users, canned policies) as the root user."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        admin: MinioAdmin | None = None,
    ) -> None:
        host, secure = split_endpoint(endpoint)
        self.endpoint = endpoint
        # MinioAdmin takes keyword arguments only (minio-py >= 7.2.17).
        self._admin = admin or MinioAdmin(
            endpoint=host,
            credentials=StaticProvider(access_key, secret_key),
            secure=secure,
            http_client=_pool(),
        )

    def __repr__(self) -> str:
        return f"StorageAdmin({self.endpoint!r})"

    def _fail(self, what: str, exc: Exception) -> ServiceError:
        if isinstance(exc, MinioAdminException):
            detail = f"HTTP {_admin_status(exc)} {_admin_code(exc)}"
        else:
            detail = type(exc).__name__
        return ServiceError(f"{SERVICE} admin: {what} at {self.endpoint} failed: {detail}")

    def get_policy(self, name: str) -> dict[str, Any] | None:
        try:
            raw = self._admin.policy_info(name)
        except MinioAdminException as exc:
            if _admin_status(exc) == "404" or _admin_code(exc) == "XMinioAdminNoSuchPolicy":
                return None
            raise self._fail(f"read policy {name}", exc) from None
        except urllib3.exceptions.HTTPError as exc:
            raise self._fail(f"read policy {name}", exc) from None
        doc = json.loads(raw)
        # Newer servers may wrap the document: {"PolicyName":..., "Policy": {...}}.
        return doc.get("Policy", doc) if isinstance(doc, dict) else None

    def put_policy(self, name: str, doc: dict[str, Any]) -> None:
        try:
            self._admin.policy_add(name, policy=doc)
        except (MinioAdminException, urllib3.exceptions.HTTPError) as exc:
            raise self._fail(f"create policy {name}", exc) from None

    def get_user(self, access_key: str) -> dict[str, Any] | None:
        try:
            raw = self._admin.user_info(access_key)
        except MinioAdminException as exc:
            if _admin_status(exc) == "404" or _admin_code(exc) == "XMinioAdminNoSuchUser":
                return None
            raise self._fail(f"read user {access_key}", exc) from None
        except urllib3.exceptions.HTTPError as exc:
            raise self._fail(f"read user {access_key}", exc) from None
        info = json.loads(raw)
        return info if isinstance(info, dict) else {}

    @staticmethod
    def user_policies(info: dict[str, Any] | None) -> frozenset[str]:
        names = str((info or {}).get("policyName") or "")
        return frozenset(n.strip() for n in names.split(",") if n.strip())

    def put_user(self, access_key: str, secret_key: str) -> None:
        """Create the user, or set its secret (MinIO's add-user is an upsert)."""
        if len(secret_key) < 8:
            raise ConfigError(f"the secret for MinIO user {access_key} is shorter than 8 chars")
        try:
            self._admin.user_add(access_key, secret_key)
        except (MinioAdminException, urllib3.exceptions.HTTPError) as exc:
            raise self._fail(f"add user {access_key}", exc) from None

    def attach_policy(self, policy: str, access_key: str) -> bool:
        """Attach ``policy`` to the user; False if it was attached already."""
        try:
            self._admin.attach_policy([policy], user=access_key)
        except MinioAdminException as exc:
            if ALREADY_APPLIED in str(getattr(exc, "_body", "")):
                return False
            raise self._fail(f"attach policy {policy} to {access_key}", exc) from None
        except urllib3.exceptions.HTTPError as exc:
            raise self._fail(f"attach policy {policy} to {access_key}", exc) from None
        return True


class MinioS3Admin:
    """:class:`lab.clients.s3admin.S3Admin` for MinIO: the DVC user is named by its access
    key and gets the canned policy ``policy_name`` attached (other attachments are left
    alone). ``dvc`` is the probe client when given (tests), else one is made per probe."""

    service = SERVICE

    def __init__(
        self,
        root: Storage,
        admin: StorageAdmin,
        *,
        policy_name: str = DVC_POLICY_NAME,
        dvc: Storage | None = None,
    ) -> None:
        self.root, self.admin, self.policy_name = root, admin, policy_name
        self.endpoint = root.endpoint
        self._dvc = dvc

    def __repr__(self) -> str:
        return f"MinioS3Admin({self.endpoint!r})"

    def bucket_exists(self, bucket: str) -> bool:
        return self.root.bucket_exists(bucket)

    def ensure_bucket(self, bucket: str) -> bool:
        return self.root.ensure_bucket(bucket)

    def _policy_ok(self, bucket: str) -> tuple[bool, bool]:
        """(the policy exists, it is exactly least privilege on ``bucket``)."""
        policy = self.admin.get_policy(self.policy_name)
        if policy is None:
            return False, False
        return True, normalise_policy(dict(policy)) == normalise_policy(dvc_policy(bucket))

    def dvc_identity(self, access_key: str, bucket: str) -> DvcIdentity:
        info = self.admin.get_user(access_key)
        if info is None:
            return DvcIdentity(exists=False)
        drift = []
        exists, exact = self._policy_ok(bucket)
        if not exists:
            drift.append(f"no policy {self.policy_name}")
        elif not exact:
            drift.append(f"policy {self.policy_name} is not least privilege on {bucket}")
        if self.policy_name not in StorageAdmin.user_policies(info):
            drift.append(f"policy {self.policy_name} not attached")
        return DvcIdentity(exists=True, drift=tuple(drift))

    def ensure_dvc_identity(self, access_key: str, secret_key: str, bucket: str) -> None:
        if not all(self._policy_ok(bucket)):
            self.admin.put_policy(self.policy_name, dvc_policy(bucket))
        info = self.admin.get_user(access_key)
        if info is None:
            self.admin.put_user(access_key, secret_key)
        if self.policy_name not in StorageAdmin.user_policies(info):
            self.admin.attach_policy(self.policy_name, access_key)

    def repair_secret(self, access_key: str, secret_key: str) -> None:
        self.admin.put_user(access_key, secret_key)  # MinIO's add-user is an upsert

    def secret_accepted(self, access_key: str, secret_key: str, bucket: str) -> bool:
        probe = self._dvc or Storage(self.endpoint, access_key, secret_key)
        return probe.credentials_valid(bucket)
