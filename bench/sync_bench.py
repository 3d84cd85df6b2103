"""Benchmark of the demo pipeline's remote sync and repro (not a test).

Measures in one run, against the S3 stand-in (moto):
  - "Sync remotes" with a cold /extras (everything from origin) and then warm
    (everything from jenkins_local): objects and bytes read from origin, wall time;
  - `dvc repro` with nothing to do vs a forced full repro.
Prints a table and exits 0.  Usage: .venv/bin/python bench/sync_bench.py
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab.localforge import S3StandIn
from lab.projects import export_project

REPO_ROOT = Path(__file__).resolve().parents[1]

PROJECT = REPO_ROOT / "projects" / "cd4ml-demo"
BUCKET = "cd4ml-dvc"


def sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return time.monotonic() - start


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cd4ml-bench-") as tmp, contextlib.ExitStack() as st:
        root = Path(tmp)
        s3 = st.enter_context(S3StandIn())
        s3.create_bucket(BUCKET)
        key, secret = s3.create_credentials()
        extras = root / "extras"
        env = {
            "PATH": f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", str(root)),
            "DVC_NO_ANALYTICS": "1",
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "DVC_S3_ENDPOINT": s3.endpoint_url,
            "DVC_LOCAL_CACHE_DIR": str(extras),
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@lab.invalid",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@lab.invalid",
        }

        # main as a user has it: committed, with its data pushed to origin
        main = root / "main"
        export_project(PROJECT, main)
        for cmd in (
            ["git", "init", "-q", "-b", "main"],
            ["git", "add", "-A"],
            ["git", "commit", "-qm", "import"],
            ["bash", "ci/seed.sh"],
            ["dvc", "remote", "modify", "--local", "origin", "endpointurl", s3.endpoint_url],
            ["dvc", "push", "-q", "-r", "origin"],
        ):
            sh(cmd, main, env)

        rows = []
        for label in ("cold /extras", "warm /extras"):
            ws = root / label.split()[0]
            sh(["git", "clone", "-q", str(main), str(ws)], root, env)
            s3.reset_counters()
            seconds = sh(["bash", "ci/sync_remotes.sh"], ws, env)
            rows.append((label, s3.object_gets(BUCKET), s3.object_bytes_out(BUCKET), seconds))
        warm = root / "warm"
        noop = sh(["dvc", "repro"], warm, env)
        full = sh(["dvc", "repro", "--force"], warm, env)

    print("Sync remotes (origin = S3 stand-in, jenkins_local = /extras)")
    print(f"{'':14} {'objects':>8} {'bytes':>10} {'seconds':>8}")
    for label, gets, size, seconds in rows:
        print(f"{label:14} {gets:>8} {size:>10} {seconds:>8.2f}")
    cold, warm_row = rows
    obj_ratio = warm_row[1] / cold[1] if cold[1] else float("nan")
    print(f"{'warm/cold':14} {obj_ratio:>8.2f} {'':>10} {warm_row[3] / cold[3]:>8.2f}")
    print()
    print("dvc repro")
    print(f"{'no-op':14} {noop:>8.2f} s")
    print(f"{'full (-f)':14} {full:>8.2f} s")
    print(f"{'no-op/full':14} {noop / full:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
