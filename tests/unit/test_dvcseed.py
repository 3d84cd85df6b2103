"""Seeding a DVC remote with a project's data (lab.dvcseed): ci/seed.sh materialises it,
`dvc push -r origin` stores it, failures are service errors that never show the secret."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from lab.dvcseed import seed_dvc_remote
from lab.errors import ServiceError

MAKE_DATA = """\
import random
random.seed(7)
with open("data.csv", "w") as fh:
    fh.writelines(f"{i},{random.random():.6f}\\n" for i in range(2000))
"""


def test_seed_dvc_remote_pushes_the_seeded_data_and_reports_failures(
    tmp_path: Path, seaweedfs: Any
):
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "dvc").exists():
        pytest.skip(f"dvc is not installed next to {sys.executable}")

    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}

    def sh(cwd: Path, *argv: str) -> None:
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    # the project as committed: data.csv tracked by DVC, its bytes made by make_data.py
    src = tmp_path / "src"
    (src / "ci").mkdir(parents=True)
    (src / "make_data.py").write_text(MAKE_DATA)
    (src / "ci" / "seed.sh").write_text(
        "python make_data.py && dvc commit --force --quiet data.csv.dvc\n"
    )
    # DVC's files written directly (DVC 3 formats): saves seconds of `dvc` start-ups
    sh(src, "python", "make_data.py")
    data = (src / "data.csv").read_bytes()
    md5 = hashlib.md5(data).hexdigest()
    (src / "data.csv").unlink()
    (src / ".dvc").mkdir()
    (src / ".dvc" / "config").write_text(
        "[core]\n    remote = origin\n['remote \"origin\"']\n    url = s3://seeded/p\n"
    )
    (src / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (src / ".gitignore").write_text("/data.csv\n")
    (src / "data.csv.dvc").write_text(
        f"outs:\n- md5: {md5}\n  size: {len(data)}\n  hash: md5\n  path: data.csv\n"
    )
    sh(src, "git", "init", "-q", "-b", "main")
    sh(src, "git", "add", "-A")
    sh(src, "git", "commit", "-q", "-m", "project")
    checkout = tmp_path / "checkout"
    sh(tmp_path, "git", "clone", "-q", str(src), str(checkout))
    assert not (checkout / "data.csv").exists()

    s3 = seaweedfs  # the session's real S3 server, the DVC identity limited to "seeded"
    s3.create_bucket("seeded")
    s3.empty_bucket("seeded")  # other tests of the session seed it too
    creds = s3.create_credentials("seeded", user="seed-test")
    wrong = (creds[0], "wrong-" + uuid.uuid4().hex)
    with pytest.raises(ServiceError) as info:
        seed_dvc_remote(checkout, env={"DVC_S3_ENDPOINT": s3.endpoint_url}, credentials=wrong)
    message = str(info.value)
    assert "dvc push -r origin" in message
    assert "403" in message or "Forbidden" in message
    assert wrong[1] not in message
    assert s3.object_keys("seeded") == []

    seed_dvc_remote(checkout, env={"DVC_S3_ENDPOINT": s3.endpoint_url}, credentials=creds)
    assert s3.object_keys("seeded") == [f"p/files/md5/{md5[:2]}/{md5[2:]}"]
    assert s3.endpoint_url in (checkout / ".dvc" / "config.local").read_text()
    assert creds[1] not in (checkout / ".dvc" / "config.local").read_text()


def test_seed_script_failure_is_a_service_error_with_its_output(tmp_path: Path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "seed.sh").write_text(
        "echo generating; echo 'no raw data source' >&2; exit 4\n"
    )
    with pytest.raises(ServiceError) as info:
        seed_dvc_remote(tmp_path, env={}, credentials=("k", "not-in-the-output"))
    assert "exit 4" in str(info.value) and "no raw data source" in str(info.value)
    assert "ci/seed.sh" in str(info.value)
