"""lab.plugins: the pinned plugin list and which plugin provides which Jenkinsfile construct."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import plugins
from lab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "plugins.txt"
    path.write_text(body)
    return path


def test_reads_pins_skipping_comments_and_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "# header\n\ngit:5.10.1\ntimestamper:1.30  # for timestamps()\n"
        "docker-workflow:634.vedc7242b_eda_7\n",
    )
    pins = plugins.read_plugins(path)
    assert {p: (v.version, v.line) for p, v in pins.items()} == {
        "git": ("5.10.1", 3),
        "timestamper": ("1.30", 4),
        "docker-workflow": ("634.vedc7242b_eda_7", 5),
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("git:5.10.1\ntimestamper\n", r"plugins\.txt:2: 'timestamper' is not pinned"),
        ("git:5.10.1\ngit:5.9.0\n", r"plugins\.txt:2: git listed twice \(first at line 1\)"),
        ("# x\njunit:latest\n", r"plugins\.txt:2: version 'latest' of junit"),
        ("bad id:1.0\n", r"plugins\.txt:1: 'bad id' is not a plugin id"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        plugins.read_plugins(_write(tmp_path, body))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.txt: no such file \(expected a plugin list"):
        plugins.read_plugins(tmp_path / "nope.txt")


JENKINSFILE = """\
@Library('shared@v1') _
pipeline {
    agent { dockerfile { filename 'Dockerfile' } }
    parameters { string(name: 'TARGET', defaultValue: 'main') }
    options { timestamps() }
    stages {
        stage('Build') {
            steps {
                // lock('not code: a comment')
                sh 'echo "readYaml and junit in a string are not steps"'
                withCredentials([usernamePassword(credentialsId: 'GIT_PAT',
                                                  usernameVariable: 'U', passwordVariable: 'P')]) {
                    sh 'true'
                }
                script {
                    def cfg = readYaml file: 'params.yaml'
                    docker.image('python:3.12').inside { sh 'python -V' }
                    checkout scm
                }
                junit 'reports/*.xml'
            }
        }
    }
}
"""


def test_required_plugins_maps_constructs_with_lines() -> None:
    needed = plugins.required_plugins(JENKINSFILE)
    assert needed["pipeline-groovy-lib"] == [(1, "@Library")]
    assert needed["pipeline-model-definition"] == [(2, "pipeline"), (15, "script")]
    assert needed["docker-workflow"] == [(3, "dockerfile"), (17, "docker")]
    assert needed["timestamper"] == [(5, "timestamps")]
    assert needed["credentials-binding"] == [(11, "withCredentials"), (11, "usernamePassword")]
    assert needed["pipeline-utility-steps"] == [(16, "readYaml")]
    assert needed["git"] == [(18, "checkout")]
    assert needed["junit"] == [(20, "junit")]
    assert (10, "sh") in needed["workflow-durable-task-step"]
    # Comments and strings are not code; `string(name: ...)` is a build parameter.
    assert "lockable-resources" not in needed
    assert all(construct != "string" for _, construct in needed["credentials-binding"])


def test_string_binding_needs_credentials_binding() -> None:
    text = "withCredentials([string(credentialsId: 'T', variable: 'TOKEN')]) { sh 'x' }\n"
    assert (1, "string") in plugins.required_plugins(text)["credentials-binding"]


def test_aggregator_brings_its_dependencies() -> None:
    present = plugins.installed(["workflow-aggregator", "git"])
    assert {"workflow-basic-steps", "workflow-durable-task-step", "git"} <= present
    assert {"pipeline-model-definition", "workflow-scm-step"} <= present
    assert "docker-workflow" not in present
    assert "timestamper" not in plugins.installed(["workflow-aggregator"])


def test_lab_plugins_txt_is_fully_pinned() -> None:
    path = ROOT / "casc" / "plugins.txt"
    pins = plugins.read_plugins(path)
    # The plugins the lab's own pipelines rely on.
    assert {"pipeline-model-definition", "docker-workflow", "credentials-binding"} <= set(pins)
