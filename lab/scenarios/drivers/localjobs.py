"""What the local driver adds for projects beyond the CD4ML PR loop (the training project):
the private index, secret-file credentials, the jobs of a chain folder and their
environment, downstream builds and the agent labels the lab provides.

- A project declares it needs the private index the way ``lab up`` decides it publishes
  one: it has ``packages/*/pyproject.toml`` (:func:`lab.packages.package_sources`). The
  index (:class:`lab.localforge.pypi.PrivateIndex`) then starts once per session, lazily.
- Credentials ``pip-conf`` and ``s3-credentials`` are Jenkins ``file`` credentials whose
  contents are built as ``casc/check-env.sh`` builds them (:mod:`lab.localforge.pypi`).
- A chain: the seed job (seed-jobs/projects.groovy) makes ``<org>/<repo>-chain/preprocess``
  (multibranch, main only, ``jobs/preprocess.Jenkinsfile``) and pipeline jobs
  ``<org>/<repo>-chain/<name>`` from ``jobs/<name>.Jenkinsfile``; here a ``build job:``
  naming ``/<org>/<repo>-chain/<name>`` runs that file at main's head.
- Label ``train`` (casc/jenkins.yaml, the Docker cloud's template) runs on this host; the
  agent image's Python packages (agent/Dockerfile installs requirements.txt system-wide)
  are this interpreter's, put on PYTHONPATH: a venv made by ``python -m venv
  --system-site-packages`` from a venv's python sees the base interpreter's packages only.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lab.config import LabConfig
from lab.errors import ConfigError
from lab.pipeline.runtime import Credential
from lab.projects import find_project
from lab.scenarios.driver import Build, Progress
from lab.scenarios.drivers.queue import BuildQueue

# Labels of the lab's Docker cloud templates (casc/jenkins.yaml `labelString`).
LAB_LABELS = frozenset({"train"})
CREDENTIAL_STATES = ("valid", "invalid", "missing")
FILE_CREDENTIALS = ("pip-conf", "s3-credentials")


def agent_pythonpath() -> str:
    """This interpreter's site-packages: the stand-in for the agent image's packages."""
    return sysconfig.get_paths()["purelib"]


def job_env(job: str, number: int, branch: str | None) -> dict[str, str]:
    """JOB_NAME and the BUILD_* variables of build ``number`` of item ``job`` (full name);
    BRANCH_NAME only for a multibranch branch job. BUILD_TAG is core's
    ``jenkins-${JOB_NAME}-${BUILD_NUMBER}`` with '/' made '-' (as lab.pipeline.buildenv)."""
    env = {
        "JOB_NAME": job,
        "JOB_BASE_NAME": job.rsplit("/", 1)[-1],
        "BUILD_NUMBER": str(number),
        "BUILD_ID": str(number),
        "BUILD_DISPLAY_NAME": f"#{number}",
        "BUILD_TAG": f"jenkins-{job.replace('/', '-')}-{number}",
        "NODE_NAME": "local",
        "EXECUTOR_NUMBER": "0",
    }
    if branch is not None:
        env["BRANCH_NAME"] = branch
    return env


def branch_job(org: str, project: str, branch: str) -> str:
    """The full name of a multibranch branch job (branch-api encodes the name)."""
    return f"{org}/{project}/{quote(branch, safe='')}"


def chain_folder(org: str, project: str) -> str:
    return f"{org}/{project}-chain"


def chain_jobs(checkout: Path) -> list[str]:
    """The chain's job names: ``jobs/<name>.Jenkinsfile`` of the checkout, sorted."""
    return sorted(
        p.name.removesuffix(".Jenkinsfile") for p in (checkout / "jobs").glob("*.Jenkinsfile")
    )


def resolve_downstream(job: str, *, org: str, project: str, known: list[str]) -> str:
    """The chain job a ``build job:`` path names; ConfigError naming what is known.

    pipeline-build-step resolves the path with ``Jenkins.getItem(job, parent)`` (a
    leading '/' from the root); an unknown item fails the step ("No item named X
    found", recalled, not read at the pin)."""
    folder = chain_folder(org, project)
    name = job.strip("/").removeprefix(folder + "/") if job.startswith("/") else job
    if name in known and job.strip("/") == f"{folder}/{name}":
        return name
    offered = ", ".join(f"/{folder}/{n}" for n in known) or "none"
    raise ConfigError(
        f"No item named {job} found: the local driver runs the chain jobs {offered} "
        f"(jobs/<name>.Jenkinsfile of {project})"
    )


def file_credential(credential_id: str, content: str) -> Credential:
    return Credential(id=credential_id, kind="file", secret=content, filename=credential_id)


def training_credentials(
    *,
    pip_conf: str,
    s3_file: str,
    states: Mapping[str, str],
    wrong_pip_conf: str,
) -> dict[str, Credential]:
    """``pip-conf`` and ``s3-credentials`` as the build may bind them, each valid,
    invalid (``wrong_pip_conf``: the real index with a wrong password) or missing."""
    out: dict[str, Credential] = {}
    contents = {"pip-conf": (pip_conf, wrong_pip_conf), "s3-credentials": (s3_file, "")}
    for credential_id, (good, bad) in contents.items():
        state = states.get(credential_id, "valid")
        if state == "missing":
            continue
        if state == "invalid" and not bad:
            raise ConfigError(f"credential {credential_id}: only `missing` breaks it here")
        out[credential_id] = file_credential(credential_id, good if state == "valid" else bad)
    return out


class JobsMixin:
    """The local driver's parametrized builds, chains, private index and artifacts; the
    driver gives ``_execute`` (one build), ``_head`` (a branch's commit) and its state."""

    cfg: LabConfig
    project: str
    queue: BuildQueue
    _session: Any
    _index: Any
    _published: set[str]
    _started: tuple[str, str, dict[str, str]] | None
    _artifacts: dict[tuple[str, int], Path]

    def _execute(self, name: str, script: str, commit: str, number: int,
                 jenkins_env: Mapping[str, str], params: Mapping[str, str],
                 progress: Progress, downstream: Any = None) -> Build:  # fmt: skip
        raise NotImplementedError

    def _head(self, branch: str) -> str | None:
        raise NotImplementedError

    def _ensure_index(self, project: str, src: Path, progress: Progress) -> None:
        """The private index, started once per session for the first project with
        private packages; each such project's packages published once."""
        from lab.packages import package_sources

        sources = package_sources([(project, src)])
        if not sources or project in self._published:
            return
        if self._index is None:
            from lab.localforge.pypi import PrivateIndex

            progress("starting the private package index (pypiserver) for the session")
            self._index = self._session.enter_context(PrivateIndex(progress=progress))
        self._index.publish(sources)
        self._published.add(project)

    def start_build(self, job: str, params: Mapping[str, str], progress: Progress) -> str:
        commit = self._head(job)
        if commit is None:
            raise ConfigError(
                f"{self.cfg.org}/{self.project} has no branch {job}: no job {job} to start"
            )
        self._started = (job, commit, dict(params))
        return f"{branch_job(self.cfg.org, self.project, job)} at {commit[:10]}"

    def wait_started(self, timeout: float, progress: Progress) -> Build:
        if self._started is None:
            raise ConfigError("no build was started (a start_build step comes first)")
        job, commit, params = self._started
        self._started = None
        number = self._next_number(job)
        full = branch_job(self.cfg.org, self.project, job)
        env = job_env(full, number, job)
        return self._execute(job, "Jenkinsfile", commit, number, env, params, progress)

    def _next_number(self, job: str) -> int:
        number = self.queue.numbers.get(job, 0) + 1
        self.queue.numbers[job] = number
        return number

    def wait_chain(self, commit: str, timeout: float, progress: Progress) -> list[Build]:
        """preprocess (the chain folder's multibranch job, main) of ``commit``, then what
        its ``build job:`` steps start, at main's head, each with the passed parameters."""
        folder = chain_folder(self.cfg.org, self.project)
        checkout = find_project(self.cfg, self.project)
        builds: list[Build | None] = []
        later: list[tuple[str, dict[str, str]]] = []

        def run_job(name: str, params: Mapping[str, str]) -> Build:
            number = self._next_number(f"chain/{name}")
            slot = len(builds)
            builds.append(None)  # in the order the builds start, as Jenkins numbers them
            if name == "preprocess":  # multibranch, main only: BRANCH_NAME main
                env = job_env(f"{folder}/preprocess/main", number, "main")
                at = commit
            else:  # a pipeline job from SCM: main's head when it starts, no BRANCH_NAME
                env = job_env(f"{folder}/{name}", number, None)
                at = self._head("main") or commit
            build = self._execute(f"chain/{name}", f"jobs/{name}.Jenkinsfile", at, number, env,
                                  params, progress, downstream)  # fmt: skip
            builds[slot] = build
            return build

        def downstream(job: str, params: Mapping[str, str], wait: bool) -> str:
            from lab.pipeline.runtime import StepError

            try:
                name = resolve_downstream(
                    job, org=self.cfg.org, project=self.project,
                    known=chain_jobs(checkout),
                )  # fmt: skip
            except ConfigError as exc:
                raise StepError(exc.message) from None
            if not wait:  # scheduled: it runs after the build that started it
                later.append((name, dict(params)))
                return "SUCCESS"
            return run_job(name, params).result

        run_job("preprocess", {})
        while later:
            run_job(*later.pop(0))
        return [b for b in builds if b is not None]

    @property
    def _uses_index(self) -> bool:
        """This run's project has private packages (the index serves them)."""
        return self._index is not None and self.project in self._published

    def refuse_index(self, count: int) -> None:
        if not self._uses_index:
            raise ConfigError(
                f"project {self.project} has no private packages: the local driver "
                "starts no private index for it"
            )
        self._index.refuse(count)

    def artifact(self, build: Build, path: str) -> bytes | None:
        root = self._artifacts.get((build.job, build.number))
        if root is None:
            return None
        file = (root / path).resolve()
        if not file.is_relative_to(root.resolve()) or not file.is_file():
            return None
        return file.read_bytes()
