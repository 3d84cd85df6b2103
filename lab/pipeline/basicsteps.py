"""The steps without a body: sh, echo, error, unstable, sleep, checkout, build.

workflow-basic-steps 1098.v808b_fd7f8cf4 (jenkinsci/workflow-basic-steps-plugin,
src/main/java/org/jenkinsci/plugins/workflow/steps/): EchoStep, ErrorStep (an
AbortException), UnstableStep l.75-77 (``WARNING: msg``, build and stage UNSTABLE),
SleepStep l.99 (``Sleeping for <span>``); shell.py for ``sh``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lab.pipeline import filesteps
from lab.pipeline.context import Ctx, time_span
from lab.pipeline.groovyexpr import Call, to_text
from lab.pipeline.runtime import Interrupted, NeedsStack, StepError
from lab.pipeline.shell import run_script
from lab.pipeline.stepargs import Args, seconds_of


def step_calls(ctx: Ctx, pointer: str) -> dict[str, Callable[..., Any]]:
    """Steps a value may call and use the result of (``"${sh(...).trim()}"``)."""

    def sh(*args: Any, **kwargs: Any) -> Any:
        return _sh_call(ctx, args[0] if args else kwargs.get("script"), kwargs)

    return {
        "sh": sh,
        "readFile": lambda *a, **k: filesteps.read_file(ctx, a[0] if a else k.get("file")),
        "fileExists": lambda *a, **k: filesteps.file_exists(ctx, a[0] if a else k.get("file")),
    }


# ---- simple steps ---------------------------------------------------------------------


def _sh_call(ctx: Ctx, script: Any, options: Mapping[str, Any]) -> Any:
    ctx.require_node()
    if script is None:
        raise StepError("sh: missing required parameter script")
    return_stdout = bool(options.get("returnStdout"))
    return_status = bool(options.get("returnStatus"))
    if return_stdout and return_status:
        raise StepError("You may not select both returnStdout and returnStatus.")
    result = run_script(
        to_text(script),
        cwd=ctx.cwd,
        env=ctx.step_env(),
        cancel=ctx.cancel,
        emit=ctx.log,
        return_stdout=return_stdout,
    )
    if ctx.stage is not None:
        ctx.stage.run.returncode = result.returncode
    if return_status:
        return result.returncode
    if result.returncode != 0:
        if return_stdout and result.stdout:
            ctx.log(result.stdout)  # DurableTaskStep: printed as a diagnostic
        raise StepError(
            f"script returned exit code {result.returncode}", returncode=result.returncode
        )
    return result.stdout if return_stdout else None


def sh_step(ctx: Ctx, args: Args, _children: Any, _pointer: str) -> Any:
    options = {k: args.get(k) for k in ("returnStdout", "returnStatus") if args.has(k)}
    return _sh_call(ctx, args.require("script", "sh"), options)


def echo_step(ctx: Ctx, args: Args, _children: Any, _pointer: str) -> None:
    ctx.log(to_text(args.get("message", "")))


def error_step(ctx: Ctx, args: Args, _children: Any, _pointer: str) -> None:
    raise StepError(to_text(args.require("message", "error")))


def unstable_step(ctx: Ctx, args: Args, _children: Any, _pointer: str) -> None:
    message = to_text(args.require("message", "unstable"))
    ctx.warn("UNSTABLE")
    ctx.build.set_result("UNSTABLE")
    ctx.log(f"WARNING: {message}")


def sleep_step(ctx: Ctx, args: Args, _children: Any, _pointer: str) -> None:
    seconds = seconds_of(args.require("time", "sleep"), args.get("unit"), "SECONDS")
    ctx.log(f"Sleeping for {time_span(seconds)}")
    if ctx.cancel.wait(seconds):
        ctx.cancel.raise_if_set()


def checkout_step(ctx: Ctx, _args: Args, _children: Any, _pointer: str) -> None:
    ctx.require_node()
    ctx.log("[local driver] checkout: the workspace was checked out before the build started")


def build_step(ctx: Ctx, args: Args, _children: Any, pointer: str) -> None:
    job = to_text(args.require("job", "build"))
    wait = bool(args.get("wait", True))
    propagate = bool(args.get("propagate", True))
    params: dict[str, str] = {}
    for item in args.get("parameters", []) or []:
        if not isinstance(item, Call) or "name" not in item.kwargs:
            raise NeedsStack(f"build parameter {to_text(item)}", ctx.build.where(pointer))
        params[to_text(item.kwargs["name"])] = to_text(item.kwargs.get("value", ""))
    if ctx.build.downstream is None:
        raise StepError(f"build job: '{job}' needs a downstream runner (none was given)")
    ctx.log(f"Scheduling project: {job}")
    result = ctx.build.downstream(job, params, wait)
    if not wait:
        return
    ctx.log(f"Build {job} completed: {result}")
    # pipeline-build-step 599.v4b_67ea_11b_152 (jenkinsci/pipeline-build-step-plugin,
    # BuildTriggerListener.java l.61-77, DownstreamFailureCause.java l.95-97): with
    # propagate, a result other than SUCCESS warns the stage and fails the step with a
    # FlowInterruptedException of that result (not an actual interruption).
    if propagate and result != "SUCCESS":
        ctx.warn(result)
        raise Interrupted(
            result,
            f"{job} completed with status {result} (propagate: false to ignore)",
            actual=False,
        )
