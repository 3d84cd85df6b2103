"""tests/conftest.py: with CI=true an offline test that skips fails the run, however it skips."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SUITE_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

SKIPS = {
    "tests/unit/test_marker.py": (
        "import pytest\n\n@pytest.mark.skipif(True, reason='tool missing')\n"
        "def test_x():\n    pass\n"
    ),
    "tests/unit/test_in_fixture.py": (
        "import pytest\n\n@pytest.fixture(scope='module')\ndef tool():\n"
        "    pytest.skip('no tool')\n\ndef test_x(tool):\n    pass\n"
    ),
    "tests/unit/test_module_level.py": (
        "import pytest\n\npytest.importorskip('no_such_module_anywhere')\n\n"
        "def test_x():\n    pass\n"
    ),
}
ALLOWED = {
    "tests/e2e/test_docker.py": (
        "import pytest\n\npytest.skip('no Docker engine', allow_module_level=True)\n"
    ),
    "tests/unit/test_stack_only.py": (
        "import pytest\n\ndef test_x():\n    pytest.skip('runs with --lab-driver=stack only')\n"
    ),
}


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: bool) -> pytest.RunResult:
    """Run the suite in-process; the copied conftest's environment changes are undone after."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.environ.get("GIT_CONFIG_GLOBAL", ""))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    return pytester.runpytest("tests")


def _suite(pytester: pytest.Pytester, files: dict[str, str]) -> None:
    (pytester.path / "tests").mkdir(exist_ok=True)
    shutil.copy(SUITE_CONFTEST, pytester.path / "tests" / "conftest.py")
    for name, body in files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


def test_ci_fails_on_an_offline_skip_however_it_skips(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite(pytester, {**SKIPS, **ALLOWED})
    result = _run(pytester, monkeypatch, ci=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    listed = result.stdout.str().split("skipped in CI (CI=true)", 1)[1]
    assert {name for name in {**SKIPS, **ALLOWED} if name in listed} == set(SKIPS)


def test_ci_allows_docker_and_stack_skips_and_outside_ci_skips_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite(pytester, ALLOWED)
    assert _run(pytester, monkeypatch, ci=True).ret == pytest.ExitCode.OK
    _suite(pytester, SKIPS)
    assert _run(pytester, monkeypatch, ci=False).ret == pytest.ExitCode.OK
