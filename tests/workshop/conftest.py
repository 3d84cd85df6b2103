"""Workshop tests: a lab root of their own (the real projects/ and exercises/ linked in,
a temp .lab/), the `lab` CLI with the exercise command, and the attendee's moves.

Each check runs the real local driver (git forge, SeaweedFS, the copy's ci/ scripts) in a
fresh driver, exactly as `lab exercise check N` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.cli import main
from lab.config import LabConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
VENV_BIN = Path(sys.executable).parent
ATTENDEE = ("Test Attendee", "attendee@example.invalid")


@dataclass
class Lab:
    root: Path
    cfg: LabConfig
    capsys: pytest.CaptureFixture[str]

    def lab(self, *argv: str) -> tuple[int, str, str]:
        """Run `lab ARGV...` in-process; (exit code, stdout, stderr)."""
        self.capsys.readouterr()
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def copy(self, number: int) -> Path:
        return self.root / ".lab" / "workshop" / f"exercise-{number}"


@pytest.fixture
def lab_root(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("workshop-lab")
    for name in ("projects", "exercises"):
        (root / name).symlink_to(REPO_ROOT / name, target_is_directory=True)
    monkeypatch.setenv("LAB_HOME", str(root))
    yield Lab(root, LabConfig.load(root), capsys)


def git(copy: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": ATTENDEE[0],
        "GIT_AUTHOR_EMAIL": ATTENDEE[1],
        "GIT_COMMITTER_NAME": ATTENDEE[0],
        "GIT_COMMITTER_EMAIL": ATTENDEE[1],
    }
    proc = subprocess.run(
        ["git", *args], cwd=copy, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"git {' '.join(args)} in {copy}: {proc.stderr}"
    return proc.stdout


def apply_solution(copy: Path, number: int) -> None:
    """What the attendee edits for exercise ``number`` (the reference solution's patch)."""
    git(copy, "apply", str(SOLUTIONS / f"exercise-{number}.patch"))


def run_in_copy(copy: Path, command: str) -> None:
    """A shell command as the attendee runs it, with the lab's virtualenv active."""
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }
    proc = subprocess.run(
        ["bash", "-e", "-c", command],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"{command} in {copy}:\n{proc.stdout}\n{proc.stderr}"


def commit_all(copy: Path, message: str) -> None:
    git(copy, "add", "--all")
    git(copy, "commit", "--quiet", "-m", message)
