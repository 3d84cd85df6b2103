"""Run a project's pipeline stages with the environment Jenkins would give them.

This does not interpret the Jenkinsfile. A project declares its stages as data in
``ci/pipeline.yaml`` (the Jenkinsfile runs the same scripts in the same order)::

    seed: "bash ci/seed.sh"          # optional: materialises the DVC-tracked data
    stages:
      - name: "Unit tests"            # the Jenkinsfile's stage name
        run: "ci/unit_tests.sh"       # run with bash from the workspace root, like `sh '...'`
        when: always                  # always | change_request | not_change_request
        credentials:                  # like withCredentials([usernamePassword(...)])
          - {id: DVC_Remote_Creds, username: AWS_ACCESS_KEY_ID, password: AWS_SECRET_ACCESS_KEY}
        environment: {KEY: value}     # optional extra variables

:func:`run_pipeline` prepares the workspace the way Jenkins' git checkout does (init,
fetch the remote branches with the credentials given through a credential helper,
``checkout -f`` of the commit, detached), then runs the stages in order and behaves
like Declarative Pipeline: ``when`` skips, the first failing stage fails the build
and the later ones are skipped, a stage running past its timeout is killed (its whole
process group) and the build is ABORTED, leftover processes of a stage are killed
when it ends, and the values of bound secrets are masked as ``****`` in the log.

:func:`seed_dvc_remote` fills a DVC remote with a project's data (``seed`` command,
then ``dvc push -r origin``), for the local driver, the integration tests and ``lab up``.
With a seed cache (``LAB_SEED_CACHE``, a directory) the seeding runs against that
shared DVC cache, and the ``seed`` command is skipped when the cache already holds
every cached output the checkout's ``dvc.lock`` and ``.dvc`` files name (objects are
addressed by their md5, so a hit is exactly the data the seed would make).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from lab import jenkinsenv
from lab.config import PACKAGE_ROOT
from lab.errors import ConfigError, ServiceError
from lab.gitcreds import git_credential_env

PIPELINE_FILE = Path("ci") / "pipeline.yaml"
WHEN_VALUES = ("always", "change_request", "not_change_request")
MASK = "****"
GIT_TIMEOUT = 300.0
SEED_TIMEOUT = 1800.0
SEED_CACHE_ENV = "LAB_SEED_CACHE"
KILL_GRACE = 5.0
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STAGE_KEYS = frozenset({"name", "run", "when", "credentials", "environment"})
_BINDING_KEYS = frozenset({"id", "username", "password"})
_TOP_KEYS = frozenset({"stages", "seed"})
# Never inherited from this process: they would redirect git or carry the user's own
# cloud credentials into a build (Jenkins agents have neither).
_DROPPED_PREFIXES = ("AWS_", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")
_DROPPED = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_PARAMETERS",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
        "WORKSPACE",
        "BRANCH_NAME",
        "CHANGE_ID",
        "CHANGE_TARGET",
        "CHANGE_BRANCH",
        "CHANGE_URL",
        "CHANGE_FORK",
    }
)


# ---- the stage file -------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialBinding:
    """A ``usernamePassword(credentialsId, usernameVariable, passwordVariable)`` binding."""

    id: str
    username: str
    password: str


@dataclass(frozen=True)
class Stage:
    name: str
    run: str
    when: str = "always"
    credentials: tuple[CredentialBinding, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)

    def applies(self, env: Mapping[str, str]) -> bool:
        """Declarative's ``when { changeRequest() }`` / ``when { not { changeRequest() } }``."""
        change = bool(env.get("CHANGE_ID"))
        if self.when == "change_request":
            return change
        if self.when == "not_change_request":
            return not change
        return True


def _fail(path: Path, where: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {message}")


def _read_definition(project_dir: Path) -> tuple[list[Stage], str | None]:
    path = Path(project_dir) / PIPELINE_FILE
    if not path.is_file():
        raise ConfigError(
            f"{path}: not found",
            hint="declare the pipeline's stages as data there (see lab/localforge/pipeline.py)",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        raise _fail(path, where, f"invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise _fail(path, "top level", "expected a mapping with a 'stages' list")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise _fail(path, f"field {unknown[0]!r}", f"unknown key (allowed: {sorted(_TOP_KEYS)})")
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, str) or not seed.strip()):
        raise _fail(path, "field 'seed'", "expected a non-empty command string")
    raw = data.get("stages")
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "field 'stages'", "expected a non-empty list of stages")
    stages: list[Stage] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        stages.append(_parse_stage(path, i, item))
        if stages[-1].name in seen:
            raise _fail(path, f"stages[{i}].name", f"duplicate stage name {stages[-1].name!r}")
        seen.add(stages[-1].name)
    return stages, seed.strip() if isinstance(seed, str) else None


def _parse_stage(path: Path, i: int, item: Any) -> Stage:
    where = f"stages[{i}]"
    if not isinstance(item, dict):
        raise _fail(path, where, "expected a mapping with 'name' and 'run'")
    unknown = sorted(set(item) - _STAGE_KEYS)
    if unknown:
        raise _fail(path, f"{where}.{unknown[0]}", f"unknown key (allowed: {sorted(_STAGE_KEYS)})")
    for key in ("name", "run"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _fail(path, f"{where}.{key}", "expected a non-empty string")
    where = f"stages[{i}] ({item['name']})"
    when = item.get("when", "always")
    if when not in WHEN_VALUES:
        raise _fail(
            path, f"{where}.when", f"expected one of {', '.join(WHEN_VALUES)}; got {when!r}"
        )
    bindings = item.get("credentials") or []
    if not isinstance(bindings, list):
        raise _fail(path, f"{where}.credentials", "expected a list of {id, username, password}")
    parsed = []
    for j, binding in enumerate(bindings):
        bwhere = f"{where}.credentials[{j}]"
        if not isinstance(binding, dict) or set(binding) != _BINDING_KEYS:
            raise _fail(path, bwhere, "expected exactly the keys id, username, password")
        for key in ("id", "username", "password"):
            value = binding[key]
            if not isinstance(value, str) or not value:
                raise _fail(path, f"{bwhere}.{key}", "expected a non-empty string")
            if key != "id" and not _ENV_NAME.match(value):
                raise _fail(
                    path, f"{bwhere}.{key}", f"{value!r} is not an environment variable name"
                )
        parsed.append(CredentialBinding(binding["id"], binding["username"], binding["password"]))
    environment = item.get("environment") or {}
    if not isinstance(environment, dict):
        raise _fail(path, f"{where}.environment", "expected a mapping of NAME: value")
    env: dict[str, str] = {}
    for key, value in environment.items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise _fail(
                path, f"{where}.environment", f"{key!r} is not an environment variable name"
            )
        if isinstance(value, dict | list) or value is None:
            raise _fail(path, f"{where}.environment.{key}", "expected a scalar value")
        env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return Stage(item["name"].strip(), item["run"], when, tuple(parsed), env)


def load_stages(project_dir: Path) -> list[Stage]:
    """The stages of ``project_dir/ci/pipeline.yaml``, validated (errors name file and field)."""
    return _read_definition(project_dir)[0]


def load_seed_command(project_dir: Path) -> str | None:
    """The ``seed`` command of ``project_dir/ci/pipeline.yaml``, or None when it has none."""
    return _read_definition(project_dir)[1]


# ---- Jenkins' environment -------------------------------------------------------------------


def _basics(branch_name: str, build_number: int) -> dict[str, str]:
    job = f"local/{quote(branch_name, safe='')}"
    return {
        "BRANCH_NAME": branch_name,
        "BUILD_NUMBER": str(build_number),
        "BUILD_ID": str(build_number),
        "BUILD_DISPLAY_NAME": f"#{build_number}",
        "JOB_NAME": job,
        "JOB_BASE_NAME": quote(branch_name, safe=""),
        "BUILD_TAG": f"jenkins-{job.replace('/', '-')}-{build_number}",
        "NODE_NAME": "local",
        "EXECUTOR_NUMBER": "0",
    }


def jenkins_env_for_branch(branch: str, *, build_number: int = 1) -> dict[str, str]:
    """What a multibranch branch build sees: BRANCH_NAME and no CHANGE_* at all."""
    return _basics(branch, build_number)


def _lab_host_env(settings: Mapping[str, str], bot_user: str) -> dict[str, str]:
    """What compose interpolates the jenkins service with: the lab's LAB_* settings
    (LabConfig.compose_env()) and the bot's name from .lab/secrets.env."""
    return {**settings, "GITEA_BOT_USER": bot_user}


def lab_node_env(
    *, settings: Mapping[str, str], bot_user: str, root: Path = PACKAGE_ROOT
) -> dict[str, str]:
    """The environment of the node the lab's builds run on (the built-in node: the
    controller JVM's), from compose/docker-compose.yml, casc/Dockerfile and
    casc/check-env.sh. docker-workflow strips what equals it from agent steps."""
    return jenkinsenv.controller_env(_lab_host_env(settings, bot_user), root)


def lab_global_env(
    *,
    gitea_url: str,
    s3_endpoint: str,
    extras: Path,
    settings: Mapping[str, str],
    bot_user: str,
    root: Path = PACKAGE_ROOT,
) -> dict[str, str]:
    """The global variables the lab's Jenkins gives every build (casc/jenkins.yaml resolved
    against the controller's environment, as JCasC does), with the in-network URLs
    pointed at local stand-ins; ``DVC_LOCAL_CACHE_DIR`` stands for the agents' /extras
    and the two agent-image variables (projects' Dockerfiles) are added."""
    node = lab_node_env(settings=settings, bot_user=bot_user, root=root)
    env = jenkinsenv.global_build_vars(node, root)
    for key, value in (("GITEA_URL", gitea_url), ("DVC_S3_ENDPOINT", s3_endpoint)):
        if key not in env:
            raise ConfigError(f"casc/jenkins.yaml: no global build variable {key}")
        env[key] = value
    return {
        "DVC_NO_ANALYTICS": "1",
        "GIT_TERMINAL_PROMPT": "0",
        **env,
        "DVC_LOCAL_CACHE_DIR": str(extras),
    }


def jenkins_env_for_pr(
    number: int, *, head: str, target: str, url: str = "", build_number: int = 1
) -> dict[str, str]:
    """What a Gitea pull-request build sees (gitea-plugin: BRANCH_NAME=PR-N, CHANGE_ID,
    CHANGE_TARGET, CHANGE_BRANCH, CHANGE_URL; no CHANGE_AUTHOR or CHANGE_TITLE)."""
    env = _basics(f"PR-{number}", build_number)
    env.update(CHANGE_ID=str(number), CHANGE_TARGET=target, CHANGE_BRANCH=head)
    if url:
        env["CHANGE_URL"] = url
    return env


def _base_env(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without what must not leak into a build, with ``env`` on top.

    When ``env`` sets no PATH, this interpreter's bin directory goes first so ``dvc``
    and ``python`` are the ones installed with the lab.
    """
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    }
    if "PATH" not in env:
        bin_dir = str(Path(sys.executable).parent)
        base["PATH"] = os.pathsep.join([bin_dir, base.get("PATH", "/usr/bin:/bin")])
    base.update(env)
    return base


# ---- running --------------------------------------------------------------------------------


@dataclass
class StageRun:
    name: str
    skipped: bool
    returncode: int | None
    output: str
    seconds: float


@dataclass
class PipelineRun:
    result: str  # "SUCCESS" | "FAILURE" | "ABORTED"
    stages: list[StageRun]
    log: str
    commit: str
    workspace: Path

    def stage(self, name: str) -> StageRun:
        for run in self.stages:
            if run.name == name:
                return run
        raise KeyError(f"no stage {name!r} in this run ({[s.name for s in self.stages]})")


class _Masker:
    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


class _Log:
    def __init__(self, mask: _Masker) -> None:
        self.lines: list[str] = []
        self.mask = mask

    def add(self, text: str) -> None:
        self.lines.append(self.mask(text.rstrip("\n")))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _checkout(
    clone_url: str,
    commit: str,
    workspace: Path,
    env: Mapping[str, str],
    git_credentials: tuple[str, str] | None,
    log: _Log,
) -> str | None:
    """Jenkins' git checkout: init, fetch branches, checkout -f COMMIT. Returns the error."""
    genv = git_credential_env(env, git_credentials)

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        log.add(f" > git {' '.join(args)}")
        return subprocess.run(
            ["git", *args],
            cwd=workspace,
            env=genv,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )

    log.add(f"Cloning repository {clone_url}")
    for args in (
        ("init", "--quiet", str(workspace)),
        ("config", "remote.origin.url", clone_url),
        ("config", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"),
        ("fetch", "--no-tags", "--force", "origin", "+refs/heads/*:refs/remotes/origin/*"),
    ):
        proc = git(*args)
        if proc.returncode != 0:
            return f"git {args[0]} failed: {proc.stderr.strip()}"
    if git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        # Not on a branch (any more): a pull request's ref still has it, as in Gitea.
        git("fetch", "--no-tags", "--force", "origin", "+refs/pull/*/head:refs/remotes/origin/pr/*")
    proc = git("checkout", "--quiet", "-f", "--detach", commit)
    if proc.returncode != 0:
        return f"Couldn't find any revision to build ({commit}): {proc.stderr.strip()}"
    head = git("rev-parse", "HEAD").stdout.strip()
    subject = git("log", "-1", "--format=%s", head).stdout.strip()
    log.add(f"Checking out Revision {head}")
    log.add(f'Commit message: "{subject}"')
    return None


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _run_stage(
    stage: Stage, workspace: Path, env: Mapping[str, str], timeout: float, out_path: Path
) -> tuple[int | None, bool]:
    """Run one stage; (return code, timed out). Leftover processes are killed at the end."""
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-e", "-c", stage.run],
            cwd=workspace,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole
        )
        try:
            return proc.wait(timeout=timeout), False
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=KILL_GRACE)
            return None, True
        finally:
            _kill_group(proc.pid, signal.SIGKILL)  # like Jenkins' process tree killer


def run_pipeline(
    *,
    clone_url: str,
    commit: str,
    workspace: Path,
    env: Mapping[str, str],
    credentials: Mapping[str, tuple[str, str]],
    stage_timeout: float = 600,
    git_credentials: tuple[str, str] | None = None,
    node_env: Mapping[str, str] | None = None,
) -> PipelineRun:
    """Check out ``commit`` of ``clone_url`` into ``workspace`` (must be absent or empty)
    and run its ``ci/pipeline.yaml`` stages like Jenkins.

    ``env`` is what Jenkins adds for this build (see :func:`jenkins_env_for_branch` /
    :func:`jenkins_env_for_pr`, plus global variables); ``credentials`` maps credential
    ids to (username, secret) for the stages' bindings; ``git_credentials`` are used
    for the checkout only, through a credential helper (never in a URL or .git/config).
    A bad ``ci/pipeline.yaml`` in the checkout raises :class:`ConfigError`.
    """
    workspace = Path(workspace).resolve()
    if workspace.exists() and any(workspace.iterdir()):
        raise ConfigError(f"workspace {workspace} is not empty: give each build a fresh directory")
    workspace.mkdir(parents=True, exist_ok=True)
    secrets = [pair[1] for pair in credentials.values()]
    if git_credentials is not None:
        secrets.append(git_credentials[1])
    log = _Log(_Masker(secrets))
    log.add("Started by the lab's local driver (lab.localforge.pipeline)")
    log.add("[Pipeline] Start of Pipeline")
    build_env = _base_env(env)

    error = _checkout(clone_url, commit, workspace, build_env, git_credentials, log)
    if error is not None:
        log.add(f"ERROR: {error}")
        log.add("[Pipeline] End of Pipeline")
        log.add("Finished: FAILURE")
        return PipelineRun("FAILURE", [], log.text(), commit, workspace)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=workspace, capture_output=True, text=True, check=True
    ).stdout.strip()
    stages = load_stages(workspace)

    build_env.update(
        WORKSPACE=str(workspace),
        GIT_COMMIT=head,
        GIT_URL=clone_url,
        GIT_BRANCH=build_env.get("BRANCH_NAME", ""),
    )
    result = "SUCCESS"
    runs: list[StageRun] = []
    with tempfile.TemporaryDirectory(prefix="lab-pipeline-") as tmp:
        agent_home = Path(tmp) / "home"
        agent_home.mkdir()
        agent_env = {**build_env, "HOME": str(agent_home)}
        for i, stage in enumerate(stages):
            log.add("[Pipeline] stage")
            log.add(f"[Pipeline] {{ ({stage.name})")
            if result != "SUCCESS":
                log.add(f'Stage "{stage.name}" skipped due to earlier failure(s)')
                runs.append(StageRun(stage.name, True, None, "", 0.0))
            elif not stage.applies(build_env):
                log.add(f'Stage "{stage.name}" skipped due to when conditional')
                runs.append(StageRun(stage.name, True, None, "", 0.0))
            else:
                run, result = _stage(
                    stage,
                    agent_env,
                    node_env or {},
                    credentials,
                    workspace,
                    stage_timeout,
                    Path(tmp) / f"{i}.log",
                    log,
                )
                runs.append(run)
            log.add("[Pipeline] }")
            log.add("[Pipeline] // stage")
    log.add("[Pipeline] End of Pipeline")
    log.add(f"Finished: {result}")
    return PipelineRun(result, runs, log.text(), head, workspace)


def _stage(
    stage: Stage,
    build_env: Mapping[str, str],
    node_env: Mapping[str, str],
    credentials: Mapping[str, tuple[str, str]],
    workspace: Path,
    timeout: float,
    out_path: Path,
    log: _Log,
) -> tuple[StageRun, str]:
    env = {**build_env, **stage.environment}
    for binding in stage.credentials:
        if binding.id not in credentials:
            message = f"ERROR: Could not find credentials entry with ID '{binding.id}'"
            log.add(message)
            return StageRun(stage.name, False, None, message + "\n", 0.0), "FAILURE"
        env[binding.username], env[binding.password] = credentials[binding.id]
    stripped = jenkinsenv.collisions(env, node_env)
    if stripped:
        env = jenkinsenv.strip_node_env(env, node_env)
        log.add(
            "[local driver] unset in the agent container, equal to the node's environment "
            "(docker-workflow WithContainerStep): " + ", ".join(stripped)
        )
    log.add(f"+ {stage.run}")
    start = time.monotonic()
    returncode, timed_out = _run_stage(stage, workspace, env, timeout, out_path)
    seconds = time.monotonic() - start
    output = log.mask(out_path.read_bytes().decode("utf-8", errors="replace"))
    if output:
        log.add(output)
    if timed_out:
        note = f"Timeout has been exceeded ({timeout:g}s): stage killed"
        log.add(note)
        return StageRun(stage.name, False, None, output + note + "\n", seconds), "ABORTED"
    if returncode != 0:
        log.add(f"ERROR: script returned exit code {returncode}")
        return StageRun(stage.name, False, returncode, output, seconds), "FAILURE"
    return StageRun(stage.name, False, 0, output, seconds), "SUCCESS"


# ---- seeding a DVC remote --------------------------------------------------------------------


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def seed_dvc_remote(
    checkout: Path,
    *,
    env: Mapping[str, str],
    credentials: tuple[str, str],
    cache_dir: Path | None = None,
) -> None:
    """Materialise the project's DVC data in ``checkout`` (its ``seed`` command, if any)
    and ``dvc push -r origin`` it, with ``credentials`` as AWS_ACCESS_KEY_ID/SECRET.

    When ``env`` has DVC_S3_ENDPOINT, ``origin``'s endpoint is set first with
    ``dvc remote modify --local`` (``.dvc/config.local``: never committed).
    ``cache_dir`` (default: ``$LAB_SEED_CACHE``, if set) is a DVC cache shared between
    seedings: used with ``dvc config --local cache.dir``, and the ``seed`` command is
    skipped when it already holds every object to push. One seeding at a time uses it.
    """
    checkout = Path(checkout)
    if cache_dir is None and os.environ.get(SEED_CACHE_ENV):
        cache_dir = Path(os.environ[SEED_CACHE_ENV])
    if cache_dir is None or not (checkout / ".dvc").is_dir():
        _seed(checkout, env, credentials, None)
        return
    cache_dir = Path(cache_dir).resolve()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / ".seed.lock").touch()
    except OSError as exc:
        raise ConfigError(
            f"seed cache {cache_dir} ({SEED_CACHE_ENV}) is not a writable directory: "
            f"{exc.strerror or exc}"
        ) from None
    with _locked(cache_dir / ".seed.lock", f"seed cache {cache_dir}"):
        _seed(checkout, env, credentials, cache_dir)


@contextlib.contextmanager
def _locked(path: Path, what: str) -> Any:
    """An exclusive lock on ``path`` (other processes seeding into the same cache wait)."""
    with path.open("a") as fh:
        deadline = time.monotonic() + SEED_TIMEOUT
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"{what} stayed locked by another seeding for {SEED_TIMEOUT:.0f}s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _seed(
    checkout: Path,
    env: Mapping[str, str],
    credentials: tuple[str, str],
    cache_dir: Path | None,
) -> None:
    seed = load_seed_command(checkout)
    mask = _Masker([credentials[1]])
    run_env = _base_env({"DVC_NO_ANALYTICS": "1", **env})
    run_env.update(AWS_ACCESS_KEY_ID=credentials[0], AWS_SECRET_ACCESS_KEY=credentials[1])

    def run(argv: list[str], what: str) -> None:
        try:
            proc = subprocess.run(
                argv,
                cwd=checkout,
                env=run_env,
                capture_output=True,
                text=True,
                timeout=SEED_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(
                f"{what} in {checkout} took longer than {SEED_TIMEOUT:.0f}s"
            ) from None
        except FileNotFoundError as exc:
            raise ServiceError(f"{what} in {checkout}: {exc.filename} is not installed") from None
        if proc.returncode != 0:
            raise ServiceError(
                f"{what} in {checkout} failed (exit {proc.returncode}):\n"
                + mask(_tail(proc.stdout + proc.stderr))
            )

    if cache_dir is not None:
        run(["dvc", "config", "--local", "cache.dir", str(cache_dir)], "dvc config cache.dir")
    if seed and not (cache_dir is not None and _holds_outputs(checkout, cache_dir)):
        run(["bash", "-e", "-c", seed], f"seed command `{seed}` ({PIPELINE_FILE})")
    endpoint = env.get("DVC_S3_ENDPOINT")
    if endpoint:
        run(
            ["dvc", "remote", "modify", "--local", "origin", "endpointurl", endpoint],
            "dvc remote modify --local origin endpointurl",
        )
    run(["dvc", "push", "-r", "origin"], "dvc push -r origin")


# ---- what a seed cache holds ---------------------------------------------------------


def _uncached_paths(checkout: Path) -> set[str] | None:
    """Paths of dvc.yaml stage outputs declared ``cache: false`` (not pushed, so never
    looked for); None when dvc.yaml is templated or unreadable (the cache is not trusted)."""
    path = checkout / "dvc.yaml"
    if not path.is_file():
        return set()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return set()
    found: set[str] = set()
    for stage in stages.values():
        if not isinstance(stage, dict) or "foreach" in stage or "matrix" in stage:
            return None
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key) or []:
                if isinstance(entry, dict):
                    for out, flags in entry.items():
                        if "${" in str(out):
                            return None
                        if isinstance(flags, dict) and flags.get("cache") is False:
                            found.add(str(out))
                elif "${" in str(entry):
                    return None
    return found


def _has_object(cache_dir: Path, md5: str) -> bool:
    """DVC 3 keeps objects under files/md5/, DVC 2 (legacy lock entries) at the top."""
    name = Path(md5[:2]) / md5[2:]
    for path in (cache_dir / "files" / "md5" / name, cache_dir / name):
        if path.is_file():
            if not md5.endswith(".dir"):
                return True
            try:
                entries = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError):
                return False
            return isinstance(entries, list) and all(
                isinstance(e, dict) and _has_object(cache_dir, str(e.get("md5", "")))
                for e in entries
            )
    return False


def _holds_outputs(checkout: Path, cache_dir: Path) -> bool:
    """Does ``cache_dir`` hold every cached output of ``checkout``'s dvc.lock and .dvc files?"""
    uncached = _uncached_paths(checkout)
    if uncached is None:
        return False
    outs: list[Any] = []
    lock = checkout / "dvc.lock"
    dvc_files = [
        p
        for p in checkout.rglob("*.dvc")
        if p.is_file() and not {".git", ".dvc"} & set(p.relative_to(checkout).parts[:-1])
    ]
    try:
        if lock.is_file():
            stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages") or {}
            for stage in stages.values():
                outs += [o for o in stage.get("outs") or [] if o.get("path") not in uncached]
        for dvc_file in dvc_files:
            data = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
            outs += [o for o in data.get("outs") or [] if o.get("cache", True) is not False]
    except (yaml.YAMLError, UnicodeDecodeError, AttributeError, OSError):
        return False
    md5s = [str(o.get("md5") or "") if isinstance(o, dict) else "" for o in outs]
    return bool(md5s) and all(m and _has_object(cache_dir, m) for m in md5s)
