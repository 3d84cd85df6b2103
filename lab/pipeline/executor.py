"""Run a declarative pipeline model (pipeline-model-converter ``toJson`` shape) locally.

The model is the ``{"pipeline": {...}}`` document the extractor gives (schema:
pipeline-model-api/src/main/resources/ast-schema.json); :func:`plan` says which stages can
run here, :func:`run_model` runs them (control flow in flow.py, steps in steps.py).
Steps run on this host in the build's workspace whatever the agent says.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from lab.pipeline import directives, planning
from lab.pipeline.context import Build, Ctx
from lab.pipeline.flow import Flow, report
from lab.pipeline.masking import Masker
from lab.pipeline.runtime import (
    Cancel,
    Credential,
    Log,
    NeedsStack,
    PipelineRun,
    StageRun,
    error_result,
    where_in,
    worse,
)

__all__ = [
    "Credential",
    "NeedsStack",
    "PipelineRun",
    "PlannedStage",
    "StageRun",
    "plan",
    "run_model",
]
PlannedStage = planning.PlannedStage
plan = planning.plan


def run_model(
    pipeline: dict[str, Any],
    *,
    workspace: Path,
    env: Mapping[str, str],
    credentials: Mapping[str, Credential],
    params: Mapping[str, str] | None = None,
    locations: Mapping[str, int] | None = None,
    source: str = "Jenkinsfile",
    node_env: Mapping[str, str] | None = None,
    commit: str = "",
    skip_stages: Collection[str] = (),
    downstream: Callable[[str, Mapping[str, str], bool], str] | None = None,
    out: Callable[[str], None] | None = None,
    stage_timeout: float | None = None,
    secrets: Sequence[str] = (),
    labels: Collection[str] | None = None,
) -> PipelineRun:
    """Run the ``{"pipeline": {...}}`` model in ``workspace`` (already checked out).

    ``env`` is the complete environment of the steps; parameters unknown to the
    Jenkinsfile raise ConfigError. The result is the worst of the build's result and
    its error's; the log ends with ``Finished: RESULT``. With ``labels``, an ``agent {
    label }`` naming none of them fails the build (Jenkins would wait for it forever).
    """
    root = pipeline.get("pipeline", pipeline)
    workspace = Path(workspace).resolve()
    locs = locations or {}

    def where(pointer: str) -> str:
        return where_in(locs, source, pointer)

    # Jenkins masks a credential only while it is bound; here every credential the build
    # may bind is masked from the first line (and the bound file paths once bound).
    masker = Masker(
        [*secrets, *(s for c in credentials.values() for s in (c.secret, c.passphrase))]
    )
    log = Log(masker, out)
    log.add("[local driver] running the Jenkinsfile's declarative model on this host")
    log.add("[Pipeline] Start of Pipeline")
    error: BaseException | None = None
    values: dict[str, Any] = {}
    try:
        values, param_secrets = directives.resolve_params(
            root.get("parameters"), params or {}, where
        )
        masker.add(param_secrets)
    except NeedsStack as exc:
        error = exc
    with tempfile.TemporaryDirectory(prefix="lab-stash-") as stash:
        build = Build(
            log=log,
            masker=masker,
            credentials=credentials,
            params=values,
            workspace=workspace,
            stash_dir=Path(stash),
            locations=locations or {},
            source=source,
            node_env=node_env or {},
            downstream=downstream,
            stage_timeout=stage_timeout,
            skip_stages=frozenset(skip_stages),
            labels=None if labels is None else frozenset(labels),
        )
        build_env = {**env, **directives.params_env(values)}
        ctx = Ctx(build, build_env, workspace, Cancel(build.root_cancel))
        if error is None:
            error = Flow(root).run(ctx)
        else:
            report(ctx, error)
        result = worse(build.result, error_result(error))
    log.add("[Pipeline] End of Pipeline")
    log.add(f"Finished: {result}")
    for run in build.stages:
        run.output = masker(run.output)
    return PipelineRun(result, build.stages, log.text(), commit, workspace)
