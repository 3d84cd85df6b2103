"""What the local driver adds for the training project: the two secret files built as
casc/check-env.sh builds them, the private index stand-in (a real pypiserver) refusing
requests on demand, the chain's job names and environment, and downstream resolution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lab.errors import ConfigError
from lab.localforge.pypi import PrivateIndex, aws_credentials_file, pip_conf
from lab.scenarios.drivers import localjobs
from tests.unit.test_casc import all_required, run_check_env

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "projects" / "cd4ml-train"

pytest.importorskip("pypiserver", reason="pypiserver (dev dependency) is not installed")


def test_the_secret_files_are_those_check_env_writes(tmp_path: Path) -> None:
    values = all_required()
    proc, _ = run_check_env(tmp_path, **values)
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "secrets"
    # check-env.sh names the index by its in-network address; here it is 127.0.0.1:PORT.
    assert (written / "pip.conf").read_text() == pip_conf(
        "http://pypi:8080", values["PYPI_USER"], values["PYPI_PASSWORD"]
    )
    assert (written / "s3-credentials").read_text() == aws_credentials_file(
        values["DVC_ACCESS_KEY"], values["DVC_SECRET_KEY"]
    )


@pytest.fixture(scope="module")
def index():
    with PrivateIndex(progress=lambda _: None) as running:
        yield running


def test_the_index_serves_the_published_package_only_with_its_login(index: PrivateIndex) -> None:
    assert index.publish([TRAIN / "packages" / "cd4ml-trainkit"]) == [
        "published cd4ml_trainkit-0.1.0-py3-none-any.whl to the private index"
    ]
    page = requests.get(f"{index.url}/simple/cd4ml-trainkit/", auth=(index.user, index.password),
                        timeout=5)  # fmt: skip
    assert page.status_code == 200 and "cd4ml_trainkit-0.1.0-py3-none-any.whl" in page.text
    assert requests.get(f"{index.url}/simple/", timeout=5).status_code == 401
    wrong = requests.get(f"{index.url}/simple/", auth=(index.user, "wrong"), timeout=5)
    assert wrong.status_code == 403


def test_refused_requests_cost_pip_one_attempt_each(index: PrivateIndex, tmp_path: Path) -> None:
    """429 is not in pip's status_forcelist: pip fails at once instead of retrying."""
    index.publish([TRAIN / "packages" / "cd4ml-trainkit"])  # present: a no-op
    conf = tmp_path / "pip.conf"
    conf.write_text(index.pip_conf())
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(tmp_path / "d"),
            "cd4ml-trainkit==0.1.0"]  # fmt: skip
    env = {"PIP_CONFIG_FILE": str(conf), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    index.refuse(2)
    outcomes = [
        subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120).returncode
        for _ in range(3)
    ]
    assert outcomes[0] != 0 and outcomes[1] != 0 and outcomes[2] == 0, outcomes
    assert index.refusals_left() == 0
    assert (tmp_path / "d" / "cd4ml_trainkit-0.1.0-py3-none-any.whl").is_file()


def test_job_environment_is_jenkins_build_tag_and_branch_only_for_branch_jobs() -> None:
    env = localjobs.job_env("cd4ml/cd4ml-train-chain/train", 4, None)
    assert env["BUILD_TAG"] == "jenkins-cd4ml-cd4ml-train-chain-train-4"
    assert env["JOB_BASE_NAME"] == "train" and "BRANCH_NAME" not in env
    branch = localjobs.job_env(localjobs.branch_job("cd4ml", "p", "feature/x"), 1, "feature/x")
    assert branch["JOB_NAME"] == "cd4ml/p/feature%2Fx" and branch["BRANCH_NAME"] == "feature/x"


def test_downstream_paths_resolve_to_the_chain_jobs_or_fail_naming_them() -> None:
    known = localjobs.chain_jobs(TRAIN)
    assert known == ["preprocess", "test", "train"]
    name = localjobs.resolve_downstream(
        "/cd4ml/cd4ml-train-chain/train", org="cd4ml", project="cd4ml-train", known=known
    )
    assert name == "train"
    for wrong in ("/cd4ml/cd4ml-train-chain/deploy", "/other/cd4ml-train-chain/train", "train"):
        with pytest.raises(ConfigError, match=f"No item named {wrong} found") as err:
            localjobs.resolve_downstream(wrong, org="cd4ml", project="cd4ml-train", known=known)
        assert "/cd4ml/cd4ml-train-chain/test" in str(err.value)


def test_file_credentials_valid_invalid_and_missing() -> None:
    creds = localjobs.training_credentials(
        pip_conf="good", s3_file="s3", states={"pip-conf": "invalid"}, wrong_pip_conf="bad"
    )
    assert {c.id: (c.kind, c.secret) for c in creds.values()} == {
        "pip-conf": ("file", "bad"),
        "s3-credentials": ("file", "s3"),
    }
    missing = localjobs.training_credentials(
        pip_conf="good", s3_file="s3", states={"s3-credentials": "missing"}, wrong_pip_conf="bad"
    )
    assert set(missing) == {"pip-conf"}


def test_a_branch_build_is_named_and_numbered_as_jenkins_names_it(tmp_path: Path) -> None:
    """BUILD_TAG carries the build's own number (it used to say 1 for every build)."""
    from lab.config import LabConfig
    from lab.scenarios.driver import Target
    from lab.scenarios.drivers.local import LocalDriver

    driver = LocalDriver(LabConfig(root=tmp_path))
    driver.project = "cd4ml-train"
    seen: list[dict[str, str]] = []
    driver._execute = lambda name, script, commit, number, env, *a, **k: seen.append(dict(env))  # type: ignore[method-assign]
    driver._build(Target("feature/x"), "a" * 40, 3, lambda _: None)
    assert seen[0]["BUILD_NUMBER"] == "3" and seen[0]["BRANCH_NAME"] == "feature/x"
    assert seen[0]["JOB_NAME"] == f"{driver.cfg.org}/cd4ml-train/feature%2Fx"
    assert seen[0]["BUILD_TAG"] == f"jenkins-{driver.cfg.org}-cd4ml-train-feature%2Fx-3"


def test_only_a_project_with_private_packages_gets_the_index_s_credentials(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from lab.config import LabConfig
    from lab.scenarios.drivers.local import LocalDriver

    driver = LocalDriver(LabConfig(root=tmp_path))
    driver.token, driver._dvc_creds = "tok", ("dvc-user", "dvc-secret")
    driver._index = SimpleNamespace(url="http://127.0.0.1:1", user="u", password="p",
                                    pip_conf=lambda: "[global]\n")  # fmt: skip
    driver._published = {"cd4ml-train"}
    driver.project = "cd4ml-demo"
    assert set(driver._credentials()) == {"DVC_Remote_Creds", "GIT_PAT"}
    driver.project = "cd4ml-train"
    creds = driver._credentials()
    assert {"pip-conf", "s3-credentials"} <= set(creds)
    assert "aws_secret_access_key = dvc-secret" in creds["s3-credentials"].secret
