"""A small S3 server that answers credential and bucket errors as MinIO does [M1].

Only what the lab's credential probe and bucket checks need: HEAD bucket,
GET ?location, GET ?list-type=2 (an empty listing), PUT bucket. Requests are
authenticated with AWS Signature V4, checked here against each user's secret
(an independent implementation of the AWS algorithm, not minio-py's signer), so
a wrong secret really is a wrong signature.

MinIO's error forms (tests/fakes/EVIDENCE.md, M1): a HEAD answers its status with
no body; any other request answers an XML ``<Error><Code>`` body. Unknown access
key: 403 InvalidAccessKeyId; bad signature: 403 SignatureDoesNotMatch; an action
the user may not do: 403 AccessDenied; missing bucket: 404 NoSuchBucket.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.fakes.http import running

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]+)"
)
ERRORS = {
    "InvalidAccessKeyId": 403,
    "SignatureDoesNotMatch": 403,
    "AccessDenied": 403,
    "NoSuchBucket": 404,
}


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signature(
    secret: str,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed: str,
    scope: str,
    amz_date: str,
    payload_hash: str,
) -> str:
    """AWS Signature V4 of one request (the algorithm as AWS documents it)."""
    pairs = sorted(p.split("=", 1) if "=" in p else [p, ""] for p in query.split("&") if p)
    canonical = "\n".join(
        [
            method,
            path or "/",
            "&".join(f"{k}={v}" for k, v in pairs),
            "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed.split(";")),
            signed,
            payload_hash,
        ]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    date, region, service, _ = scope.split("/")
    key = _hmac(
        _hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), "aws4_request"
    )
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeS3:
    """Users (access key -> secret), what each may touch, and the buckets."""

    users: dict[str, str] = field(default_factory=dict)
    grants: dict[str, set[str]] = field(default_factory=dict)  # key -> buckets ("*": all)
    buckets: set[str] = field(default_factory=set)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # method, path?query, code

    def authenticate(self, method: str, path: str, query: str, headers: dict[str, str]) -> str:
        """'' when the request is signed by a known user with its secret, else the error."""
        found = _AUTH.fullmatch(headers.get("authorization", ""))
        if found is None or found["key"] not in self.users:
            return "InvalidAccessKeyId"
        expected = signature(
            self.users[found["key"]],
            method,
            path,
            query,
            headers,
            found["signed"],
            found["scope"],
            headers.get("x-amz-date", ""),
            headers.get("x-amz-content-sha256", ""),
        )
        return "" if hmac.compare_digest(expected, found["sig"]) else "SignatureDoesNotMatch"

    def allowed(self, headers: dict[str, str], bucket: str) -> bool:
        found = _AUTH.fullmatch(headers["authorization"])
        assert found is not None
        grant = self.grants.get(found["key"], set())
        return "*" in grant or bucket in grant

    def answer(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, str]:
        """(status, error code or '') of one request; the handler writes the body."""
        url = urlsplit(target)
        bucket = url.path.strip("/").split("/", 1)[0]
        error = self.authenticate(method, url.path, url.query, headers)
        if not error and not self.allowed(headers, bucket):
            error = "AccessDenied"
        if not error and method != "PUT" and bucket not in self.buckets:
            error = "NoSuchBucket"
        if error:
            return ERRORS[error], error
        if method == "PUT":
            self.buckets.add(bucket)
        return 200, ""


def _handler(fake: FakeS3) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, code = fake.answer(self.command, self.path, headers)
            fake.log.append((self.command, self.path, code))
            body = b""
            if code and self.command != "HEAD":  # HEAD errors carry no body [M1]
                body = (
                    f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                    f"<Message>{code}</Message><Resource>{urlsplit(self.path).path}</Resource>"
                    "<RequestId>fake</RequestId><HostId>fake</HostId></Error>"
                ).encode()
            elif not code and self.command == "GET":
                query = urlsplit(self.path).query
                if "location" in query:
                    # Empty constraint: the default region (minio-py maps it to us-east-1).
                    body = f'<LocationConstraint xmlns="{S3_NS}"></LocationConstraint>'.encode()
                else:
                    bucket = urlsplit(self.path).path.strip("/")
                    body = (
                        f'<ListBucketResult xmlns="{S3_NS}"><Name>{bucket}</Name>'
                        "<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
                        "<IsTruncated>false</IsTruncated></ListBucketResult>"
                    ).encode()
            self.send_response(status)
            if code:
                self.send_header("x-minio-error-code", code)
            if body:
                self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_PUT = _serve

    return Handler


@contextmanager
def serve(fake: FakeS3) -> Iterator[str]:
    """Run ``fake`` on 127.0.0.1; yield its endpoint URL."""
    with running(_handler(fake)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"
