"""The lab's Jenkins client: python-jenkins 1.8.3 with the lab's timeouts, waits and errors.

Facts this relies on (python-jenkins 1.8.3 source, see ../shared/upstream/STACK-NOTES.md):

- Job names are folder paths, ``cd4ml/cd4ml-demo/PR-1`` -> ``job/cd4ml/job/cd4ml-demo/job/PR-1``.
  A branch job is named by branch-api's ``NameEncoder`` (:func:`branch_job`).
- Every JSON read names its fields with ``tree=`` (Stapler's ``NamedPathPruner``
  ignores export visibility; a plain ``api/json`` hides properties of nested objects
  whose visibility is below their depth). ``tests/unit/test_jenkins_contract.py``
  checks each field against the exported beans of the pinned core and plugins.
- Console logs of the lab's pipelines carry timestamper's ``[ISO time] `` prefix
  (:func:`strip_timestamps`).
- ``build_job`` on a multibranch project raises ``EmptyResponseException`` (the
  scan answers with a redirect, not a queue ``Location``), so a scan is a plain
  POST through ``jenkins_request``.
- Queue items expire about five minutes after the build starts: read the build
  number promptly.
- ``job_exists`` reports any HTTP error (503 during start-up included) as "no
  such job": :meth:`JenkinsClient.job_exists` tells the two apart.
- ``wait_for_normal_op`` needs anonymous read, which the lab turns off; readiness
  is ``/login`` 200 then ``/whoAmI/api/json`` authenticated.
- The crumb is cached per client: make a new client after a Jenkins restart.
- There is no default timeout: the lab always passes one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jenkins
import requests

from lab.errors import ServiceError
from lab.wait import Progress, poll

SERVICE = "Jenkins"
BUILD_DATA_CLASS = "hudson.plugins.git.util.BuildData"
SCM_REVISION_CLASS = "jenkins.scm.api.SCMRevisionAction"
BuildInfo = dict[str, Any]

# The fields of a build the lab reads, asked for by name (Stapler `tree=`): a plain
# `N/api/json` would omit SCMRevisionAction.revision (scm-api 728.vc30dcf7a_0df5,
# SCMRevisionAction.getRevision: @Exported, default visibility 1; stapler
# 2088.v915606dc8e86 TreePruner.ByDepth hides it at the action's depth 2), which is the
# only commit a build that failed before checkout has (workflow-multibranch SCMBinder
# adds the action before it reads the Jenkinsfile; git's BuildData comes with checkout).
# `revision.origin.hash`: gitea 273.vb_78d13f6d9a_d PullRequestSCMRevision.getOrigin
# (a BranchSCMRevision); `revision.hash`: git 5.10.1 AbstractGitSCMSource.SCMRevisionImpl.
BUILD_FIELDS = (
    "number,result,building,url,duration,timestamp,"
    "actions[lastBuiltRevision[SHA1],revision[hash,origin[hash]]]"
)
# A job's queue item (Job.getQueueItem, Queue.Item id/why, core 2.568.2): with no
# build parameters Jenkins folds every schedule of a job into one waiting item.
QUEUE_ITEM_FIELDS = "id,why"

# branch-api 2.1280.v0d4e5b_b_460ef src/main/java/jenkins/branch/NameEncoder.java:
# the characters a branch job's name escapes, and the names it replaces whole.
_NAME_ESCAPES = {
    "#": "%23",
    "%": "%25",
    "/": "%2F",
    "?": "%3F",
    "[": "%5B",
    "]": "%5D",
    "\\": "%5C",
}
_NAME_WHOLE = {"": "%00", ".": "%2E", "..": "%2E."}

# timestamper 1.30 pipeline/GlobalDecorator.java: "[" + UTC time as
# yyyy-MM-dd'T'HH:mm:ss.SSSX + "] " before every line written under timestamps().
_TIMESTAMP = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] ", re.MULTILINE)


def branch_job(branch: str) -> str:
    """The job name a multibranch project gives a branch (branch-api ``NameEncoder.encode``).

    ``feature/x`` -> ``feature%2Fx``, ``fix#3`` -> ``fix%233``, ``.`` -> ``%2E``. Git's
    ref rules already refuse ``?``, ``[``, ``\\`` and ``..`` in branch names; the port
    keeps them so the name matches Jenkins' for any head name.
    """
    if branch in _NAME_WHOLE:
        return _NAME_WHOLE[branch]
    return "".join(_NAME_ESCAPES.get(c, c) for c in branch)


def strip_timestamps(text: str) -> str:
    """A console log without timestamper's ``[2026-12-02T14:36:48.123Z] `` line prefixes."""
    return _TIMESTAMP.sub("", text)


def job_path(*parts: str) -> str:
    """``job_path("cd4ml", "cd4ml-demo", "feature/x")`` -> ``cd4ml/cd4ml-demo/feature%2Fx``.

    The last part is a branch or PR job name; the others are folders/projects.
    """
    *folders, last = parts
    return "/".join([*folders, branch_job(last)])


def _job_url(name: str) -> str:
    """The URL path of a job (``a/b`` -> ``job/a/job/b/``), each name percent-encoded."""
    return "".join(f"job/{quote(part, safe='')}/" for part in name.split("/") if part)


def finished(build: Mapping[str, Any]) -> bool:
    """A predicate for :meth:`JenkinsClient.wait_build`: the build is over."""
    return not build.get("building") and build.get("result") is not None


def _actions(build: Mapping[str, Any], cls: str) -> list[Mapping[str, Any]]:
    return [
        a for a in build.get("actions") or () if isinstance(a, Mapping) and a.get("_class") == cls
    ]


def commit_of(build: Mapping[str, Any]) -> str | None:
    """The commit a build is of: git's BuildData, else the branch source's revision.

    A build that failed before checkout (a Jenkinsfile that does not compile) has no
    BuildData, only SCMRevisionAction: ``revision.origin.hash`` for a pull request
    (the PR head, never ``revision.target``), ``revision.hash`` for a branch.
    """
    for action in _actions(build, BUILD_DATA_CLASS):
        sha = (action.get("lastBuiltRevision") or {}).get("SHA1")
        if sha:
            return str(sha)
    return revision_of(build)


def revision_of(build: Mapping[str, Any]) -> str | None:
    """The head revision the branch source recorded before the build read its Jenkinsfile."""
    for action in _actions(build, SCM_REVISION_CLASS):
        revision = action.get("revision") or {}
        origin = revision.get("origin") if isinstance(revision, Mapping) else None
        sha = (origin or {}).get("hash") if isinstance(origin, Mapping) else None
        sha = sha or revision.get("hash")
        if sha:
            return str(sha)
    return None


def checked_out(build: Mapping[str, Any]) -> bool:
    """Whether the build got as far as a git checkout (git's BuildData is there)."""
    return bool(_actions(build, BUILD_DATA_CLASS))


@dataclass(frozen=True)
class QueueItem:
    id: int
    why: str


class JenkinsClient:
    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        retries: int = 1,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        self.server = jenkins.Jenkins(
            self.url, username=username, password=password, timeout=timeout, retries=retries
        )
        self._password = password

    def __repr__(self) -> str:
        return f"JenkinsClient({self.url!r})"

    # ---- raw requests ----------------------------------------------------
    def _fail(self, method: str, path: str, exc: Exception) -> ServiceError:
        detail = str(exc).replace(self._password, "****") if self._password else str(exc)
        detail = " ".join(detail.split())[:300]
        status = getattr(getattr(exc, "response", None), "status_code", None)
        where = f"{SERVICE}: {method} /{path}"
        hint = None
        if isinstance(exc, jenkins.TimeoutException):
            hint = f"is Jenkins up at {self.url}? try `lab status`"
        return ServiceError(
            f"{where} failed{f' (HTTP {status})' if status else ''}: {detail}", hint=hint
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        crumb: bool = True,
        missing_ok: bool = False,
        data: Mapping[str, str] | None = None,
    ) -> requests.Response | None:
        """One request to ``path`` (relative to the Jenkins URL), with auth; POSTs get a crumb.
        ``data``: a form body (application/x-www-form-urlencoded)."""
        req = requests.Request(method, self.url + path, data=dict(data) if data else None)
        try:
            return self.server.jenkins_request(req, add_crumb=crumb and method != "GET")
        except jenkins.NotFoundException as exc:
            if missing_ok:
                return None
            raise self._fail(method, path, exc) from None
        except (jenkins.JenkinsException, requests.RequestException) as exc:
            raise self._fail(method, path, exc) from None

    def get_json(self, path: str, *, missing_ok: bool = False) -> Any:
        resp = self.request("GET", path, missing_ok=missing_ok)
        if resp is None:
            return None
        try:
            return resp.json()
        except ValueError:
            raise ServiceError(f"{SERVICE}: GET /{path} did not return JSON") from None

    # ---- readiness -------------------------------------------------------
    def ready(self) -> bool:
        """``/login`` answers 200 and ``/whoAmI/api/json`` shows us authenticated."""
        try:
            login = self.server._session.get(self.url + "login", timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServiceError(f"{SERVICE}: GET /login failed: {type(exc).__name__}") from None
        if login.status_code != 200:
            raise ServiceError(f"{SERVICE}: GET /login -> HTTP {login.status_code} (starting?)")
        who = self.get_json("whoAmI/api/json?tree=name,authenticated")
        if not who.get("authenticated") or who.get("name") in (None, "anonymous"):
            raise ServiceError(
                f"{SERVICE}: whoAmI says we are not authenticated ({who.get('name')})",
                hint="check JENKINS_ADMIN_USER/JENKINS_ADMIN_PASSWORD in .lab/secrets.env",
            )
        return True

    def wait_ready(self, *, timeout: float, progress: Progress | None = None) -> None:
        poll(
            self.ready,
            what=f"Jenkins at {self.url}",
            timeout=timeout,
            interval=3.0,
            progress=progress,
        )

    # ---- jobs --------------------------------------------------------------
    def job_info(self, name: str, *, tree: str | None = None) -> dict[str, Any] | None:
        query = f"?tree={tree}" if tree else ""
        return self.get_json(f"{_job_url(name)}api/json{query}", missing_ok=True)

    def job_exists(self, name: str) -> bool:
        """True/False for a job; a Jenkins that is down or starting raises ServiceError."""
        return self.job_info(name, tree="name") is not None

    def list_jobs(self, folder: str = "") -> list[str]:
        """Names of the jobs directly in ``folder`` (a multibranch project lists its branches)."""
        data = self.get_json(f"{_job_url(folder)}api/json?tree=jobs[name]", missing_ok=True)
        if data is None:
            raise ServiceError(f"{SERVICE}: no folder or project {folder!r}")
        return [str(j["name"]) for j in data.get("jobs") or ()]

    def builds(self, job: str) -> list[BuildInfo]:
        """The job's builds, newest first, with :data:`BUILD_FIELDS` (Jenkins lists <=100)."""
        data = self.job_info(job, tree=f"builds[{BUILD_FIELDS}]")
        return list((data or {}).get("builds") or ())

    def build_info(self, job: str, number: int) -> BuildInfo | None:
        return self.get_json(
            f"{_job_url(job)}{int(number)}/api/json?tree={BUILD_FIELDS}", missing_ok=True
        )

    def queue_item(self, job: str) -> QueueItem | None:
        """The job's waiting queue item (id and why), or None; a missing job has none."""
        data = self.job_info(job, tree=f"queueItem[{QUEUE_ITEM_FIELDS}]")
        item = (data or {}).get("queueItem")
        if not isinstance(item, Mapping) or item.get("id") is None:
            return None
        return QueueItem(int(item["id"]), str(item.get("why") or ""))

    def cancel_queue_item(self, item_id: int) -> None:
        """Cancel a queue item (python-jenkins 1.8.3 ``cancel_queue``: POST
        ``queue/cancelItem?id=N``; its 404 answer is expected and ignored)."""
        try:
            self.server.cancel_queue(int(item_id))
        except (jenkins.JenkinsException, requests.RequestException) as exc:
            raise self._fail("POST", f"queue/cancelItem?id={int(item_id)}", exc) from None

    def stop_build(self, job: str, number: int) -> None:
        """Abort a running build (python-jenkins 1.8.3 ``stop_build``: POST ``.../N/stop``)."""
        try:
            self.server.stop_build(job, int(number))
        except (jenkins.JenkinsException, requests.RequestException) as exc:
            raise self._fail("POST", f"{_job_url(job)}{int(number)}/stop", exc) from None

    def build_commit(self, job: str, number: int) -> str | None:
        info = self.build_info(job, number)
        return commit_of(info) if info else None

    def console(self, job: str, number: int, *, tail: int | None = None) -> str:
        resp = self.request("GET", f"{_job_url(job)}{int(number)}/consoleText")
        text = resp.text if resp is not None else ""
        if tail is not None:
            text = "\n".join(text.splitlines()[-tail:])
        return text

    def artifact(self, job: str, number: int, path: str) -> bytes | None:
        """An archived artifact (core's ``Run/artifact/<path>``), None when there is none."""
        rel = "/".join(quote(part, safe="") for part in path.strip("/").split("/"))
        resp = self.request("GET", f"{_job_url(job)}{int(number)}/artifact/{rel}", missing_ok=True)
        return None if resp is None else resp.content

    def credential_exists(self, credential_id: str) -> bool:
        """A global (system store, domain ``_``) credential with this id exists.

        Credentials plugin REST API (user guide "REST API"; CloudBees KB 360030526992):
        ``credentials/store/system/domain/_/credential/<id>/api/json``. Only the id
        is read, never the secret.
        """
        path = (
            "credentials/store/system/domain/_/credential/"
            f"{quote(credential_id, safe='')}/api/json?tree=id"
        )
        return self.get_json(path, missing_ok=True) is not None

    def console_tail(self, job: str, *, lines: int = 30, number: int | None = None) -> str:
        """The last ``lines`` of a build's log (default: the job's newest build)."""
        if number is None:
            builds = self.builds(job)
            if not builds:
                return f"({job} has no builds)"
            number = int(builds[0]["number"])
        return self.console(job, number, tail=lines)

    def last_build_summary(self, job: str) -> str:
        """One line for `lab status`: ``#7 SUCCESS``, ``#8 running``, ``no builds``."""
        data = self.job_info(job, tree="lastBuild[number,result,building]")
        if data is None:
            return "no such job"
        last = data.get("lastBuild")
        if not last:
            return "no builds"
        state = "running" if last.get("building") else (last.get("result") or "unknown")
        return f"#{last['number']} {state}"

    # ---- starting things ------------------------------------------------
    def scan_multibranch(self, job: str) -> None:
        """Start a branch indexing of a multibranch project (``build?delay=0``)."""
        self.request("POST", f"{_job_url(job)}build?delay=0")

    def queue(self, job: str) -> int:
        """Queue a build of ``job``; return the queue item id."""
        path = f"{_job_url(job)}build?delay=0sec"
        return self._queue_id(path, self.request("POST", path))

    def queue_with_parameters(self, job: str, parameters: Mapping[str, str]) -> int:
        """Queue a build of a parametrized ``job``; return the queue item id.

        python-jenkins 1.8.3 ``build_job(name, parameters)`` POSTs to
        ``job/.../buildWithParameters`` and reads the queue item from the ``Location``
        header; it puts the parameters in the URL's query. Here they go in a form body
        instead (Jenkins reads either: a request parameter), so a value never lands in
        an access log or a proxy's URL.
        """
        path = f"{_job_url(job)}buildWithParameters"
        return self._queue_id(path, self.request("POST", path, data=parameters))

    def progressive_text(self, job: str, number: int, start: int) -> tuple[str, int, bool]:
        """The build's log from byte ``start``: (text, next start, more to come).

        jenkinsci/stapler 2088.v915606dc8e86 ``LargeText.doProgressTextImpl`` (what
        ``logText/progressiveText`` serves): the text from ``?start=``, the next offset
        in ``X-Text-Size``, and ``X-More-Data: true`` while the log is not complete.
        """
        path = f"{_job_url(job)}{int(number)}/logText/progressiveText?start={int(start)}"
        resp = self.request("GET", path)
        if resp is None:  # pragma: no cover - request() raises unless missing_ok
            return "", start, True
        try:
            size = int(resp.headers.get("X-Text-Size", start + len(resp.content)))
        except ValueError:
            raise ServiceError(f"{SERVICE}: GET /{path}: X-Text-Size is not a number") from None
        more = resp.headers.get("X-More-Data", "").lower() == "true"
        return resp.content.decode("utf-8", errors="replace"), size, more

    def _queue_id(self, path: str, resp: requests.Response | None) -> int:
        location = resp.headers.get("Location", "") if resp is not None else ""
        parts = [p for p in location.rstrip("/").split("/") if p]
        if len(parts) < 2 or parts[-2] != "item" or not parts[-1].isdigit():
            raise ServiceError(
                f"{SERVICE}: POST /{path} queued nothing (Location {location!r})",
                hint="a multibranch project is scanned with scan_multibranch(), not triggered",
            )
        return int(parts[-1])

    def build_number_of(self, queue_id: int) -> int | None:
        item = self.get_json(
            f"queue/item/{int(queue_id)}/api/json?tree=cancelled,executable[number]",
            missing_ok=True,
        )
        if item is None:
            raise ServiceError(
                f"{SERVICE}: queue item {queue_id} is gone (items expire ~5 minutes after start)"
            )
        if item.get("cancelled"):
            raise ServiceError(f"{SERVICE}: queue item {queue_id} was cancelled")
        executable = item.get("executable") or {}
        number = executable.get("number")
        return int(number) if number is not None else None

    def trigger(self, job: str, *, timeout: float = 120.0, progress: Progress | None = None) -> int:
        """Queue a build and wait until it has a number; return the build number."""
        queue_id = self.queue(job)
        return poll(
            lambda: self.build_number_of(queue_id),
            what=f"{job} queue item {queue_id} to start",
            timeout=timeout,
            interval=1.0,
            progress=progress,
        )

    def run_job(self, job: str, *, timeout: float, progress: Progress | None = None) -> str:
        """Trigger ``job``, wait for that build to finish, return its result (``SUCCESS``...)."""
        number = self.trigger(job, timeout=min(timeout, 300.0), progress=progress)
        info = self.wait_build(
            job,
            lambda b: int(b.get("number", -1)) == number and finished(b),
            since=number - 1,
            timeout=timeout,
            interval=2.0,
            progress=progress,
        )
        return str(info["result"])

    def wait_build(
        self,
        job: str,
        predicate: Callable[[BuildInfo], bool] = finished,
        *,
        timeout: float,
        since: int = 0,
        interval: float = 5.0,
        progress: Progress | None = None,
    ) -> BuildInfo:
        """Wait for a build numbered above ``since`` whose info satisfies ``predicate``.

        The job may not exist yet (a PR job appears after the scan): that is
        "not yet", not an error. Returns the matching build's info (newest first).
        """

        def check() -> BuildInfo | None:
            for build in self.builds(job):
                if int(build["number"]) <= since:
                    break
                if predicate(build):
                    return build
            return None

        return poll(
            check,
            what=f"a build of {job} after #{since}",
            timeout=timeout,
            interval=interval,
            progress=progress,
        )
