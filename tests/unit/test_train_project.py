"""projects/cd4ml-train: its Jenkinsfiles say what the training patterns need (parameters,
retry around provisioning, timeout around training, secret-file credentials, results
under the problem's prefix, the chain with the upstream identity), its scripts are
well-formed, its pins are pins, and its own tests pass."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab import up
from lab.config import LabConfig

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "projects" / "cd4ml-train"
JENKINSFILES = [PROJECT / "Jenkinsfile", *sorted((PROJECT / "jobs").glob("*.Jenkinsfile"))]
CHAIN = {p.name.removesuffix(".Jenkinsfile"): p for p in JENKINSFILES if p.parent.name == "jobs"}


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_the_chain_is_preprocess_train_test():
    assert set(CHAIN) == {"preprocess", "train", "test"}


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.relative_to(PROJECT).as_posix())
def test_jenkinsfile_is_plain_declarative_on_the_train_label(path: Path):
    body = text(path)
    assert re.search(r"^pipeline \{", body, re.M)
    # The local driver runs declarative constructs; script blocks need the stack.
    assert "script {" not in body and "script{" not in body
    assert "agent { label 'train' }" in body
    # Every sh step runs one existing, executable ci/ script.
    for script in re.findall(r"sh '([^']+)'", body):
        target = PROJECT / script
        assert target.is_file() and os.access(target, os.X_OK), f"{path.name}: {script}"


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.relative_to(PROJECT).as_posix())
def test_provisioning_is_retried_with_the_pip_conf_file(path: Path):
    body = re.sub(r"\s+", " ", text(path))
    assert re.search(
        r"retry\(3\) \{ withCredentials\(\[file\(credentialsId: 'pip-conf', "
        r"variable: 'PIP_CONFIG_FILE'\)\]\) \{ sh 'ci/provision.sh' \} \}",
        body,
    ), f"{path.name}: provisioning without retry or without pip-conf"


@pytest.mark.parametrize("path", JENKINSFILES, ids=lambda p: p.relative_to(PROJECT).as_posix())
def test_s3_is_reached_only_through_the_credentials_file(path: Path):
    body = text(path)
    bindings = re.findall(r"file\(credentialsId: '([^']+)', variable: '([^']+)'\)", body)
    assert set(bindings) <= {
        ("pip-conf", "PIP_CONFIG_FILE"),
        ("s3-credentials", "AWS_SHARED_CREDENTIALS_FILE"),
    }
    assert ("s3-credentials", "AWS_SHARED_CREDENTIALS_FILE") in bindings
    assert "usernamePassword" not in body and "AWS_ACCESS_KEY_ID" not in body


def test_training_job_parameters_environment_timeout_and_results():
    body = text(PROJECT / "Jenkinsfile")
    assert re.search(r"choice\(name: 'PROBLEM', choices: \['wine', 'iris',", body)
    for name in ("N_ESTIMATORS", "MAX_DEPTH", "TEST_SIZE"):
        assert re.search(rf"string\(name: '{name}'", body), name
        assert f'{name} = "${{params.{name}}}"' in body, f"{name} not derived from params"
    assert 'RESULTS_URL = "s3://${env.LAB_DVC_BUCKET}/${params.PROBLEM}/${env.BUILD_TAG}"' in body
    flat = re.sub(r"\s+", " ", body)
    assert "timeout(time: 10, unit: 'MINUTES') { sh 'ci/train.sh' }" in flat
    assert "archiveArtifacts artifacts: 'out/metrics.json', fingerprint: true" in flat
    # Validation comes first; publishing last (a timed-out training publishes nothing).
    stages = re.findall(r"stage\('([^']+)'\)", body)
    assert stages == ["Validate parameters", "Provision", "Train", "Publish results"]


@pytest.mark.parametrize(("job", "downstream"), [("preprocess", "train"), ("train", "test")])
def test_each_chain_job_starts_the_next_with_the_chain_identity(job: str, downstream: str):
    flat = re.sub(r"\s+", " ", text(CHAIN[job]))
    call = re.search(r"build job: \"([^\"]+)\", parameters: \[(.*?)\]", flat)
    assert call, f"{job}: no build job: step"
    assert call.group(1) == f"/${{env.LAB_ORG}}/cd4ml-train-chain/{downstream}"
    assert "string(name: 'CHAIN_ID'" in call.group(2)
    assert (
        "string(name: 'UPSTREAM', value: \"${env.JOB_NAME} #${env.BUILD_NUMBER}\")" in call.group(2)
    )


def test_downstream_jobs_take_the_identity_as_parameters_and_refuse_none():
    for job in ("train", "test"):
        body = text(CHAIN[job])
        assert "string(name: 'CHAIN_ID'" in body and "string(name: 'UPSTREAM'" in body
        assert "when { expression { return !params.CHAIN_ID } }" in body
    assert "ci/chain_test.sh" in text(CHAIN["test"])
    assert "build job:" not in text(CHAIN["test"])


def test_gate_threshold_is_the_projects_param():
    params = yaml.safe_load(text(PROJECT / "params.yaml"))
    assert params["gate"] == {"metric": "accuracy", "min": 0.8}
    assert "train_cli gate" in text(PROJECT / "ci" / "chain_test.sh")


@pytest.mark.parametrize(
    "script",
    sorted(p for p in (PROJECT / "ci").glob("*.sh") if p.name != "lib.sh"),
    ids=lambda p: p.name,
)
def test_ci_scripts_are_strict_and_document_their_environment(script: Path):
    body = text(script)
    assert os.access(script, os.X_OK), f"{script.name} is not executable"
    assert "set -euo pipefail" in body
    assert "Environment" in body.split("set -euo")[0], f"{script.name}: header lists no environment"


@pytest.mark.parametrize(
    "path", [PROJECT / "requirements.txt"], ids=lambda p: p.relative_to(PROJECT).as_posix()
)
def test_requirements_are_exact_pins(path: Path):
    lines = [ln for ln in text(path).splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\[\]-]+==[\w.]+", ln) for ln in lines), lines


def test_the_private_package_is_not_a_requirement_and_has_a_version():
    pins = [ln for ln in text(PROJECT / "requirements.txt").splitlines() if not ln.startswith("#")]
    assert not [ln for ln in pins if "trainkit" in ln]
    meta = text(PROJECT / "packages" / "cd4ml-trainkit" / "pyproject.toml")
    assert 'name = "cd4ml-trainkit"' in meta and 'version = "0.1.0"' in meta
    assert "TRAINKIT_VERSION:-0.1.0" in text(PROJECT / "ci" / "provision.sh")


def test_the_projects_own_tests_pass():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_provision_fails_clearly_without_or_with_a_wrong_pip_conf(tmp_path: Path):
    script = PROJECT / "ci" / "provision.sh"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    proc = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "bind the Jenkins file credential pip-conf" in proc.stderr
    wrong = tmp_path / "pip.conf"
    wrong.write_text("[global]\ntimeout = 5\n")
    proc = subprocess.run(
        ["bash", str(script)],
        env={**env, "PIP_CONFIG_FILE": str(wrong)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "names no index-url" in proc.stderr


def test_lab_up_skips_dvc_seeding_of_projects_without_dvc(tmp_path: Path, monkeypatch):
    """A project without .dvc is not seeded: `dvc push` would run outside a DVC repo."""
    for name, dvc in (("with-dvc", True), ("no-dvc", False)):
        (tmp_path / "projects" / name).mkdir(parents=True)
        (tmp_path / "projects" / name / "Jenkinsfile").write_text("pipeline {}\n")
        if dvc:
            (tmp_path / "projects" / name / ".dvc").mkdir()
    seeded: list[str] = []

    class Storage:
        def __init__(self, *args: object, **kwargs: object) -> None: ...

        def object_count(self, bucket: str) -> int:
            return len(seeded)

    monkeypatch.setattr("lab.clients.storage.Storage", Storage)
    monkeypatch.setattr(
        "lab.dvcseed.seed_dvc_remote",
        lambda checkout, **kw: seeded.append(Path(checkout).name),
    )

    class Notes:
        def note(self, message: str) -> None: ...

    cfg = LabConfig.load(root=tmp_path, env={})
    secrets = {"DVC_ACCESS_KEY": "a", "DVC_SECRET_KEY": "b"}

    class Secrets(dict):
        def require(self, key: str) -> str:
            return self[key]

    changes = up.seed_dvc_data(cfg, Secrets(secrets), Notes())  # type: ignore[arg-type]
    assert seeded == ["with-dvc"]
    assert changes == [f"pushed 1 DVC objects of with-dvc to s3://{cfg.dvc_bucket}"]
