"""One function per expectation kind. Each returns a :class:`Check`: held or not, and why."""

from __future__ import annotations

import configparser
import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from lab.scenarios.driver import Build, Target
from lab.scenarios.state import Run


@dataclass(frozen=True)
class Check:
    ok: bool
    expected: str
    seen: str


ExpectFn = Callable[[Run, Any], Check]


def _build(run: Run) -> tuple[Build, Target]:
    assert run.build is not None and run.target is not None  # the loader checks wait_build
    return run.build, run.target


def _head(run: Run, branch: str) -> str:
    head = run.repo.remote_head(branch)
    if head is None:
        raise LookupError(f"branch {branch} is not on the remote")
    run.repo.fetch()
    return head


def _commit_line(run: Run, sha: str) -> str:
    subject = run.repo.message(sha).splitlines()[0] if run.repo.message(sha) else ""
    return f"{sha[:10]} {subject!r} by {run.repo.author_of(sha)}"


def _texts(arg: str | list[str]) -> list[str]:
    return [arg] if isinstance(arg, str) else list(arg)


# ---- build -------------------------------------------------------------------


def build_result(run: Run, arg: str) -> Check:
    build, _ = _build(run)
    seen = f"{build.job} #{build.number} {build.result}"
    return Check(build.result == arg, f"result {arg}", seen)


def log_contains(run: Run, arg: str | list[str]) -> Check:
    build, _ = _build(run)
    missing = [t for t in _texts(arg) if t not in build.log]
    return Check(
        not missing,
        "the build log to contain " + ", ".join(map(repr, _texts(arg))),
        f"missing {', '.join(map(repr, missing))}" if missing else "all present",
    )


def log_lacks(run: Run, arg: str | list[str]) -> Check:
    build, _ = _build(run)
    found = [t for t in _texts(arg) if t in build.log]
    lines = [line.strip() for line in build.log.splitlines() if any(t in line for t in found)]
    shown = []
    for line in lines[:3]:  # never echo the text itself: it may be a secret
        for text in found:
            line = line.replace(text, "<match>")
        shown.append(line)
    return Check(
        not found,
        f"the build log not to contain {len(_texts(arg))} given text(s)",
        f"found in {len(lines)} line(s), e.g. {shown[0]!r}" if found else "none found",
    )


# ---- git -------------------------------------------------------------------------


def branch_gained_commit(run: Run, arg: dict[str, Any] | None) -> Check:
    build, target = _build(run)
    arg = arg or {}
    head = _head(run, target.branch)
    new = run.repo.rev_list(build.commit, head)
    wanted = ", ".join(f"{k} {v!r}" for k, v in arg.items())
    expected = f"a new commit on {target.branch} after {build.commit[:10]}" + (
        f" with {wanted}" if wanted else ""
    )
    if not new:
        return Check(False, expected, f"no new commit ({target.branch} still at {head[:10]})")
    message, author = run.repo.message(head), run.repo.author_of(head)
    problems = []
    if "message_contains" in arg and arg["message_contains"] not in message:
        problems.append("message differs")
    if "message_matches" in arg and not re.search(arg["message_matches"], message):
        problems.append("message does not match")
    if "author" in arg and arg["author"].lower() not in author.lower():
        problems.append("author differs")
    seen = f"{len(new)} new commit(s), head {_commit_line(run, head)}"
    return Check(not problems, expected, seen + (f" ({'; '.join(problems)})" if problems else ""))


def no_new_commit(run: Run, arg: object) -> Check:
    build, target = _build(run)
    head = _head(run, target.branch)
    new = run.repo.rev_list(build.commit, head) if head != build.commit else []
    seen = (
        f"{target.branch} still at {head[:10]}"
        if not new
        else f"{len(new)} new commit(s), head {_commit_line(run, head)}"
    )
    return Check(not new, f"no commit on {target.branch} after {build.commit[:10]}", seen)


def commit_changed_files(run: Run, arg: dict[str, Any]) -> Check:
    _, target = _build(run)
    ref = arg.get("ref") or _head(run, target.branch)
    if "ref" in arg:
        run.repo.fetch()
    files = run.repo.changed_files(ref)
    problems = []
    if "only" in arg:
        stray = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in arg["only"])]
        if stray or not files:
            problems.append(f"outside `only`: {stray}" if stray else "no file changed")
    if "includes" in arg:
        absent = [p for p in arg["includes"] if not any(fnmatch.fnmatch(f, p) for f in files)]
        if absent:
            problems.append(f"not changed: {absent}")
    parts = []
    if "only" in arg:
        parts.append(f"only {arg['only']}")
    if "includes" in arg:
        parts.append(f"including {arg['includes']}")
    seen = f"{ref[:10]} changed {files}" + (f" ({'; '.join(problems)})" if problems else "")
    return Check(not problems, f"commit {ref[:10]} to change " + " and ".join(parts), seen)


# ---- forge ---------------------------------------------------------------------


def pr_comment_contains(run: Run, arg: str) -> Check:
    assert run.pr is not None
    comments = run.driver.pr_comments(run.pr.number)
    ok = any(arg in c for c in comments)
    last = comments[-1].strip().replace("\n", " ")[:160] if comments else ""
    seen = f"{len(comments)} comment(s)" + (f"; last: {last!r}" if last else "")
    return Check(ok, f"a comment on PR #{run.pr.number} containing {arg!r}", seen)


def pr_comment_count(run: Run, arg: int | dict[str, int]) -> Check:
    assert run.pr is not None
    n = len(run.driver.pr_comments(run.pr.number))
    if isinstance(arg, int):
        return Check(n == arg, f"{arg} comment(s) on PR #{run.pr.number}", f"{n}")
    low, high = arg.get("min", 0), arg.get("max")
    ok = n >= low and (high is None or n <= high)
    span = f"at least {low}" + (f" and at most {high}" if high is not None else "")
    return Check(ok, f"{span} comment(s) on PR #{run.pr.number}", f"{n}")


def commit_status(run: Run, arg: dict[str, str]) -> Check:
    build, _ = _build(run)
    ref = arg.get("ref") or build.commit
    statuses = run.driver.commit_statuses(ref)
    latest: dict[str, str] = {}
    for status in statuses:  # oldest first: the last one per context wins
        latest[status.context] = status.state
    matching = {c: s for c, s in latest.items() if fnmatch.fnmatch(c, arg["context"])}
    ok = bool(matching) and all(s == arg["state"] for s in matching.values())
    seen = (
        ", ".join(f"{c}={s}" for c, s in matching.items())
        if matching
        else f"no status with that context (contexts: {sorted(latest) or 'none'})"
    )
    return Check(ok, f"status {arg['context']}={arg['state']} on {ref[:10]}", seen)


# ---- DVC remotes ---------------------------------------------------------------


def uncached_outputs(dvc_yaml_text: str) -> set[str]:
    """Paths dvc.yaml declares with ``cache: false`` (kept in git, never in a remote)."""
    data = yaml.safe_load(dvc_yaml_text) or {}
    paths: set[str] = set()
    for stage in (data.get("stages") or {}).values():
        for section in ("outs", "metrics", "plots"):
            for entry in stage.get(section) or []:
                if isinstance(entry, dict):
                    for path, opts in entry.items():
                        if isinstance(opts, dict) and opts.get("cache") is False:
                            paths.add(str(path))
    return paths


def lock_outputs(
    lock_text: str, uncached: frozenset[str] | set[str] = frozenset()
) -> dict[str, str]:
    """Output path -> md5 of every cached stage output in a dvc.lock (``.dir`` md5 for dirs)."""
    data = yaml.safe_load(lock_text) or {}
    outs: dict[str, str] = {}
    for stage in (data.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("md5") and out["path"] not in uncached:
                outs[out["path"]] = out["md5"]
    return outs


def remote_url(config_text: str, remote: str) -> str | None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(config_text)
    section = f'remote "{remote}"'
    for name in parser.sections():
        bare = name[1:-1] if len(name) > 1 and name[0] == name[-1] == "'" else name
        if bare == section:
            return parser[name].get("url")
    return None


def object_key(md5: str) -> str:
    """Where DVC 3 stores an object under a remote: ``files/md5/ab/cdef...``."""
    return f"files/md5/{md5[:2]}/{md5[2:]}"


def remote_has_outputs(run: Run, arg: str) -> Check:
    _, target = _build(run)
    head = _head(run, target.branch)
    lock = run.repo.show(head, "dvc.lock")
    expected = f"every output in dvc.lock at {head[:10]} pushed to the {arg} remote"
    if lock is None:
        return Check(False, expected, f"no dvc.lock at {head[:10]}")
    outs = lock_outputs(lock, uncached_outputs(run.repo.show(head, "dvc.yaml") or ""))
    if not outs:
        return Check(False, expected, f"dvc.lock at {head[:10]} lists no outputs")
    config = run.repo.show(head, ".dvc/config") or ""
    url = remote_url(config, arg)
    keys = run.driver.remote_objects(arg, url or "")
    missing = [path for path, md5 in outs.items() if object_key(md5) not in keys]
    seen = (
        f"missing {missing} ({len(keys)} object(s) in the remote)"
        if missing
        else f"all {len(outs)} output(s) present"
    )
    return Check(not missing, expected, seen)


# ---- results on S3 and archived artifacts --------------------------------------------

# The marker a complete result ends with (projects/cd4ml-train trainkit.store MARKER:
# every file first, the marker last).
COMPLETE_MARKER = "_COMPLETE"


def s3_prefix(run: Run, arg: dict[str, Any]) -> Check:
    """Objects under ``path`` of the lab's bucket (``s3://`` URL or a bucket-relative path):
    ``complete`` true/false is whether the prefix holds the marker; ``includes`` names keys
    (relative to the prefix) that must be there."""
    path = str(arg["path"])
    url = path if path.startswith("s3://") else f"s3://{run.driver.bucket}/{path.strip('/')}"
    keys = run.driver.remote_objects("origin", url)
    problems = []
    if "complete" in arg and (COMPLETE_MARKER in keys) != arg["complete"]:
        problems.append("the marker is there" if arg["complete"] is False else "no marker")
    missing = [k for k in arg.get("includes", []) if k not in keys]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    wanted = []
    if "complete" in arg:
        wanted.append(("a complete" if arg["complete"] else "no complete") + " result")
    if arg.get("includes"):
        wanted.append("objects " + ", ".join(arg["includes"]))
    shown = sorted(keys)[:8]
    seen = f"{len(keys)} object(s) under {url}" + (f": {', '.join(shown)}" if shown else "")
    if len(keys) > len(shown):
        seen += ", ..."
    expected = f"{' and '.join(wanted) or 'objects'} under {url}"
    if not wanted:
        problems += [] if keys else ["none"]
    return Check(not problems, expected, seen + (f" ({'; '.join(problems)})" if problems else ""))


def artifact(run: Run, arg: dict[str, Any]) -> Check:
    """An artifact the build archived, holding each of ``contains`` (never echoed)."""
    build, _ = _build(run)
    content = run.driver.artifact(build, str(arg["path"]))
    expected = f"artifact {arg['path']} of {build.job} #{build.number}"
    if content is None:
        return Check(False, expected, "no such artifact")
    text = content.decode("utf-8", errors="replace")
    missing = [t for t in _texts(arg.get("contains", [])) if t not in text]
    if arg.get("contains"):
        expected += " containing " + ", ".join(map(repr, _texts(arg["contains"])))
    seen = f"{len(content)} bytes" + (
        f", missing {', '.join(map(repr, missing))}" if missing else ""
    )
    return Check(not missing, expected, seen)


EXPECTATIONS: dict[str, ExpectFn] = {
    "build_result": build_result,
    "branch_gained_commit": branch_gained_commit,
    "commit_changed_files": commit_changed_files,
    "pr_comment_contains": pr_comment_contains,
    "pr_comment_count": pr_comment_count,
    "commit_status": commit_status,
    "remote_has_outputs": remote_has_outputs,
    "no_new_commit": no_new_commit,
    "log_contains": log_contains,
    "log_lacks": log_lacks,
    "s3_prefix": s3_prefix,
    "artifact": artifact,
}
