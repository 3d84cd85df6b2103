"""One function per step kind: what a user does to the project (git, forge, waiting)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lab.errors import ConfigError, ServiceError
from lab.scenarios import edits
from lab.scenarios.driver import Build, Progress, PullRequest, Target
from lab.scenarios.state import Run, StepFailed

DEFAULT_TIMEOUT = 900.0

StepFn = Callable[[Run, dict[str, Any], Progress], str]


def _branch(run: Run, args: dict[str, Any], progress: Progress) -> str:
    name, base = args["name"], args.get("from", "main")
    run.repo.fetch()
    if run.repo.remote_head(base) is None:
        raise StepFailed(f"branch {base!r} on the remote to branch from", "no such branch")
    run.repo.git("checkout", "--quiet", "-B", name, f"origin/{base}")
    run.names["branch"] = name
    return f"{name} from {base}"


def _edit(run: Run, args: dict[str, Any], progress: Progress) -> str:
    rel = args["file"]
    try:
        if "set" in args:
            old = edits.set_keys(run.repo.path, rel, args["set"])
            changes = ", ".join(f"{k}: {old[k]!r} -> {v!r}" for k, v in args["set"].items())
            return f"{rel} ({changes})"
        rep = args["replace"]
        n = edits.replace_text(run.repo.path, rel, rep["old"], rep["new"], rep.get("count"))
    except edits.EditError as exc:
        raise StepFailed("an applicable edit", str(exc)) from None
    return f"{rel} ({n} replacement(s))"


def _commit(run: Run, args: dict[str, Any], progress: Progress) -> str:
    message = args.get("message") or f"scenario {run.scenario.name} ({run.uid})"
    run.repo.git("add", "--all")
    if not run.repo.dirty() and not args.get("allow_empty"):
        raise StepFailed(
            "changes to commit (or `allow_empty: true`)", "nothing changed since the last commit"
        )
    run.repo.git("commit", "--quiet", "--allow-empty", "-m", message)
    run.names["head_sha"] = run.repo.head()
    return f"{run.names['head_sha'][:10]} {message.splitlines()[0]}"


def _pull(run: Run, args: dict[str, Any], progress: Progress) -> str:
    branch = run.repo.current_branch()
    run.repo.fetch()
    if run.repo.remote_head(branch) is None:
        return f"{branch}: not on the remote yet"
    before = run.repo.head()
    try:
        run.repo.git("rebase", "--quiet", f"origin/{branch}")
    except ServiceError as exc:
        run.repo.git("rebase", "--abort", check=False)
        raise StepFailed(f"origin/{branch} to rebase onto cleanly", str(exc)) from None
    run.names["head_sha"] = run.repo.head()
    gained = len(run.repo.rev_list(before, "HEAD"))
    return f"{branch}: {gained} new commit(s) from the remote"


def _push_current(run: Run) -> tuple[str, str]:
    branch = run.repo.current_branch()
    if branch == run.default_branch and not run.scenario.push_to_default_branch:
        # Every push of every driver goes through here: a scenario that forgot its
        # `branch` step must not change the project's main line on the shared lab.
        raise ConfigError(
            f"{run.scenario.path}: the scenario would push to {branch}, the project's "
            "default branch",
            hint="add a `branch` step before it, or set `push_to_default_branch: true` "
            "at the top of the scenario if that is what it tests",
        )
    sha = run.repo.head()
    try:
        run.repo.git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
    except ServiceError as exc:
        if "rejected" in str(exc) or "non-fast-forward" in str(exc):
            raise StepFailed(
                f"a fast-forward push to {branch}",
                "the remote branch has commits this clone lacks (a commit-back?): "
                "add a `pull` step before pushing",
            ) from None
        raise
    run.names["head_sha"] = sha
    run.driver.pushed(branch, sha)
    run.note_push(branch, sha)
    return branch, sha


def _push(run: Run, args: dict[str, Any], progress: Progress) -> str:
    branch, sha = _push_current(run)
    return f"{sha[:10]} to {branch}"


def _open_pr(run: Run, args: dict[str, Any], progress: Progress) -> str:
    head = run.repo.current_branch()
    base = args.get("base", "main")
    if head == base:
        raise StepFailed("a branch other than the base to open a PR from", f"on {base}")
    if run.repo.remote_head(head) != run.repo.head():
        _push_current(run)
    title = args.get("title") or f"{run.scenario.name} ({run.uid})"
    number = run.driver.open_pr(head, base, title, args.get("body", ""))
    run.pr = PullRequest(number, head, base, title)
    run.pr_open = True
    sha = run.repo.head()
    # The branch builds as PR-N from now on; a branch build nobody waited for is
    # dropped (the stack driver cancels it, see scenarios/README.md).
    run.due.pop(Target(head), None)
    run.due[Target(head, number)] = sha
    run.names.update(
        {"pr.number": number, "pr.head": head, "pr.base": base, "pr.title": title, "head_sha": sha}
    )
    return f"PR #{number} {head} -> {base}"


def _update_pr(run: Run, args: dict[str, Any], progress: Progress) -> str:
    assert run.pr is not None  # the loader checks an open_pr comes first
    branch = run.repo.current_branch()
    if branch != run.pr.head:
        raise StepFailed(f"to be on the PR's branch {run.pr.head}", f"on {branch}")
    if not run.pr_open:
        raise StepFailed(f"PR #{run.pr.number} open", "it was merged")
    _, sha = _push_current(run)
    return f"PR #{run.pr.number} now at {sha[:10]}"


def _merge_pr(run: Run, args: dict[str, Any], progress: Progress) -> str:
    assert run.pr is not None
    if not run.pr_open:
        raise StepFailed(f"PR #{run.pr.number} open", "already merged")
    run.driver.merge_pr(run.pr.number, args.get("style", "merge"))
    run.pr_open = False
    base_head = run.repo.remote_head(run.pr.base)
    if base_head is None:
        raise StepFailed(f"branch {run.pr.base} after the merge", "it is gone")
    run.due[Target(run.pr.base)] = base_head
    return f"PR #{run.pr.number} into {run.pr.base} ({base_head[:10]})"


def _use_credentials(run: Run, args: dict[str, Any], progress: Progress) -> str:
    for credential_id, state in args.items():
        run.driver.use_credentials(credential_id, state)
    return ", ".join(f"{k}={v}" for k, v in args.items()) + " for the next builds"


def _index_refuses(run: Run, args: dict[str, Any], progress: Progress) -> str:
    count = int(args["requests"])
    run.driver.refuse_index(count)
    return f"the private index refuses its next {count} request(s)"


def _start_build(run: Run, args: dict[str, Any], progress: Progress) -> str:
    job = str(args.get("job") or run.default_branch)
    params = {str(k): _param_text(v) for k, v in (args.get("params") or {}).items()}
    started = run.driver.start_build(job, params, progress)
    run.started = job
    shown = ", ".join(f"{k}={v}" for k, v in params.items()) or "default parameters"
    return f"{started} ({shown})"


def _param_text(value: Any) -> str:
    """A build parameter as Jenkins receives it (a form value): booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _record(run: Run, build: Build, target: Target) -> None:
    run.build, run.target = build, target
    run.names.update(
        {
            "build.number": build.number,
            "build.result": build.result,
            "build.commit": build.commit,
            "build.job": build.job,
            "build.url": build.url,
            "build.tag": build.tag,
        }
    )


def _wait_started(run: Run, args: dict[str, Any], progress: Progress) -> str:
    job = run.started
    assert job is not None  # the loader checks a start_build comes first
    run.started = None
    build = run.driver.wait_started(float(args.get("timeout", DEFAULT_TIMEOUT)), progress)
    _record(run, build, Target(job))
    return _judged(build, args.get("result"))


def _judged(build: Build, wanted: str | None) -> str:
    summary = f"{build.job} #{build.number} {build.result} on {build.commit[:10]}"
    if wanted and build.result != wanted:
        raise StepFailed(f"build result {wanted}", summary)
    return summary


def _wait_chain(run: Run, args: dict[str, Any], progress: Progress) -> str:
    main = Target(run.default_branch)
    commit = run.due.get(main)
    if commit is None:
        raise StepFailed(
            f"a push to {main.branch} (it starts the chain)",
            f"nothing was pushed to {main.branch}, so no webhook would start the chain",
        )
    timeout = float(args.get("timeout", DEFAULT_TIMEOUT))
    builds = run.driver.wait_chain(commit, timeout, progress)
    run.due.pop(main, None)
    if not builds:
        raise StepFailed("a chain build", f"no build of the chain ran for {commit[:10]}")
    _record(run, builds[-1], main)
    # The chain's identity: its first build's BUILD_TAG (what preprocess passes on as CHAIN_ID).
    run.names["chain.tag"] = builds[0].tag
    seen = {b.job.rsplit("/", 1)[-1]: b for b in builds}
    summary = " -> ".join(f"{b.job} #{b.number} {b.result}" for b in builds)
    wanted = args.get("jobs") or {}
    wrong = [
        f"{job} {seen[job].result if job in seen else 'did not run'}"
        for job, result in wanted.items()
        if job not in seen or seen[job].result != result
    ]
    if wrong:
        expected = ", ".join(f"{j} {r}" for j, r in wanted.items())
        raise StepFailed(f"chain {expected}", f"{summary} ({'; '.join(wrong)})")
    return summary


def _wait_build(run: Run, args: dict[str, Any], progress: Progress) -> str:
    if args["for"] == "started":
        return _wait_started(run, args, progress)
    if args["for"] == "pr":
        target = run.pr_target()
        assert target is not None
    else:
        target = Target(args.get("branch") or run.names["branch"])
    commit = run.due.get(target)
    pr = run.pr_target()
    if commit is None and target.pr is None and run.pr_open and pr and pr.branch == target.branch:
        raise StepFailed(
            f"a build due for {target}",
            f"{target.branch} is the head of open PR #{pr.pr}: it builds as {pr.job} only",
        )
    if commit is None:
        last = f" since build #{run.build.number}" if run.build and run.target == target else ""
        raise StepFailed(
            f"a build due for {target}",
            f"nothing was pushed to {target.branch}{last}, so no webhook would start one",
        )
    timeout = float(args.get("timeout", DEFAULT_TIMEOUT))
    build = run.driver.wait_build(target, commit, timeout, progress)
    _record(run, build, target)
    # If the build pushed to its branch (commit-back), the webhook starts another build.
    head = run.repo.remote_head(target.branch)
    if head is not None and head != build.commit:
        run.note_push(target.branch, head)
    else:
        run.due.pop(target, None)
    return _judged(build, args.get("result"))


STEPS: dict[str, StepFn] = {
    "branch": _branch,
    "edit": _edit,
    "commit": _commit,
    "pull": _pull,
    "push": _push,
    "open_pr": _open_pr,
    "update_pr": _update_pr,
    "merge_pr": _merge_pr,
    "use_credentials": _use_credentials,
    "index_refuses": _index_refuses,
    "start_build": _start_build,
    "wait_build": _wait_build,
    "wait_chain": _wait_chain,
}
