"""Lab projects: the sample projects shipped under ``projects/``, exported as clean trees."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from lab.config import LabConfig
from lab.errors import ConfigError, ServiceError, output_tail

# Who commits a project's import: never the bot, whose commits the pipeline skips
# (its commit-back loop guard).
LAB_AUTHOR = ("cd4ml-lab", "lab@lab.invalid")

# Never exported, whatever the source (a developer may have run the pipeline in place).
_IGNORED_PARTS = frozenset({".git", ".venv", "__pycache__", ".pytest_cache"})
_IGNORED_PREFIXES = (".dvc/cache", ".dvc/tmp")


def _ignored(rel: Path) -> bool:
    return bool(_IGNORED_PARTS.intersection(rel.parts)) or rel.as_posix().startswith(
        _IGNORED_PREFIXES
    )


def shipped_projects(cfg: LabConfig) -> list[tuple[str, Path]]:
    return [(name, cfg.projects_dir / name) for name in cfg.project_names()]


def all_projects(cfg: LabConfig) -> list[tuple[str, Path]]:
    """Shipped projects and those added with `lab project add` (name, source directory)."""
    from lab import registry

    shipped = shipped_projects(cfg)
    names = {name for name, _ in shipped}
    added = [(p.name, p.source) for p in registry.load(cfg).values() if p.name not in names]
    return shipped + sorted(added)


def find_project(cfg: LabConfig, name: str) -> Path:
    """The source directory of project ``name``; ConfigError listing the known ones."""
    for known, path in all_projects(cfg):
        if known == name:
            return path
    names = ", ".join(n for n, _ in all_projects(cfg)) or "(none)"
    raise ConfigError(
        f"unknown project {name!r}; known: {names}",
        hint="add your own with `lab project add PATH`",
    )


def tracked_files(src: Path) -> list[Path] | None:
    """Files under ``src`` that git tracks or would track (new, not ignored), relative;
    None when ``src`` is not in a git checkout."""
    proc = subprocess.run(
        [
            "git",
            "-C",
            str(src),
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            ".",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        return None
    return [
        Path(p)
        for p in proc.stdout.split("\0")
        if p and (src / p).is_file() and not _ignored(Path(p))
    ]


def export_project(src: Path, dest: Path) -> list[Path]:
    """Copy a project's files (what git tracks, else everything but caches) into ``dest``."""
    if not (src / "Jenkinsfile").is_file():
        raise ConfigError(f"{src}: not a lab project (no Jenkinsfile)")
    files = tracked_files(src)
    if not files:
        files = [
            p.relative_to(src)
            for p in src.rglob("*")
            if p.is_file() and not _ignored(p.relative_to(src))
        ]
    dest.mkdir(parents=True, exist_ok=True)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, target)
    return sorted(files)


def export_repository(src: Path, dest: Path, message: str, *, branch: str = "main") -> str:
    """:func:`export_project` into ``dest`` as a fresh git repository with one commit by
    :data:`LAB_AUTHOR` on ``branch``; returns that commit."""
    export_project(src, dest)
    name, email = LAB_AUTHOR
    options = [
        "-c",
        f"user.name={name}",
        "-c",
        f"user.email={email}",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "core.hooksPath=/dev/null",
    ]
    for args in (
        ["init", "-q", "-b", branch],
        ["add", "-A"],
        ["commit", "-q", "-m", message],
        ["rev-parse", "HEAD"],
    ):
        proc = subprocess.run(
            ["git", *options, "-C", str(dest), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise ServiceError(
                f"{dest}: git {args[0]} failed while importing {src.name}:\n"
                f"{output_tail(proc.stderr or proc.stdout)}"
            )
    return proc.stdout.strip()
