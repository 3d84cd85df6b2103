"""The ``stack`` driver: the running lab. Pushes go to Gitea over git HTTP as the bot
(credential helper, token never in a URL); PRs, comments and statuses through Gitea's
REST API; builds are started by Gitea's webhook and read from Jenkins (job
``<org>/<project>/<branch or PR-N>``, matched on the commit); DVC objects from MinIO.

How it meets Jenkins as it is (gitea 273.vb_78d13f6d9a_d, branch-api 2.1280.v0d4e5b_b_460ef,
core 2.568.2; see ../shared/upstream/STACK-NOTES.md):

- A build is matched on its commit (git BuildData, else the revision the branch source
  recorded before reading the Jenkinsfile), so a build that failed before checkout is
  found and reported as such.
- Jenkins builds only the newest commit of a head: the queue folds schedules of a job
  and workflow-multibranch's SCMBinder builds the head's tip when the build starts.
- ``open_pr`` files the branch as a PR at once: the seed job's branch discovery
  (strategy 1, ``ExcludeOriginPRBranchesSCMHeadFilter``) drops a branch that is a PR
  head, but only if the PR exists when Jenkins handles the push event (``fireNow``,
  right after Gitea delivers it). A branch build that won that race is cancelled
  (queue item) or stopped, as are branch builds nobody waited for.
- When neither a build nor a queue item of the job appears within ``SCAN_AFTER``
  seconds, the driver starts a multibranch scan (the periodic scan is the lab's webhook
  fallback too). A wait that times out says what Jenkins had: the job, its builds
  (number, commit, result) and its queue item with Jenkins' reason.
- ``finish`` cancels the run's queue items and stops its builds before it closes the
  PRs and deletes the branches (a closed PR's build would still run the pipeline).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from lab.config import LabConfig
from lab.errors import ConfigError, LabError, ServiceError, WaitTimeout
from lab.scenarios.driver import (
    Build,
    Driver,
    DriverUnavailable,
    GitRemote,
    Identity,
    Progress,
    Status,
    Target,
)
from lab.wait import poll

SCAN_AFTER = 90.0
HTTP_TIMEOUT = 15.0
# How long open_pr waits for Jenkins to take the new PR (its job appears), cancelling
# a branch build of the head meanwhile. Webhook delivery and event handling take
# seconds; past this bound wait_build's scan takes over.
SETTLE_TIMEOUT = 30.0
SHOWN_BUILDS = 5


def _noop(_message: str) -> None:
    return None


def _finished_info(info: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    from lab.clients.jenkins import finished

    return info if info is not None and finished(info) else None


class StackDriver(Driver):
    name = "stack"
    kind = "stack"

    def __init__(self, cfg: LabConfig | None = None) -> None:
        self.cfg = cfg or LabConfig.load()
        self._clients: tuple[Any, Any, Any] | None = None
        self.project = ""
        self._branches: set[str] = set()
        self._prs: dict[int, bool] = {}  # number -> still open
        self._consumed: dict[str, set[int]] = {}
        self._pushes: dict[str, list[str]] = {}  # branch -> commits pushed, in order
        self._default_branch = "main"  # the repository's, read in start()
        self._progress: Progress = _noop
        self._started: tuple[str, int] | None = None  # (job, queue item) of start_build

    # ---- availability ------------------------------------------------------
    def sanity_check(self) -> None:
        from lab.stack import engine_unavailable_reason

        reason = engine_unavailable_reason()
        if reason:
            raise DriverUnavailable(f"{reason}; the stack driver needs the lab (`make lab-up`)")
        try:
            gitea, jenkins, storage = self._connect()
            gitea.version()
            jenkins.ready()
            storage.bucket_exists(self.cfg.dvc_bucket)
        except LabError as exc:
            raise DriverUnavailable(
                f"the lab is not running or not ready: {exc}; start it with `make lab-up`"
            ) from None

    def _connect(self) -> tuple[Any, Any, Any]:
        if self._clients is None:
            from lab.clients.gitea import GiteaClient
            from lab.clients.jenkins import JenkinsClient
            from lab.clients.storage import Storage
            from lab.secrets import Secrets

            sec = Secrets.load(self.cfg.secrets_file)
            self._bot_user = sec.require("GITEA_BOT_USER")
            self._bot_token = sec.require("GITEA_BOT_TOKEN")
            self._clients = (
                GiteaClient(self.cfg.gitea_url, token=self._bot_token, timeout=HTTP_TIMEOUT),
                JenkinsClient(
                    self.cfg.jenkins_url,
                    sec.require("JENKINS_ADMIN_USER"),
                    sec.require("JENKINS_ADMIN_PASSWORD"),
                    timeout=HTTP_TIMEOUT,
                ),
                Storage(
                    self.cfg.minio_url, sec.require("DVC_ACCESS_KEY"), sec.require("DVC_SECRET_KEY")
                ),
            )
        return self._clients

    @property
    def gitea(self) -> Any:
        return self._connect()[0]

    @property
    def jenkins(self) -> Any:
        return self._connect()[1]

    # ---- a run ---------------------------------------------------------------
    def start(self, project: str, uid: str, progress: Progress) -> None:
        self.project = project
        self._branches, self._prs = set(), {}
        self._pushes = {}
        self._progress = progress
        repo = self.gitea.get_repo(self.cfg.org, project)
        if repo is None:
            raise ConfigError(
                f"Gitea has no repository {self.cfg.org}/{project}",
                hint="`lab up` pushes every project under projects/",
            )
        # Gitea's Repository.default_branch (gitea-openapi 1.27.1, Repository): a pushed
        # default branch is the project's, never one of the run's to delete in finish().
        self._default_branch = str(repo.get("default_branch") or "main")
        if not self.jenkins.job_exists(self._project_job()):
            raise ConfigError(
                f"Jenkins has no job {self._project_job()}",
                hint="the lab-seed job creates it; check `lab status`",
            )
        progress(
            f"lab stack: {self.cfg.gitea_url}/{self.cfg.org}/{project}, Jenkins job "
            f"{self._project_job()}"
        )

    def _project_job(self) -> str:
        return f"{self.cfg.org}/{self.project}"

    def remote(self) -> GitRemote:
        self._connect()
        url = f"{self.cfg.gitea_url}/{self.cfg.org}/{self.project}.git"
        return GitRemote(url, self._bot_user, self._bot_token)

    def bot(self) -> Identity:
        self._connect()
        return Identity(self._bot_user, self.cfg.bot_email)

    def pushed(self, branch: str, commit: str) -> None:
        if branch != self._default_branch:
            self._branches.add(branch)
        self._pushes.setdefault(branch, []).append(commit)

    def open_pr(self, head: str, base: str, title: str, body: str) -> int:
        pr = self.gitea.create_pull(
            self.cfg.org, self.project, head=head, base=base, title=title, body=body
        )
        number = int(pr["number"])
        self._prs[number] = True
        self._settle(head, number)
        return number

    def _job(self, name: str) -> str:
        from lab.clients.jenkins import job_path

        return job_path(self.cfg.org, self.project, name)

    def _settle(self, head: str, number: int) -> None:
        """Until Jenkins has the PR's job, cancel any build of the head as a branch."""
        branch_job, pr_job = self._job(head), self._job(f"PR-{number}")

        def check() -> bool:
            self._cancel(branch_job, f"{head} is PR-{number} now")
            return bool(self.jenkins.job_exists(pr_job))

        try:
            poll(check, what=f"Jenkins job {pr_job}", timeout=SETTLE_TIMEOUT, interval=2.0)
        except WaitTimeout:
            self._progress(
                f"      Jenkins has no job PR-{number} after {SETTLE_TIMEOUT:.0f}s "
                "(webhook slow?); waiting for its build will scan if needed"
            )
        try:
            self._cancel(branch_job, f"{head} is PR-{number} now")
        except LabError as exc:
            self._progress(f"      could not cancel a branch build of {head}: {exc.message}")

    def _cancel(self, job: str, why: str) -> None:
        """Cancel ``job``'s queue item and stop its running builds nobody waited for."""
        item = self.jenkins.queue_item(job)
        if item is not None:
            self.jenkins.cancel_queue_item(item.id)
            self._progress(f"      cancelled queued {job} ({why})")
        consumed = self._consumed.get(job, set())
        for build in self.jenkins.builds(job):
            number = int(build["number"])
            if build.get("building") and number not in consumed:
                self.jenkins.stop_build(job, number)
                self._progress(f"      stopped {job} #{number} ({why})")

    def merge_pr(self, number: int, style: str) -> None:
        self.gitea.merge_pull(self.cfg.org, self.project, number, style=style)
        self._prs[number] = False

    # ---- builds ----------------------------------------------------------------
    def wait_build(self, target: Target, commit: str, timeout: float, progress: Progress) -> Build:
        from lab.clients.jenkins import checked_out, commit_of, finished, strip_timestamps

        job = self._job(target.job)
        consumed = self._consumed.setdefault(job, set())
        begun = time.monotonic()
        scanned = False

        def check() -> dict[str, Any] | None:
            nonlocal scanned
            active = False
            for entry in self.jenkins.builds(job):
                if int(entry["number"]) in consumed:
                    continue
                active = True
                if commit_of(entry) == commit and finished(entry):
                    return entry
            late = not scanned and not active and time.monotonic() - begun > SCAN_AFTER
            if late and self.jenkins.queue_item(job) is None:
                scanned = True
                progress(
                    f"      no build or queue item of {target.job} after "
                    f"{SCAN_AFTER:.0f}s: scanning {self._project_job()}"
                )
                self.jenkins.scan_multibranch(self._project_job())
            return None

        try:
            info = poll(
                check,
                what=f"Jenkins build of {commit[:10]} in {job}",
                timeout=timeout,
                interval=5.0,
                progress=progress,
            )
        except WaitTimeout as exc:
            raise WaitTimeout(
                f"{exc.message}\n  {self._diagnose(job, target, commit, consumed, scanned)}",
                hint="Jenkins builds only the newest commit of a head; `lab status` shows the jobs",
            ) from None
        number = int(info["number"])
        consumed.add(number)
        result = str(info.get("result"))
        if not checked_out(info):
            progress(
                f"      {target.job} #{number} ended {result} before checking out "
                f"{commit[:10]} (the Jenkinsfile could not be loaded or compiled: see the log)"
            )
        return Build(
            job=target.job,
            number=number,
            result=result,
            commit=commit,
            log=strip_timestamps(self.jenkins.console(job, number)),
            url=str(info.get("url") or ""),
            duration=float(info.get("duration") or 0) / 1000.0,
        )

    def _diagnose(
        self, job: str, target: Target, commit: str, consumed: set[int], scanned: bool
    ) -> str:
        """What Jenkins had when a wait ran out: the job, its builds, its queue item."""
        from lab.clients.jenkins import commit_of

        pushes = self._pushes.get(target.branch, [])
        later = pushes[pushes.index(commit) + 1 :] if commit in pushes else []
        superseded = (
            f"; {later[-1][:10]} was pushed to {target.branch} after {commit[:10]}: Jenkins "
            f"builds only the newest commit of a head, so {commit[:10]} may never be built"
            if later
            else ""
        )

        try:
            if not self.jenkins.job_exists(job):
                return (
                    f"Jenkins has no job {job}"
                    + (" (even after a scan)" if scanned else "")
                    + ": did Gitea's webhook reach Jenkins, and does the head hold a Jenkinsfile?"
                    + superseded
                )
            builds = self.jenkins.builds(job)
            item = self.jenkins.queue_item(job)
        except LabError as exc:
            return f"and Jenkins could not be asked why: {exc.message}{superseded}"
        shown = []
        for build in builds[:SHOWN_BUILDS]:
            number = int(build["number"])
            sha = commit_of(build)
            state = "running" if build.get("building") else str(build.get("result"))
            mark = ", already awaited" if number in consumed else ""
            shown.append(f"#{number} of {sha[:10] if sha else '?'} {state}{mark}")
        parts = [
            f"builds of {job}: " + ("; ".join(shown) if shown else "none"),
            f"queued: {item.why}" if item is not None else "nothing queued",
        ]
        if any(commit_of(b) == commit for b in builds):
            parts.append(f"a build of {commit[:10]} exists but is still running")
        return "; ".join(parts) + superseded

    # ---- parametrized builds and chains ------------------------------------------
    def start_build(self, job: str, params: Mapping[str, str], progress: Progress) -> str:
        """buildWithParameters on the branch job, as `lab train` starts it (lab/training.py).

        A branch just pushed has no job until Jenkins took the webhook, and a multibranch
        job takes parameters only once its Jenkinsfile ran (its first build, started by
        that push, declares them): both are waited for, up to SETTLE_TIMEOUT * 4."""
        full = self._job(job)
        last: list[str] = []

        def queued() -> int | None:
            try:
                if not self.jenkins.job_exists(full):
                    last[:] = [f"Jenkins has no job {full}"]
                    return None
                return int(self.jenkins.queue_with_parameters(full, params))
            except ServiceError as exc:
                last[:] = [exc.message]
                return None

        try:
            queue_id = poll(
                queued,
                what=f"{full} to take a build with parameters",
                timeout=SETTLE_TIMEOUT * 4,
                interval=3.0,
                progress=progress,
            )
        except WaitTimeout as exc:
            raise WaitTimeout(
                f"{exc.message}: {last[0] if last else 'no answer'}",
                hint="push the branch first; its first build declares the parameters",
            ) from None
        self._started = (full, queue_id)
        return f"{full} (queue item {queue_id})"

    def wait_started(self, timeout: float, progress: Progress) -> Build:
        if self._started is None:
            raise ConfigError("no build was started (a start_build step comes first)")
        full, queue_id = self._started
        self._started = None
        begun = time.monotonic()
        number = poll(
            lambda: self.jenkins.build_number_of(queue_id),
            what=f"{full} queue item {queue_id} to start (an agent for its label?)",
            timeout=timeout,
            interval=2.0,
            progress=progress,
        )
        left = max(1.0, timeout - (time.monotonic() - begun))
        info = poll(
            lambda: _finished_info(self.jenkins.build_info(full, number)),
            what=f"{full} #{number} to finish",
            timeout=left,
            interval=5.0,
            progress=progress,
        )
        self._consumed.setdefault(full, set()).add(number)
        return self._as_build(full, info, full.rsplit("/", 1)[-1])

    def _as_build(self, full: str, info: Mapping[str, Any], name: str) -> Build:
        from lab.clients.jenkins import commit_of, strip_timestamps

        number = int(info["number"])
        return Build(
            job=name,
            number=number,
            result=str(info.get("result")),
            commit=commit_of(info) or "",
            log=strip_timestamps(self.jenkins.console(full, number)),
            url=str(info.get("url") or ""),
            duration=float(info.get("duration") or 0) / 1000.0,
            # core Run.getCharacteristicEnvVars: "jenkins-" + full name with '/' -> '-' +
            # "-" + number (jenkinsci/jenkins hudson/model/Run.java, code-index revision).
            tag=f"jenkins-{full.replace('/', '-')}-{number}",
        )

    def wait_chain(self, commit: str, timeout: float, progress: Progress) -> list[Build]:
        """The preprocess build of ``commit`` (``<org>/<project>-chain/preprocess/main``),
        then each downstream build of the folder that started while it ran: its
        ``build job:`` steps wait (``wait: true``), so they are over when it is."""
        from lab.clients.jenkins import commit_of, finished, job_path

        folder = f"{self.cfg.org}/{self.project}-chain"
        pre = job_path(folder, "preprocess", "main")
        consumed = self._consumed.setdefault(pre, set())

        def check() -> dict[str, Any] | None:
            for entry in self.jenkins.builds(pre):
                number = int(entry["number"])
                if number not in consumed and commit_of(entry) == commit and finished(entry):
                    return entry
            return None

        info = poll(check, what=f"the chain's preprocess build of {commit[:10]} in {pre}",
                    timeout=timeout, interval=5.0, progress=progress)  # fmt: skip
        consumed.add(int(info["number"]))
        start = int(info.get("timestamp") or 0)
        end = start + int(info.get("duration") or 0)
        found = [(start, self._as_build(pre, info, "chain/preprocess"))]
        for name in self.jenkins.list_jobs(folder):
            if name == "preprocess":
                continue
            full = f"{folder}/{name}"
            done = self._consumed.setdefault(full, set())
            inside = [
                b for b in self.jenkins.builds(full)
                if finished(b) and int(b["number"]) not in done
                and start <= int(b.get("timestamp") or 0) <= end
            ]  # fmt: skip
            if inside:
                first = min(inside, key=lambda b: int(b.get("timestamp") or 0))
                done.add(int(first["number"]))
                build = self._as_build(full, first, f"chain/{name}")
                found.append((int(first.get("timestamp") or 0), build))
        return [build for _, build in sorted(found, key=lambda pair: pair[0])]

    def artifact(self, build: Build, path: str) -> bytes | None:
        from lab.clients.jenkins import job_path

        chain = build.job.removeprefix("chain/") if build.job.startswith("chain/") else None
        folder = f"{self.cfg.org}/{self.project}-chain"
        if chain is None:
            full = self._job(build.job)
        elif chain == "preprocess":
            full = job_path(folder, "preprocess", "main")
        else:
            full = f"{folder}/{chain}"
        return self.jenkins.artifact(full, build.number, path)

    # ---- reading results -------------------------------------------------------
    @property
    def bucket(self) -> str:
        return self.cfg.dvc_bucket

    def pr_comments(self, number: int) -> list[str]:
        return [
            str(c.get("body") or "")
            for c in self.gitea.list_comments(self.cfg.org, self.project, number)
        ]

    def commit_statuses(self, commit: str) -> list[Status]:
        raw = self.gitea.list_statuses(self.cfg.org, self.project, commit)
        raw = sorted(raw, key=lambda s: int(s.get("id") or 0))  # oldest first
        # Gitea answers with `status` (CommitStatus); `state` is the request's field name.
        return [
            Status(
                str(s.get("context")),
                str(s.get("status") or s.get("state")),
                str(s.get("description") or ""),
            )
            for s in raw
        ]

    def remote_objects(self, remote: str, url: str) -> set[str]:
        if remote == "origin":
            if not url.startswith("s3://"):
                raise ConfigError(f"DVC remote origin url {url!r} is not an s3:// url")
            bucket, _, prefix = url[len("s3://") :].partition("/")
            prefix = prefix.rstrip("/") + "/" if prefix else ""
            keys = self._connect()[2].list_objects(bucket, prefix)
            return {k[len(prefix) :] for k in keys}
        # jenkins_local lives on the /extras volume of the agents' Docker engine.
        from lab.stack import Compose

        directory = url.rstrip("/")
        proc = Compose(self.cfg).exec("docker", ["find", directory, "-type", "f"], check=False)
        if proc.returncode != 0:
            raise ServiceError(
                f"cannot list {directory} in the `docker` service: {(proc.stderr or '').strip()}"
            )
        return {
            line[len(directory) + 1 :]
            for line in proc.stdout.splitlines()
            if line.startswith(directory + "/")
        }

    def finish(self, keep: bool, progress: Progress) -> None:
        if keep:
            progress(f"kept branches {sorted(self._branches)} and PRs {sorted(self._prs)}")
            return
        # Builds first: a queued or running build of a closed PR still runs the whole
        # pipeline (gitea 273 retrieve() gives no revision for a closed PR, so
        # SCMBinder falls back to the branch's last SCM), next to the next scenario.
        jobs = [f"PR-{n}" for n in sorted(self._prs)] + sorted(self._branches)
        for name in jobs:
            try:
                self._cancel(self._job(name), "the scenario is over")
            except LabError as exc:
                progress(f"could not cancel the builds of {name}: {exc}")
        for number, still_open in self._prs.items():
            if still_open:
                try:
                    self.gitea.close_pull(self.cfg.org, self.project, number)
                except LabError as exc:
                    progress(f"could not close PR #{number}: {exc}")
        for branch in sorted(self._branches):
            try:
                self.gitea.delete_branch(self.cfg.org, self.project, branch)
            except LabError as exc:
                progress(f"could not delete branch {branch}: {exc}")
