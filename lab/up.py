"""`lab up`: bring the stack up and converge it, idempotently, phase by phase.

Order (data flows one way: config + secrets -> stack -> bootstrap):

1. prerequisites (``lab doctor``), fail early with its fixes
2. secrets generated if absent (0600)
3. ``docker compose up --wait`` for the Docker engine, Gitea, the private package index
   (pypiserver) and the S3 service (MinIO, or SeaweedFS with ``LAB_S3=seaweedfs``)
4. Gitea site admin (``gitea admin user create`` in the container)
5. S3: bucket, DVC user with least privilege on it (lab/clients/s3admin.py)
6. Gitea: bot user and token, organisation, one repo per project, webhooks
7. DVC data of each project pushed to the bucket (no-op when present); each project's
   private package (``projects/*/packages/*``) published to the index (no-op when present);
   the agent images of the Docker cloud built on the engine (lab/agents.py)
8. ``docker compose up --wait`` for Jenkins (it needs the bot token)
9. Jenkins: ready, seed job run when a project has no job yet, jobs present
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from secrets import token_hex

import requests

from lab import bootstrap
from lab.agents import build_agent_images
from lab.clients.jenkins import JenkinsClient
from lab.config import S3_NAMES, LabConfig
from lab.doctor import format_checks, raise_on_fatal, run_checks
from lab.errors import ServiceError
from lab.projects import all_projects, export_repository, shipped_projects
from lab.report import Reporter
from lab.secrets import Secrets
from lab.stack import STAGE_TWO, Compose, stage_one
from lab.wait import poll

SEED_JOB = "lab-seed"


def ensure_prerequisites(cfg: LabConfig, compose: Compose, reporter: Reporter) -> None:
    checks = run_checks(cfg, lab_ports_in_use=compose.is_running())
    reporter.note(format_checks(checks))
    raise_on_fatal(checks, "the lab cannot start on this machine")


def ensure_gitea_admin(cfg: LabConfig, compose: Compose, secrets: Secrets) -> list[str]:
    """Create the Gitea site admin in the container, or repair its password; report changes.

    The password never reaches a command line (it would show in `ps` on the host and
    in Docker's exec events): `gitea admin user create` makes the admin with a random
    password, then the lab's password is set over Gitea's API with a one-off admin
    token that the Gitea CLI prints on stdout, and the token is deleted again.
    """
    user = secrets.require("GITEA_ADMIN_USER")
    password = secrets.require("GITEA_ADMIN_PASSWORD")
    if _gitea_login_ok(cfg, user, password):
        return []
    gitea = ["gitea", "--config", "/data/gitea/conf/app.ini"]
    listing = compose.exec("gitea", [*gitea, "admin", "user", "list", "--admin"], user="git")
    exists = any(
        len(row.split()) > 1 and row.split()[1] == user for row in listing.stdout.splitlines()
    )
    if exists:
        change = f"reset the password of Gitea admin {user} to the one in {secrets.path}"
    else:
        # --random-password: Gitea prints it on stdout, which is captured and dropped.
        compose.exec(
            "gitea",
            [
                *gitea,
                "admin",
                "user",
                "create",
                "--admin",
                "--username",
                user,
                "--random-password",
                "--email",
                f"{user}@lab.invalid",
                "--must-change-password=false",
            ],
            user="git",
        )
        change = f"created Gitea admin {user}"
    _set_gitea_admin_password(cfg, compose, gitea, user, password)
    poll(
        lambda: _gitea_login_ok(cfg, user, password),
        what=f"Gitea to accept admin {user}",
        timeout=30,
        interval=1,
    )
    return [change]


def _set_gitea_admin_password(
    cfg: LabConfig, compose: Compose, gitea: list[str], user: str, password: str
) -> None:
    """Set ``user``'s password through the API with a one-off write:admin token."""
    from lab.clients.gitea import GiteaClient

    token_name = f"lab-bootstrap-{token_hex(4)}"  # fresh: Gitea refuses a used name
    proc = compose.exec(
        "gitea",
        [
            *gitea,
            "admin",
            "user",
            "generate-access-token",
            "--username",
            user,
            "--token-name",
            token_name,
            "--scopes",
            "write:admin",
            "--raw",
        ],
        user="git",
    )
    lines = (proc.stdout or "").strip().splitlines()
    token = lines[-1].strip() if lines else ""
    if not token or " " in token:
        raise ServiceError(f"`gitea admin user generate-access-token` printed no token for {user}")
    GiteaClient(cfg.gitea_url, token=token).admin_set_password(user, password)
    # Token endpoints take basic auth only; the password works now.
    GiteaClient(cfg.gitea_url, basic=(user, password)).delete_token(user, token_name)


def _gitea_login_ok(cfg: LabConfig, user: str, password: str) -> bool:
    try:
        resp = requests.get(f"{cfg.gitea_url}/api/v1/user", auth=(user, password), timeout=10)
    except requests.RequestException:
        return False
    return resp.status_code == 200


def seed_dvc_data(cfg: LabConfig, secrets: Secrets, reporter: Reporter) -> list[str]:
    """Push each project's DVC-tracked raw data to the bucket (DVC skips what is there)."""
    from lab.clients.storage import Storage
    from lab.dvcseed import seed_dvc_remote

    storage = Storage(
        cfg.minio_url,
        secrets.require("DVC_ACCESS_KEY"),
        secrets.require("DVC_SECRET_KEY"),
        service=S3_NAMES[cfg.s3],
    )
    changes = []
    for name, path in shipped_projects(cfg):
        if not (path / ".dvc").is_dir():
            continue  # no DVC data (cd4ml-train keeps its results on S3 without DVC)
        before = storage.object_count(cfg.dvc_bucket)
        with tempfile.TemporaryDirectory(prefix=f"lab-seed-{name}-") as tmp:
            checkout = Path(tmp) / name
            export_repository(path, checkout, f"{name}: seed")
            seed_dvc_remote(
                checkout,
                env={"DVC_S3_ENDPOINT": cfg.minio_url},
                credentials=(secrets["DVC_ACCESS_KEY"], secrets["DVC_SECRET_KEY"]),
            )
        added = storage.object_count(cfg.dvc_bucket) - before
        if added:
            changes.append(f"pushed {added} DVC objects of {name} to s3://{cfg.dvc_bucket}")
        else:
            reporter.note(f"{name}: DVC data already in s3://{cfg.dvc_bucket}")
    return changes


def publish_packages(cfg: LabConfig, secrets: Secrets, reporter: Reporter) -> list[str]:
    """Each project's private package (projects/*/packages/*) into the private index."""
    from lab.clients.pypi import PyPIClient
    from lab.packages import package_sources, publish

    index = PyPIClient(cfg.pypi_url, secrets.require("PYPI_USER"), secrets.require("PYPI_PASSWORD"))
    return publish(package_sources(all_projects(cfg)), index, progress=reporter.note)


def jenkins_client(cfg: LabConfig, secrets: Secrets) -> JenkinsClient:
    return JenkinsClient(
        cfg.jenkins_url,
        secrets.require("JENKINS_ADMIN_USER"),
        secrets.require("JENKINS_ADMIN_PASSWORD"),
    )


def run_seed_job(jenkins: JenkinsClient, reporter: Reporter, *, timeout: float = 600) -> None:
    """Run the Job DSL seed job (it creates/deletes one multibranch job per org repo)."""
    result = jenkins.run_job(SEED_JOB, timeout=timeout, progress=reporter.note)
    if result != "SUCCESS":
        tail = jenkins.console_tail(SEED_JOB, lines=30)
        raise ServiceError(f"Jenkins job {SEED_JOB} ended {result}:\n{tail}")


def converge_jenkins(
    cfg: LabConfig,
    secrets: Secrets,
    reporter: Reporter,
    *,
    timeout: float = 600,
    always_seed: bool = False,
) -> list[str]:
    """Wait for Jenkins, run the seed job if a repo has no job (or always), check the jobs."""
    jenkins = jenkins_client(cfg, secrets)
    jenkins.wait_ready(timeout=timeout, progress=reporter.note)
    repos = _org_projects(cfg, secrets)
    wanted = expected_jobs(cfg.org, repos)
    existing = {f"{cfg.org}/{name}" for name in jenkins.list_jobs(cfg.org)}
    missing, stale = sorted(wanted - existing), sorted(existing - wanted)
    if not (missing or stale or always_seed):
        reporter.note(f"jobs present: {', '.join(sorted(wanted)) or '(none)'}")
        return []
    reporter.note(f"running {SEED_JOB} (missing: {missing or '-'}, stale: {stale or '-'})")
    run_seed_job(jenkins, reporter, timeout=timeout)
    poll(
        lambda: {f"{cfg.org}/{n}" for n in jenkins.list_jobs(cfg.org)} == wanted,
        what=f"Jenkins folder {cfg.org} to hold exactly the jobs " + ", ".join(sorted(wanted)),
        timeout=120,
        interval=2,
    )
    return [f"seeded Jenkins job {job}" for job in missing] + [
        f"deleted Jenkins job {job} (its repository is gone)" for job in stale
    ]


# Repositories that also get chained jobs (folder <repo>-chain): the default of
# LAB_CHAIN_PROJECTS in seed-jobs/projects.groovy (a test keeps both equal).
CHAIN_PROJECTS = ("cd4ml-train",)


def expected_jobs(org: str, repos: list[str]) -> set[str]:
    """The items the seed job makes at the top of the org folder for ``repos``."""
    return {f"{org}/{name}" for name in repos} | {
        f"{org}/{name}-chain" for name in repos if name in CHAIN_PROJECTS
    }


def _org_projects(cfg: LabConfig, secrets: Secrets) -> list[str]:
    """The repositories the seed job makes jobs for (archived ones get none)."""
    from lab.clients.gitea import GiteaClient

    gitea = GiteaClient(cfg.gitea_url, token=secrets.require("GITEA_BOT_TOKEN"))
    return gitea.job_repo_names(cfg.org)


def lab_up(
    cfg: LabConfig, *, reporter: Reporter | None = None, compose: Compose | None = None
) -> list[str]:
    """Bring the lab up; return what changed (empty when it was already up and converged)."""
    reporter = reporter or Reporter()
    compose = compose or Compose(cfg)
    changes: list[str] = []
    with reporter.phase("checking prerequisites"):
        ensure_prerequisites(cfg, compose, reporter)
    with reporter.phase("secrets"):
        secrets, created = Secrets.ensure(cfg.secrets_file)
        if created:
            changes.append(f"generated {', '.join(created)} in {cfg.secrets_file}")
        reporter.note(f"{cfg.secrets_file} (mode 0600)")
    before = _containers(compose)
    with reporter.phase(f"starting {', '.join(stage_one(cfg))} (docker compose up --wait)"):
        compose.up(stage_one(cfg), timeout=cfg.timeout_up)
    with reporter.phase("gitea: site admin"):
        changes += ensure_gitea_admin(cfg, compose, secrets)
    with reporter.phase(f"{cfg.s3}: bucket, DVC user with least privilege on it"):
        changes += bootstrap.converge_s3(cfg, secrets, progress=reporter.note)
    with reporter.phase("gitea: bot, token, organisation, repos, webhooks"):
        changes += bootstrap.converge_gitea(cfg, secrets, all_projects(cfg), progress=reporter.note)
    with reporter.phase("dvc: initial data in the bucket"):
        changes += seed_dvc_data(cfg, secrets, reporter)
    with reporter.phase("pypi: the projects' private packages"):
        changes += publish_packages(cfg, secrets, reporter)
    with reporter.phase("docker: agent images of the cloud's templates"):
        changes += build_agent_images(cfg.projects_dir, compose, progress=reporter.note)
    with reporter.phase(f"starting {', '.join(STAGE_TWO)} (docker compose up --wait)"):
        compose.up(STAGE_TWO, timeout=cfg.timeout_up)
    with reporter.phase("jenkins: ready, seed job, multibranch jobs"):
        changes += converge_jenkins(cfg, secrets, reporter)
    after = _containers(compose)
    changes += _container_changes(before, after)
    return changes


def _containers(compose: Compose) -> dict[str, str]:
    return {s.service: s.container_id for s in compose.ps()}


def _container_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changes = []
    for service, cid in sorted(after.items()):
        if service not in before:
            changes.append(f"created container for {service}")
        elif before[service] != cid:
            changes.append(f"recreated container for {service}")
    return changes


def _s3_rows(cfg: LabConfig, secrets: Secrets) -> list[tuple[str, str, str]]:
    admin = secrets.get("MINIO_ROOT_USER", "")
    if cfg.s3 != "minio":  # SeaweedFS: no console (its admin UI has no login: not published)
        return [(f"{S3_NAMES[cfg.s3]} S3 API", cfg.minio_url, f"{admin}; DVC user: `lab creds`")]
    return [
        ("MinIO console", cfg.minio_console_url, admin),
        ("MinIO S3 API", cfg.minio_url, "DVC user: see `lab creds`"),
    ]


def summary(cfg: LabConfig, secrets: Secrets) -> str:
    rows = [
        ("Jenkins", cfg.jenkins_url, secrets.get("JENKINS_ADMIN_USER", "")),
        ("Gitea", cfg.gitea_url, secrets.get("GITEA_ADMIN_USER", "")),
        *_s3_rows(cfg, secrets),
        ("Private index", cfg.pypi_url + "/simple/", secrets.get("PYPI_USER", "")),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"  {name:<{width}}  {url:<28} user: {user}" for name, url, user in rows]
    lines.append(f"  passwords and tokens: {cfg.secrets_file} (0600); `lab creds --show KEY`")
    lines.append(f"  jobs: {cfg.jenkins_url}/job/{cfg.org}/")
    return "\n".join(lines)
