"""`lab status`: service health and URLs, seeded jobs and their last builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lab.config import LabConfig
from lab.errors import LabError
from lab.secrets import Secrets
from lab.stack import Compose, ServiceState

if TYPE_CHECKING:
    from lab.clients.jenkins import JenkinsClient


@dataclass
class JobRow:
    job: str
    last_build: str  # "#3 SUCCESS" or "(none)"


@dataclass
class Status:
    services: list[tuple[ServiceState | None, str, str]]  # state, name, url
    jobs: list[JobRow] = field(default_factory=list)
    jobs_error: str = ""

    @property
    def healthy(self) -> bool:
        return all(state is not None and state.ok for state, _, _ in self.services)


def service_urls(cfg: LabConfig) -> dict[str, str]:
    return {
        "jenkins": cfg.jenkins_url,
        "gitea": cfg.gitea_url,
        **(
            {"seaweedfs": f"{cfg.minio_url} (S3 API)"}
            if cfg.s3 == "seaweedfs"
            else {"minio": f"{cfg.minio_url} (console {cfg.minio_console_url})"}
        ),
        "pypi": f"{cfg.pypi_url}/simple/ (private package index)",
        "docker": "(internal: pipeline agents)",
    }


def collect_status(cfg: LabConfig, compose: Compose, *, with_jobs: bool = True) -> Status:
    by_service = {s.service: s for s in compose.ps()}
    services = [(by_service.get(name), name, url) for name, url in service_urls(cfg).items()]
    status = Status(services=services)
    if with_jobs and status.healthy:
        try:
            status.jobs = _jobs(cfg)
        except LabError as exc:
            status.jobs_error = str(exc)
    return status


def _jobs(cfg: LabConfig) -> list[JobRow]:
    from lab.clients.jenkins import JenkinsClient

    secrets = Secrets.load(cfg.secrets_file)
    jenkins = JenkinsClient(
        cfg.jenkins_url,
        secrets.require("JENKINS_ADMIN_USER"),
        secrets.require("JENKINS_ADMIN_PASSWORD"),
    )
    return job_rows(jenkins, cfg.org)


def job_rows(jenkins: JenkinsClient, org: str) -> list[JobRow]:
    """One row per job under the org folder: each multibranch project's branch jobs, and
    one level deeper for a folder of jobs (the training project's chain folder holds
    pipeline jobs and a multibranch project)."""
    rows = []
    for project in jenkins.list_jobs(org):
        path = f"{org}/{project}"
        children = jenkins.list_jobs(path)
        if not children:
            rows.append(JobRow(path, "(no branches)"))
        for child in children:
            child_path = f"{path}/{child}"
            grandchildren = jenkins.list_jobs(child_path)
            for leaf in grandchildren:
                leaf_path = f"{child_path}/{leaf}"
                rows.append(JobRow(leaf_path, jenkins.last_build_summary(leaf_path)))
            if not grandchildren:
                rows.append(JobRow(child_path, jenkins.last_build_summary(child_path)))
    return rows


def format_status(status: Status) -> str:
    lines = [f"{'SERVICE':<9} {'HEALTH':<10} URL"]
    for state, name, url in status.services:
        health = "absent" if state is None else (state.health or state.state)
        lines.append(f"{name:<9} {health:<10} {url}")
    if status.jobs_error:
        lines.append(f"\njobs: could not be read: {status.jobs_error}")
    elif status.jobs:
        width = max(len(r.job) for r in status.jobs)
        lines.append(f"\n{'JOB':<{width}}  LAST BUILD")
        lines += [f"{r.job:<{width}}  {r.last_build}" for r in status.jobs]
    elif status.healthy:
        lines.append("\njobs: none seeded yet (run `lab up`)")
    if not status.healthy:
        lines.append(
            "\nthe lab is not (fully) up: `lab up` starts it, `lab logs SERVICE` tells why"
        )
    return "\n".join(lines)
