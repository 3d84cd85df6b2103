"""seed_dvc_remote with a seed cache (LAB_SEED_CACHE): the seed command runs once per
content; a checkout whose outputs are all in the cache is pushed from it as it is."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lab.dvcseed import SEED_CACHE_ENV, _holds_outputs, seed_dvc_remote
from lab.errors import ConfigError

BIN = Path(sys.executable).parent
ROWS = "".join(f"{i},{i * i}\n" for i in range(500))


def _sh(cwd: Path, *argv: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _out(path: str, data: str) -> str:
    md5 = hashlib.md5(data.encode()).hexdigest()
    return f"- path: {path}\n  hash: md5\n  md5: {md5}\n  size: {len(data)}\n"


def _project(root: Path, runs: Path) -> Path:
    """data.csv tracked by DVC (files written directly, DVC 3 formats: saves `dvc`
    start-ups); ci/seed.sh writes it and appends a line to ``runs``."""
    (root / "ci").mkdir(parents=True)
    (root / "rows.txt").write_text(ROWS)
    (root / "ci" / "seed.sh").write_text(
        f"cp rows.txt data.csv && echo run >> {runs} && dvc commit -f -q data.csv.dvc\n"
    )
    (root / ".dvc").mkdir()
    (root / ".dvc" / "config").write_text(
        "[core]\n    remote = origin\n['remote \"origin\"']\n    url = s3://seeded/p\n"
    )
    (root / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    (root / ".gitignore").write_text("/data.csv\n")
    (root / "data.csv.dvc").write_text("outs:\n" + _out("data.csv", ROWS))
    _sh(root, "git", "init", "-q", "-b", "main")
    _sh(root, "git", "add", "-A")
    _sh(root, "git", "commit", "-q", "-m", "project")
    return root


def test_the_seed_runs_once_per_content_and_a_hit_pushes_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seaweedfs: Any
) -> None:
    if not (BIN / "dvc").exists():
        pytest.skip(f"dvc is not installed next to {sys.executable}")

    runs, cache = tmp_path / "seed-runs", tmp_path / "seed-cache"
    project = _project(tmp_path / "project", runs)
    md5 = hashlib.md5(ROWS.encode()).hexdigest()
    monkeypatch.setenv(SEED_CACHE_ENV, str(cache))
    s3 = seaweedfs  # the session's real S3 server
    s3.create_bucket("seeded")
    creds = s3.create_credentials("seeded", user="seed-cache-test")
    for name in ("first", "second"):
        s3.empty_bucket("seeded")  # a fresh bucket for each seeding
        checkout = tmp_path / name
        _sh(tmp_path, "git", "clone", "-q", str(project), str(checkout))
        seed_dvc_remote(checkout, env={"DVC_S3_ENDPOINT": s3.endpoint_url}, credentials=creds)
        assert s3.object_keys("seeded") == [f"p/files/md5/{md5[:2]}/{md5[2:]}"], name
        assert runs.read_text() == "run\n", f"{name}: the seed ran again on a cache hit"
        assert str(cache) in (checkout / ".dvc" / "config.local").read_text()
    assert not (tmp_path / "second" / "data.csv").exists()  # pushed from the cache as it is


DVC_YAML = """\
stages:
  double:
    cmd: python double.py
    outs: [doubled.csv]
    metrics:
      - summary.json:
          cache: false
"""


def test_a_hit_needs_every_cached_output_and_ignores_uncached_ones(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", tmp_path / "runs")
    (project / "dvc.yaml").write_text(DVC_YAML)
    (project / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  double:\n    cmd: python double.py\n    outs:\n"
        + "".join(
            "    " + line + "\n"
            for line in (_out("doubled.csv", ROWS * 2) + _out("summary.json", "{}")).splitlines()
        )
    )
    cache = tmp_path / "cache"
    for data in (ROWS, ROWS * 2):
        md5 = hashlib.md5(data.encode()).hexdigest()
        (cache / "files" / "md5" / md5[:2]).mkdir(parents=True, exist_ok=True)
        (cache / "files" / "md5" / md5[:2] / md5[2:]).write_text(data)
    assert _holds_outputs(project, cache)  # summary.json (cache: false) is not looked for
    (project / "dvc.yaml").write_text(DVC_YAML.replace("double:", "double:\n    foreach: [a]"))
    assert not _holds_outputs(project, cache)  # a templated dvc.yaml is never trusted
    (project / "dvc.yaml").write_text(DVC_YAML)
    md5 = hashlib.md5((ROWS * 2).encode()).hexdigest()
    (cache / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    assert not _holds_outputs(project, cache)


def test_a_seed_cache_that_is_not_a_directory_is_a_config_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "project", tmp_path / "runs")
    (tmp_path / "a-file").write_text("not a directory\n")
    monkeypatch.setenv(SEED_CACHE_ENV, str(tmp_path / "a-file"))
    with pytest.raises(ConfigError, match=f"seed cache .*a-file \\({SEED_CACHE_ENV}\\)"):
        seed_dvc_remote(project, env={}, credentials=("k", "s"))
