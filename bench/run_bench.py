"""Benchmark of the local driver's Jenkinsfile runner (not a test).

1. A pull-request build of the demo project run from its Jenkinsfile (``run_build``:
   checkout, the declarative model, the executor) next to the same ``ci/`` scripts run
   directly by a shell after a plain ``git clone`` (the floor: what the scripts cost
   alone), in the same environment: a local forge (git smart HTTP + Gitea API subset),
   a real S3 server (SeaweedFS) as ``origin``, a warm ``/extras``. Rounds alternate the
   two, each on a fresh PR changing a parameter (so each repro, pushes and commits back).
   Prints each round, the medians and their ratio (goal: <= 1.3).
2. The model extraction: every shipped Jenkinsfile and test fixture in one JVM, and one
   file alone (the JVM's start-up), per file.
Usage: .venv/bin/python bench/run_bench.py [ROUNDS]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from lab.config import LabConfig
from lab.dvcseed import seed_dvc_remote
from lab.gitcreds import git_credential_env
from lab.localforge import LocalForge
from lab.localforge.seaweed import SeaweedS3
from lab.pipeline import buildenv, model
from lab.pipeline.build import load_model, run_build, username_password
from lab.projects import export_project

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT = REPO_ROOT / "projects" / "cd4ml-demo"
OWNER, REPO, BUCKET, BOT = "cd4ml", "cd4ml-demo", "cd4ml-dvc", "cd4ml-bot"
# The demo Jenkinsfile's stages, for the shell: (stage, script, credential bound as
# (id, user variable, secret variable) or None). Checked against the model below.
STAGES = [
    ("Unit tests", "ci/unit_tests.sh", None),
    ("Lint", "ci/lint.sh", None),
    ("DVC credentials", "ci/dvc_credentials.sh", "DVC"),
    ("Sync remotes", "ci/sync_remotes.sh", "DVC"),
    ("Reproduce", "ci/repro.sh", None),
    ("Push outputs", "ci/push_outputs.sh", "DVC"),
    ("Metrics report", "ci/metrics_report.sh", "GIT"),
    ("Quality gate", "ci/quality_gate.sh", None),
    ("Commit back", "ci/commit_back.sh", "GIT"),
]


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {cwd}:\n{proc.stderr}")
    return proc.stdout.strip()


class Bench:
    def __init__(self, root: Path, forge: LocalForge, s3: SeaweedS3, token: str) -> None:
        self.root, self.forge, self.s3, self.token = root, forge, s3, token
        self.settings = LabConfig.load(root=REPO_ROOT, env={}).compose_env()
        self.dvc = s3.create_credentials(BUCKET)
        self.url = forge.clone_url(OWNER, REPO)
        self.git_env = git_credential_env(os.environ, (BOT, token))
        self.dev = root / "dev"
        self.warm = root / "warm-extras"
        self.count = 0

    def env(self, extras: Path) -> dict[str, str]:
        keep = ("HOME", "LANG", "LC_ALL", "TMPDIR")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        env.update(
            buildenv.lab_global_env(
                gitea_url=self.forge.url,
                s3_endpoint=self.s3.endpoint_url,
                extras=extras,
                settings=self.settings,
                bot_user=BOT,
            )
        )
        return env

    def setup(self) -> None:
        self.forge.create_repo(OWNER, REPO)
        export_project(PROJECT, self.dev)
        git(self.dev, "init", "-q", "-b", "main")
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-qm", "import")
        git(self.dev, "remote", "add", "origin", self.url)
        git(self.dev, "push", "-q", "origin", "main", env=self.git_env)
        seed_dvc_remote(self.dev, env=self.env(self.warm), credentials=self.dvc)
        self.warm.mkdir(parents=True, exist_ok=True)

    def pr(self, label: str) -> tuple[int, str, str]:
        """A fresh PR changing a parameter: (number, head branch, head commit)."""
        self.count += 1
        branch = f"bench-{label}-{uuid.uuid4().hex[:6]}"
        git(self.dev, "checkout", "-q", "-B", branch, "origin/main")
        params = self.dev / "params.yaml"
        text = params.read_text()
        params.write_text(text.replace("n_estimators: 30", f"n_estimators: {30 + self.count}"))
        git(self.dev, "commit", "-qam", f"bench {label}")
        git(self.dev, "push", "-q", "origin", f"HEAD:refs/heads/{branch}", env=self.git_env)
        git(self.dev, "fetch", "-q", "origin", env=self.git_env)
        number = self.forge.open_pr(OWNER, REPO, head=branch, base="main", title=label)
        return int(number), branch, git(self.dev, "rev-parse", "HEAD")

    def extras(self, label: str) -> Path:
        extras = self.root / f"extras-{label}-{self.count}"
        shutil.copytree(self.warm, extras)
        return extras

    def credentials(self) -> dict[str, tuple[str, str]]:
        return {"DVC": self.dvc, "GIT": (BOT, self.token)}

    def run_jenkinsfile(self) -> float:
        number, branch, commit = self.pr("jenkinsfile")
        env = {
            **self.env(self.extras("jenkinsfile")),
            **buildenv.jenkins_env_for_pr(number, head=branch, target="main"),
        }
        creds = self.credentials()
        start = time.monotonic()
        run = run_build(
            clone_url=self.url,
            commit=commit,
            workspace=self.root / f"ws-jenkinsfile-{self.count}",
            env=env,
            credentials={
                "DVC_Remote_Creds": username_password("DVC_Remote_Creds", *creds["DVC"]),
                "GIT_PAT": username_password("GIT_PAT", *creds["GIT"]),
            },
            git_credentials=(BOT, self.token),
            node_env=buildenv.lab_node_env(settings=self.settings, bot_user=BOT),
        )
        seconds = time.monotonic() - start
        if run.result != "SUCCESS":
            raise SystemExit(f"the Jenkinsfile build ended {run.result}:\n{run.log[-3000:]}")
        return seconds

    def run_scripts(self) -> float:
        number, branch, commit = self.pr("scripts")
        env = buildenv.base_env(
            {
                **self.env(self.extras("scripts")),
                **buildenv.jenkins_env_for_pr(number, head=branch, target="main"),
            }
        )
        creds = self.credentials()
        ws = self.root / f"ws-scripts-{self.count}"
        names = {
            "DVC": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            "GIT": ("GIT_USER", "GIT_TOKEN"),
        }
        start = time.monotonic()
        git(self.root, "clone", "-q", "--no-checkout", self.url, str(ws), env=self.git_env)
        git(ws, "checkout", "-q", "--detach", commit)
        with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
            base = {**env, "WORKSPACE": str(ws), "GIT_COMMIT": commit, "HOME": home}
            for stage, script, cred in STAGES:
                stage_env = dict(base)
                if cred is not None:
                    user_var, secret_var = names[cred]
                    stage_env[user_var], stage_env[secret_var] = creds[cred]
                proc = subprocess.run(
                    ["sh", "-xe", "-c", script], cwd=ws, env=stage_env, capture_output=True
                )
                if proc.returncode != 0:
                    raise SystemExit(f"{stage}: {script} failed:\n{proc.stdout[-2000:]!r}")
        return time.monotonic() - start


def extraction() -> tuple[int, float, float]:
    files = sorted(
        {*REPO_ROOT.glob("projects/*/Jenkinsfile"), *REPO_ROOT.glob("tests/**/*Jenkinsfile*")}
    )
    files = [f for f in files if f.is_file()]
    start = time.monotonic()
    model.extract_files(files)
    many = time.monotonic() - start
    start = time.monotonic()
    model.extract_files(files[:1])
    one = time.monotonic() - start
    return len(files), many, one


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    demo = load_model((PROJECT / "Jenkinsfile").read_text(), "Jenkinsfile").pipeline
    names = [s["name"] for s in demo["pipeline"]["stages"]]
    if names != [s for s, _, _ in STAGES]:
        raise SystemExit(f"bench/run_bench.py: STAGES is out of date with the Jenkinsfile: {names}")
    times: dict[str, list[float]] = {"scripts": [], "jenkinsfile": []}
    with (
        tempfile.TemporaryDirectory(prefix="cd4ml-run-bench-") as tmp,
        contextlib.ExitStack() as st,
    ):
        root = Path(tmp)
        token = uuid.uuid4().hex
        s3 = st.enter_context(SeaweedS3())
        s3.create_bucket(BUCKET)
        forge = st.enter_context(LocalForge(root / "forge", users={BOT: token}))
        bench = Bench(root, forge, s3, token)
        bench.setup()
        bench.run_jenkinsfile()  # warm-up: the model is extracted once per process
        print(f"PR build of {PROJECT.name}, {rounds} rounds (warm /extras, fresh PR each)")
        print(f"{'round':>5} {'ci/ scripts':>12} {'Jenkinsfile':>12} {'ratio':>7}")
        for i in range(rounds):
            times["scripts"].append(bench.run_scripts())
            times["jenkinsfile"].append(bench.run_jenkinsfile())
            s, j = times["scripts"][-1], times["jenkinsfile"][-1]
            print(f"{i + 1:>5} {s:>11.2f}s {j:>11.2f}s {j / s:>7.2f}")
    s, j = statistics.median(times["scripts"]), statistics.median(times["jenkinsfile"])
    print(f"{'median':>5} {s:>11.2f}s {j:>11.2f}s {j / s:>7.2f}   (goal <= 1.30)")
    print()
    count, many, one = extraction()
    print("Model extraction (Groovy AST -> Jenkins' declarative JSON)")
    print(
        f"  {count} Jenkinsfiles in one JVM: {many:.2f} s ({many / count * 1000:.0f} ms per file)"
    )
    print(f"  one Jenkinsfile alone:       {one:.2f} s (the JVM's start-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
