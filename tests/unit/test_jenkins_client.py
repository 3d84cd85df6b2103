"""JenkinsClient against a fake Jenkins HTTP layer (tests/fakes/jenkins.py), whose JSON
answers follow Stapler's export rules over the pinned sources' exported beans."""

from __future__ import annotations

import base64

import pytest

from lab.clients.jenkins import (
    BUILD_FIELDS,
    JenkinsClient,
    branch_job,
    commit_of,
    finished,
    job_path,
    strip_timestamps,
)
from lab.errors import ServiceError, WaitTimeout
from tests.fakes.jenkins import (
    JOB,
    FakeJenkins,
    branch_revision,
    build_data,
    pr_revision,
    run,
)

URL = "http://jenkins.test:8080"
WHOAMI = "/whoAmI/api/json?tree=name,authenticated"
PASSWORD = "s3cret-admin-pw"  # a fake, checked never to leak into errors


@pytest.fixture
def fake() -> FakeJenkins:
    return FakeJenkins()


@pytest.fixture
def client(fake: FakeJenkins) -> JenkinsClient:
    c = JenkinsClient(URL, "lab-admin", PASSWORD, timeout=3)
    c.server._session.mount("http://", fake)
    return c


def test_names_of_branch_and_pr_jobs():
    assert branch_job("feature/x") == "feature%2Fx"
    assert job_path("cd4ml", "cd4ml-demo", "feature/x") == "cd4ml/cd4ml-demo/feature%2Fx"


@pytest.mark.parametrize(
    ("branch", "job"),
    [
        # branch-api 2.1280.v0d4e5b_b_460ef NameEncoder.encode, rule by rule
        ("main", "main"),
        ("PR-7", "PR-7"),
        ("fix#3", "fix%233"),
        ("100%", "100%25"),
        ("a?b", "a%3Fb"),
        ("[wip]", "%5Bwip%5D"),
        ("back\\slash", "back%5Cslash"),
        ("team/feat/x", "team%2Ffeat%2Fx"),
        (".", "%2E"),
        ("..", "%2E."),
        ("", "%00"),
        ("a.b..c", "a.b..c"),  # only the whole names `.` and `..` are replaced
        ("ünï-cødé~!$&'()*+,;=:@", "ünï-cødé~!$&'()*+,;=:@"),  # left to URL encoding
    ],
)
def test_branch_job_names_follow_branch_api_name_encoder(branch, job):
    assert branch_job(branch) == job


def test_branch_with_hash_and_percent_is_found_under_its_encoded_name(client, fake):
    # Jenkins names the job `fix%233-50%25`; the URL segment encodes that name once more.
    fake.add_job("cd4ml/demo/fix%233-50%25", run(1))
    assert client.job_exists(job_path("cd4ml", "demo", "fix#3-50%"))
    assert "/job/cd4ml/job/demo/job/fix%25233-50%2525/api/json" in fake.paths()


def test_ready_needs_login_page_and_an_authenticated_whoami(client, fake):
    fake.routes[("GET", "/login")] = (503, "Please wait while Jenkins is getting ready")
    with pytest.raises(ServiceError, match=r"GET /login -> HTTP 503"):
        client.ready()
    fake.routes[("GET", "/login")] = (200, "<html>")
    fake.routes[("GET", WHOAMI)] = (200, {"name": "anonymous", "authenticated": True})
    with pytest.raises(ServiceError, match="not authenticated"):
        client.ready()
    fake.routes[("GET", WHOAMI)] = (200, {"name": "lab-admin", "authenticated": True})
    assert client.ready() is True
    whoami = next(
        r for r in fake.sent if r.url.endswith("/whoAmI/api/json?tree=name,authenticated")
    )
    expected = base64.b64encode(f"lab-admin:{PASSWORD}".encode()).decode()
    assert whoami.headers["Authorization"] == f"Basic {expected}"


def test_wait_ready_times_out_naming_jenkins(client, fake):
    fake.routes[("GET", "/login")] = (503, "starting")
    with pytest.raises(WaitTimeout, match=r"Jenkins at http://jenkins.test:8080/.*HTTP 503"):
        client.wait_ready(timeout=0.01)


def test_job_exists_tells_missing_from_broken(client, fake):
    fake.routes[("GET", "/job/cd4ml/job/cd4ml-demo/api/json?tree=name")] = (
        200,
        {"name": "cd4ml-demo"},
    )
    assert client.job_exists("cd4ml/cd4ml-demo") is True
    assert client.job_exists("cd4ml/nope") is False
    fake.routes[("GET", "/job/cd4ml/job/x/api/json?tree=name")] = (503, "starting")
    with pytest.raises(ServiceError, match=r"Jenkins: GET /job/cd4ml/job/x/api/json.*503"):
        client.job_exists("cd4ml/x")


def test_branch_with_slash_is_addressed_by_its_encoded_job_name(client, fake):
    fake.routes[("GET", "/job/cd4ml/job/demo/job/feature%252Fx/api/json?tree=name")] = (
        200,
        {"name": "feature%2Fx"},
    )
    assert client.job_exists(job_path("cd4ml", "demo", "feature/x"))


def test_list_jobs_and_builds(client, fake):
    fake.add_job("cd4ml", folder=True)
    fake.add_job("cd4ml/demo", folder=True)
    fake.add_job("cd4ml/demo/main", run(2, result=None), run(1))
    fake.add_job("cd4ml/demo/PR-1")
    assert client.list_jobs("cd4ml/demo") == ["main", "PR-1"]
    with pytest.raises(ServiceError, match="no folder or project 'cd4ml/gone'"):
        client.list_jobs("cd4ml/gone")
    builds = client.builds("cd4ml/demo/main")
    assert [(b["number"], b["building"]) for b in builds] == [(2, True), (1, False)]
    assert f"/job/cd4ml/job/demo/job/main/api/json?tree=builds[{BUILD_FIELDS}]" in fake.queries()


def test_scan_posts_build_with_a_crumb_without_build_job(client, fake):
    fake.routes[("POST", "/job/cd4ml/job/demo/build?delay=0")] = (
        302,
        "",
        {"Location": f"{URL}/job/cd4ml/job/demo/"},
    )
    fake.routes[("GET", "/job/cd4ml/job/demo/")] = (200, "<html>")
    client.scan_multibranch("cd4ml/demo")
    post = next(r for r in fake.sent if r.method == "POST")
    assert post.url.endswith("/job/cd4ml/job/demo/build?delay=0")
    assert post.headers["Jenkins-Crumb"] == "c0ffee"


def test_trigger_follows_the_queue_item_to_the_build_number(client, fake):
    fake.routes[("POST", "/job/cd4ml/job/demo/job/main/build?delay=0sec")] = (
        201,
        "",
        {"Location": f"{URL}/queue/item/41/"},
    )
    answers = iter([{"why": "Waiting for next available executor"}, {"executable": {"number": 7}}])
    fake.routes[("GET", "/queue/item/41/api/json?tree=cancelled,executable[number]")] = lambda r: (
        200,
        next(answers),
        {},
    )
    assert client.trigger("cd4ml/demo/main", timeout=10) == 7
    # The crumb is fetched once and reused.
    assert fake.paths("GET").count("/crumbIssuer/api/json") == 1


def test_trigger_on_a_multibranch_project_explains_itself(client, fake):
    fake.routes[("POST", "/job/cd4ml/job/demo/build?delay=0sec")] = (
        302,
        "",
        {"Location": f"{URL}/job/x/"},
    )
    fake.routes[("GET", "/job/x/")] = (200, "<html>")
    with pytest.raises(ServiceError, match="queued nothing") as err:
        client.trigger("cd4ml/demo", timeout=1)
    assert "scan_multibranch" in str(err.value)


def test_expired_queue_item_is_reported(client, fake):
    with pytest.raises(ServiceError, match="queue item 5 is gone"):
        client.build_number_of(5)


BASE, HEAD = "b" * 40, "a" * 40


def test_build_commit_reads_git_build_data_first(client, fake):
    fake.add_job(
        "cd4ml/demo/PR-1", run(7, actions=[pr_revision(1, HEAD, BASE, "exp"), build_data(HEAD)])
    )
    assert client.build_commit("cd4ml/demo/PR-1", 7) == HEAD
    assert client.build_commit("cd4ml/demo/PR-1", 8) is None
    assert commit_of({"actions": []}) is None


def test_a_pr_build_that_failed_before_checkout_is_matched_by_its_origin_hash(client, fake):
    # A Jenkinsfile that does not compile: SCMBinder recorded the revision, no checkout ran.
    fake.add_job(
        "cd4ml/demo/PR-1", run(3, result="FAILURE", actions=[pr_revision(1, HEAD, BASE, "exp")])
    )
    info = client.build_info("cd4ml/demo/PR-1", 3)
    assert commit_of(info) == HEAD  # the PR head, never the target's hash
    assert client.builds("cd4ml/demo/PR-1")[0]["result"] == "FAILURE"
    assert commit_of(client.builds("cd4ml/demo/PR-1")[0]) == HEAD


def test_a_branch_build_that_failed_before_checkout_is_matched_by_its_hash(client, fake):
    fake.add_job(
        "cd4ml/demo/main", run(2, result="FAILURE", actions=[branch_revision("main", HEAD)])
    )
    assert client.build_commit("cd4ml/demo/main", 2) == HEAD


def test_a_plain_api_json_hides_the_revision_so_the_client_names_its_fields(fake):
    """Why the client asks with `tree=`: at depth 0 Stapler drops SCMRevisionAction.revision
    (visibility 1 on an object at depth 2), while git's BuildData (999) survives."""
    build = run(3, result="FAILURE", actions=[pr_revision(1, HEAD, BASE, "exp")])
    plain = fake.beans.export(build)
    assert commit_of(plain) is None
    assert [a["_class"] for a in plain["actions"]][-1] == "jenkins.scm.api.SCMRevisionAction"
    assert "revision" not in plain["actions"][-1]
    deep = fake.beans.export(run(4, actions=[build_data(HEAD)]))
    assert commit_of(deep) == HEAD


def test_wait_build_returns_the_first_matching_build_after_since(client, fake):
    tree = f"builds[{BUILD_FIELDS}]"
    states = iter(
        [
            None,  # the PR job does not exist yet
            [run(7, result=None, actions=[build_data(HEAD)]), run(6)],
            [run(7, actions=[build_data(HEAD)]), run(6)],
        ]
    )

    def builds(_r):
        state = next(states)
        if state is None:
            return 404, "Not Found", {}
        return 200, fake.beans.export({"_class": JOB, "builds": state}, tree=tree), {}

    fake.routes[("GET", f"/job/cd4ml/job/demo/job/PR-1/api/json?tree={tree}")] = builds
    info = client.wait_build("cd4ml/demo/PR-1", finished, since=6, timeout=10, interval=0.01)
    assert info["number"] == 7 and info["result"] == "SUCCESS" and commit_of(info) == HEAD


def test_wait_build_times_out_with_what_it_waited_for(client, fake):
    with pytest.raises(WaitTimeout, match=r"a build of cd4ml/demo/main after #3"):
        client.wait_build("cd4ml/demo/main", since=3, timeout=0.05, interval=0.01)


def test_console_tail(client, fake):
    fake.routes[("GET", "/job/cd4ml/job/demo/job/main/7/consoleText")] = (
        200,
        "line1\nline2\nline3\nFinished: SUCCESS\n",
    )
    assert client.console("cd4ml/demo/main", 7, tail=2) == "line3\nFinished: SUCCESS"


def test_errors_never_show_the_password(client, fake):
    fake.routes[("GET", "/job/x/api/json?tree=name")] = (500, f"echo {PASSWORD}")
    with pytest.raises(ServiceError) as err:
        client.job_exists("x")
    assert PASSWORD not in str(err.value)
    assert "Jenkins: GET /job/x/api/json?tree=name failed" in str(err.value)


def test_run_job_returns_the_result_of_the_build_it_started(client, fake):
    base = "/job/seed"
    fake.routes[("POST", f"{base}/build?delay=0sec")] = (
        201,
        "",
        {"Location": f"{URL}/queue/item/3/"},
    )
    fake.routes[("GET", "/queue/item/3/api/json?tree=cancelled,executable[number]")] = (
        200,
        {"executable": {"number": 12}},
    )
    fake.add_job("seed", run(12, result="FAILURE"), run(11))
    assert client.run_job("seed", timeout=10) == "FAILURE"
    fake.consoles[("seed", 12)] = "a\nb\nERROR: boom\n"
    assert client.console_tail("seed", lines=1) == "ERROR: boom"


def test_queue_item_cancel_and_stop(client, fake):
    fake.add_job("cd4ml/demo/exp", run(2, result=None), run(1))
    assert client.queue_item("cd4ml/demo/exp") is None
    fake.queue("cd4ml/demo/exp", 41, "In the quiet period. Expires in 4.9 sec")
    item = client.queue_item("cd4ml/demo/exp")
    assert item is not None and (item.id, item.why.startswith("In the quiet")) == (41, True)
    assert client.queue_item("cd4ml/demo/gone") is None
    client.cancel_queue_item(41)
    assert fake.cancelled == [41]
    client.cancel_queue_item(41)  # gone already: Jenkins answers 404, which is fine
    client.stop_build("cd4ml/demo/exp", 2)
    assert fake.stopped == [("cd4ml/demo/exp", 2)]
    posts = [r for r in fake.sent if r.method == "POST"]
    assert all(r.headers.get("Jenkins-Crumb") == "c0ffee" for r in posts)


def test_strip_timestamps_removes_only_timestamper_prefixes():
    log = (
        "Started by an SCM change\n"
        "[2026-12-02T14:36:48.123Z] + pytest -q\n"
        "[2026-12-02T14:36:49.001Z] [Pipeline] sh\n"
        "[not a time] kept\n"
    )
    assert strip_timestamps(log) == (
        "Started by an SCM change\n+ pytest -q\n[Pipeline] sh\n[not a time] kept\n"
    )


def test_last_build_summary(client, fake):
    path = "/job/cd4ml/job/demo/job/main/api/json?tree=lastBuild[number,result,building]"
    fake.routes[("GET", path)] = (200, {"lastBuild": None})
    assert client.last_build_summary("cd4ml/demo/main") == "no builds"
    fake.routes[("GET", path)] = (200, {"lastBuild": {"number": 8, "building": True}})
    assert client.last_build_summary("cd4ml/demo/main") == "#8 running"
    fake.routes[("GET", path)] = (200, {"lastBuild": {"number": 8, "result": "UNSTABLE"}})
    assert client.last_build_summary("cd4ml/demo/main") == "#8 UNSTABLE"
    assert client.last_build_summary("cd4ml/demo/gone") == "no such job"


def test_credential_exists_reads_only_the_id(client, fake):
    base = "/credentials/store/system/domain/_/credential"
    fake.routes[("GET", f"{base}/DVC_Remote_Creds/api/json?tree=id")] = (
        200,
        {"id": "DVC_Remote_Creds"},
    )
    assert client.credential_exists("DVC_Remote_Creds") is True
    assert client.credential_exists("GIT_PAT") is False
