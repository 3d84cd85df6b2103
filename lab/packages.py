"""Private packages of the lab projects (``projects/<name>/packages/<package>/``), built
as wheels and published to the lab's private index by ``lab up`` (idempotent: a file the
index already holds is left alone, as the index refuses to overwrite it)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from lab.clients.pypi import PyPIClient
from lab.wheel import build_wheel, read_source


def package_sources(projects: Iterable[tuple[str, Path]]) -> list[Path]:
    """Every ``packages/*/pyproject.toml`` directory of the given projects, sorted."""
    return sorted(
        p.parent
        for _, project in projects
        for p in (project / "packages").glob("*/pyproject.toml")
        if p.is_file()
    )


def publish(
    sources: Iterable[Path], index: PyPIClient, *, progress: Callable[[str], None] = print
) -> list[str]:
    """Build and upload each package the index lacks; return what changed."""
    changes = []
    for source in sources:
        meta = read_source(source)
        if meta.wheel_name in index.files(meta.name):
            progress(f"{meta.name} {meta.version}: already in the private index")
            continue
        with tempfile.TemporaryDirectory(prefix="lab-wheel-") as tmp:
            wheel = build_wheel(source, Path(tmp))
            if index.upload(wheel):
                changes.append(f"published {wheel.name} to the private index")
            else:
                progress(f"{wheel.name}: already in the private index")
    return changes
