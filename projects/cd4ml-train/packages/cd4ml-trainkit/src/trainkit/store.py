"""Copy a results directory to and from an S3 prefix.

A prefix is complete when its marker object ``_COMPLETE`` exists: :func:`put` uploads
every file first and the marker last, and :func:`get` refuses a prefix without it. A
build stopped mid-upload (timeout, abort) thus never leaves a result that looks whole.

Credentials come from boto3's default chain: in the lab's pipelines the Jenkins file
credential ``s3-credentials`` bound as ``AWS_SHARED_CREDENTIALS_FILE``. The endpoint from
``--endpoint`` or ``DVC_S3_ENDPOINT`` (the lab's MinIO, http://minio:9000).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

MARKER = "_COMPLETE"


class StoreError(RuntimeError):
    """A results transfer failed; the message names the S3 URL."""


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ("bucket", "a/b/")."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise StoreError(f"{url!r}: expected s3://BUCKET/PREFIX")
    prefix = parsed.path.strip("/")
    return parsed.netloc, (prefix + "/") if prefix else ""


def client(endpoint: str | None):
    return boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        config=Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 3}),
    )


def put(local: Path, url: str, *, s3=None) -> list[str]:
    """Upload every file under ``local`` to ``url``, then the marker; returns the keys."""
    bucket, prefix = split_url(url)
    files = sorted(p for p in local.rglob("*") if p.is_file())
    if not files:
        raise StoreError(f"{local}: nothing to upload to {url}")
    s3 = s3 or client(None)
    keys = []
    try:
        for path in files:
            key = prefix + path.relative_to(local).as_posix()
            s3.upload_file(str(path), bucket, key)
            keys.append(key)
        s3.put_object(Bucket=bucket, Key=prefix + MARKER, Body=b"")
    except (BotoCoreError, ClientError, OSError) as exc:
        raise StoreError(f"upload to {url} failed: {exc}") from None
    return keys + [prefix + MARKER]


def get(url: str, local: Path, *, s3=None) -> list[Path]:
    """Download a complete prefix into ``local``; StoreError when it is not complete."""
    bucket, prefix = split_url(url)
    s3 = s3 or client(None)
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        if prefix + MARKER not in keys:
            raise StoreError(f"{url}: no complete result there (marker {MARKER} missing)")
        written = []
        for key in keys:
            if key == prefix + MARKER:
                continue
            target = local / key[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
            written.append(target)
    except (BotoCoreError, ClientError, OSError) as exc:
        raise StoreError(f"download from {url} failed: {exc}") from None
    return written


def main(argv: list[str] | None = None) -> None:
    top = argparse.ArgumentParser(prog="python -m trainkit.store", description=__doc__)
    top.add_argument("--endpoint", default=os.environ.get("DVC_S3_ENDPOINT"))
    sub = top.add_subparsers(dest="command", required=True)
    cmd_put = sub.add_parser("put", help="upload DIR to s3://BUCKET/PREFIX")
    cmd_put.add_argument("local", type=Path)
    cmd_put.add_argument("url")
    cmd_get = sub.add_parser("get", help="download a complete s3://BUCKET/PREFIX into DIR")
    cmd_get.add_argument("url")
    cmd_get.add_argument("local", type=Path)
    args = top.parse_args(argv)
    try:
        s3 = client(args.endpoint)
        if args.command == "put":
            keys = put(args.local, args.url, s3=s3)
            print(f"uploaded {len(keys)} objects to {args.url}")
        else:
            files = get(args.url, args.local, s3=s3)
            print(f"downloaded {len(files)} files from {args.url} to {args.local}")
    except StoreError as exc:
        print(f"[trainkit] ERROR: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
