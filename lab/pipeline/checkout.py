"""Jenkins' git checkout of a build's commit into a fresh workspace.

As the git plugin does for a multibranch build (``GitSCM`` with the branch source's
refspecs): ``git init``, fetch the remote's branches, ``checkout -f`` the commit,
detached. Credentials reach git through a credential helper (:mod:`lab.gitcreds`),
never in a URL or ``.git/config``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from lab.gitcreds import git_credential_env

GIT_TIMEOUT = 300.0


def checkout(
    clone_url: str,
    commit: str,
    workspace: Path,
    env: Mapping[str, str],
    git_credentials: tuple[str, str] | None,
    log: Callable[[str], None],
) -> str | None:
    """Check ``commit`` out into ``workspace``; the error as Jenkins words it, or None."""
    genv = git_credential_env(env, git_credentials)

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        log(f" > git {' '.join(args)}")
        try:
            return subprocess.run(
                ["git", *args],
                cwd=workspace,
                env=genv,
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, 128, "", f"timed out after {GIT_TIMEOUT:.0f}s")

    log(f"Cloning repository {clone_url}")
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
    log(f"Checking out Revision {head}")
    log(f'Commit message: "{subject}"')
    return None
