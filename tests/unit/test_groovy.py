"""lab.groovy: syntax-only parsing of Jenkinsfiles and Job DSL with the system's groovy."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import groovy
from lab.errors import ConfigError, PrerequisiteMissing

needs_groovy = pytest.mark.skipif(
    groovy.groovy_available() is not None,
    reason=f"Groovy unavailable: {groovy.groovy_available()}",
)

UNDECLARED_STEPS = """\
pipeline {
    agent { dockerfile { filename 'Dockerfile' } }
    stages {
        stage('x') {
            steps {
                withCredentials([usernamePassword(credentialsId: 'A', usernameVariable: 'U')]) {
                    sh "echo ${env.BRANCH_NAME}"
                }
                someStepNobodyDeclares foo: 1
            }
        }
    }
}
"""

UNCLOSED = """\
pipeline {
    agent any
    stages {
        stage('x') {
            steps { sh 'true' }
    }
}
"""


@needs_groovy
def test_one_jvm_reports_only_the_broken_files_with_lines(tmp_path: Path) -> None:
    ok = tmp_path / "Jenkinsfile"
    ok.write_text(UNDECLARED_STEPS)
    bad = tmp_path / "broken.groovy"
    bad.write_text(UNCLOSED)
    bad2 = tmp_path / "seed.groovy"
    bad2.write_text("folder('x') {\n  description('a'\n}\n")

    problems = groovy.parse_files([ok, bad, bad2])

    assert {p.path for p in problems} == {str(bad), str(bad2)}
    unclosed = next(p for p in problems if p.path == str(bad))
    # The parser notices the missing brace at the end of the file.
    assert unclosed.line == 8
    assert "}" in unclosed.message
    paren = next(p for p in problems if p.path == str(bad2))
    assert paren.line == 3
    assert paren.column >= 1


@needs_groovy
def test_parse_text_names_the_given_source() -> None:
    problems = groovy.parse_text("def x = [\nfoo(\n", "projects/demo/Jenkinsfile")
    assert len(problems) == 1
    assert problems[0].path == "projects/demo/Jenkinsfile"
    assert problems[0].line == 2
    assert groovy.parse_text(UNDECLARED_STEPS, "Jenkinsfile") == []


def test_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.groovy"):
        groovy.parse_files([tmp_path / "nope.groovy"])


def test_without_groovy_the_error_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "Jenkinsfile"
    script.write_text("pipeline {}\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # no groovy on PATH
    assert "not installed" in (groovy.groovy_available() or "")
    with pytest.raises(PrerequisiteMissing) as err:
        groovy.parse_files([script])
    assert "apt-get install groovy" in str(err.value)


def test_java_home_found_under_jvm_dir_when_unset(tmp_path: Path) -> None:
    for name in ("temurin-25-jdk-amd64", "java-17-openjdk-amd64", "broken-jdk"):
        (tmp_path / name / "bin").mkdir(parents=True)
    for name in ("temurin-25-jdk-amd64", "java-17-openjdk-amd64"):
        (tmp_path / name / "bin" / "java").write_text("")
    assert groovy.find_java_home({}, tmp_path) == tmp_path / "java-17-openjdk-amd64"
    # A JAVA_HOME that holds a JDK wins; one without bin/java is ignored.
    jdk25 = str(tmp_path / "temurin-25-jdk-amd64")
    assert groovy.find_java_home({"JAVA_HOME": jdk25}, tmp_path) == Path(jdk25)
    broken = {"JAVA_HOME": str(tmp_path / "broken-jdk")}
    assert groovy.find_java_home(broken, tmp_path) == tmp_path / "java-17-openjdk-amd64"
    assert groovy.find_java_home({}, tmp_path / "absent") is None


@needs_groovy
def test_java_home_unset_still_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    bad = tmp_path / "Jenkinsfile"
    bad.write_text(UNCLOSED)
    assert [p.line for p in groovy.parse_files([bad])] == [8]
