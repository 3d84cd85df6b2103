"""Post the DVC metrics report on a Gitea pull request.

One comment per pull request, found again on later builds by a hidden marker and
edited in place; plus a commit status with context ``dvc/metrics`` on the built
commit (the Gitea plugin posts the build status under its own context).

Usage: python ci/gitea_report.py --metrics FILE --params FILE
Environment:
  GITEA_URL            Gitea base URL (Jenkins: http://gitea:3000)
  GIT_USER, GIT_TOKEN  account and token (Jenkins credential GIT_PAT); the token goes
                       in the Authorization header only
  CHANGE_ID            pull request number;  CHANGE_TARGET  its target branch
  GIT_COMMIT           commit the build ran (default: HEAD)
  BUILD_URL, BUILD_NUMBER  optional, linked from the comment and status
The owner/repository come from the workspace's `origin` remote URL.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import requests

from quality_gate import GateError, verdict

MARKER = "<!-- cd4ml-lab:dvc-metrics-report -->"
STATUS_CONTEXT = "dvc/metrics"
TIMEOUT = 30


class ReportError(Exception):
    pass


def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


def owner_repo(remote_url):
    """('cd4ml', 'cd4ml-demo') from http(s)://host[:port]/[prefix/]cd4ml/cd4ml-demo[.git]."""
    path = urlsplit(remote_url).path if "://" in remote_url else remote_url.split(":", 1)[-1]
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 2:
        raise ReportError(f"cannot read owner/repository from the origin URL {remote_url!r}")
    name = parts[-1][: -len(".git")] if parts[-1].endswith(".git") else parts[-1]
    return parts[-2], name


def env(name):
    value = os.environ.get(name, "")
    if not value:
        raise ReportError(f"environment variable {name} is not set")
    return value


class Gitea:
    def __init__(self, base_url, token):
        self.api = base_url.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def call(self, method, path, **kwargs):
        url = self.api + path
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise ReportError(f"Gitea at {self.api} unreachable ({method} {path}): {exc}") from exc
        if response.status_code >= 400:
            raise ReportError(
                f"Gitea {method} {path} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        return response.json() if response.content else None


def build_body(target, metrics_md, params_md, gate_line):
    build = os.environ.get("BUILD_NUMBER")
    url = os.environ.get("BUILD_URL")
    commit = os.environ.get("GIT_COMMIT") or git("rev-parse", "HEAD")
    origin = f"build #{build}" if build else "build"
    if url:
        origin = f"[{origin}]({url})"
    lines = [
        MARKER,
        f"### DVC metrics vs `{target}`",
        "",
        metrics_md.strip() or "No metric changed.",
        "",
        "#### Parameters",
        "",
        params_md.strip() or "No parameter changed.",
        "",
        f"Quality gate: {gate_line}",
        "",
        f"<sub>{origin} at {commit[:12]}; this comment is updated by every build.</sub>",
    ]
    return "\n".join(lines) + "\n"


def upsert_comment(gitea, owner, repo, number, user, body):
    """Edit our marked comment if it exists, else create it. Returns (id, created)."""
    comments = gitea.call("GET", f"/repos/{owner}/{repo}/issues/{number}/comments") or []
    for comment in comments:
        author = (comment.get("user") or {}).get("login")
        if MARKER in (comment.get("body") or "") and author in (None, user):
            gitea.call(
                "PATCH",
                f"/repos/{owner}/{repo}/issues/comments/{comment['id']}",
                json={"body": body},
            )
            return comment["id"], False
    created = gitea.call(
        "POST", f"/repos/{owner}/{repo}/issues/{number}/comments", json={"body": body}
    )
    return created["id"], True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", required=True, type=Path)
    parser.add_argument("--params", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        number = env("CHANGE_ID")
        target = env("CHANGE_TARGET")
        gitea = Gitea(env("GITEA_URL"), env("GIT_TOKEN"))
        user = env("GIT_USER")
        owner, repo = owner_repo(git("remote", "get-url", "origin"))
        try:
            passed, gate_line = verdict(".")
        except GateError as exc:
            passed, gate_line = False, f"not evaluated: {exc}"
        state = "success" if passed else "failure"
        body = build_body(
            target,
            args.metrics.read_text(encoding="utf-8"),
            args.params.read_text(encoding="utf-8"),
            f"{'passed' if passed else 'FAILED'}: {gate_line}",
        )
        comment_id, created = upsert_comment(gitea, owner, repo, number, user, body)
        sha = os.environ.get("GIT_COMMIT") or git("rev-parse", "HEAD")
        status = {"state": state, "context": STATUS_CONTEXT, "description": gate_line[:140]}
        if os.environ.get("BUILD_URL"):
            status["target_url"] = os.environ["BUILD_URL"]
        gitea.call("POST", f"/repos/{owner}/{repo}/statuses/{sha}", json=status)
    except ReportError as exc:
        print(f"[ci] ERROR: metrics report: {exc}", file=sys.stderr)
        return 1
    action = "posted" if created else "updated"
    print(
        f"[ci] {action} comment {comment_id} on {owner}/{repo}#{number}; "
        f"status {STATUS_CONTEXT}={state} on {sha[:12]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
