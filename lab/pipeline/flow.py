"""The control flow of a declarative build: stages, when, parallel, post.

It follows pipeline-model-definition's ModelInterpreter.groovy (jenkinsci/
pipeline-model-definition-plugin, pipeline-model-definition/src/main/resources/org/
jenkinsci/plugins/pipeline/modeldefinition/ModelInterpreter.groovy, read at HEAD
42c9dc3e; the pin 2.2293.v6e7193cec599 is newer than that snapshot):
- ``call``: agent, the root ``environment`` (credentials, then values), the wrapper
  options, the stages, then ``post`` inside the wrappers; an error before the stages
  still runs ``post``.
- ``evaluateSequentialStages``: a failed stage sets the first error; each later stage is
  skipped with ``Stage "X" skipped due to earlier failure(s)`` (SkippedStageReason
  messages in Messages.properties); a nested ``stages`` parent runs its own post after
  its children.
- ``evaluateStage``: skipped for an earlier failure, for ``skipStagesAfterUnstable`` on
  an UNSTABLE build, else ``when`` (before options/input/agent if asked, otherwise
  after them), stage options, credentials and environment, then parallel, nested stages
  or steps plus the stage's post (``executeSingleStage``); a ``when`` that fails logs
  ``Stage "X" skipped due to when conditional``; a skipped parent skips its children.
- ``getParallelStages``: branches run at once; ``failFast`` or the
  ``parallelsAlwaysFailFast()`` option aborts the others when one fails.
- ``runPostConditions``: conditions in BuildCondition order (conditions.py); an error in
  one is logged as ``Error when executing <c> post condition:`` and the rest still run.

Steps run on this host in the build's workspace whatever the agent says (the local
driver has no agents); ``agent { docker/dockerfile }`` strips the node's environment as
docker-workflow does (lab.jenkinsenv).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lab import jenkinsenv
from lab.pipeline import conditions, directives, matrix
from lab.pipeline.context import Ctx, StageState, time_span
from lab.pipeline.runtime import (
    Cancel,
    Interrupted,
    NeedsStack,
    StageRun,
    StepError,
    error_result,
)
from lab.pipeline.steps import run_steps, with_timeout

BuildError = (StepError, Interrupted, NeedsStack)
_SKIP_MESSAGES = {
    "earlier failure(s)": 'Stage "{}" skipped due to earlier failure(s)',
    "when conditional": 'Stage "{}" skipped due to when conditional',
    "unstable": 'Stage "{}" skipped due to earlier stage(s) marking the build as unstable',
    "stage selection": 'Stage "{}" skipped by the local driver (stage selection)',
}


def report(ctx: Ctx, error: BaseException) -> None:
    """Log an error once, as ``ERROR: message``, where it is first caught."""
    if not getattr(error, "lab_logged", False):
        ctx.log(f"ERROR: {error}")
        error.lab_logged = True  # type: ignore[attr-defined]


@dataclass
class Flow:
    root: Mapping[str, Any]

    @property
    def fail_fast_always(self) -> bool:
        return "parallelsAlwaysFailFast" in directives.option_names(self.root.get("options"))

    @property
    def skip_after_unstable(self) -> bool:
        return "skipStagesAfterUnstable" in directives.option_names(self.root.get("options"))

    # ---- stages ---------------------------------------------------------------------

    def sequential(
        self,
        ctx: Ctx,
        stages: Sequence[Mapping[str, Any]],
        pointer: str,
        first_error: BaseException | None,
        parent: Mapping[str, Any] | None,
        skipped: str | None,
    ) -> BaseException | None:
        for i, stage in enumerate(stages):
            error = self.stage(ctx, stage, f"{pointer}/{i}", first_error, skipped)
            first_error = first_error or error
        if skipped is None and parent is not None and parent.get("post"):
            first_error = self.post(ctx, parent.get("post"), pointer.rsplit("/", 1)[0] + "/post",
                                    first_error, stage_level=True)  # fmt: skip
        return first_error

    def stage(
        self,
        ctx: Ctx,
        stage: Mapping[str, Any],
        pointer: str,
        first_error: BaseException | None,
        skipped: str | None,
    ) -> BaseException | None:
        pointer = str(stage.get(matrix.POINTER, pointer))
        if stage.get("matrix") is not None:
            stage = matrix.expand(stage, pointer)
        name = str(stage.get("name"))
        ctx.log("[Pipeline] stage")
        ctx.log(f"[Pipeline] {{ ({name})")
        run = StageRun(name, False, None, "", 0.0, parent=ctx.stage.run.name if ctx.stage else None)
        with ctx.build.lock:
            ctx.build.stages.append(run)
        state = StageState(run, ctx.stage)
        sctx = ctx.child(stage=state, env={**ctx.env, **stage.get(matrix.CELL_ENV, {})})
        start = time.monotonic()
        error: BaseException | None = None
        if name in ctx.build.skip_stages:
            skipped = skipped or "stage selection"
        elif skipped is None and first_error is not None:
            skipped = "earlier failure(s)"
        elif skipped is None and self.skip_after_unstable and ctx.build.result == "UNSTABLE":
            skipped = "unstable"
        try:
            if skipped is None and not self.run_stage(sctx, stage, pointer, first_error):
                skipped = "when conditional"
            if skipped is not None:
                self.skip(sctx, stage, pointer, skipped, first_error)
        except BuildError as exc:
            report(sctx, exc)
            error = exc
        finally:
            if skipped is None and stage.get("parallel") and stage.get("post"):
                error = self.post(sctx, stage["post"], f"{pointer}/post", error, stage_level=True)
            run.seconds = time.monotonic() - start
            run.output = "\n".join(state.lines) + "\n"
            run.skipped = skipped is not None
            run.reason = "" if skipped is None else skipped
            run.status = _status(skipped, error, state.warning)
        ctx.log("[Pipeline] }")
        ctx.log("[Pipeline] // stage")
        return error

    def skip(
        self,
        ctx: Ctx,
        stage: Mapping[str, Any],
        pointer: str,
        reason: str,
        first_error: BaseException | None,
    ) -> None:
        ctx.log(_SKIP_MESSAGES[reason].format(stage.get("name")))
        if stage.get("parallel"):
            self.parallel(ctx, stage, pointer, first_error, reason)
        elif stage.get("stages"):
            self.sequential(ctx, stage["stages"], f"{pointer}/stages", first_error, stage, reason)

    def run_stage(
        self, ctx: Ctx, stage: Mapping[str, Any], pointer: str, first_error: BaseException | None
    ) -> bool:
        """The stage's body; False when its ``when`` did not pass."""
        when = stage.get("when")
        state = {"evaluated": when is None, "passed": True}

        def passes(point: str) -> bool:
            if state["evaluated"] or (point != "default" and not when.get(point)):  # type: ignore[union-attr]
                return bool(state["passed"])
            state["evaluated"] = True
            state["passed"] = all(
                conditions.when_passes(ctx, c, f"{pointer}/when/conditions/{i}")
                for i, c in enumerate(when.get("conditions", []))  # type: ignore[union-attr]
            )
            return bool(state["passed"])

        if not passes("beforeOptions"):
            return False

        def body(c: Ctx) -> None:
            if not passes("beforeInput"):
                return
            if stage.get("input") is not None:
                raise NeedsStack("input", c.build.where(f"{pointer}/input"))
            if stage.get("parallel"):
                if passes("default"):
                    directives.with_environment(
                        c, stage.get("environment"), f"{pointer}/environment",
                        lambda e: self.parallel(e, stage, pointer, first_error, None),
                    )  # fmt: skip
                return
            if not passes("beforeAgent"):
                return
            agent_ctx = self.agent(c, stage.get("agent"), f"{pointer}/agent")
            if passes("default"):
                directives.with_environment(
                    agent_ctx, stage.get("environment"), f"{pointer}/environment",
                    lambda e: self.leaf_or_nested(e, stage, pointer, first_error),
                )  # fmt: skip

        directives.wrap(ctx, stage.get("options"), f"{pointer}/options/options", body)
        return bool(state["passed"])

    def leaf_or_nested(
        self, ctx: Ctx, stage: Mapping[str, Any], pointer: str, first_error: BaseException | None
    ) -> None:
        if stage.get("tools"):
            raise NeedsStack("tools", ctx.build.where(f"{pointer}/tools"))
        if stage.get("stages"):
            nested = self.sequential(ctx, stage["stages"], f"{pointer}/stages", first_error,
                                     stage, None)  # fmt: skip
            if nested is not None:
                raise nested
            return
        limit = ctx.build.stage_timeout
        if limit is None:
            self.single(ctx, stage, pointer)
        else:
            note = f"[local driver] the stage ran past its bound of {time_span(limit)}"
            with_timeout(ctx, limit, lambda c: self.single(c, stage, pointer), announce=note)

    def single(self, ctx: Ctx, stage: Mapping[str, Any], pointer: str) -> None:
        branches = stage.get("branches") or []
        if len(branches) != 1:
            raise NeedsStack("parallel branches inside a stage", ctx.build.where(pointer))
        error: BaseException | None = None
        try:
            run_steps(ctx, branches[0].get("steps", []), f"{pointer}/branches/0/steps")
        except BuildError as exc:
            report(ctx, exc)
            error = exc
        error = self.post(ctx, stage.get("post"), f"{pointer}/post", error, stage_level=True)
        if error is not None:
            raise error

    def parallel(
        self,
        ctx: Ctx,
        stage: Mapping[str, Any],
        pointer: str,
        first_error: BaseException | None,
        skipped: str | None,
    ) -> None:
        children = stage.get("parallel") or []
        fail_fast = bool(stage.get("failFast")) or self.fail_fast_always
        ctx.log("[Pipeline] parallel")
        cancels = [Cancel(ctx.cancel) for _ in children]
        failures: list[BaseException] = []
        defects: list[Exception] = []
        lock = threading.Lock()

        def branch(i: int, child: Mapping[str, Any]) -> None:
            bctx = ctx.child(cancel=cancels[i])
            bctx.log(f"[Pipeline] {{ (Branch: {child.get('name')})")
            try:
                error = self.stage(bctx, child, f"{pointer}/parallel/{i}", first_error, skipped)
            except Exception as exc:  # a defect of the driver: surfaced after the join
                with lock:
                    defects.append(exc)
                return
            bctx.log("[Pipeline] }")
            if error is None:
                return
            with lock:
                failures.append(error)
            if fail_fast:
                cause = Interrupted("ABORTED", f"Failed in branch {child.get('name')}")
                for j, cancel in enumerate(cancels):
                    if j != i:
                        cancel.set(cause)

        threads = [
            threading.Thread(target=branch, args=(i, c), daemon=True)
            for i, c in enumerate(children)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if defects:
            raise defects[0]
        if failures:
            raise failures[0]

    def agent(self, ctx: Ctx, agent: Mapping[str, Any] | None, pointer: str) -> Ctx:
        if not agent:
            return ctx
        kind = str(agent.get("type"))
        if kind == "none":
            return ctx.child(agent="none")
        if kind == "label":
            _check_label(ctx, agent, pointer)
        ctx.log(f"[local driver] agent {kind}: steps run on this host in {ctx.build.workspace}")
        if kind in ("docker", "dockerfile"):
            stripped = jenkinsenv.collisions(ctx.env, ctx.build.node_env)
            if stripped:
                ctx.log(
                    "[local driver] unset in the agent container, equal to the node's environment "
                    "(docker-workflow WithContainerStep): " + ", ".join(stripped)
                )
        return ctx.child(agent=kind)

    # ---- post -------------------------------------------------------------------------

    def post(
        self,
        ctx: Ctx,
        post: Mapping[str, Any] | None,
        pointer: str,
        error: BaseException | None,
        *,
        stage_level: bool,
    ) -> BaseException | None:
        blocks = (post or {}).get("conditions") or []
        warning = ctx.stage.warning if stage_level and ctx.stage else None

        def applies(name: str) -> bool:
            return conditions.post_applies(name, conditions.combined_result(ctx, error, warning))

        if not any(applies(str(b.get("condition"))) for b in blocks):
            return error
        # A fired timeout or failFast stopped the body, not the post (Jenkins cancels
        # the steps running at that moment only).
        pctx = ctx.child(cancel=Cancel(ctx.build.root_cancel))
        if stage_level:
            pctx.log("Post stage")
        for name in conditions.POST_ORDER:
            for i, block in enumerate(blocks):
                if block.get("condition") != name or not applies(name):
                    continue
                steps = (block.get("branch") or {}).get("steps", [])
                try:
                    run_steps(pctx, steps, f"{pointer}/conditions/{i}/branch/steps")
                except BuildError as exc:
                    pctx.log(f"Error when executing {name} post condition:")
                    report(pctx, exc)
                    error = error or exc
        return error

    # ---- the whole build ------------------------------------------------------------

    def run(self, ctx: Ctx) -> BaseException | None:
        root = self.root
        first_error: BaseException | None = None
        post_done = False
        try:
            if root.get("libraries"):
                raise NeedsStack("libraries", ctx.build.where("/pipeline/libraries"))
            if root.get("tools"):
                raise NeedsStack("tools", ctx.build.where("/pipeline/tools"))
            if root.get("triggers"):
                ctx.log("[local driver] triggers: a local run is started by hand, they do nothing")
            actx = self.agent(ctx, root.get("agent"), "/pipeline/agent")
            if actx.agent != "none" and "skipDefaultCheckout" not in directives.option_names(
                root.get("options")
            ):
                _checkout_stage(actx)

            def body(c: Ctx) -> None:
                nonlocal first_error, post_done
                first_error = None
                first_error = self.sequential(c, root.get("stages", []), "/pipeline/stages",
                                              None, None, None)  # fmt: skip
                post_done = True
                first_error = self.build_post(c, first_error)
                if first_error is not None:
                    raise first_error

            options = root.get("options")
            directives.with_environment(
                actx, root.get("environment"), "/pipeline/environment",
                lambda e: directives.wrap(e, options, "/pipeline/options/options", body),
            )  # fmt: skip
        except BuildError as exc:
            first_error = first_error or exc
        if not post_done:
            if first_error is not None:
                report(ctx, first_error)
            first_error = self.build_post(ctx, first_error)
        return first_error

    def build_post(self, ctx: Ctx, error: BaseException | None) -> BaseException | None:
        post = self.root.get("post")
        blocks = (post or {}).get("conditions") or []
        result = conditions.combined_result(ctx, error, None)
        if not any(conditions.post_applies(str(b.get("condition")), result) for b in blocks):
            return error
        ctx.log("[Pipeline] stage")
        ctx.log("[Pipeline] { (Declarative: Post Actions)")
        error = self.post(ctx, post, "/pipeline/post", error, stage_level=False)
        ctx.log("[Pipeline] }")
        ctx.log("[Pipeline] // stage")
        return error


def _checkout_stage(ctx: Ctx) -> None:
    ctx.log("[Pipeline] stage")
    ctx.log("[Pipeline] { (Declarative: Checkout SCM)")
    ctx.log("[Pipeline] checkout")
    ctx.log("[local driver] checkout: the workspace was checked out before the build started")
    ctx.log("[Pipeline] }")
    ctx.log("[Pipeline] // stage")


def _status(skipped: str | None, error: BaseException | None, warning: str) -> str:
    if skipped is not None:
        return "NOT_BUILT"
    if error is not None:
        return error_result(error)
    return warning


def _check_label(ctx: Ctx, agent: Mapping[str, Any], pointer: str) -> None:
    """A label no node or cloud provides: Jenkins keeps the build in the queue for ever
    (the queue item's reason is core's Messages ``Queue.LabelHasNoNodes``, "There are no
    nodes with the label (x quoted)", seen in a generated Messages.java of jenkinsci/jenkins,
    revision not tied to the pin); here the build fails at once and says so."""
    provided = ctx.build.labels
    if provided is None:
        return
    raw = agent.get("argument") or {}
    label = str(ctx.value(raw, pointer) if isinstance(raw, Mapping) else raw).strip()
    if label in provided:
        ctx.log(f"[local driver] label {label!r}: provided by the lab, run on this host")
        return
    offered = ", ".join(sorted(provided)) or "none"
    raise StepError(
        f"There are no nodes with the label \u2018{label}\u2019: Jenkins would keep this "
        f"build waiting in the queue for ever; the local driver fails it instead (labels "
        f"the lab provides: {offered})"
    )
