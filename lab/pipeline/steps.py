"""Running steps, and the block steps: withEnv, dir, withCredentials, timeout, retry,
catchError, warnError; the registry of every step the local driver runs.

workflow-basic-steps 1098.v808b_fd7f8cf4 (jenkinsci/workflow-basic-steps-plugin,
src/main/java/org/jenkinsci/plugins/workflow/steps/): EnvStep (withEnv), PushdStep (dir),
TimeoutStepExecution l.132-197 (``Timeout set to expire in <span>``, ``Cancelling nested
steps due to timeout``; the interruption is ABORTED with cause ``Timeout has been
exceeded``), RetryStepExecution l.66-85 (``ERROR: msg`` then ``Retrying``; the timeout of
a block inside retry is retried), CatchErrorStep l.143-186 (defaults buildResult
FAILURE, stageResult SUCCESS; an interruption sets both to its result; ``Setting overall
build result to X``), WarnErrorStep (UNSTABLE/UNSTABLE). bindings.py for
``withCredentials``, basicsteps.py and filesteps.py for the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lab.pipeline import basicsteps, bindings, filesteps
from lab.pipeline.context import Ctx, time_span
from lab.pipeline.groovyexpr import Call, to_text
from lab.pipeline.runtime import Cancel, Interrupted, NeedsStack, StepError, worse_than
from lab.pipeline.stepargs import Args, seconds_of

# Block-scoped Groovy the local driver does not interpret.
STACK_ONLY = {
    "script": "script { }",
    "input": "input",
    "node": "node { }",
    "parallel": "the parallel step",
    "load": "load",
    "library": "library",
}


def run_steps(ctx: Ctx, steps: Sequence[Mapping[str, Any]], pointer: str) -> None:
    for i, step in enumerate(steps):
        ctx.cancel.raise_if_set()
        run_step(ctx, step, f"{pointer}/{i}")


def run_step(ctx: Ctx, step: Mapping[str, Any], pointer: str) -> Any:
    name = str(step.get("name"))
    if name in STACK_ONLY:
        raise NeedsStack(STACK_ONLY[name], ctx.build.where(pointer))
    handler = STEPS.get(name)
    if handler is None:
        raise NeedsStack(f"step {name}", ctx.build.where(pointer))
    children = step.get("children")
    args = Args(ctx, step, pointer, basicsteps.step_calls(ctx, pointer))
    try:
        if children is None:
            label = args.get("label") if name == "sh" and args.has("label") else None
            ctx.log(f"[Pipeline] {name}" + (f" ({label})" if label else ""))
            return handler(ctx, args, None, pointer)
        ctx.log(f"[Pipeline] {name}")
        try:
            return handler(ctx, args, children, f"{pointer}/children")
        finally:
            ctx.log(f"[Pipeline] // {name}")
    except OSError as exc:  # a file step on a bad path, a missing `sh`: the step fails
        where = f" ({exc.filename})" if exc.filename else ""
        raise StepError(f"{name}: {exc.strerror or exc}{where}") from None
    except ValueError as exc:  # e.g. retry('x'): a bad argument value
        raise StepError(f"{name}: {exc}") from None


def block(ctx: Ctx, children: Sequence[Mapping[str, Any]], pointer: str) -> None:
    ctx.log("[Pipeline] {")
    try:
        run_steps(ctx, children, pointer)
    finally:
        ctx.log("[Pipeline] }")


# ---- block steps -------------------------------------------------------------------------


def env_overrides(env: Mapping[str, str], overrides: Sequence[str]) -> dict[str, str]:
    """EnvVars.override (jenkinsci/jenkins core/src/main/java/hudson/EnvVars.java l.145-168
    at ff9430ee): ``K=`` removes K; ``PATH+X=v`` prepends ``v:`` to PATH."""
    out = dict(env)
    for item in overrides:
        key, sep, value = to_text(item).partition("=")
        if not sep:
            raise StepError(f"withEnv: {to_text(item)!r} is not KEY=VALUE")
        if value == "":
            out.pop(key, None)
        elif "+" in key[1:]:
            base = key.split("+", 1)[0]
            out[base] = value + (":" + out[base] if base in out else "")
        else:
            out[key] = value
    return out


def _with_env(ctx: Ctx, args: Args, children: Any, pointer: str) -> None:
    overrides = args.require("overrides", "withEnv") or []
    block(ctx.child(env=env_overrides(ctx.env, overrides)), children, pointer)


def _dir(ctx: Ctx, args: Args, children: Any, pointer: str) -> None:
    path = ctx.cwd / to_text(args.require("path", "dir"))
    ctx.log(f"Running in {path}")
    block(ctx.child(cwd=path), children, pointer)


def _with_credentials(ctx: Ctx, args: Args, children: Any, pointer: str) -> None:
    ctx.require_node()
    bound = bindings.Bound()
    try:
        for call in args.require("bindings", "withCredentials") or []:
            if not isinstance(call, Call):
                raise NeedsStack(f"credential binding {to_text(call)}", ctx.build.where(pointer))
            bindings.bind(call, ctx.build.credentials, ctx.cwd, bound)
        ctx.build.masker.add(bound.secret.values())
        if bound.secret:
            ctx.log(bindings.masking_line(bound))
        inner = ctx.child(
            env={**ctx.env, **bound.env()}, sensitive=ctx.sensitive | set(bound.secret)
        )
        block(inner, children, pointer)
    finally:
        bound.release()


def with_timeout(
    ctx: Ctx, seconds: float, body: Callable[[Ctx], None], *, announce: str = ""
) -> None:
    """The timeout step around ``body``: ABORTED with ``Timeout has been exceeded``.
    ``announce`` replaces the step's own first line (the driver's per-stage bound)."""
    inner = ctx.child(cancel=Cancel(ctx.cancel))
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        if announce:
            ctx.log(announce)
        ctx.log("Cancelling nested steps due to timeout")
        inner.cancel.set(Interrupted("ABORTED", "Timeout has been exceeded"))

    if not announce:
        ctx.log(f"Timeout set to expire in {time_span(seconds)}")
    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        body(inner)
        if fired.is_set():  # the body finished as the timer fired: the interruption wins
            inner.cancel.raise_if_set()
    finally:
        timer.cancel()


def _timeout(ctx: Ctx, args: Args, children: Any, pointer: str) -> None:
    if args.get("activity", False):
        raise NeedsStack("timeout(activity: true)", ctx.build.where(pointer))
    seconds = seconds_of(args.require("time", "timeout"), args.get("unit"), "MINUTES")
    with_timeout(ctx, seconds, lambda inner: block(inner, children, pointer))


def with_retry(ctx: Ctx, count: int, body: Callable[[Ctx], None]) -> None:
    """The retry step: up to ``count`` attempts of ``body``."""
    left = count
    while True:
        try:
            body(ctx)
            return
        except (StepError, Interrupted) as exc:
            left -= 1
            if left <= 0 or ctx.cancel.reason() is not None:
                raise
            ctx.log(f"ERROR: {exc}")
            ctx.log("Retrying")


def _retry(ctx: Ctx, args: Args, children: Any, pointer: str) -> None:
    if args.has("conditions"):
        raise NeedsStack("retry(conditions: ...)", ctx.build.where(pointer))
    count = int(args.require("count", "retry"))
    with_retry(ctx, count, lambda inner: block(inner, children, pointer))


def catch_error(
    ctx: Ctx,
    body: Callable[[Ctx], None],
    *,
    build_result: str,
    stage_result: str,
    message: str | None,
    catch_interruptions: bool,
) -> None:
    try:
        body(ctx)
    except (StepError, Interrupted) as exc:
        if (
            isinstance(exc, Interrupted)
            and exc.actual
            and (not catch_interruptions or ctx.cancel.reason())
        ):
            raise  # an interruption of an enclosing block (timeout, failFast) goes on
        if message:
            ctx.log(f"ERROR: {message}")
        ctx.log(f"ERROR: {exc}")
        if isinstance(exc, Interrupted):
            build_result = stage_result = exc.result
        if worse_than(build_result, "SUCCESS"):
            if worse_than(build_result, ctx.build.result):
                ctx.log(f"Setting overall build result to {build_result}")
            ctx.build.set_result(build_result)
        if worse_than(stage_result, "SUCCESS"):
            ctx.warn(stage_result)


def _catch_error(ctx: Ctx, args: Args, children: Any, pointer: str) -> None:
    message = args.get("message")
    catch_error(
        ctx,
        lambda inner: block(inner, children, pointer),
        build_result=to_text(args.get("buildResult", "FAILURE")).upper(),
        stage_result=to_text(args.get("stageResult", "SUCCESS")).upper(),
        message=to_text(message) if message is not None else None,
        catch_interruptions=bool(args.get("catchInterruptions", True)),
    )


def _warn_error(ctx: Ctx, args: Args, children: Any, pointer: str) -> None:
    catch_error(
        ctx,
        lambda inner: block(inner, children, pointer),
        build_result="UNSTABLE",
        stage_result="UNSTABLE",
        message=to_text(args.require("message", "warnError")),
        catch_interruptions=bool(args.get("catchInterruptions", True)),
    )


Handler = Callable[[Ctx, Args, Any, str], Any]


def _file_step(fn: Callable[[Ctx, Args], Any]) -> Handler:
    return lambda ctx, args, _children, _pointer: fn(ctx, args)


STEPS: dict[str, Handler] = {
    "sh": basicsteps.sh_step,
    "echo": basicsteps.echo_step,
    "error": basicsteps.error_step,
    "unstable": basicsteps.unstable_step,
    "sleep": basicsteps.sleep_step,
    "checkout": basicsteps.checkout_step,
    "build": basicsteps.build_step,
    "withEnv": _with_env,
    "dir": _dir,
    "withCredentials": _with_credentials,
    "timeout": _timeout,
    "retry": _retry,
    "catchError": _catch_error,
    "warnError": _warn_error,
    "readFile": _file_step(lambda c, a: filesteps.read_file(c, a.require("file", "readFile"))),
    "writeFile": _file_step(
        lambda c, a: filesteps.write_file(c, a.require("file", "writeFile"), a.get("text", ""))
    ),
    "fileExists": _file_step(lambda c, a: filesteps.file_exists(c, a.get("file", ""))),
    "deleteDir": _file_step(lambda c, a: filesteps.delete_dir(c)),
    "archiveArtifacts": _file_step(filesteps.archive_artifacts),
    "junit": _file_step(filesteps.junit),
    "stash": _file_step(filesteps.stash),
    "unstash": _file_step(filesteps.unstash),
}
