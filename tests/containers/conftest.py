"""Container tier (`make test-containers`): each lab service alone, with testcontainers.

Skipped with the reason where no Docker engine answers (tests/conftest.py, shared with
tests/e2e). Every module gets its own fresh secrets, generated as `lab up` generates
them, in a temporary file: the tier never reads or writes the checkout's .lab/.
"""

from __future__ import annotations

import pytest

from lab.secrets import Secrets


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Secrets:
    return Secrets.ensure(tmp_path_factory.mktemp("lab-secrets") / "secrets.env")[0]
