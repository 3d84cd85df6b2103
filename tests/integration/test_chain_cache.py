"""The training chain run twice at one commit on the local driver (real S3 server, one
/extras): the second preprocess takes the prepared data from jenkins_local and DVC skips
its stage, so origin serves no object; the first one fetched them from origin."""

from __future__ import annotations

import re

import pytest

from lab.clients.jenkins import strip_timestamps
from lab.config import LabConfig
from lab.scenarios.driver import DriverUnavailable
from lab.scenarios.drivers.local import LocalDriver

PROJECT = "cd4ml-train"


@pytest.fixture
def driver():
    d = LocalDriver(LabConfig.load())
    try:
        d.sanity_check()
    except DriverUnavailable as exc:
        pytest.skip(f"the local driver cannot run here: {exc}")
    try:
        d.start(PROJECT, "chain-cache", lambda _: None)
        yield d
    finally:
        d.finish(keep=False, progress=lambda _: None)
        d.close()


def test_a_second_chain_with_unchanged_data_downloads_nothing_and_reruns_no_stage(driver):
    bucket, commit = driver.bucket, driver.branch_head("main")
    assert commit is not None
    s3 = driver.s3_server
    seen = []
    for _ in range(2):
        s3.reset_counters()
        builds = driver.wait_chain(commit, 900.0, lambda _: None)
        assert [(b.job, b.result) for b in builds] == [
            ("chain/preprocess", "SUCCESS"), ("chain/train", "SUCCESS"),
            ("chain/test", "SUCCESS"),
        ], builds[-1].log[-3000:]  # fmt: skip
        handoff = s3.object_gets(bucket, f"{PROJECT}/chain/")
        log = strip_timestamps(builds[0].log)
        seen.append((s3.object_gets(bucket, f"{PROJECT}/") - handoff, log))
    (first_gets, first_log), (second_gets, second_log) = seen
    # main's dvc.lock matches what seeding pushed: the stage is skipped both times
    for log in (first_log, second_log):
        assert re.search(r"^Stage 'prepare' didn't change, skipping", log, re.M), log[-3000:]
        assert not re.search(r"^Running stage '", log, re.M)
    assert first_gets > 0 and "fetched from origin, copied to jenkins_local" in first_log
    assert second_gets == 0
    assert "jenkins_local holds the prepared data: origin not contacted" in second_log
