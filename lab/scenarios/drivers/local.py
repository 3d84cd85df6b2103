"""The ``local`` driver: no Docker. A local forge (git smart HTTP + a Gitea REST subset),
a real S3 server (SeaweedFS, :mod:`lab.localforge.seaweed`) as remote ``origin`` with the
lab's least-privilege DVC identity, a temp dir as ``/extras``, and the project's
Jenkinsfile run by :mod:`lab.pipeline` (its declarative model, executed on this host)
with the environment and credentials Jenkins would give it.

Per session: one S3 server, its bucket, DVC credentials, and main's data seeded once;
the private package index when a project has private packages (localjobs.py).
Per scenario run: a fresh forge holding the project on ``main``, a fresh ``/extras``, and
the bucket reset to the seeded objects, so runs are isolated and order-independent.
Parametrized builds, chains of jobs (``build job:``) and agent labels: localjobs.py.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lab.config import LabConfig
from lab.errors import ConfigError, ServiceError
from lab.projects import export_project, find_project
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
from lab.scenarios.drivers import localjobs
from lab.scenarios.drivers.queue import BuildQueue
from lab.scenarios.gitrepo import GitRepo

BOT_USER = "cd4ml-bot"
SEED_AUTHOR = Identity("lab", "lab@lab.invalid")


class LocalDriver(localjobs.JobsMixin, Driver):
    name = "local"
    kind = "local"

    def __init__(self, cfg: LabConfig | None = None) -> None:
        self.cfg = cfg or LabConfig.load()
        self._session = contextlib.ExitStack()
        self._base: Path | None = None
        self._s3: Any = None
        self._dvc_creds: tuple[str, str] = ("", "")
        self._seeded: dict[str, set[str]] = {}  # project -> object keys after seeding
        self._run: contextlib.ExitStack | None = None
        self._invalid: set[str] = set()
        self._index: Any = None  # lab.localforge.pypi.PrivateIndex, started when needed
        self._published: set[str] = set()
        self._wrong = "wrong-" + secrets.token_hex(8)  # the value of an invalid credential
        self._file_states: dict[str, str] = {}  # pip-conf / s3-credentials -> state
        self._started: tuple[str, str, dict[str, str]] | None = None
        self._artifacts: dict[tuple[str, int], Path] = {}
        # Stages the local driver marks skipped (stage selection), e.g. a test suite's
        # builds that are about something else than the project's own unit tests.
        self.skip_stages: tuple[str, ...] = ()
        # Each log line of a build as it runs, masked (`lab train --driver local`).
        self.live_log: Callable[[str], None] | None = None

    # ---- availability ----------------------------------------------------
    def sanity_check(self) -> None:
        try:
            import lab.localforge
            import lab.pipeline.build  # noqa: F401
        except ImportError as exc:
            raise DriverUnavailable(f"the local driver is not importable ({exc})") from None
        from lab.groovy import groovy_available

        reason = groovy_available()
        if reason is not None:  # the Jenkinsfile is read with Groovy's own parser
            raise DriverUnavailable(f"cannot read Jenkinsfiles: {reason}")
        bin_dir = Path(sys.executable).parent
        for tool in ("git", "bash"):
            if shutil.which(tool) is None:
                raise DriverUnavailable(f"`{tool}` is not on PATH")
        for tool in ("dvc", "pytest", "flake8", "black"):
            if not (bin_dir / tool).exists() and shutil.which(tool) is None:
                raise DriverUnavailable(
                    f"`{tool}` is missing next to {sys.executable} (the pipeline's steps need it)"
                )

    # ---- session ---------------------------------------------------------
    def _ensure_session(self, progress: Progress) -> None:
        if self._s3 is not None:
            return
        from lab.localforge.seaweed import SeaweedS3

        self._base = Path(tempfile.mkdtemp(prefix="lab-local-driver-"))
        self._session.callback(shutil.rmtree, self._base, ignore_errors=True)
        progress("starting the S3 server (SeaweedFS) for the session")
        self._s3 = self._session.enter_context(SeaweedS3(progress=progress))
        self._s3.create_bucket(self.cfg.dvc_bucket)
        # The DVC identity as `lab up` makes it: the server itself refuses it anywhere
        # else than this bucket, and refuses a wrong secret (use_credentials).
        self._dvc_creds = self._s3.create_credentials(self.cfg.dvc_bucket)

    def _bin_path(self) -> str:
        return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"

    def _base_env(self, extras: Path) -> dict[str, str]:
        """What Jenkins' global configuration and the agent image give every build."""
        keep = ("HOME", "LANG", "LC_ALL", "TMPDIR")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        from lab.pipeline import buildenv

        env["PATH"] = self._bin_path()
        env.update(
            buildenv.lab_global_env(
                gitea_url=self.forge.url,
                s3_endpoint=self._s3.endpoint_url,
                extras=extras,
                settings=self.cfg.compose_env(),
                bot_user=BOT_USER,
            )
        )
        return env

    def _reset_bucket(self, keep: set[str]) -> None:
        """Delete what earlier runs pushed, so remote checks see this run's objects only
        (as the DVC identity: deleting objects in its bucket is among its rights)."""
        client = self._s3.client(self._dvc_creds)
        extra = set(self._s3.object_keys(self.cfg.dvc_bucket)) - keep
        for key in sorted(extra):
            client.delete_object(Bucket=self.cfg.dvc_bucket, Key=key)

    # ---- a run -------------------------------------------------------------
    def start(self, project: str, uid: str, progress: Progress) -> None:
        from lab.dvcseed import seed_dvc_remote
        from lab.localforge import LocalForge

        src = find_project(self.cfg, project)
        if not (src / "Jenkinsfile").is_file():
            raise ConfigError(
                f"{src}: no Jenkinsfile, so the local driver cannot run project {project}"
            )
        self._ensure_session(progress)
        assert self._base is not None
        self._run = contextlib.ExitStack()
        self.root = self._base / uid
        self.project = project
        self.token = secrets.token_hex(20)
        self.forge = self._run.enter_context(
            LocalForge(self.root / "forge", users={BOT_USER: self.token})
        )
        self.forge.create_repo(self.cfg.org, project)
        self.extras = self.root / "extras" / "dvc-cache" / project
        self.extras.mkdir(parents=True)
        self.queue = BuildQueue()
        self._invalid = set()
        self._file_states = {}
        self._started = None
        self._artifacts = {}
        self._ensure_index(project, src, progress)
        # The project on main, as `lab up` pushes it.
        checkout = GitRepo(self.root / "import", self.remote(), SEED_AUTHOR)
        export_project(src, checkout.path)
        checkout.git("init", "--quiet", "-b", "main")
        checkout.git("add", "--all")
        checkout.git("commit", "--quiet", "-m", f"{project}: initial import")
        checkout.git("remote", "add", "origin", self.remote().url)
        checkout.git("push", "--quiet", "origin", "main")
        if project not in self._seeded:
            if (src / ".dvc").is_dir():  # as `lab up`: a project without DVC data has none
                progress(f"seeding the S3 remote with {project}'s main data (once per session)")
                env = self._base_env(self.root / "seed-extras")
                seed_dvc_remote(checkout.path, env=env, credentials=self._dvc_creds)
            self._seeded[project] = set(self._s3.object_keys(self.cfg.dvc_bucket))
        else:
            self._reset_bucket(self._seeded[project])
        progress(f"local forge {self.forge.url} with {self.cfg.org}/{project} on main")

    @property
    def s3_server(self) -> Any:
        """The session's S3 server (its request log counts downloads: bench/chain_bench.py)."""
        if self._s3 is None:
            raise ConfigError("the local driver's S3 server starts with the first start()")
        return self._s3

    def branch_head(self, branch: str) -> str | None:
        """The commit ``branch`` of this run's project points at on the forge (None: absent)."""
        return self._head(branch)

    def remote(self) -> GitRemote:
        return GitRemote(self.forge.clone_url(self.cfg.org, self.project), BOT_USER, self.token)

    def bot(self) -> Identity:
        return Identity(BOT_USER, self.cfg.bot_email)

    def use_credentials(self, credential_id: str, state: str) -> None:
        if credential_id in localjobs.FILE_CREDENTIALS:
            self._file_states[credential_id] = state
            return
        if credential_id not in ("DVC_Remote_Creds", "GIT_PAT"):
            raise ConfigError(f"unknown credential {credential_id!r}")
        if state == "missing":
            raise ConfigError(
                f"credential {credential_id}: the local driver has no `missing` for it"
            )
        if state == "valid":
            self._invalid.discard(credential_id)
        else:
            self._invalid.add(credential_id)

    # ---- what the forge's webhooks would do ------------------------------------
    def pushed(self, branch: str, commit: str) -> None:
        self.queue.pushed(branch, commit)

    def open_pr(self, head: str, base: str, title: str, body: str) -> int:
        number = int(
            self.forge.open_pr(self.cfg.org, self.project, head=head, base=base, title=title)
        )
        sha = self._head(head)
        if sha is None:
            raise ServiceError(f"local forge: branch {head} vanished after opening PR #{number}")
        self.queue.pr_opened(number, head, sha)
        return number

    def merge_pr(self, number: int, style: str) -> None:
        pr = self.forge.get_pr(self.cfg.org, self.project, number)
        self.forge.merge_pr(self.cfg.org, self.project, number)
        self.queue.pr_closed(number)
        base = _field(pr, "base")
        head = self._head(base)
        if head is not None:
            self.queue.pushed(base, head)

    def _head(self, branch: str) -> str | None:
        probe = GitRepo(self.root, self.remote(), SEED_AUTHOR)
        out = probe.git("ls-remote", "--heads", self.remote().url, f"refs/heads/{branch}")
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{branch}":
                return sha
        return None

    # ---- builds ----------------------------------------------------------------
    def wait_build(self, target: Target, commit: str, timeout: float, progress: Progress) -> Build:
        return self.queue.wait(
            target, commit, lambda t, c, n: self._build(t, c, n, progress), self._head
        )

    def _build(self, target: Target, commit: str, number: int, progress: Progress) -> Build:
        from lab.pipeline import buildenv

        if target.pr is not None:
            pr = self.forge.get_pr(self.cfg.org, self.project, target.pr)
            env = buildenv.jenkins_env_for_pr(
                target.pr, head=target.branch, target=_field(pr, "base"), build_number=number
            )
        else:
            env = buildenv.jenkins_env_for_branch(target.branch, build_number=number)
        job = localjobs.branch_job(self.cfg.org, self.project, target.job)
        env.update({k: v for k, v in localjobs.job_env(job, number, None).items()
                    if k in ("JOB_NAME", "BUILD_TAG")})  # fmt: skip
        return self._execute(target.job, "Jenkinsfile", commit, number, env, {}, progress)

    def _credentials(self) -> dict[str, Any]:
        from lab.pipeline.build import username_password

        dvc = self._dvc_creds
        if "DVC_Remote_Creds" in self._invalid:
            dvc = (dvc[0], "not-the-secret-" + self._wrong)
        pat = (BOT_USER, self.token if "GIT_PAT" not in self._invalid else "not-the-token")
        creds: dict[str, Any] = {
            "DVC_Remote_Creds": username_password("DVC_Remote_Creds", *dvc),
            "GIT_PAT": username_password("GIT_PAT", *pat),
        }
        if self._uses_index:
            from lab.localforge.pypi import aws_credentials_file, pip_conf

            creds.update(
                localjobs.training_credentials(
                    pip_conf=self._index.pip_conf(),
                    s3_file=aws_credentials_file(*self._dvc_creds),
                    states=self._file_states,
                    wrong_pip_conf=pip_conf(self._index.url, self._index.user, self._wrong),
                )
            )
        return creds

    def _execute(
        self,
        name: str,
        script: str,
        commit: str,
        number: int,
        jenkins_env: Mapping[str, str],
        params: Mapping[str, str],
        progress: Progress,
        downstream: Any = None,
    ) -> Build:
        """One build of ``script`` at ``commit``; ``name`` is the job as scenarios see it."""
        from lab.pipeline import buildenv
        from lab.pipeline.build import run_build

        env = {**self._base_env(self.extras), **jenkins_env}
        if self._uses_index:  # the agent image of label `train` (localjobs.py)
            env["PYTHONPATH"] = localjobs.agent_pythonpath()
        workspace = self.root / "workspace" / f"{name.replace('/', '_')}-{number}"
        progress(f"      running {name} #{number} of {commit[:10]} ({script})")
        creds = self._credentials()
        hidden = {self._dvc_creds[1], self.token, self._wrong}
        if self._index is not None:
            hidden.add(self._index.password)
        live = self.live_log
        run = run_build(
            clone_url=self.remote().url,
            commit=commit,
            workspace=workspace,
            env=env,
            credentials=creds,
            git_credentials=(BOT_USER, self.token),
            node_env=buildenv.lab_node_env(settings=self.cfg.compose_env(), bot_user=BOT_USER),
            jenkinsfile=Path(script),
            params=params,
            skip_stages=self.skip_stages,
            downstream=downstream,
            labels=localjobs.LAB_LABELS,
            out=None if live is None else (lambda line: live(line + "\n")),
            secrets=sorted(hidden),  # besides the build's credentials: never in its log
        )
        log = str(run.log)
        kept = workspace.with_name(workspace.name + "@artifacts")
        if kept.is_dir():
            target = self.root / "artifacts" / name.replace("/", "_") / str(number)
            shutil.copytree(kept, target)
            self._artifacts[(name, number)] = target
        shutil.rmtree(workspace, ignore_errors=True)
        shutil.rmtree(kept, ignore_errors=True)
        return Build(name, number, str(run.result), str(run.commit or commit), log,
                     tag=str(env.get("BUILD_TAG", "")))  # fmt: skip

    # ---- reading results -------------------------------------------------------
    @property
    def bucket(self) -> str:
        return self.cfg.dvc_bucket

    def pr_comments(self, number: int) -> list[str]:
        comments = self.forge.comments(self.cfg.org, self.project, number)
        return [str(_field(c, "body")) for c in comments]

    def commit_statuses(self, commit: str) -> list[Status]:
        raw = self.forge.statuses(self.cfg.org, self.project, commit)
        statuses = [
            Status(
                str(_field(s, "context")),
                str(_field(s, "state") or _field(s, "status")),
                str(_field(s, "description") or ""),
            )
            for s in raw
        ]
        ids = [_field(s, "id") for s in raw]
        if all(isinstance(i, int) for i in ids):  # Gitea lists newest first; sort by id
            statuses = [s for _, s in sorted(zip(ids, statuses, strict=True), key=lambda p: p[0])]
        return statuses

    def remote_objects(self, remote: str, url: str) -> set[str]:
        if remote == "jenkins_local":
            return {
                p.relative_to(self.extras).as_posix() for p in self.extras.rglob("*") if p.is_file()
            }
        if not url.startswith("s3://"):
            raise ConfigError(f"remote {remote} url {url!r} is not an s3:// url")
        bucket, _, prefix = url[len("s3://") :].partition("/")
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        return {k[len(prefix) :] for k in self._s3.object_keys(bucket) if k.startswith(prefix)}

    def finish(self, keep: bool, progress: Progress) -> None:
        run, self._run = self._run, None
        root = getattr(self, "root", None)
        if keep and root is not None:
            progress(f"kept the local forge, workspaces and /extras under {root}")
            return
        if run is not None:
            run.close()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def close(self) -> None:
        if self._run is not None:
            self._run.close()
        self._session.close()


def _field(obj: Any, name: str) -> Any:
    """A field of a forge answer, whether it is a dict (JSON) or an object."""
    if isinstance(obj, dict):
        value = obj.get(name)
        if name in ("base", "head") and isinstance(value, dict):
            return value.get("ref")
        return value
    value = getattr(obj, name, None)
    return value
