"""SeaweedFS as the lab's S3 service: buckets over S3, the DVC identity over its IAM API.

The same code runs against the ``weed`` process of the no-Docker tests
(:mod:`lab.localforge.seaweed`) and the stack's container: both take the admin identity
from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in the server's environment and
serve the embedded IAM API on the S3 port with writes enabled (``-s3.iam.readOnly=false``).

Upstream behaviour relied on (seaweedfs/seaweedfs at tag 4.44, the newest tag in the
snapshot read; the pinned wheel and image are 4.48, whose answers the tests in
tests/unit/test_seaweedfs.py check by running the real server):

- weed/s3api/auth_credentials.go ``loadEnvironmentVariableCredentials``: the two
  variables make a static identity ``admin-<first 8 chars of the key>`` with the
  ``Admin`` action, merged with any config file or filer-stored identities, kept across
  reloads and never writable through IAM.
- weed/s3api/s3api_server.go: the embedded IAM API answers ``POST /`` on the S3 port
  for any signed request (SigV4, service ``iam``), form-encoded AWS IAM query calls.
- weed/s3api/s3api_embedded_iam.go: ``-s3.iam.readOnly`` (default true) refuses writes
  with AccessDenied "IAM write operations are disabled on this server"; ``CreateAccessKey``
  takes a caller-supplied ``AccessKeyId`` (4..128 alphanumerics) and ``SecretAccessKey``
  (8..128 chars) together (weed/iam/validation.go), EntityAlreadyExists if the key id is
  in use;
  ``PutUserPolicy`` turns the document into per-bucket identity actions
  (``getActions``: ``arn:aws:s3:::b`` and ``b/*`` both become ``<Action>:b``) and
  keeps the document; ``GetUserPolicy`` for a name never put falls back to a document
  rebuilt from the identity's actions, so ``ListUserPolicies`` tells what exists; the
  self-service calls (Create/Delete/List/UpdateAccessKey, GetUser) are allowed on
  one's own user without admin, everything else needs ``Admin`` or ``iam:<Action>``
  (``AuthorizeIamAction``). Errors: NoSuchEntity 404, EntityAlreadyExists 409,
  InvalidInput/MalformedPolicyDocument 400, AccessDenied 403 in an IAM
  ``ErrorResponse``; a refused signature comes back as an S3 ``Error`` document
  (SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied).
- Identities and inline policies made through IAM are kept by the credential store in
  the filer (``/etc/iam``), so they survive a restart of the server with its data.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import requests
from botocore.auth import SigV4Auth  # botocore: a dependency of dvc-s3 (dvc[s3])
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lab.clients.s3admin import DvcIdentity
from lab.clients.storage import DVC_POLICY_NAME, Storage, dvc_policy, normalise_policy
from lab.errors import ConfigError, ServiceError
from lab.secrets import mask

SERVICE = "SeaweedFS"
DVC_USER = "cd4ml-dvc"  # the IAM user that holds the lab's DVC access key
REGION = "us-east-1"
IAM_VERSION = "2010-05-08"
READ_ONLY_HINT = (
    "start SeaweedFS with -s3.iam.readOnly=false (the lab's compose file and test runner do)"
)


class IamError(ServiceError):
    """An IAM call the server answered with an error; ``code`` is its error code."""

    def __init__(self, message: str, *, code: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_all(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if _local(el.tag) == name]


def _text(root: ET.Element, name: str) -> str:
    found = _find_all(root, name)
    return (found[0].text or "") if found else ""


class SeaweedIam:
    """AWS IAM query calls to SeaweedFS' embedded IAM API, signed with SigV4."""

    def __init__(
        self, endpoint: str, access_key: str, secret_key: str, *, timeout: float = 15.0
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._creds = Credentials(access_key, secret_key)
        self.timeout = timeout
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"SeaweedIam({self.endpoint!r})"

    def call(self, action: str, **params: str) -> ET.Element:
        body = urlencode({"Action": action, "Version": IAM_VERSION, **params})
        url = self.endpoint + "/"
        request = AWSRequest(
            method="POST",
            url=url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        SigV4Auth(self._creds, "iam", REGION).add_auth(request)
        what = f"{SERVICE} IAM {action}"
        user = params.get("UserName")
        if user:
            what += f" {user}"
        try:
            resp = self._session.post(
                url, data=body, headers=dict(request.headers.items()), timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise ServiceError(f"{what} at {self.endpoint} failed: {type(exc).__name__}") from None
        try:
            root = ET.fromstring(resp.content)  # noqa: S314 - the lab's own server
        except ET.ParseError:
            root = ET.Element("Unparsed")
        if resp.status_code == 200:
            return root
        code = _text(root, "Code") or f"HTTP {resp.status_code}"
        message = " ".join(_text(root, "Message").split())[:200]
        hint = READ_ONLY_HINT if "disabled on this server" in message else None
        for secret in (self._creds.secret_key, params.get("SecretAccessKey", "")):
            if len(secret) >= 8:  # a real secret; never mask single letters out of words
                message = message.replace(secret, mask(secret))
        raise IamError(
            f"{what} at {self.endpoint} failed: HTTP {resp.status_code} {code}"
            + (f" ({message})" if message else ""),
            code=code,
            status=resp.status_code,
            hint=hint,
        )


class SeaweedS3Admin:
    """:class:`lab.clients.s3admin.S3Admin` for SeaweedFS, as its admin identity.

    The DVC identity is the IAM user :data:`DVC_USER` holding exactly one access key,
    the lab's, and one inline policy, :func:`lab.clients.storage.dvc_policy`.
    """

    service = SERVICE

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        user: str = DVC_USER,
        policy_name: str = DVC_POLICY_NAME,
        timeout: float = 15.0,
    ) -> None:
        self.endpoint = endpoint
        self.user = user
        self.policy_name = policy_name
        self.iam = SeaweedIam(endpoint, access_key, secret_key, timeout=timeout)
        self.root = Storage(endpoint, access_key, secret_key, region=REGION, service=SERVICE)

    def __repr__(self) -> str:
        return f"SeaweedS3Admin({self.endpoint!r})"

    # ---- buckets ------------------------------------------------------------
    def bucket_exists(self, bucket: str) -> bool:
        return self.root.bucket_exists(bucket)

    def ensure_bucket(self, bucket: str) -> bool:
        return self.root.ensure_bucket(bucket)

    # ---- the DVC identity -----------------------------------------------------
    def _user_exists(self) -> bool:
        try:
            self.iam.call("GetUser", UserName=self.user)
        except IamError as exc:
            if exc.code == "NoSuchEntity":
                return False
            raise
        return True

    def _access_keys(self) -> list[str]:
        root = self.iam.call("ListAccessKeys", UserName=self.user)
        return [_text(m, "AccessKeyId") for m in _find_all(root, "member")]

    def _policies(self) -> dict[str, dict[str, Any]]:
        root = self.iam.call("ListUserPolicies", UserName=self.user)
        names = [m.text or "" for m in _find_all(root, "member")]
        docs = {}
        for name in names:
            got = self.iam.call("GetUserPolicy", UserName=self.user, PolicyName=name)
            try:
                docs[name] = json.loads(_text(got, "PolicyDocument"))
            except ValueError:
                docs[name] = {}
        return docs

    def dvc_identity(self, access_key: str, bucket: str) -> DvcIdentity:
        if not self._user_exists():
            return DvcIdentity(exists=False)
        drift = []
        keys = self._access_keys()
        if access_key not in keys:
            drift.append("the lab's access key is missing")
        if others := [k for k in keys if k != access_key]:
            drift.append(f"{len(others)} other access key(s)")
        policies = self._policies()
        ours = policies.pop(self.policy_name, None)
        if ours is None:
            drift.append(f"no policy {self.policy_name}")
        elif normalise_policy(ours) != normalise_policy(dvc_policy(bucket)):
            drift.append(f"policy {self.policy_name} is not least privilege on {bucket}")
        if policies:
            drift.append(f"other policies: {', '.join(sorted(policies))}")
        return DvcIdentity(exists=True, drift=tuple(drift))

    def ensure_dvc_identity(self, access_key: str, secret_key: str, bucket: str) -> None:
        if not access_key.isalnum() or not 4 <= len(access_key) <= 128:
            raise ConfigError(
                f"the DVC access key {mask(access_key)} must be 4 to 128 letters and digits "
                f"for {SERVICE}"
            )
        if not self._user_exists():
            self.iam.call("CreateUser", UserName=self.user)
        for name in self._policies():
            if name != self.policy_name:
                self.iam.call("DeleteUserPolicy", UserName=self.user, PolicyName=name)
        self.iam.call(
            "PutUserPolicy",
            UserName=self.user,
            PolicyName=self.policy_name,
            PolicyDocument=json.dumps(dvc_policy(bucket)),
        )
        keys = self._access_keys()
        for key in keys:
            if key != access_key:
                self.iam.call("DeleteAccessKey", UserName=self.user, AccessKeyId=key)
        if access_key not in keys:
            self._create_key(access_key, secret_key)

    def _create_key(self, access_key: str, secret_key: str) -> None:
        try:
            self.iam.call(
                "CreateAccessKey",
                UserName=self.user,
                AccessKeyId=access_key,
                SecretAccessKey=secret_key,
            )
        except IamError as exc:
            if exc.code == "EntityAlreadyExists":
                raise ServiceError(
                    f"{SERVICE}: the DVC access key {mask(access_key)} belongs to another "
                    f"identity than {self.user}",
                    hint="delete that identity, or give the lab another DVC_ACCESS_KEY",
                ) from None
            raise

    def repair_secret(self, access_key: str, secret_key: str) -> None:
        """A key's secret cannot be changed in place: delete the key, create it again."""
        self.iam.call("DeleteAccessKey", UserName=self.user, AccessKeyId=access_key)
        self._create_key(access_key, secret_key)

    def secret_accepted(self, access_key: str, secret_key: str, bucket: str) -> bool:
        probe = Storage(self.endpoint, access_key, secret_key, region=REGION, service=SERVICE)
        return probe.credentials_valid(bucket)
