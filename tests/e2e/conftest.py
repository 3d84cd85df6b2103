"""End-to-end tests against the real lab stack (Docker).

Where no Docker engine answers, every test here is skipped with that reason (by
tests/conftest.py, which does the same for tests/containers): they never fail and
never pass vacuously on such a machine. With an engine,
the session brings the lab up itself (`lab up` is idempotent), so
`make test-e2e` works right after `make lab-up` or on its own.
"""

from __future__ import annotations

import uuid

import pytest

from lab.config import LabConfig
from lab.report import Reporter
from lab.secrets import Secrets
from lab.stack import Compose


@pytest.fixture(scope="session")
def cfg() -> LabConfig:
    return LabConfig.load()


@pytest.fixture(scope="session")
def compose(cfg: LabConfig) -> Compose:
    return Compose(cfg)


@pytest.fixture(scope="session")
def first_up(cfg: LabConfig) -> list[str]:
    """The changes made by the session's first `lab up` (empty if the lab was already up)."""
    from lab.up import lab_up

    return lab_up(cfg, reporter=Reporter())


@pytest.fixture(scope="session")
def secrets(cfg: LabConfig, first_up: list[str]) -> Secrets:
    return Secrets.load(cfg.secrets_file)


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:8]
