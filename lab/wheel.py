"""A pure-Python wheel of a small package source (a lab project's private package), built
without setuptools or network: PEP 427 layout, PEP 621 metadata from pyproject.toml.

Only what the lab's packages use: ``[project]`` name, version, description,
requires-python, dependencies; the packages under ``src/`` (or the directory itself).
Byte-stable: the same source always gives the same wheel (fixed timestamps, sorted).
"""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lab.errors import ConfigError

_EPOCH = (1980, 1, 1, 0, 0, 0)
_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_SKIP = frozenset({"__pycache__", ".pytest_cache"})


@dataclass(frozen=True)
class PackageSource:
    path: Path
    name: str
    version: str
    summary: str
    requires_python: str
    dependencies: tuple[str, ...]

    @property
    def wheel_name(self) -> str:
        dist = re.sub(r"[-_.]+", "_", self.name).lower()
        return f"{dist}-{self.version}-py3-none-any.whl"


def read_source(path: Path) -> PackageSource:
    """The ``[project]`` table of ``path/pyproject.toml``; ConfigError naming the field."""
    meta_file = path / "pyproject.toml"
    try:
        project = tomllib.loads(meta_file.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{meta_file}: cannot read: {exc}") from None
    name, version = project.get("name", ""), project.get("version", "")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{meta_file}: [project] name {name!r} is not a distribution name")
    if not isinstance(version, str) or not re.fullmatch(r"\d+(\.\d+)*", version):
        raise ConfigError(f"{meta_file}: [project] version {version!r}: expected e.g. 0.1.0")
    deps = project.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ConfigError(f"{meta_file}: [project] dependencies must be a list of strings")
    return PackageSource(
        path=path,
        name=name,
        version=version,
        summary=str(project.get("description", "")),
        requires_python=str(project.get("requires-python", "")),
        dependencies=tuple(deps),
    )


def _modules(src: PackageSource) -> list[tuple[str, Path]]:
    root = src.path / "src" if (src.path / "src").is_dir() else src.path
    packages = [p for p in sorted(root.iterdir()) if (p / "__init__.py").is_file()]
    if not packages:
        raise ConfigError(f"{root}: no Python package (a directory with __init__.py)")
    files = []
    for package in packages:
        for file in sorted(package.rglob("*")):
            rel = file.relative_to(root)
            if file.is_file() and not _SKIP.intersection(rel.parts) and file.suffix != ".pyc":
                files.append((rel.as_posix(), file))
    return files


def _metadata(src: PackageSource) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {src.name}", f"Version: {src.version}"]
    if src.summary:
        lines.append(f"Summary: {src.summary}")
    if src.requires_python:
        lines.append(f"Requires-Python: {src.requires_python}")
    lines += [f"Requires-Dist: {dep}" for dep in src.dependencies]
    return "\n".join(lines) + "\n"


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def build_wheel(path: Path, out_dir: Path) -> Path:
    """Build the wheel of the package source at ``path`` into ``out_dir``; return its path."""
    src = read_source(path)
    dist_info = src.wheel_name.split("-py3-")[0] + ".dist-info"
    entries = [(arc, file.read_bytes()) for arc, file in _modules(src)]
    entries.append((f"{dist_info}/METADATA", _metadata(src).encode()))
    entries.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: cd4ml-lab\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    record = [_record_line(arc, data) for arc, data in entries] + [f"{dist_info}/RECORD,,"]
    entries.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / src.wheel_name
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arc, data in entries:
            info = zipfile.ZipInfo(arc, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return target
