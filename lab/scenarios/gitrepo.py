"""The runner's git clone: every git call goes through here, with credentials in env only.

Credentials reach git through :mod:`lab.gitcreds`' credential helper, installed through
the environment; it reads two environment variables of the git process: no token in a
URL, an argv or a config file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lab.errors import ServiceError
from lab.gitcreds import git_credential_env
from lab.scenarios.driver import GitRemote, Identity

GIT_TIMEOUT = 120.0


class GitRepo:
    def __init__(self, path: Path, remote: GitRemote, author: Identity) -> None:
        self.path = path
        self.remote = remote
        self.author = author

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_AUTHOR_NAME=self.author.name,
            GIT_AUTHOR_EMAIL=self.author.email,
            GIT_COMMITTER_NAME=self.author.name,
            GIT_COMMITTER_EMAIL=self.author.email,
            GIT_CONFIG_NOSYSTEM="1",
        )
        return git_credential_env(env, (self.remote.username, self.remote.token))

    def git(self, *args: str, check: bool = True, cwd: Path | None = None) -> str:
        argv = [
            "git",
            "-c",
            "init.defaultBranch=main",
            *args,
        ]
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd or self.path,
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(f"git {args[0]} timed out after {GIT_TIMEOUT:.0f}s") from None
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().replace(self.remote.token, "****")
            raise ServiceError(f"git {' '.join(args[:2])} failed: {detail}")
        return proc.stdout

    @classmethod
    def clone(cls, path: Path, remote: GitRemote, author: Identity) -> GitRepo:
        repo = cls(path, remote, author)
        path.parent.mkdir(parents=True, exist_ok=True)
        repo.git("clone", "--quiet", remote.url, str(path), cwd=path.parent)
        return repo

    # ---- queries ---------------------------------------------------------
    def fetch(self) -> None:
        self.git("fetch", "--quiet", "--prune", "origin")

    def remote_head(self, branch: str) -> str | None:
        """The remote's head of ``branch`` (fetched now), or None when it does not exist."""
        out = self.git("ls-remote", "--heads", "origin", f"refs/heads/{branch}")
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{branch}":
                return sha
        return None

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def current_branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD").strip()

    def rev_list(self, since: str, until: str) -> list[str]:
        """Commits reachable from ``until`` but not ``since``, newest first."""
        out = self.git("rev-list", f"{since}..{until}")
        return out.split()

    def message(self, ref: str) -> str:
        return self.git("log", "-1", "--format=%B", ref).strip()

    def author_of(self, ref: str) -> str:
        return self.git("log", "-1", "--format=%an <%ae>", ref).strip()

    def changed_files(self, ref: str) -> list[str]:
        out = self.git("diff-tree", "--no-commit-id", "--name-only", "-r", "--root", ref)
        return sorted(line for line in out.splitlines() if line)

    def show(self, ref: str, path: str) -> str | None:
        """A file's text at ``ref``, or None when it does not exist there."""
        if self.git("ls-tree", "--name-only", ref, "--", path).strip() != path:
            return None
        return self.git("show", f"{ref}:{path}")

    def dirty(self) -> bool:
        return bool(self.git("status", "--porcelain").strip())
