"""docs/s3.md "Any S3": the documented settings, run as written, against a real S3 server
(SeaweedFS) with a least-privilege identity made by the lab's code: DVC pushes and pulls
through that endpoint, and nothing reaches another bucket."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lab.projects import export_project

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "s3.md"
DVC = Path(sys.executable).with_name("dvc")


def documented_commands() -> list[str]:
    """The fenced bash block right after the `any-s3` marker in docs/s3.md."""
    text = DOC.read_text()
    found = re.search(r"<!-- any-s3:[^>]*-->\s*```bash\n(.*?)```", text, re.S)
    assert found, f"{DOC}: the any-s3 block is missing"
    return [line for line in found.group(1).splitlines() if line.strip()]


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_the_documented_any_s3_settings_work_with_a_least_privilege_identity(seaweedfs, tmp_path):
    if not DVC.exists() and shutil.which("dvc") is None:
        pytest.skip(f"dvc is not installed next to {sys.executable}")
    bucket = f"company-dvc-{uuid.uuid4().hex[:8]}"
    lab_bucket = f"lab-dvc-{uuid.uuid4().hex[:8]}"  # stands for the lab's own bucket
    seaweedfs.create_bucket(bucket)
    seaweedfs.create_bucket(lab_bucket)
    key, secret = seaweedfs.create_credentials(bucket, user=f"any-s3-{bucket}")
    project = tmp_path / "cd4ml-demo"
    export_project(REPO_ROOT / "projects" / "cd4ml-demo", project)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DVC_S3"))},
        "PATH": f"{DVC.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "S3_ENDPOINT": seaweedfs.endpoint_url,
        "S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "DVC_NO_ANALYTICS": "1",
    }
    run(["git", "init", "-q"], project, env)
    for line in documented_commands():
        run(["bash", "-c", line], project, env)
    local = (project / ".dvc" / "config.local").read_text()
    assert seaweedfs.endpoint_url in local and key not in local and secret not in local
    assert bucket in run(["dvc", "remote", "list"], project, env)

    (project / "extra.csv").write_text("a,b\n1,2\n")
    run(["dvc", "add", "-q", "extra.csv"], project, env)
    run(["dvc", "push", "-q", "-r", "origin", "extra.csv.dvc"], project, env)
    pushed = seaweedfs.object_keys(bucket)
    assert len(pushed) == 1 and pushed[0].startswith("cd4ml-demo/files/md5/")
    assert seaweedfs.object_keys(lab_bucket) == []

    shutil.rmtree(project / ".dvc" / "cache")
    (project / "extra.csv").unlink()
    seaweedfs.reset_counters()
    run(["dvc", "pull", "-q", "-r", "origin", "extra.csv.dvc"], project, env)
    assert (project / "extra.csv").read_text() == "a,b\n1,2\n"
    assert seaweedfs.object_gets(bucket) == 1

    # The same identity against another bucket: the server refuses it.
    run(
        ["dvc", "remote", "modify", "--local", "origin", "url", f"s3://{lab_bucket}/x"],
        project,
        env,
    )
    proc = subprocess.run(
        ["dvc", "push", "-r", "origin", "extra.csv.dvc"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0, shlex.join(proc.args)
    assert seaweedfs.object_keys(lab_bucket) == []
