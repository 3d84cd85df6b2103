"""The declarative model checked by Jenkins itself: for every shipped Jenkinsfile (those
of projects/, whose steps the lab's plugins all provide), lab.pipeline.model's JSON
equals what the lab's Jenkins answers to ``POST /pipeline-model-converter/toJson`` (the
plugin's Converter, with the installed plugins' step descriptors). Skipped, with the
reason, where no Docker engine answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.config import LabConfig
from lab.lint.validator import Validator
from lab.pipeline import model
from lab.secrets import Secrets

REPO = Path(__file__).resolve().parents[2]
FILES = sorted(p for p in REPO.glob("projects/**/*Jenkinsfile") if p.is_file())


@pytest.fixture(scope="module")
def converter(cfg: LabConfig, secrets: Secrets) -> Validator:
    return Validator(
        cfg.jenkins_url,
        secrets.require("JENKINS_ADMIN_USER"),
        secrets.require("JENKINS_ADMIN_PASSWORD"),
    )


@pytest.fixture(scope="module")
def ours() -> dict[Path, model.Extracted]:
    return dict(zip(FILES, model.extract_files(FILES), strict=True))


def test_there_are_jenkinsfiles_to_compare():
    assert REPO / "projects" / "cd4ml-demo" / "Jenkinsfile" in FILES, FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_our_model_is_jenkins_own(
    path: Path, converter: Validator, ours: dict[Path, model.Extracted]
) -> None:
    extracted = ours[path]
    assert not extracted.problems, extracted.problems
    theirs = converter.to_json(path.read_text(encoding="utf-8"))
    assert json.dumps(extracted.pipeline, sort_keys=True, indent=1) == json.dumps(
        theirs, sort_keys=True, indent=1
    )
