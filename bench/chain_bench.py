"""Benchmark of the training project's chain run twice with unchanged data (not a test).

The chain preprocess -> train -> test of ``projects/cd4ml-train`` (jobs/*.Jenkinsfile) runs
on the local driver (:class:`lab.scenarios.drivers.local.LocalDriver`: local forge, a real
S3 server (SeaweedFS), the private index, the secret-file credentials, one ``/extras`` for
both runs), twice at the same commit of main. For each run it prints:
  - objects downloaded from ``origin`` (the project's DVC remote, ``s3://<bucket>/<project>``
    without the chains' hand-off prefix), counted exactly from the S3 server's request log;
  - objects the jobs hand each other under the chain's own prefix (``.../chain/<id>/``:
    train and test read what the jobs upstream wrote for this chain, by design);
  - DVC stages run and skipped in preprocess, read from its build log (DVC prints
    "Running stage '...'" for a stage it runs, "Stage '...' didn't change, skipping");
  - wall time;
and the ratios second/first. Exits 0 after printing, 1 if a chain is not green.
Usage: .venv/bin/python bench/chain_bench.py
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lab.clients.jenkins import strip_timestamps
from lab.config import LabConfig
from lab.scenarios.drivers.local import LocalDriver

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT = "cd4ml-train"
RAN = re.compile(r"^Running stage '([^']+)'", re.M)
SKIPPED = re.compile(r"^Stage '([^']+)' didn't change, skipping", re.M)


@dataclass
class ChainRun:
    origin_gets: int
    handoff_gets: int
    stages_run: int
    stages_skipped: int
    seconds: float


def run_chain(driver: LocalDriver, commit: str, bucket: str) -> ChainRun:
    s3 = driver.s3_server
    s3.reset_counters()
    start = time.monotonic()
    builds = driver.wait_chain(commit, 900.0, lambda _: None)
    seconds = time.monotonic() - start
    results = {b.job: b.result for b in builds}
    if list(results.values()) != ["SUCCESS"] * 3:
        failed = next((b for b in builds if b.result != "SUCCESS"), builds[-1])
        raise SystemExit(f"the chain is not green: {results}\n{failed.log[-3000:]}")
    preprocess = strip_timestamps(next(b.log for b in builds if b.job == "chain/preprocess"))
    handoff = s3.object_gets(bucket, f"{PROJECT}/chain/")
    return ChainRun(
        origin_gets=s3.object_gets(bucket, f"{PROJECT}/") - handoff,
        handoff_gets=handoff,
        stages_run=len(RAN.findall(preprocess)),
        stages_skipped=len(SKIPPED.findall(preprocess)),
        seconds=seconds,
    )


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else ("0/0" if not a else "inf")


def main() -> int:
    cfg = LabConfig.load(root=REPO_ROOT, env={})
    driver = LocalDriver(cfg)
    driver.sanity_check()
    try:
        driver.start(PROJECT, "chain-bench", lambda _: None)
        commit = driver.branch_head("main")
        if commit is None:
            raise SystemExit(f"the local forge has no main for {PROJECT}")
        runs = [run_chain(driver, commit, cfg.dvc_bucket) for _ in range(2)]
    finally:
        driver.finish(keep=False, progress=lambda _: None)
        driver.close()
    first, second = runs
    print(f"Chain preprocess -> train -> test of {PROJECT}, twice at {commit[:10]} (local driver,")
    print("SeaweedFS as origin, one warm /extras; objects counted from the S3 request log)")
    cols = ("origin objects", "hand-off objects", "stages run", "skipped", "seconds")
    print(f"{'':14}" + "".join(f" {c:>16}" for c in cols))
    for label, r in (("first run", first), ("second run", second)):
        cells = (r.origin_gets, r.handoff_gets, r.stages_run, r.stages_skipped)
        print(f"{label:14}" + "".join(f" {c:>16}" for c in cells) + f" {r.seconds:>16.2f}")
    pairs = [
        (second.origin_gets, first.origin_gets),
        (second.handoff_gets, first.handoff_gets),
        (second.stages_run, first.stages_run),
        (second.stages_skipped, first.stages_skipped),
        (second.seconds, first.seconds),
    ]
    print(f"{'second/first':14}" + "".join(f" {ratio(a, b):>16}" for a, b in pairs))
    if not first.stages_run + first.stages_skipped:
        print("note: preprocess ran no DVC stage at all (its log names none): its data is not")
        print("      a DVC pipeline output, so 0 stages re-run says nothing about a cache")
    return 0


if __name__ == "__main__":
    sys.exit(main())
