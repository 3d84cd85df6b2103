"""``lab run``: a Jenkinsfile run on this host against a commit of its repository.

What a multibranch job would do for the repository's HEAD, without Jenkins: a scratch
bare copy of the repository stands for the forge (so a commit-back push lands there,
never in the user's checkout), a fresh workspace is checked out from it, and the
Jenkinsfile as it is on disk runs there (uncommitted edits to it are used, like
Jenkins' "Replay"; other uncommitted changes are not in the build, as in Jenkins).

The environment is the lab's Jenkins': the build variables of a branch or pull-request
build, the global variables of ``casc/jenkins.yaml`` (URLs of the lab's services on this
host), a warm DVC cache standing for ``/extras``. Credentials: the lab's own
(``DVC_Remote_Creds``, ``GIT_PAT``) when ``lab up`` made its secrets, and those of a
``--credentials`` file (``ID_USR``/``ID_PSW`` lines: a username/password credential
``ID``; ``ID=secret``: a secret text).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.config import LabConfig
from lab.errors import ConfigError
from lab.pipeline import buildenv
from lab.pipeline.build import load_model, run_build, username_password
from lab.pipeline.executor import Credential, PipelineRun, plan
from lab.projects import export_repository
from lab.secrets import Secrets, read_private_env


@dataclass
class RunRequest:
    jenkinsfile: Path
    branch: str | None = None
    pr: int | None = None
    target: str = "main"
    params: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    skip_stages: tuple[str, ...] = ()
    credentials_file: Path | None = None
    keep: bool = False


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise ConfigError(f"git {' '.join(args)} in {repo}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def repository_of(jenkinsfile: Path) -> Path:
    """The git work tree holding ``jenkinsfile`` (lab run builds a commit, as Jenkins does);
    errors name the path as given."""
    if not jenkinsfile.is_file():
        raise ConfigError(f"{jenkinsfile}: no such Jenkinsfile")
    proc = subprocess.run(
        ["git", "-C", str(jenkinsfile.resolve().parent), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise ConfigError(
            f"{jenkinsfile}: not in a git repository",
            hint="lab run builds a commit, as Jenkins does: `git init` and commit the project",
        )
    return Path(proc.stdout.strip())


def read_credentials(path: Path) -> dict[str, Credential]:
    """``ID_USR``+``ID_PSW`` → usernamePassword ``ID``; any other ``KEY=v`` → secret text."""
    values = read_private_env(path, "credentials file")
    found: dict[str, Credential] = {}
    for key in sorted(values):
        base = key[:-4]
        if key.endswith("_USR") and f"{base}_PSW" in values:
            found[base] = username_password(base, values[key], values[f"{base}_PSW"])
        elif key.endswith("_PSW") and f"{base}_USR" in values:
            continue
        else:
            found[key] = Credential(id=key, kind="string", secret=values[key])
    return found


def lab_credentials(cfg: LabConfig) -> dict[str, Credential]:
    """The lab's JCasC credentials (casc/jenkins.yaml) from `.lab/secrets.env`, if made."""
    if not cfg.secrets_file.is_file():
        return {}
    secrets = Secrets.load(cfg.secrets_file)
    values = {key: secrets[key] for key in secrets}
    found: dict[str, Credential] = {}
    for cid, user, secret in (
        ("DVC_Remote_Creds", "DVC_ACCESS_KEY", "DVC_SECRET_KEY"),
        ("GIT_PAT", "GITEA_BOT_USER", "GITEA_BOT_TOKEN"),
    ):
        if values.get(user) and values.get(secret):
            found[cid] = username_password(cid, values[user], values[secret])
    return found


def _run_dir(cfg: LabConfig, name: str) -> Path:
    """A new directory for one run: .lab/runs/NAME-YYYYmmdd-HHMMSS[-N]."""
    base = cfg.state_dir / "runs" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    root, n = base, 1
    while True:
        try:
            root.mkdir(parents=True)
            return root
        except FileExistsError:
            n += 1
            root = base.with_name(f"{base.name}-{n}")


def describe_plan(jenkinsfile: Path) -> list[str]:
    """One line per stage: whether this host can run it, else what needs the stack."""
    extracted = load_model(jenkinsfile.read_text(encoding="utf-8"), str(jenkinsfile))
    lines = []
    for stage in plan(extracted.pipeline, locations=extracted.locations, source=str(jenkinsfile)):
        mark = "runs here" if stage.runnable else stage.reason
        lines.append(f"  {stage.name}: {mark}")
    return lines


def run(
    cfg: LabConfig,
    request: RunRequest,
    *,
    out: Callable[[str], None],
    bot_user: str = "cd4ml-bot",
) -> tuple[PipelineRun, Path]:
    """Build HEAD of the Jenkinsfile's repository; (the run, the run's directory).
    The directory is removed when the build succeeds (unless ``keep``) or cannot start."""
    repo = repository_of(request.jenkinsfile)
    jenkinsfile = request.jenkinsfile.resolve()
    root = _run_dir(cfg, jenkinsfile.parent.name)
    try:
        result = _build(cfg, request, jenkinsfile, repo, root, out, bot_user)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    if result.result == "SUCCESS" and not request.keep:
        shutil.rmtree(root, ignore_errors=True)
    return result, root


def _build(
    cfg: LabConfig,
    request: RunRequest,
    jenkinsfile: Path,
    repo: Path,
    root: Path,
    out: Callable[[str], None],
    bot_user: str,
) -> PipelineRun:
    name = jenkinsfile.parent.name
    if jenkinsfile.parent != repo:
        # A project inside a larger repository (like the lab's own projects/): built as
        # its own repository, as `lab up` and `lab project add` push projects.
        out(
            f"note: {jenkinsfile.parent} is not the top of its git repository: building it "
            "as a repository of its own (its files as they are, uncommitted ones included)"
        )
        repo = root / "source"
        export_repository(jenkinsfile.parent, repo, f"{jenkinsfile.parent.name}: lab run")
        jenkinsfile = repo / jenkinsfile.name
    commit = _git(repo, "rev-parse", "HEAD")
    current = _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    if current == "HEAD" and not request.branch:
        raise ConfigError(
            f"{repo}: HEAD is detached, so the build has no branch name",
            hint="name it: `lab run --branch NAME` (or `--pr N --branch HEAD_BRANCH`)",
        )
    rel = jenkinsfile.relative_to(repo).as_posix()
    committed = subprocess.run(
        ["git", "-C", str(repo), "show", f"HEAD:{rel}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    replay = committed.returncode != 0 or committed.stdout != jenkinsfile.read_text(
        encoding="utf-8"
    )
    if _git(repo, "status", "--porcelain", "--untracked-files=no"):
        out(f"note: uncommitted changes in {repo} are not in the build (it builds {commit[:12]})")
    if request.pr is not None:
        head = request.branch or current
        env = buildenv.jenkins_env_for_pr(request.pr, head=head, target=request.target)
    else:
        env = buildenv.jenkins_env_for_branch(request.branch or current)
    credentials = lab_credentials(cfg)
    if request.credentials_file is not None:
        credentials.update(read_credentials(request.credentials_file))

    origin = root / "origin.git"
    _git(root, "clone", "--quiet", "--bare", str(repo), str(origin))
    if request.pr is not None or (request.branch and request.branch != current):
        # The build's branch (or the PR's head) points at this commit in the scratch forge.
        name = request.branch or current
        _git(origin, "update-ref", f"refs/heads/{name}", commit)
    extras = cfg.state_dir / "run-extras" / name
    extras.mkdir(parents=True, exist_ok=True)
    settings = cfg.compose_env()
    env = {
        **buildenv.lab_global_env(
            gitea_url=cfg.gitea_url,
            s3_endpoint=cfg.minio_url,
            extras=extras,
            settings=settings,
            bot_user=bot_user,
        ),
        **env,
        **request.env,
    }
    workspace = root / "workspace"
    out(f"building {commit[:12]} of {repo} as {env['BRANCH_NAME']}")
    out(f"steps run on this host in {workspace} (no agent container is started)")
    out(f"scratch forge (pushes land here, not in {repo.name}): {origin}")
    return run_build(
        clone_url=str(origin),
        commit=commit,
        workspace=workspace,
        env=env,
        credentials=credentials,
        node_env=buildenv.lab_node_env(settings=settings, bot_user=bot_user),
        jenkinsfile=jenkinsfile if replay else Path(rel),
        params=request.params,
        skip_stages=request.skip_stages,
        out=out,
    )


def summary(run: PipelineRun) -> Sequence[str]:
    lines = []
    for stage in run.stages:
        status = "skipped" if stage.skipped else stage.status
        why = f" ({stage.reason})" if stage.skipped and stage.reason else ""
        lines.append(f"  {stage.name:<30} {status}{why}  {stage.seconds:.1f}s")
    return lines


def parse_pairs(pairs: Sequence[str], what: str) -> Mapping[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {pair!r}: expected KEY=VALUE")
        found[key] = value
    return found
