"""Every Dockerfile passes hadolint and pins its base images; every *.sh passes shellcheck.

Files are found in the working tree (tracked and untracked, minus .gitignore'd ones), so
scripts another engineer is adding under projects/*/ci/ are checked before they land.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "node_modules", ".lab", ".dvc", ".pytest_cache", ".ruff_cache"}


def repo_files(pattern: str) -> list[Path]:
    """Tracked + untracked-but-not-ignored files matching a git pathspec glob."""
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", pattern],
            cwd=ROOT,
            capture_output=True,
            timeout=30,
            check=True,
        )
        names = [n for n in proc.stdout.decode().split("\0") if n]
        return sorted({ROOT / n for n in names if (ROOT / n).is_file()})
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk the tree
        glob = pattern.removeprefix("*")
        return sorted(
            p
            for p in ROOT.rglob("*")
            if p.is_file() and p.name.endswith(glob) and not SKIP_DIRS & set(p.parts)
        )


def dockerfiles() -> list[Path]:
    return [p for p in repo_files("*Dockerfile*") if not p.name.endswith(".dockerignore")]


def tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"`{name}` is not installed")
    return found


def test_the_repository_has_dockerfiles_and_scripts_to_check() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in dockerfiles()}
    assert "casc/Dockerfile" in names
    assert "casc/check-env.sh" in {p.relative_to(ROOT).as_posix() for p in repo_files("*.sh")}


@pytest.mark.parametrize("path", dockerfiles(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_dockerfile_passes_hadolint(path: Path) -> None:
    proc = subprocess.run(
        [tool("hadolint"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", dockerfiles(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_dockerfile_base_images_are_pinned(path: Path) -> None:
    text = path.read_text()
    stages = set(re.findall(r"^FROM\s+.*\s+AS\s+(\S+)", text, re.MULTILINE | re.IGNORECASE))
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.MULTILINE))
    for image in re.findall(r"^FROM\s+(?:--\S+\s+)*(\S+)", text, re.MULTILINE):
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
        if image in stages or image == "scratch":
            continue
        name = image.split("@", 1)[0]
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
        assert "@sha256:" in image or (tag and tag != "latest" and "$" not in tag), (
            f"{path.relative_to(ROOT)}: base image {image} is not pinned to a version"
        )


def agent_dockerfiles() -> list[Path]:
    """Pipeline agent images: the projects' Dockerfiles (`agent { dockerfile }`)."""
    return [p for p in dockerfiles() if p.relative_to(ROOT).parts[0] == "projects"]


SNAPSHOT_URI = re.compile(
    r"http://snapshot\.debian\.org/archive/debian(?P<security>-security)?/(?P<date>\S+?)[\s'\"]"
)


@pytest.mark.parametrize("path", agent_dockerfiles(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_agent_image_builds_are_reproducible(path: Path) -> None:
    """Exact Debian pins vanish from deb.debian.org at each point release and tags move:
    the base image is pinned by digest, and every apt install comes after the image's
    sources were replaced by snapshot.debian.org at a fixed date."""
    rel = path.relative_to(ROOT)
    text = path.read_text().replace("\\\n", " ")
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.MULTILINE))
    stages = set(re.findall(r"^FROM\s+.*\s+AS\s+(\S+)", text, re.MULTILINE | re.IGNORECASE))
    for image in re.findall(r"^FROM\s+(?:--\S+\s+)*(\S+)", text, re.MULTILINE):
        if image not in stages:
            assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{rel}: {image} has no digest"
    installs = [m.start() for m in re.finditer(r"\bapt(?:-get)? install\b", text)]
    assert installs, f"{rel}: no apt install (update this test if the image needs none)"
    for at in installs:
        before = text[:at]
        assert re.search(r">\s*/etc/apt/sources\.list\.d/debian\.sources", before), (
            f"{rel}: apt sources are not replaced before an install (deb.debian.org stays)"
        )
        uris = list(SNAPSHOT_URI.finditer(before))
        assert {bool(m["security"]) for m in uris} == {False, True}, (
            f"{rel}: debian and debian-security must both come from snapshot.debian.org"
        )
        for m in uris:
            date = re.sub(r"\$\{?(\w+)\}?", lambda v: args.get(v.group(1), v.group(0)), m["date"])
            assert re.fullmatch(r"\d{8}T\d{6}Z", date), f"{rel}: snapshot date {date!r}"
        assert "Check-Valid-Until=false" in before, f"{rel}: snapshot Release files expire"


@pytest.mark.parametrize("path", agent_dockerfiles(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_agent_image_sets_its_own_writable_home(path: Path) -> None:
    """docker-workflow never passes the controller's HOME (equal to the node's own env,
    WithContainerStep 634.vedc7242b_eda_7 l.133-135): without ENV HOME, uid 1000 gets /."""
    text = path.read_text().replace("\\\n", " ")
    homes = [
        value
        for line in text.splitlines()
        if line.startswith("ENV ")
        for key, value in re.findall(r"(\w+)=(\S+)", line)
        if key == "HOME"
    ]
    assert homes == ["/tmp"], f"{path.relative_to(ROOT)}: ENV HOME={homes}"


@pytest.mark.parametrize("path", repo_files("*.sh"), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shell_script_passes_shellcheck(path: Path) -> None:
    proc = subprocess.run(
        [tool("shellcheck"), "--format=gcc", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_e2e_workflow_is_valid_pinned_and_always_tears_down() -> None:
    import yaml

    path = ROOT / ".github" / "workflows" / "e2e.yml"
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = yaml.safe_load(path.read_text())["jobs"]["e2e"]["steps"]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    runs = [(s.get("run", ""), s.get("if", "")) for s in steps]
    order = [i for i, (run, _) in enumerate(runs) if "make lab-up" in run or "make test-e2e" in run]
    assert len(order) == 2 and order[0] < order[1]
    assert any("make lab-down" in run and "always()" in cond for run, cond in runs)
    uploads = [s for s in steps if "upload-artifact" in s.get("uses", "")]
    assert uploads and all("failure()" in s.get("if", "") for s in uploads)
    assert any("lab logs" in run and "failure()" in cond for run, cond in runs)
