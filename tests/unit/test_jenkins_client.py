"""JenkinsClient against a fake Jenkins HTTP layer (a requests transport adapter)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from lab.clients.jenkins import JenkinsClient, branch_job, commit_of, finished, job_path
from lab.errors import ServiceError, WaitTimeout

URL = "http://jenkins.test:8080"
PASSWORD = "s3cret-admin-pw"  # a fake, checked never to leak into errors

Route = Callable[[requests.PreparedRequest], tuple[int, Any, dict[str, str]]]


class FakeJenkins(BaseAdapter):
    """Routes by (method, path); records requests; checks auth and timeouts."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[tuple[str, str], Route | tuple[Any, ...]] = {
            ("GET", "/crumbIssuer/api/json"): (
                200,
                {"crumbRequestField": "Jenkins-Crumb", "crumb": "c0ffee"},
            ),
        }
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
        assert kwargs.get("timeout"), "every Jenkins request needs a timeout"
        self.sent.append(request)
        parts = urlsplit(request.url)
        path = parts.path + (f"?{unquote(parts.query)}" if parts.query else "")
        route = self.routes.get((request.method, path))
        if route is None:
            status, body, headers = 404, "Not Found", {}
        elif callable(route):
            status, body, headers = route(request)
        else:
            status, body, *rest = route
            headers = rest[0] if rest else {}
        resp = requests.Response()
        resp.status_code = status
        resp._content = (body if isinstance(body, str) else json.dumps(body)).encode()
        resp.headers.update(headers)
        resp.url = request.url
        resp.request = request
        resp.reason = "fake"
        return resp

    def close(self) -> None:
        pass

    def paths(self, method: str | None = None) -> list[str]:
        return [urlsplit(r.url).path for r in self.sent if method is None or r.method == method]


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


def test_ready_needs_login_page_and_an_authenticated_whoami(client, fake):
    fake.routes[("GET", "/login")] = (503, "Please wait while Jenkins is getting ready")
    with pytest.raises(ServiceError, match=r"GET /login -> HTTP 503"):
        client.ready()
    fake.routes[("GET", "/login")] = (200, "<html>")
    fake.routes[("GET", "/whoAmI/api/json")] = (200, {"name": "anonymous", "authenticated": True})
    with pytest.raises(ServiceError, match="not authenticated"):
        client.ready()
    fake.routes[("GET", "/whoAmI/api/json")] = (200, {"name": "lab-admin", "authenticated": True})
    assert client.ready() is True
    whoami = next(r for r in fake.sent if r.url.endswith("/whoAmI/api/json"))
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
    fake.routes[("GET", "/job/cd4ml/job/demo/api/json?tree=jobs[name]")] = (
        200,
        {"jobs": [{"name": "main"}, {"name": "PR-1"}]},
    )
    assert client.list_jobs("cd4ml/demo") == ["main", "PR-1"]
    with pytest.raises(ServiceError, match="no folder or project 'cd4ml/gone'"):
        client.list_jobs("cd4ml/gone")
    fake.routes[
        ("GET", "/job/cd4ml/job/demo/job/main/api/json?tree=builds[number,result,building,url]")
    ] = (200, {"builds": [{"number": 2, "building": True}, {"number": 1, "result": "SUCCESS"}]})
    assert [b["number"] for b in client.builds("cd4ml/demo/main")] == [2, 1]


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
    fake.routes[("GET", "/queue/item/41/api/json")] = lambda r: (200, next(answers), {})
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


BUILD_7 = {
    "number": 7,
    "building": False,
    "result": "SUCCESS",
    "actions": [
        {"_class": "hudson.model.CauseAction"},
        {},
        {
            "_class": "hudson.plugins.git.util.BuildData",
            "lastBuiltRevision": {"SHA1": "a" * 40},
        },
    ],
}


def test_build_commit_reads_git_build_data(client, fake):
    fake.routes[("GET", "/job/cd4ml/job/demo/job/PR-1/7/api/json")] = (200, BUILD_7)
    assert client.build_commit("cd4ml/demo/PR-1", 7) == "a" * 40
    assert client.build_commit("cd4ml/demo/PR-1", 8) is None
    scm_only = {
        "actions": [{"_class": "jenkins.scm.api.SCMRevisionAction", "revision": {"hash": "b" * 40}}]
    }
    assert commit_of(scm_only) == "b" * 40
    assert commit_of({"actions": []}) is None


def test_wait_build_returns_the_first_matching_build_after_since(client, fake):
    base = "/job/cd4ml/job/demo/job/PR-1"
    builds_path = f"{base}/api/json?tree=builds[number,result,building,url]"
    states = iter(
        [
            None,  # the PR job does not exist yet
            {"builds": [{"number": 7}, {"number": 6}]},
            {"builds": [{"number": 7}, {"number": 6}]},
        ]
    )

    def builds(_r):
        state = next(states)
        return (404, "no", {}) if state is None else (200, state, {})

    fake.routes[("GET", builds_path)] = builds
    running = dict(BUILD_7, building=True, result=None)
    infos = iter([running, BUILD_7])
    fake.routes[("GET", f"{base}/7/api/json")] = lambda r: (200, next(infos), {})
    info = client.wait_build("cd4ml/demo/PR-1", finished, since=6, timeout=10, interval=0.01)
    assert info["number"] == 7 and info["result"] == "SUCCESS"
    # Build 6 (not after `since`) was never looked at.
    assert f"{base}/6/api/json" not in fake.paths()


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
    fake.routes[("GET", "/queue/item/3/api/json")] = (200, {"executable": {"number": 12}})
    fake.routes[("GET", f"{base}/api/json?tree=builds[number,result,building,url]")] = (
        200,
        {"builds": [{"number": 12}, {"number": 11}]},
    )
    fake.routes[("GET", f"{base}/12/api/json")] = (
        200,
        {"number": 12, "building": False, "result": "FAILURE"},
    )
    assert client.run_job("seed", timeout=10) == "FAILURE"
    assert f"{base}/11/api/json" not in fake.paths()
    fake.routes[("GET", f"{base}/12/consoleText")] = (200, "a\nb\nERROR: boom\n")
    assert client.console_tail("seed", lines=1) == "ERROR: boom"


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
