"""One build on the local driver: Jenkins' checkout, then the Jenkinsfile itself.

:func:`run_build` is what a multibranch job does for one commit: a fresh workspace, the
git checkout (:mod:`lab.pipeline.checkout`), the Jenkinsfile of that checkout read as
Jenkins' declarative model (:mod:`lab.pipeline.model`), then the model run by
:mod:`lab.pipeline.executor` with the build's environment and credentials. A
``jenkinsfile`` is the job's script path in the checkout (default ``Jenkinsfile``); an
absolute path replaces the committed one, like Jenkins' "Replay" (the commit's files,
another pipeline script).

Steps run on this host, in the per-build workspace; ``agent`` is not started (no
container): the log says so.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from lab.errors import ConfigError
from lab.pipeline.buildenv import base_env
from lab.pipeline.checkout import checkout
from lab.pipeline.executor import Credential, PipelineRun, run_model
from lab.pipeline.masking import Masker

JENKINSFILE = "Jenkinsfile"
_models: dict[str, object] = {}
_models_lock = threading.Lock()


def username_password(credential_id: str, username: str, secret: str) -> Credential:
    """A ``usernamePassword`` credential, as the lab's JCasC defines DVC_Remote_Creds/GIT_PAT."""
    return Credential(id=credential_id, kind="usernamePassword", secret=secret, username=username)


def load_model(text: str, name: str):  # -> lab.pipeline.model.Extracted
    """The declarative model of Jenkinsfile ``text`` (extracted once per content in this
    process, whatever the file is called: one JVM start saved per build of the same
    Jenkinsfile, and `lab run` reads it once for the plan and the build). Raises
    ConfigError naming ``name`` and the line when it is not a declarative pipeline we
    can read (the model and its problems do not depend on the name)."""
    from lab.pipeline import model

    key = hashlib.sha256(text.encode()).hexdigest()
    with _models_lock:
        found = _models.get(key)
    if found is None:
        found = model.extract_text(text, name)
        with _models_lock:
            _models[key] = found
    if found.problems:
        first = found.problems[0]
        more = f" (and {len(found.problems) - 1} more)" if len(found.problems) > 1 else ""
        raise ConfigError(f"{name}:{first.line}: {first.message}{more}")
    return found


def _failed(message: str, lines: list[str], commit: str, workspace: Path) -> PipelineRun:
    lines += [f"ERROR: {message}", "[Pipeline] End of Pipeline", "Finished: FAILURE"]
    return PipelineRun("FAILURE", [], "\n".join(lines) + "\n", commit, workspace)


def run_build(
    *,
    clone_url: str,
    commit: str,
    workspace: Path,
    env: Mapping[str, str],
    credentials: Mapping[str, Credential],
    git_credentials: tuple[str, str] | None = None,
    node_env: Mapping[str, str] | None = None,
    jenkinsfile: Path | None = None,
    params: Mapping[str, str] | None = None,
    skip_stages: Collection[str] = (),
    out: Callable[[str], None] | None = None,
    stage_timeout: float | None = None,
    downstream: Callable[[str, Mapping[str, str], bool], str] | None = None,
    labels: Collection[str] | None = None,
    secrets: Sequence[str] = (),
) -> PipelineRun:
    """Check out ``commit`` of ``clone_url`` into ``workspace`` (absent or empty) and run
    its Jenkinsfile (or ``jenkinsfile``) like Jenkins.

    ``env`` is what Jenkins adds for this build (:mod:`lab.pipeline.buildenv`: branch or
    pull-request variables, global variables); ``credentials`` are the credentials the
    build may bind, by id; ``git_credentials`` serve the checkout only. A Jenkinsfile
    that is not a declarative pipeline fails the build with the file and line.
    ``downstream`` runs the builds ``build job:`` starts (job, parameters, wait) and
    returns their result; ``labels`` are the agent labels the lab provides; ``secrets``
    are more values to mask in the log (besides the credentials and the git token).
    """
    workspace = Path(workspace).resolve()
    if workspace.exists() and any(workspace.iterdir()):
        raise ConfigError(f"workspace {workspace} is not empty: give each build a fresh directory")
    workspace.mkdir(parents=True, exist_ok=True)
    # The checkout's lines are masked like the executor's (which adds the credentials).
    extra = [*secrets, *([git_credentials[1]] if git_credentials is not None else [])]
    mask = Masker([*extra, *(s for c in credentials.values() for s in (c.secret, c.passphrase))])
    lines: list[str] = []

    def log(line: str) -> None:
        line = mask(line)
        lines.append(line)
        if out is not None:
            out(line)

    log("Started by the lab's local driver (lab.pipeline: the Jenkinsfile run on this host)")
    build_env = base_env(env)
    error = checkout(clone_url, commit, workspace, build_env, git_credentials, log)
    if error is not None:
        return _failed(error, lines, commit, workspace)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=workspace, capture_output=True, text=True, check=True
    ).stdout.strip()
    # A relative path is the job's script path in the checkout; an absolute one replays.
    script = Path(jenkinsfile) if jenkinsfile is not None else Path(JENKINSFILE)
    source = script if script.is_absolute() else workspace / script
    name = str(script)
    if not source.is_file():
        return _failed(f"{name}: no such file in {head[:12]}", lines, head, workspace)
    try:
        extracted = load_model(source.read_text(encoding="utf-8"), name)
    except ConfigError as exc:
        return _failed(str(exc), lines, head, workspace)
    if script.is_absolute():
        log(f"Replaying {name} on the files of {head[:12]}")
    build_env.update(
        WORKSPACE=str(workspace),
        GIT_COMMIT=head,
        GIT_URL=clone_url,
        GIT_BRANCH=build_env.get("BRANCH_NAME", ""),
    )
    with tempfile.TemporaryDirectory(prefix="lab-agent-home-") as home:
        run = run_model(
            extracted.pipeline,
            workspace=workspace,
            env={**build_env, "HOME": home},
            credentials=credentials,
            params=params or {},
            locations=extracted.locations,
            source=name,
            node_env=node_env or {},
            commit=head,
            skip_stages=skip_stages,
            out=out,
            stage_timeout=stage_timeout,
            downstream=downstream,
            labels=labels,
            secrets=extra,
        )
    run.log = "\n".join(lines) + "\n" + run.log
    return run
