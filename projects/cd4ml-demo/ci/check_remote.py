"""Check that a DVC remote is reachable with the credentials in the environment.

Usage: python ci/check_remote.py REMOTE
Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (read by DVC's S3 client).
Exit 0 when the remote answers; 1 with a message naming the remote otherwise.
"""

import os
import sys

from dvc.repo import Repo


def describe(repo, name):
    conf = repo.config["remote"][name]
    where = conf["url"]
    if conf.get("endpointurl"):
        where += f" at {conf['endpointurl']}"
    return where


def main(name):
    repo = Repo(".")
    if name not in repo.config["remote"]:
        print(f"[ci] ERROR: .dvc/config has no remote '{name}'", file=sys.stderr)
        return 1
    where = describe(repo, name)
    remote = repo.cloud.get_remote(name)
    bucket = remote.path.split("/", 1)[0]
    key_id = os.environ.get("AWS_ACCESS_KEY_ID", "")
    shown = f"{key_id[:4]}..." if key_id else "(none)"
    try:
        # A listing, not exists(): S3 clients read a refused HEAD as "missing", and
        # wrong credentials must say so, not "bucket does not exist".
        remote.fs.ls(bucket, detail=False)
    except FileNotFoundError:
        print(
            f"[ci] ERROR: DVC remote '{name}' ({where}): bucket '{bucket}' does not exist",
            file=sys.stderr,
        )
        return 1
    except PermissionError as exc:
        print(
            f"[ci] ERROR: DVC remote '{name}' ({where}) refused the credentials "
            f"(access key {shown}, Jenkins credential DVC_Remote_Creds): {exc}",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print(f"[ci] ERROR: DVC remote '{name}' ({where}) is unreachable: {exc}", file=sys.stderr)
        return 1
    print(f"[ci] DVC remote '{name}' ({where}) accepts access key {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "origin"))
