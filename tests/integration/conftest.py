"""Shared set-up for the demo pipeline's integration tests: real git (over the local
forge's smart HTTP), real DVC, a real S3 server (SeaweedFS, the session's `seaweedfs`
fixture) as remote `origin`, with the lab's least-privilege DVC identity.

Expensive parts are built once per session: the S3 server's bucket and DVC identity
(made by the code `lab up` runs), the forge with the demo project on `main`, and main's
data seeded into the bucket the way a user would have pushed it. Tests work on their own
branches and pull requests (unique names) and their own temp dir as `/extras`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lab.config import LabConfig
from lab.dvcseed import seed_dvc_remote
from lab.pipeline import buildenv
from lab.pipeline.build import run_build, username_password
from lab.projects import export_project

from ._project import PROJECT, REPO_ROOT, VENV_BIN

OWNER, REPO = "cd4ml", "cd4ml-demo"
BUCKET = "cd4ml-dvc"
BOT_USER, BOT_EMAIL = "cd4ml-bot", "cd4ml-bot@lab.invalid"
DEV_USER = "dev"


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{proc.stderr}")
    return proc.stdout.strip()


def authed_git_env(user: str, token: str) -> dict[str, str]:
    """git reads the token from the environment through a helper: never in a URL."""
    helper = (
        '!f() { test "$1" = get || exit 0; echo username=$GIT_USER; echo password=$GIT_TOKEN; }; f'
    )
    return {
        **os.environ,
        "GIT_USER": user,
        "GIT_TOKEN": token,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": "credential.helper",
        "GIT_CONFIG_VALUE_1": helper,
    }


@dataclass
class Lab:
    forge: Any
    s3: Any
    dvc_creds: tuple[str, str]
    tokens: dict[str, str]
    root: Path
    dev_checkout: Path
    _counter: list[int] = field(default_factory=lambda: [0])

    @property
    def clone_url(self) -> str:
        return self.forge.clone_url(OWNER, REPO)

    def dev_env(self) -> dict[str, str]:
        return authed_git_env(DEV_USER, self.tokens[DEV_USER])

    def base_env(self, extras: Path) -> dict[str, str]:
        """What Jenkins' global config and the agent image give every build."""
        keep = ("HOME", "LANG", "LC_ALL", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "TMPDIR")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
        env.update(
            buildenv.lab_global_env(
                gitea_url=self.forge.url,
                s3_endpoint=self.s3.endpoint_url,
                extras=extras,
                settings=self.settings(),
                bot_user=BOT_USER,
            )
        )
        return env

    def settings(self) -> dict[str, str]:
        """The lab's LAB_* settings compose would see (LabConfig.compose_env())."""
        return LabConfig.load(root=REPO_ROOT, env={"LAB_BOT_EMAIL": BOT_EMAIL}).compose_env()

    def unique(self, stem: str) -> str:
        return f"{stem}-{uuid.uuid4().hex[:8]}"

    def push_branch(
        self, name: str, edit: Callable[[Path], None], message: str, base: str = "main"
    ) -> str:
        """A developer's commit on a new branch `name` from `base`; returns its sha."""
        env = self.dev_env()
        co = self.dev_checkout
        git(co, "fetch", "--quiet", "origin", env=env)
        git(co, "checkout", "--quiet", "-B", name, f"origin/{base}")
        edit(co)
        git(co, "commit", "--quiet", "-am", message)
        git(co, "push", "--quiet", "origin", f"HEAD:refs/heads/{name}", env=env)
        return git(co, "rev-parse", "HEAD")

    def branch_head(self, name: str) -> str:
        out = git(self.root, "ls-remote", self.clone_url, f"refs/heads/{name}", env=self.dev_env())
        return out.split()[0] if out else ""

    def open_pr(self, head: str, title: str) -> int:
        return self.forge.open_pr(OWNER, REPO, head=head, base="main", title=title)

    def workspace(self) -> Path:
        self._counter[0] += 1
        path = self.root / "ws" / f"build-{self._counter[0]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def build(
        self,
        env: dict[str, str],
        commit: str,
        extras: Path,
        dvc_creds: tuple[str, str] | None = None,
        skip_stages: tuple[str, ...] = (),
    ) -> Any:
        extras.mkdir(parents=True, exist_ok=True)
        return run_build(
            clone_url=self.clone_url,
            commit=commit,
            workspace=self.workspace(),
            env={**self.base_env(extras), **env},
            credentials={
                "DVC_Remote_Creds": username_password(
                    "DVC_Remote_Creds", *(dvc_creds or self.dvc_creds)
                ),
                "GIT_PAT": username_password("GIT_PAT", BOT_USER, self.tokens[BOT_USER]),
            },
            git_credentials=(BOT_USER, self.tokens[BOT_USER]),
            node_env=buildenv.lab_node_env(settings=self.settings(), bot_user=BOT_USER),
            skip_stages=skip_stages,
        )

    def build_branch(self, branch: str, extras: Path, skip_stages: tuple[str, ...] = ()) -> Any:
        return self.build(
            buildenv.jenkins_env_for_branch(branch),
            self.branch_head(branch),
            extras,
            skip_stages=skip_stages,
        )

    def build_pr(
        self,
        number: int,
        head: str,
        extras: Path,
        dvc_creds: tuple[str, str] | None = None,
        skip_stages: tuple[str, ...] = (),
    ) -> Any:
        env = buildenv.jenkins_env_for_pr(number, head=head, target="main")
        return self.build(env, self.branch_head(head), extras, dvc_creds, skip_stages)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, seaweedfs: Any) -> Iterator[Lab]:
    localforge = pytest.importorskip(
        "lab.localforge", reason="lab.localforge (local forge, runner) is missing"
    )
    root = tmp_path_factory.mktemp("cd4ml-lab")
    tokens = {BOT_USER: uuid.uuid4().hex, DEV_USER: uuid.uuid4().hex}
    with contextlib.ExitStack() as stack:
        s3 = seaweedfs
        s3.create_bucket(BUCKET)
        creds = s3.create_credentials(BUCKET)
        forge = stack.enter_context(localforge.LocalForge(root / "forge", users=tokens))
        forge.create_repo(OWNER, REPO)

        # The project as `lab up` pushes it, then main's data seeded into the bucket.
        checkout = root / "dev"
        export_project(PROJECT, checkout)
        git(checkout, "init", "--quiet", "-b", "main")
        git(checkout, "add", "-A")
        git(checkout, "commit", "--quiet", "-m", "cd4ml-demo: initial import")
        git(checkout, "remote", "add", "origin", forge.clone_url(OWNER, REPO))
        git(
            checkout,
            "push",
            "--quiet",
            "origin",
            "main",
            env=authed_git_env(DEV_USER, tokens[DEV_USER]),
        )
        lab = Lab(
            forge=forge,
            s3=s3,
            dvc_creds=creds,
            tokens=tokens,
            root=root,
            dev_checkout=checkout,
        )
        seed_env = lab.base_env(root / "seed-extras")
        seed_dvc_remote(checkout, env=seed_env, credentials=creds)
        assert not git(checkout, "status", "--porcelain", "--untracked-files=no"), (
            "seed changed tracked files"
        )
        yield lab
