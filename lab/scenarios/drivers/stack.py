"""The ``stack`` driver: the running lab. Pushes go to Gitea over git HTTP as the bot
(credential helper, token never in a URL); PRs, comments and statuses through Gitea's
REST API; builds are started by Gitea's webhook and read from Jenkins (job
``<org>/<project>/<branch or PR-N>``, matched on the commit); DVC objects from MinIO.

When no build of the awaited commit appears within ``SCAN_AFTER`` seconds, the driver
starts a multibranch scan (the periodic scan is the lab's webhook fallback too).
"""

from __future__ import annotations

import time
from typing import Any

from lab.config import LabConfig
from lab.errors import ConfigError, LabError, ServiceError
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
        if self.gitea.get_repo(self.cfg.org, project) is None:
            raise ConfigError(
                f"Gitea has no repository {self.cfg.org}/{project}",
                hint="`lab up` pushes every project under projects/",
            )
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
        if branch != "main":
            self._branches.add(branch)

    def open_pr(self, head: str, base: str, title: str, body: str) -> int:
        pr = self.gitea.create_pull(
            self.cfg.org, self.project, head=head, base=base, title=title, body=body
        )
        number = int(pr["number"])
        self._prs[number] = True
        return number

    def merge_pr(self, number: int, style: str) -> None:
        self.gitea.merge_pull(self.cfg.org, self.project, number, style=style)
        self._prs[number] = False

    # ---- builds ----------------------------------------------------------------
    def wait_build(self, target: Target, commit: str, timeout: float, progress: Progress) -> Build:
        from lab.clients.jenkins import commit_of, finished, job_path

        job = job_path(self.cfg.org, self.project, target.job)
        consumed = self._consumed.setdefault(job, set())
        begun = time.monotonic()
        scanned = False

        def check() -> dict[str, Any] | None:
            nonlocal scanned
            for entry in self.jenkins.builds(job):
                number = int(entry["number"])
                if number in consumed:
                    continue
                info = self.jenkins.build_info(job, number)
                if info and commit_of(info) == commit and finished(info):
                    return info
            if not scanned and time.monotonic() - begun > SCAN_AFTER:
                scanned = True
                progress(f"      no build of {commit[:10]} after {SCAN_AFTER:.0f}s: scanning")
                self.jenkins.scan_multibranch(self._project_job())
            return None

        info = poll(
            check,
            what=f"Jenkins build of {commit[:10]} in {job}",
            timeout=timeout,
            interval=5.0,
            progress=progress,
        )
        number = int(info["number"])
        consumed.add(number)
        return Build(
            job=target.job,
            number=number,
            result=str(info.get("result")),
            commit=commit,
            log=self.jenkins.console(job, number),
            url=str(info.get("url") or ""),
            duration=float(info.get("duration") or 0) / 1000.0,
        )

    # ---- reading results -------------------------------------------------------
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
