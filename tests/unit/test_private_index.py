"""The private index path of `lab up` against a real pypiserver (the PyPI release of the
version the stack's image runs, started here with the stack's options): the lab's wheel
builder, upload with the lab's login, idempotent re-publish, refusal of a wrong login,
and `pip install` through a pip.conf like Jenkins' `pip-conf` credential."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from lab.clients.pypi import PyPIClient
from lab.errors import ConfigError, ServiceError
from lab.packages import package_sources, publish
from lab.wheel import build_wheel, read_source

ROOT = Path(__file__).resolve().parents[2]
TRAINKIT = ROOT / "projects" / "cd4ml-train" / "packages" / "cd4ml-trainkit"
USER, PASSWORD = "lab-pypi", "s3cret-for-tests-0123"

pytest.importorskip("pypiserver", reason="pypiserver (dev dependency) is not installed")
passlib_apache = pytest.importorskip("passlib.apache", reason="passlib is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("pypi")
    (root / "packages").mkdir()
    # apr_md5_crypt: fast to verify in a test; the stack's service writes bcrypt.
    htpasswd = passlib_apache.HtpasswdFile(str(root / "htpasswd"), new=True)
    htpasswd.set_password(USER, PASSWORD)
    htpasswd.save()
    port = _free_port()
    # The stack's options (compose/docker-compose.yml service pypi), on loopback.
    argv = [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
            "-a", "update,download,list", "-P", str(root / "htpasswd"),
            "--hash-algo", "sha256", "--disable-fallback", str(root / "packages")]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"pypiserver did not start on {url}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_wheel_of_the_private_package_is_well_formed(tmp_path: Path) -> None:
    wheel = build_wheel(TRAINKIT, tmp_path)
    assert wheel.name == "cd4ml_trainkit-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read("cd4ml_trainkit-0.1.0.dist-info/METADATA").decode()
    assert {"trainkit/__init__.py", "trainkit/store.py"} <= names
    assert "Name: cd4ml-trainkit\nVersion: 0.1.0\n" in meta and "Requires-Dist: boto3" in meta
    again = build_wheel(TRAINKIT, tmp_path / "again")
    assert again.read_bytes() == wheel.read_bytes(), "the same source must give the same wheel"


def test_wheel_source_errors_name_the_field(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "one"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[project\] version 'one'"):
        read_source(tmp_path)


def test_publish_uploads_once_and_pip_installs_through_a_pip_conf(
    index: str, tmp_path: Path
) -> None:
    client = PyPIClient(index, USER, PASSWORD)
    sources = package_sources([("cd4ml-train", ROOT / "projects" / "cd4ml-train")])
    assert sources == [TRAINKIT]
    notes: list[str] = []
    assert publish(sources, client, progress=notes.append) == [
        "published cd4ml_trainkit-0.1.0-py3-none-any.whl to the private index"
    ]
    assert publish(sources, client, progress=notes.append) == []
    assert notes == ["cd4ml-trainkit 0.1.0: already in the private index"]
    # A second upload of the same file is refused (no --overwrite), reported as present.
    assert client.upload(build_wheel(TRAINKIT, tmp_path / "w")) is False

    host = index.removeprefix("http://")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = http://{USER}:{PASSWORD}@{host}/simple/\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir",
         "--disable-pip-version-check", "--target", str(tmp_path / "site"),
         "cd4ml-trainkit==0.1.0"],
        env={"PIP_CONFIG_FILE": str(conf), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "trainkit" / "store.py").is_file()
    assert PASSWORD not in proc.stdout + proc.stderr


def test_a_wrong_login_is_refused_with_a_clear_error_and_no_secret(index: str) -> None:
    client = PyPIClient(index, USER, "wrong-password-xyz")
    with pytest.raises(ServiceError) as err:
        client.files("cd4ml-trainkit")
    assert "HTTP 403" in str(err.value) and "PYPI_USER/PYPI_PASSWORD" in (err.value.hint or "")
    anonymous = requests.get(index + "/simple/", timeout=5)
    assert anonymous.status_code == 401
