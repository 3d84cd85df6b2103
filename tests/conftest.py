"""Suite-wide set-up: hermetic git identity, one DVC seed cache for the run, the
Docker tiers' skip, no silent skips in CI, shared fixtures."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.dvcseed import SEED_CACHE_ENV
from lab.errors import PrerequisiteMissing

REPO_ROOT = Path(__file__).resolve().parent.parent
# Tiers that need a Docker engine (`make test-containers`, `make test-e2e`; neither is in
# `make test`'s testpaths). Where no engine answers their tests are skipped with the
# reason, and CI=true allows those skips (the offline suite must not skip).
DOCKER_TIERS = ("tests/containers/", "tests/e2e/")


def pytest_configure(config: pytest.Config) -> None:
    # Tests make commits: give git an identity and defaults without reading the
    # developer's ~/.gitconfig. A config file (not GIT_AUTHOR_* variables), so
    # scripts that set their own identity with `git -c user.name=...` still win.
    gitconfig = Path(config.rootpath) / ".pytest_cache" / "gitconfig"
    gitconfig.parent.mkdir(parents=True, exist_ok=True)
    gitconfig.write_text(
        "[user]\n\tname = cd4ml-lab tests\n\temail = tests@lab.invalid\n"
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    os.environ["GIT_CONFIG_GLOBAL"] = str(gitconfig)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    # Every seeding of a DVC remote in this run (the integration suite, each scenario
    # and workshop driver) shares one seed cache: the demo's data is made once, then
    # pushed from the cache (lab/dvcseed.py, LAB_SEED_CACHE). Made by the
    # main process; pytest-xdist workers inherit the variable and so the same cache.
    if not hasattr(config, "workerinput"):
        cache = Path(tempfile.mkdtemp(prefix="cd4ml-lab-seed-cache-"))
        os.environ[SEED_CACHE_ENV] = str(cache)
        config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    docker_items = [item for item in items if item.nodeid.startswith(DOCKER_TIERS)]
    if not docker_items:
        return  # `make test`: no engine is asked for
    from lab.stack import engine_unavailable_reason

    reason = engine_unavailable_reason()
    if reason is None:
        return
    for item in docker_items:
        tier = item.nodeid.split("/", 2)[1]
        item.add_marker(pytest.mark.skip(reason=f"{tier} tests need a Docker engine: {reason}"))


Report = pytest.TestReport | pytest.CollectReport


def _allowed_skip(report: Report) -> bool:
    path = report.nodeid.split("::", 1)[0]
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    return (
        path.startswith(DOCKER_TIERS)
        or "--lab-driver=stack" in reason
        or ("stack driver" in reason)
    )


_strict_skips: list[str] = []


def _record_skip(report: Report) -> None:
    """In CI (CI=true) a skipped offline test is an error: CI installs every tool."""
    if os.environ.get("CI") == "true" and report.skipped and not _allowed_skip(report):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        _strict_skips.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _record_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _record_skip(report)  # a whole module skipped while collected (module-level importorskip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _strict_skips and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _strict_skips:
        terminalreporter.section("skipped in CI (CI=true): every offline test must run")
        for line in _strict_skips:
            terminalreporter.write_line(line)


@pytest.fixture
def stack_config_with_collision(tmp_path: Path) -> Path:
    """A copy of the stack's config (compose/, casc/) in which the jenkins service also
    sets LAB_BOT_EMAIL, the way JCasC's global build variable does: the configuration
    that failed commit-back on the real stack (docker-workflow unsets it in agents)."""
    root = tmp_path / "stack-copy"
    for rel in (
        "compose/docker-compose.yml",
        "casc/jenkins.yaml",
        "casc/Dockerfile",
        "casc/check-env.sh",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text((REPO_ROOT / rel).read_text())
    compose = root / "compose" / "docker-compose.yml"
    service_key = "      CASC_LAB_BOT_EMAIL:"
    assert service_key in compose.read_text(), f"{compose}: the fixture needs updating"
    compose.write_text(
        compose.read_text().replace(
            service_key, "      LAB_BOT_EMAIL: ${LAB_BOT_EMAIL:-x}\n" + service_key
        )
    )
    jcasc = root / "casc" / "jenkins.yaml"
    jcasc.write_text(jcasc.read_text().replace("${CASC_LAB_BOT_EMAIL:-", "${LAB_BOT_EMAIL:-"))
    return root


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[Any]:
    """One real S3 server (SeaweedFS, behind the counting relay) for the test session of
    this process; tests make their own buckets and identities in it."""
    from lab.localforge.seaweed import SeaweedS3, weed_binary

    try:
        weed_binary()
    except PrerequisiteMissing as exc:
        pytest.skip(str(exc))
    with SeaweedS3() as server:
        yield server
