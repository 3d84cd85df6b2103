"""The stack driver against a fake Jenkins that answers as Stapler exports the pinned
beans (tests/fakes/jenkins.py) and a recording stand-in for the lab's Gitea client.

Covers what the real stack does that a naive driver gets wrong: builds that fail
before checkout, timestamped logs, the open-PR race with the branch build, clean-up
while builds still run, and what a timed-out wait reports.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lab.clients.jenkins import JenkinsClient
from lab.config import LabConfig
from lab.errors import WaitTimeout
from lab.scenarios import expectations
from lab.scenarios.driver import Target
from lab.scenarios.drivers import stack
from lab.scenarios.drivers.stack import StackDriver
from lab.scenarios.state import tail
from tests.fakes.jenkins import FakeJenkins, branch_revision, build_data, pr_revision, run

HEAD, BASE, OTHER = "a" * 40, "b" * 40, "c" * 40
PROJECT = "cd4ml/demo"


class GiteaClientStub:
    """The lab's GiteaClient methods the driver calls, recorded. ``create_pull`` answers
    with ``number`` as Gitea's PullRequest does (gitea-openapi 1.27.1, PullRequest)."""

    def __init__(self, jenkins: FakeJenkins) -> None:
        self.jenkins = jenkins
        self.calls: list[tuple[Any, ...]] = []
        self.next_pr = 1

    def get_repo(self, org: str, repo: str) -> dict[str, Any]:
        # Repository.default_branch (gitea-openapi 1.27.1): an added project's may differ.
        return {"name": repo, "default_branch": "master"}

    def create_pull(self, org: str, repo: str, **kw: Any) -> dict[str, Any]:
        self.calls.append(("create_pull", kw["head"]))
        number, self.next_pr = self.next_pr, self.next_pr + 1
        return {"number": number}

    def close_pull(self, org: str, repo: str, number: int) -> None:
        # What Jenkins still had queued or running when the PR was closed.
        self.calls.append(("close_pull", number, self._active()))

    def delete_branch(self, org: str, repo: str, branch: str) -> None:
        self.calls.append(("delete_branch", branch, self._active()))

    def _active(self) -> list[str]:
        out = []
        for name, job in self.jenkins.jobs.items():
            if job.get("queueItem"):
                out.append(f"{name} queued")
            out += [f"{name} #{b['number']}" for b in job.get("builds", ()) if b["building"]]
        return sorted(out)


@pytest.fixture
def fake() -> FakeJenkins:
    fake = FakeJenkins()
    fake.add_job("cd4ml", folder=True)
    fake.add_job(PROJECT, folder=True)
    fake.routes[("POST", "/job/cd4ml/job/demo/build?delay=0")] = (200, "")
    return fake


@pytest.fixture
def driver(fake: FakeJenkins, tmp_path) -> tuple[StackDriver, GiteaClientStub, list[str]]:
    jenkins = JenkinsClient("http://jenkins.test:8080", "lab-admin", "pw", timeout=3)
    jenkins.server._session.mount("http://", fake)
    gitea = GiteaClientStub(fake)
    d = StackDriver(LabConfig(root=tmp_path))
    d._clients = (gitea, jenkins, None)
    d.project = "demo"
    lines: list[str] = []
    d._progress = lines.append
    return d, gitea, lines


TIMESTAMPED_COMPILE_ERROR = (
    "Started by an SCM change\n"
    "Obtained Jenkinsfile from " + HEAD + "\n"
    "org.codehaus.groovy.control.MultipleCompilationErrorsException: startup failed:\n"
    "WorkflowScript: 12: unexpected token: } @ line 12, column 1.\n"
    "[2026-12-02T14:36:48.123Z] [Pipeline] End of Pipeline\n"
    "[2026-12-02T14:36:48.130Z] Finished: FAILURE\n"
)


def test_a_pr_build_that_failed_before_checkout_is_found_and_said_so(driver, fake) -> None:
    d, _, lines = driver
    fake.add_job(
        f"{PROJECT}/PR-1",
        run(4, result="FAILURE", actions=[pr_revision(1, HEAD, BASE, "exp")]),
        run(3, actions=[pr_revision(1, OTHER, BASE, "exp"), build_data(OTHER)]),
    )
    fake.consoles[(f"{PROJECT}/PR-1", 4)] = TIMESTAMPED_COMPILE_ERROR
    build = d.wait_build(Target("exp", 1), HEAD, 5.0, lines.append)
    assert (build.number, build.result, build.commit) == (4, "FAILURE", HEAD)
    assert any("before checking out" in line for line in lines)
    # Timestamper's prefixes are gone from what reports show...
    assert "[2026-" not in build.log and tail(build.log).endswith("Finished: FAILURE")
    # ...and log_contains keeps substring semantics, across lines too.
    run_state = SimpleNamespace(build=build, target=Target("exp", 1))
    held = expectations.log_contains(run_state, ["Finished: FAILURE", "End of Pipeline\nFinished"])
    assert held.ok, held.seen
    lacks = expectations.log_lacks(run_state, "unexpected token")
    assert not lacks.ok and "[2026" not in lacks.seen


def test_a_branch_build_that_failed_before_checkout_is_found(driver, fake) -> None:
    d, _, lines = driver
    fake.add_job(
        f"{PROJECT}/feature%2Fx",
        run(1, result="FAILURE", actions=[branch_revision("feature/x", HEAD)]),
    )
    build = d.wait_build(Target("feature/x"), HEAD, 5.0, lines.append)
    assert (build.job, build.number, build.result) == ("feature/x", 1, "FAILURE")


def test_a_timed_out_wait_reports_builds_queue_and_does_not_scan_a_busy_job(
    driver, fake, monkeypatch
) -> None:
    d, _, lines = driver
    monkeypatch.setattr(stack, "SCAN_AFTER", 0.0)
    fake.add_job(
        f"{PROJECT}/PR-1",
        run(2, result=None, actions=[pr_revision(1, OTHER, BASE, "exp")]),
        run(1, result="FAILURE", actions=[pr_revision(1, BASE, BASE, "exp"), build_data(BASE)]),
    )
    fake.queue(f"{PROJECT}/PR-1", 77, "Waiting for next available executor on 'built-in'")
    with pytest.raises(WaitTimeout) as err:
        d.wait_build(Target("exp", 1), HEAD, 0.05, lines.append)
    message = str(err.value)
    assert f"#2 of {OTHER[:10]} running" in message
    assert f"#1 of {BASE[:10]} FAILURE" in message
    assert "queued: Waiting for next available executor" in message
    assert "newest commit" in message  # the hint
    assert not any(r.method == "POST" for r in fake.sent)  # builds exist: no scan


def test_a_missing_job_is_scanned_for_and_reported(driver, fake, monkeypatch) -> None:
    d, _, lines = driver
    monkeypatch.setattr(stack, "SCAN_AFTER", 0.0)
    with pytest.raises(
        WaitTimeout, match=r"Jenkins has no job cd4ml/demo/PR-9 \(even after a scan\)"
    ):
        d.wait_build(Target("exp", 9), HEAD, 0.05, lines.append)
    assert "/job/cd4ml/job/demo/build" in fake.paths("POST")
    assert any("scanning cd4ml/demo" in line for line in lines)


def test_open_pr_cancels_the_branch_build_that_won_the_race(driver, fake) -> None:
    d, gitea, _ = driver
    # The push event reached Jenkins before the PR existed: a branch job, its build queued.
    fake.add_job(f"{PROJECT}/exp-1")
    fake.queue(f"{PROJECT}/exp-1", 41, "In the quiet period. Expires in 4.8 sec")
    fake.add_job(f"{PROJECT}/PR-1")
    d.pushed("exp-1", HEAD)
    assert d.open_pr("exp-1", "main", "t", "") == 1
    assert gitea.calls == [("create_pull", "exp-1")]
    assert fake.cancelled == [41]
    assert not fake.stopped


def test_open_pr_stops_a_branch_build_that_already_started(driver, fake) -> None:
    d, _, lines = driver
    fake.add_job(f"{PROJECT}/exp-2", run(1, result=None, actions=[branch_revision("exp-2", HEAD)]))
    fake.add_job(f"{PROJECT}/PR-1")
    d.open_pr("exp-2", "main", "t", "")
    assert fake.stopped == [(f"{PROJECT}/exp-2", 1)]
    assert any("stopped cd4ml/demo/exp-2 #1" in line for line in lines)


def test_open_pr_without_a_branch_job_cancels_nothing(driver, fake) -> None:
    d, _, _ = driver
    fake.add_job(f"{PROJECT}/PR-1")
    d.open_pr("exp-3", "main", "t", "")
    assert fake.cancelled == [] and fake.stopped == []


def test_finish_cancels_and_stops_the_run_s_builds_before_closing_and_deleting(
    driver, fake
) -> None:
    d, gitea, lines = driver
    fake.add_job(f"{PROJECT}/PR-1", run(2, result=None, actions=[pr_revision(1, HEAD, BASE, "x")]))
    fake.queue(f"{PROJECT}/PR-1", 50, "In the quiet period")
    fake.add_job(f"{PROJECT}/exp-4")
    d.pushed("exp-4", HEAD)
    d._prs[1] = True
    fake.queue(f"{PROJECT}/exp-4", 51, "In the quiet period")
    d.finish(False, lines.append)
    assert sorted(fake.cancelled) == [50, 51]
    assert fake.stopped == [(f"{PROJECT}/PR-1", 2)]
    assert ("close_pull", 1, []) in gitea.calls  # nothing left queued or running
    assert ("delete_branch", "exp-4", []) in gitea.calls


def test_finish_keep_leaves_builds_alone(driver, fake) -> None:
    d, gitea, lines = driver
    fake.add_job(f"{PROJECT}/PR-1", run(2, result=None))
    d._prs[1] = True
    d.finish(True, lines.append)
    assert fake.stopped == [] and gitea.calls == []


def test_waiting_for_a_superseded_commit_times_out_saying_so(driver, fake) -> None:
    """Jenkins built only the newest push; the wait for the older one names why."""
    d, _, lines = driver
    d.pushed("feat", OTHER)
    d.pushed("feat", HEAD)
    fake.add_job(
        f"{PROJECT}/feat", run(1, actions=[branch_revision("feat", HEAD), build_data(HEAD)])
    )
    with pytest.raises(WaitTimeout) as err:
        d.wait_build(Target("feat"), OTHER, 0.05, lines.append)
    assert f"#1 of {HEAD[:10]} SUCCESS" in str(err.value)
    assert "builds only the newest commit of a head" in str(err.value)
    assert f"{HEAD[:10]} was pushed to feat after {OTHER[:10]}" in str(err.value)


def test_finish_never_deletes_the_project_s_default_branch(driver, fake, monkeypatch) -> None:
    """A scenario with `push_to_default_branch: true` on a project whose default is not
    `main`: the run pushed to it, but it is the project's, not the run's, to delete."""
    d, gitea, lines = driver
    fake.add_job(f"{PROJECT}/master")
    monkeypatch.setattr(d.jenkins, "job_exists", lambda job: True)
    d.start("demo", "u1", lines.append)
    d.pushed("master", HEAD)
    d.pushed("exp-5", OTHER)
    d.finish(False, lines.append)
    deleted = [call[1] for call in gitea.calls if call[0] == "delete_branch"]
    assert deleted == ["exp-5"]


# ---- parametrized builds and chains ------------------------------------------------


def test_start_build_posts_the_parameters_and_wait_started_follows_its_queue_item(
    driver, fake
) -> None:
    """buildWithParameters answers 201 + Location of the queue item (python-jenkins 1.8.3
    build_job reads it there); the item's executable names the build (core Queue)."""
    from urllib.parse import parse_qsl

    d, _, lines = driver
    bodies: list[dict[str, str]] = []

    def build_with_parameters(request):  # type: ignore[no-untyped-def]
        bodies.append(dict(parse_qsl(request.body)))
        return 201, "", {"Location": "http://jenkins.test:8080/queue/item/12/"}

    fake.add_job(f"{PROJECT}/main", run(3, actions=[branch_revision("main", HEAD)]))
    fake.routes[("POST", "/job/cd4ml/job/demo/job/main/buildWithParameters")] = (
        build_with_parameters
    )
    fake.routes[("GET", "/queue/item/12/api/json?tree=cancelled,executable[number]")] = (
        200,
        {"executable": {"number": 3}},
    )
    fake.consoles[(f"{PROJECT}/main", 3)] = (
        "[2026-12-02T14:36:48.123Z] trained\nFinished: SUCCESS\n"
    )
    assert d.start_build("main", {"PROBLEM": "iris"}, lines.append) == (
        "cd4ml/demo/main (queue item 12)"
    )
    assert bodies == [{"PROBLEM": "iris"}]
    build = d.wait_started(5.0, lines.append)
    assert (build.job, build.number, build.result, build.commit) == ("main", 3, "SUCCESS", HEAD)
    assert build.tag == "jenkins-cd4ml-demo-main-3" and build.log.startswith("trained\n")


def test_wait_chain_takes_the_downstream_builds_that_ran_inside_the_preprocess_build(
    driver, fake
) -> None:
    d, _, lines = driver
    chain = "cd4ml/demo-chain"

    def at(build: dict, start: int, ms: int) -> dict:
        build.update(timestamp=start, duration=ms)
        return build

    fake.add_job(chain, folder=True)
    fake.add_job(f"{chain}/preprocess", folder=True)
    fake.add_job(
        f"{chain}/preprocess/main",
        at(run(2, result="FAILURE", actions=[branch_revision("main", HEAD)]), 10_000, 9_000),
        at(run(1, actions=[branch_revision("main", OTHER)]), 1_000, 5_000),
    )
    fake.add_job(
        f"{chain}/train",
        at(run(2, result="FAILURE"), 11_000, 7_000),
        at(run(1), 2_000, 3_000),
    )
    fake.add_job(
        f"{chain}/test",
        at(run(2, result="FAILURE"), 12_000, 2_000),
        at(run(1), 3_000, 1_000),
    )
    fake.consoles[(f"{chain}/test", 2)] = "gate FAILED: accuracy=0.2 (threshold 0.8)\n"
    builds = d.wait_chain(HEAD, 5.0, lines.append)
    assert [(b.job, b.number, b.result) for b in builds] == [
        ("chain/preprocess", 2, "FAILURE"),
        ("chain/train", 2, "FAILURE"),
        ("chain/test", 2, "FAILURE"),
    ]
    assert "threshold 0.8" in builds[-1].log
    assert builds[0].tag == "jenkins-cd4ml-demo-chain-preprocess-main-2"


def test_an_artifact_is_read_from_the_build_that_archived_it(driver, fake) -> None:
    """core Run/artifact/<path> serves an archived file (404 when there is none)."""
    from lab.scenarios.driver import Build

    d, _, _ = driver
    fake.routes[("GET", "/job/cd4ml/job/demo-chain/job/test/4/artifact/out/metrics.json")] = (
        200,
        '{"accuracy": 0.93}',
    )
    test_build = Build("chain/test", 4, "SUCCESS", HEAD, "")
    assert d.artifact(test_build, "out/metrics.json") == b'{"accuracy": 0.93}'
    assert d.artifact(Build("main", 4, "SUCCESS", HEAD, ""), "out/metrics.json") is None


def test_start_build_on_a_job_jenkins_does_not_have_times_out_saying_so(
    driver, fake, monkeypatch
) -> None:
    d, _, lines = driver
    monkeypatch.setattr(stack, "SETTLE_TIMEOUT", 0.01)
    with pytest.raises(WaitTimeout, match=r"Jenkins has no job cd4ml/demo/short-1") as err:
        d.start_build("short-1", {"PROBLEM": "iris"}, lines.append)
    assert "its first build declares the parameters" in (err.value.hint or "")
    assert not fake.paths("POST")
