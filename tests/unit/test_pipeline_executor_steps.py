"""The executor's steps run for real: sh as durable-task runs it, masking of every bound
secret form, files, junit, stash, catchError, downstream builds, and the Groovy subset."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest

from lab.pipeline import groovyexpr
from lab.pipeline.filesteps import ant_match, artifacts_dir
from lab.pipeline.masking import encoded_forms
from tests.unit.test_pipeline_executor import (
    credentials_entry,
    echo,
    expr,
    pipeline,
    post,
    run,
    sh,
    stage,
    step,
)

# ---- sh -----------------------------------------------------------------------------------


def test_sh_runs_with_xe_from_the_current_directory_and_shebang_scripts_directly(
    tmp_path: Path,
) -> None:
    doc = pipeline(
        stage(
            "Shell",
            sh("echo traced"),
            sh("#!/bin/sh\necho untraced"),
            step("dir", "sub", children=[sh("pwd > where.txt")]),
            sh("false; echo not reached"),
        )
    )
    result = run(tmp_path, doc)
    out = result.stage("Shell").output
    assert "+ echo traced" in out and "traced" in out
    assert "untraced" in out and "+ echo untraced" not in out
    assert (tmp_path / "ws" / "sub" / "where.txt").read_text().strip() == str(
        tmp_path / "ws" / "sub"
    )
    assert "not reached" not in out  # -e stops at the first failing command
    assert "ERROR: script returned exit code 1" in out


def test_sh_return_status_and_stdout_in_values(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Values",
            sh("exit 4", returnStatus=True),
            echo(expr("\"got ${sh(script: 'echo  padded ', returnStdout: true).trim()}!\"")),
            sh("true", label="a label"),
        )
    )
    result = run(tmp_path, doc)
    assert result.result == "SUCCESS", result.log
    assert "got padded!" in result.log
    assert "[Pipeline] sh (a label)" in result.log


# ---- masking ---------------------------------------------------------------------------------


def test_every_bound_secret_form_is_masked(tmp_path: Path) -> None:
    bindings = expr(
        "${[usernamePassword(credentialsId: 'up', usernameVariable: 'U', passwordVariable: 'P'),"
        " usernameColonPassword(credentialsId: 'up', variable: 'UP'),"
        " string(credentialsId: 'tok', variable: 'TOKEN'),"
        " file(credentialsId: 'sf', variable: 'SF'),"
        " sshUserPrivateKey(credentialsId: 'key', keyFileVariable: 'KF',"
        " passphraseVariable: 'KP', usernameVariable: 'KU')]}"
    )
    script = "\n".join(
        [
            'echo "P=$P UP=$UP TOKEN=$TOKEN SF=$SF KF=$KF KP=$KP U=$U KU=$KU"',
            'printf %s "$TOKEN" | base64',
            'cat "$SF" > sf-copy.txt; cat "$KF" > kf-copy.txt',
            'stat -c %a "$SF" > sf-mode.txt',
        ]
    )
    doc = pipeline(
        stage(
            "Bound",
            step(
                "withCredentials",
                bindings,
                children=[
                    sh(script),
                    echo(expr("\"stdout: ${sh(script: 'printf %s $TOKEN', returnStdout: true)}\"")),
                    sh(expr('"echo interpolated $TOKEN $P"')),
                ],
            ),
        ),
        stage("Env", sh('echo "C=$C C_PSW=$C_PSW C_USR=$C_USR"')),
        environment=[credentials_entry("C", "up")],
    )
    result = run(tmp_path, doc)
    assert result.result == "SUCCESS", result.log
    for secret in ("pa55-word!", "tok-SECRET-123", "ph-rase", "bob:pa55-word!"):
        assert secret not in result.log
        for stage_run in result.stages:
            assert secret not in stage_run.output
    assert base64.b64encode(b"tok-SECRET-123").decode() not in result.log
    assert "stdout: ****" in result.log
    assert (
        'Warning: A secret was passed to "sh" using Groovy String interpolation, which is '
        "insecure.\n\t\t Affected argument(s) used the following variable(s): [C_PSW, P, TOKEN]"
    ) in result.log
    assert 'A secret was passed to "echo"' in result.log  # the returnStdout value
    assert "U=bob" in result.log and "KU=git" in result.log  # usernames are not secret
    assert "C=**** C_PSW=**** C_USR=bob" in result.log
    assert "Masking supported pattern matches of $P or $UP or $TOKEN or $SF or $KF or $KP" in (
        result.log
    )
    ws = tmp_path / "ws"
    assert (ws / "sf-copy.txt").read_text() == "file-content-xyz"
    assert (ws / "kf-copy.txt").read_text() == "KEY-MATERIAL\n"
    assert (ws / "sf-mode.txt").read_text().strip() == "400"
    # The secret files live in <workspace>@tmp/secretFiles and are gone after the block.
    secret_dir = tmp_path / "ws@tmp" / "secretFiles"
    assert secret_dir.is_dir() and not any(secret_dir.iterdir())


def test_extra_secrets_and_password_parameters_are_masked(tmp_path: Path) -> None:
    doc = pipeline(
        stage("S", sh('echo "token=$GIT_TOKEN pw=$PW"')),
        stage("Unbound", sh("echo tok-SECRET-123 is not bound here")),
        parameters={
            "parameters": [
                {
                    "name": "password",
                    "arguments": [
                        {"key": "name", "value": {"isLiteral": True, "value": "PW"}},
                        {"key": "defaultValue", "value": {"isLiteral": True, "value": "param-pw"}},
                    ],
                }
            ]
        },
    )
    lines: list[str] = []
    result = run(
        tmp_path, doc, env={"GIT_TOKEN": "git-tok-9"}, secrets=["git-tok-9"], out=lines.append
    )
    assert "token=**** pw=****" in result.log
    assert "**** is not bound here" in result.log
    assert not any("git-tok-9" in line or "param-pw" in line for line in lines)


def test_encoded_forms_follow_credentials_binding() -> None:
    forms = encoded_forms("a'b$c")
    assert {"a'b$c", "a'\\''b$c", "'a'\\''b$c'", "a'\"'\"'b$c", "a'b$$c"} <= forms
    assert base64.b64encode(b"a'b$c").decode() in forms
    # Forms shorter than 3 characters are never masked (SecretPatterns), longer ones are.
    assert "ab" not in encoded_forms("ab") and "'ab'" in encoded_forms("ab")


# ---- files, artifacts, junit, stash -------------------------------------------------------


def test_write_read_exists_and_delete_dir(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Files",
            step("writeFile", file="out/a.txt", text=expr('"branch ${env.BRANCH_NAME}"')),
            echo(expr("\"read: ${readFile('out/a.txt')} exists: ${fileExists('out/a.txt')}\"")),
            step("dir", "out", children=[step("deleteDir")]),
            echo(expr("\"after: ${fileExists('out/a.txt')}\"")),
            step(
                "withEnv", expr("${['A=1', 'PATH+EXTRA=/opt/x']}"), children=[sh('echo "$A $PATH"')]
            ),
        )
    )
    result = run(tmp_path, doc)
    assert "read: branch main exists: true" in result.log
    assert "after: false" in result.log
    assert "1 /opt/x:" in result.log


def test_archive_artifacts(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Archive",
            sh("mkdir -p build/sub && echo a > build/a.bin && echo b > build/sub/b.bin"),
            step("archiveArtifacts", artifacts="build/**/*.bin", excludes="**/sub/**"),
            step("archiveArtifacts", artifacts="nothing/*", allowEmptyArchive=True),
            step("archiveArtifacts", "missing/*"),
        )
    )
    result = run(tmp_path, doc)
    target = artifacts_dir(tmp_path / "ws")
    assert (target / "build" / "a.bin").read_text() == "a\n"
    assert not (target / "build" / "sub").exists()
    assert result.result == "FAILURE"
    assert 'No artifacts found that match the file pattern "missing/*". Configuration error?' in (
        result.log
    )


JUNIT = """<testsuite name="s" tests="2"><testcase name="ok"/>
<testcase name="bad"><failure message="no"/></testcase></testsuite>"""


def test_junit_failures_make_the_build_unstable(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Tests",
            step("writeFile", file="reports/TEST-s.xml", text=JUNIT),
            step("junit", "reports/*.xml"),
            post=post(unstable=[echo("stage is unstable")]),
        ),
        stage("Next", echo("next still runs")),
        post=post(unstable=[echo("build is unstable")], success=[echo("NO")]),
    )
    result = run(tmp_path, doc)
    assert result.result == "UNSTABLE"
    assert result.stage("Tests").status == "UNSTABLE"
    assert "stage is unstable" in result.log and "build is unstable" in result.log
    assert "next still runs" in result.log and "NO\n" not in result.log
    empty = run(tmp_path, pipeline(stage("T", step("junit", "none/*.xml"))))
    assert empty.result == "FAILURE"
    assert "ERROR: No test report files were found. Configuration error?" in empty.log
    allowed = run(
        tmp_path, pipeline(stage("T", step("junit", testResults="x/*", allowEmptyResults=True)))
    )
    assert allowed.result == "SUCCESS"
    assert "None of the test reports contained any result" in allowed.log
    no_tests = pipeline(
        stage("T", step("writeFile", file="r/e.xml", text="<testsuite/>"), step("junit", "r/*.xml"))
    )
    assert "ERROR: None of the test reports contained any result" in run(tmp_path, no_tests).log


def test_stash_and_unstash_between_stages(tmp_path: Path) -> None:
    doc = pipeline(
        stage("Make", sh("mkdir -p dist && echo payload > dist/p.txt && echo x > other.txt")),
        stage(
            "Stash",
            step("stash", name="dist", includes="dist/**"),
            step("stash", name="dist", includes="dist/**"),
            step("deleteDir"),
        ),
        stage("Use", step("unstash", "dist"), sh("cat dist/p.txt; test ! -e other.txt")),
        stage("Missing", step("unstash", "nope")),
    )
    result = run(tmp_path, doc)
    assert "Stashed 1 file(s)" in result.log
    assert "Warning: overwriting stash \u2018dist\u2019" in result.log
    assert result.stage("Use").status == "SUCCESS"
    assert "payload" in result.stage("Use").output
    assert "No such saved stash \u2018nope\u2019" in result.log


# ---- catchError, warnError, unstable, error --------------------------------------------------


def test_catch_error_sets_the_build_result_and_lets_later_stages_run(tmp_path: Path) -> None:
    doc = pipeline(
        stage("Caught", step("catchError", children=[sh("exit 2")]), echo("after catchError")),
        stage(
            "Warned",
            step("warnError", "flaky", children=[step("error", "nope")]),
            step(
                "catchError", buildResult="SUCCESS", stageResult="UNSTABLE", children=[sh("exit 1")]
            ),
        ),
        stage("Later", echo("later runs")),
    )
    result = run(tmp_path, doc)
    assert result.result == "FAILURE"
    assert result.stage("Caught").status == "SUCCESS"
    assert result.stage("Warned").status == "UNSTABLE"
    assert "after catchError" in result.log and "later runs" in result.log
    assert "Setting overall build result to FAILURE" in result.log
    assert "ERROR: flaky" in result.log and "ERROR: nope" in result.log


def test_catch_error_around_a_timeout_records_aborted(tmp_path: Path) -> None:
    timeout = step("timeout", time=200, unit="MILLISECONDS", children=[sh("sleep 20")])
    doc = pipeline(stage("T", step("catchError", children=[timeout]), echo("went on")))
    result = run(tmp_path, doc)
    assert result.result == "ABORTED"
    assert "went on" in result.log


def test_unstable_step(tmp_path: Path) -> None:
    result = run(tmp_path, pipeline(stage("U", step("unstable", "careful"))))
    assert result.result == "UNSTABLE"
    assert "WARNING: careful" in result.log


# ---- build job: ----------------------------------------------------------------------------


def test_build_job_goes_through_downstream(tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, str], bool]] = []

    def downstream(job: str, params: Any, wait: bool) -> str:
        calls.append((job, dict(params), wait))
        return "FAILURE" if job == "broken" else "SUCCESS"

    params = expr(
        "${[string(name: 'MODEL', value: 'm1'), booleanParam(name: 'FULL', value: true)]}"
    )
    doc = pipeline(
        stage("Train", step("build", job="train", parameters=params)),
        stage("Async", step("build", job="broken", wait=False)),
        stage(
            "Caught",
            step("catchError", catchInterruptions=False, children=[step("build", job="broken")]),
        ),
        stage("Chain", step("build", job="broken")),
    )
    result = run(tmp_path, doc, downstream=downstream)
    assert calls == [
        ("train", {"MODEL": "m1", "FULL": "true"}, True),
        ("broken", {}, False),
        ("broken", {}, True),
        ("broken", {}, True),
    ]
    assert result.result == "FAILURE"
    assert result.stage("Chain").status == "FAILURE"
    assert "broken completed with status FAILURE" in result.log
    # A downstream failure is not an actual interruption: catchError catches it anyway and
    # the build goes on ("Chain" ran); the step's WarningAction marks the stage FAILURE.
    assert result.stage("Caught").status == "FAILURE"
    assert not result.stage("Chain").skipped

    alone = run(tmp_path, pipeline(stage("Train", step("build", "train"))))
    assert alone.result == "FAILURE"
    assert "needs a downstream runner" in alone.log


# ---- the Groovy subset -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('"FOO is $FOO"', "FOO is foo"),
        ('"""multi\n${env.FOO}"""', "multi\nfoo"),
        ("${env.FOO == 'foo' && !params.OFF}", True),
        ("return env.NOPE == null", True),
        ("${params.N as int}", 3),
        ("${env.FLAG.toBoolean()}", True),
        ("\"${params.MISSING ?: 'fallback'}\"", "fallback"),
        ("${env.FOO != 'foo' || params.N == '3'}", True),
        ("${env.FOO.startsWith('f') ? 'yes' : 'no'}", "yes"),
        ("'single $FOO'", "single $FOO"),
        ("${['a', 'b'] + 'c'}", ["a", "b", "c"]),
        ('"${params.OFF}"', "false"),
        # quotes inside ${...} of a GString belong to the expression, as in Groovy
        ('"${env.NOPE == null ? "none" : "some"} left"', "none left"),
        ('"${env.FOO == "" ? "EC2" : env.FOO}"', "foo"),
    ],
)
def test_groovy_subset_values(source: str, value: Any) -> None:
    scope = groovyexpr.Scope({"FOO": "foo", "FLAG": " TRUE "}, {"OFF": False, "N": "3"})
    assert groovyexpr.evaluate(source, scope) == value


@pytest.mark.parametrize(
    "source",
    [
        "${new File('/etc/passwd').text}",
        "${System.getenv('HOME')}",
        "${env.FOO.execute()}",
        "def x = 1; x",
        '"${currentBuild.result}"',
        "${x = 1}",
    ],
)
def test_groovy_beyond_the_subset_is_refused(source: str) -> None:
    scope = groovyexpr.Scope({"FOO": "foo"}, {})
    with pytest.raises(groovyexpr.Unsupported):
        groovyexpr.evaluate(source, scope)


def test_unknown_bare_names_fail_like_groovy() -> None:
    with pytest.raises(groovyexpr.EvalError, match="No such property: NOPE"):
        groovyexpr.evaluate('"$NOPE"', groovyexpr.Scope({}, {}))


def test_ant_patterns() -> None:
    assert ant_match("**/*.xml", "a/b/c.xml") and ant_match("**/*.xml", "c.xml")
    assert ant_match("release/*", "RELEASE/1.0", case_sensitive=False)
    assert not ant_match("release/*", "release/1/2")
    assert ant_match("dist/", "dist/x/y")


def test_secret_file_permissions_are_private(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "F",
            step(
                "withCredentials",
                expr("${[file(credentialsId: 'sf', variable: 'SF')]}"),
                children=[sh('stat -c %a "$(dirname "$SF")" > dirmode.txt')],
            ),
        )
    )
    run(tmp_path, doc)
    assert (tmp_path / "ws" / "dirmode.txt").read_text().strip() == oct(stat.S_IRWXU)[2:]


def test_file_errors_fail_the_step_and_agent_none_has_no_workspace(tmp_path: Path) -> None:
    (tmp_path / "ws" / "adir").mkdir(parents=True)
    result = run(tmp_path, pipeline(stage("W", step("writeFile", file="adir", text="x"))))
    assert result.result == "FAILURE"
    assert "ERROR: writeFile: Is a directory" in result.log

    doc = pipeline(stage("NoNode", echo("echo is fine"), sh("true")))
    doc["pipeline"]["agent"] = {"type": "none"}
    result = run(tmp_path, doc)
    assert result.result == "FAILURE"
    assert "echo is fine" in result.log
    assert "requires a node context while \u2018agent none\u2019 was specified" in result.log
