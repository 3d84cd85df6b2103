"""The executor of the declarative model, run for real: sh processes, files, credentials,
timing. Models are built here in the shape of pipeline-model-converter's toJson."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from lab.errors import ConfigError
from lab.pipeline.executor import Credential, PipelineRun, plan, run_model

# ---- building models ------------------------------------------------------------------


def lit(value: Any) -> dict[str, Any]:
    return {"isLiteral": True, "value": value}


def expr(source: str) -> dict[str, Any]:
    """A non-literal value: Groovy source (a GString, or ``${...}``)."""
    return {"isLiteral": False, "value": source}


def _raw(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) and "isLiteral" in value else lit(value)


def step(name: str, /, *positional: Any, children: list[Any] | None = None, **named: Any) -> dict:
    """A step: named arguments, one unnamed argument, or none."""
    if named:
        args: Any = [{"key": k, "value": _raw(v)} for k, v in named.items()]
    elif len(positional) == 1:
        args = _raw(positional[0])
    else:
        args = [_raw(v) for v in positional]
    out: dict[str, Any] = {"name": name, "arguments": args}
    if children is not None:
        out["children"] = children
    return out


def sh(script: str, **named: Any) -> dict:
    return step("sh", script=script, **named) if named else step("sh", script)


def echo(message: Any) -> dict:
    return step("echo", message)


def post(**blocks: list[dict]) -> dict:
    return {
        "conditions": [
            {"condition": name, "branch": {"name": "default", "steps": steps}}
            for name, steps in blocks.items()
        ]
    }


def stage(name: str, *steps: dict, **extra: Any) -> dict:
    out: dict[str, Any] = {"name": name}
    if steps:
        out["branches"] = [{"name": "default", "steps": list(steps)}]
    out.update(extra)
    return out


def when(*conds: dict, **flags: bool) -> dict:
    return {"conditions": list(conds), **flags}


def cond(name: str, /, *positional: Any, **named: Any) -> dict:
    return step(name, *positional, **named)


def nested(name: str, *children: dict) -> dict:
    return {"name": name, "children": list(children)}


def options(*calls: dict) -> dict:
    return {"options": list(calls)}


def option(name: str, /, *positional: Any, **named: Any) -> dict:
    if named:
        return {"name": name, "arguments": [{"key": k, "value": _raw(v)} for k, v in named.items()]}
    return {"name": name, "arguments": [_raw(v) for v in positional]}


def env_entry(key: str, value: Any) -> dict:
    return {"key": key, "value": _raw(value)}


def credentials_entry(key: str, cred_id: str) -> dict:
    return {"key": key, "value": {"name": "credentials", "arguments": [lit(cred_id)]}}


def pipeline(*stages: dict, **extra: Any) -> dict:
    return {"pipeline": {"agent": {"type": "any"}, "stages": list(stages), **extra}}


CREDS = {
    "up": Credential("up", "usernamePassword", "pa55-word!", username="bob"),
    "tok": Credential("tok", "string", "tok-SECRET-123"),
    "sf": Credential("sf", "file", "file-content-xyz", filename="settings.xml"),
    "key": Credential(
        "key", "sshUserPrivateKey", "KEY-MATERIAL", username="git", passphrase="ph-rase"
    ),
}


def run(
    tmp_path: Path, doc: dict, *, env: Mapping[str, str] | None = None, **kwargs: Any
) -> PipelineRun:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    base = {"PATH": os.environ["PATH"], "BRANCH_NAME": "main", "WORKSPACE": str(workspace)}
    kwargs.setdefault("credentials", CREDS)
    return run_model(doc, workspace=workspace, env={**base, **(env or {})}, **kwargs)


def run_within(seconds: float, tmp_path: Path, doc: dict, **kwargs: Any) -> PipelineRun:
    """``run``, asserting it took less than ``seconds`` (what a kill or an abort saves)."""
    start = time.monotonic()
    result = run(tmp_path, doc, **kwargs)
    assert time.monotonic() - start < seconds, result.log
    return result


def lines(result: PipelineRun) -> list[str]:
    return result.log.splitlines()


# ---- stage flow -------------------------------------------------------------------------


def test_a_failing_stage_skips_the_rest_and_post_runs(tmp_path: Path) -> None:
    doc = pipeline(
        stage("First", sh("echo first > first.txt")),
        stage("Broken", sh("echo broken; exit 3"), post=post(failure=[echo("stage post ran")])),
        stage("Later", sh("touch later.txt")),
        post=post(always=[echo("build post ran")], success=[echo("NOT SUCCESS")]),
    )
    result = run(tmp_path, doc)
    assert result.result == "FAILURE"
    assert [(s.name, s.status) for s in result.stages] == [
        ("First", "SUCCESS"),
        ("Broken", "FAILURE"),
        ("Later", "NOT_BUILT"),
    ]
    broken = result.stage("Broken")
    assert broken.returncode == 3
    assert "ERROR: script returned exit code 3" in broken.output
    assert "stage post ran" in broken.output
    assert result.stage("Later").reason == "earlier failure(s)"
    assert 'Stage "Later" skipped due to earlier failure(s)' in result.log
    assert "build post ran" in result.log and "NOT SUCCESS" not in result.log
    assert not (tmp_path / "ws" / "later.txt").exists()
    assert lines(result)[-1] == "Finished: FAILURE"


def test_post_conditions_run_in_jenkins_order_on_a_first_build(tmp_path: Path) -> None:
    names = ["cleanup", "failure", "fixed", "unsuccessful", "changed", "always", "regression"]
    doc = pipeline(
        stage("Fails", step("error", "boom")),
        post=post(**{n: [echo(f"post:{n}")] for n in names}),
    )
    result = run(tmp_path, doc)
    ran = [line for line in lines(result) if line.startswith("post:")]
    # changed: no previous build; fixed/regression: never on a first build.
    assert ran == [
        "post:always",
        "post:changed",
        "post:unsuccessful",
        "post:failure",
        "post:cleanup",
    ]
    assert "ERROR: boom" in result.log

    doc["pipeline"]["post"] = post(
        always=[step("error", "post broke")], cleanup=[echo("cleanup still runs")]
    )
    doc["pipeline"]["stages"] = [stage("Fine", echo("fine"))]
    result = run(tmp_path, doc)
    assert result.result == "FAILURE"
    assert "Error when executing always post condition:\nERROR: post broke" in result.log
    assert "cleanup still runs" in result.log


def test_nested_stages_and_skip_of_a_parent(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Outer",
            stages=[stage("Inner 1", echo("one")), stage("Inner 2", echo("two"))],
            post=post(always=[echo("outer post")]),
        ),
        stage(
            "Skipped parent",
            when=when(cond("branch", "release/*")),
            stages=[stage("Skipped child", echo("never"))],
        ),
    )
    result = run(tmp_path, doc)
    assert result.result == "SUCCESS"
    assert result.stage("Inner 1").parent == "Outer"
    assert "outer post" in result.stage("Outer").output
    assert result.stage("Skipped child").skipped
    assert result.stage("Skipped child").reason == "when conditional"
    assert "never" not in result.log


def test_checkout_scm_is_a_no_op_and_triggers_are_noted(tmp_path: Path) -> None:
    doc = pipeline(
        stage("Checkout", step("checkout", expr("${scm}")), echo("checked")),
        triggers={"triggers": [option("cron", "H * * * *")]},
        options=options(option("skipDefaultCheckout"), option("buildDiscarder", expr("${x}"))),
    )
    assert [p.runnable for p in plan(doc)] == [True]
    result = run(tmp_path, doc)
    assert result.result == "SUCCESS", result.log
    assert "Declarative: Checkout SCM" not in result.log
    assert "checkout: the workspace was checked out before the build started" in result.log
    assert "triggers: a local run is started by hand" in result.log


def test_skip_stages_marks_them_skipped_by_stage_selection(tmp_path: Path) -> None:
    doc = pipeline(stage("Unit tests", sh("touch ran.txt")), stage("Other", echo("other ran")))
    result = run(tmp_path, doc, skip_stages=["Unit tests"])
    assert result.result == "SUCCESS"
    assert result.stage("Unit tests").reason == "stage selection"
    assert result.stage("Unit tests").status == "NOT_BUILT"
    assert 'Stage "Unit tests" skipped by the local driver (stage selection)' in result.log
    assert not (tmp_path / "ws" / "ran.txt").exists()
    assert "other ran" in result.log


# ---- when -----------------------------------------------------------------------------------


def test_when_conditions(tmp_path: Path) -> None:
    doc = pipeline(
        stage("glob", echo("ran:glob"), when=when(cond("branch", "FEATURE/*"))),
        stage("glob-miss", echo("ran:glob-miss"), when=when(cond("branch", "feature"))),
        stage(
            "regexp",
            echo("ran:regexp"),
            when=when(cond("branch", pattern="feat.*-\\d+", comparator="REGEXP")),
        ),
        stage("cr", echo("ran:cr"), when=when(cond("changeRequest"))),
        stage("cr-target", echo("ran:cr-target"), when=when(cond("changeRequest", target="main"))),
        stage("cr-miss", echo("ran:cr-miss"), when=when(cond("changeRequest", target="dev"))),
        stage("env", echo("ran:env"), when=when(cond("environment", name="MODE", value="fast"))),
        stage(
            "expr",
            echo("ran:expr"),
            when=when(cond("expression", scriptBlock="return params.DEPLOY && env.MODE == 'fast'")),
        ),
        stage(
            "combo",
            echo("ran:combo"),
            when=when(
                nested(
                    "anyOf",
                    nested("not", cond("changeRequest")),
                    nested("allOf", cond("buildingTag"), cond("tag", "v*")),
                )
            ),
        ),
        stage("not", echo("ran:not"), when=when(nested("not", cond("changeRequest")))),
        stage(
            "equals",
            echo("ran:equals"),
            when=when(cond("equals", expected=2, actual=expr("${params.COUNT as int}"))),
        ),
        parameters={
            "parameters": [
                option("booleanParam", name="DEPLOY", defaultValue=True),
                option("string", name="COUNT", defaultValue="2"),
            ]
        },
    )
    env = {"BRANCH_NAME": "feature/x-12", "CHANGE_ID": "7", "CHANGE_TARGET": "main", "MODE": "fast"}
    result = run(tmp_path, doc, env=env)
    ran = {line.split(":", 1)[1] for line in lines(result) if line.startswith("ran:")}
    assert ran == {"glob", "regexp", "cr", "cr-target", "env", "expr", "equals"}
    assert 'Stage "cr-miss" skipped due to when conditional' in result.log
    assert result.stage("combo").reason == "when conditional"


def test_when_sees_the_environment_before_the_stage_own_and_skip_after_unstable(
    tmp_path: Path,
) -> None:
    doc = pipeline(
        stage(
            "Own env",
            echo("ran own env"),
            environment=[env_entry("ONLY_HERE", "yes")],
            when=when(cond("environment", name="ONLY_HERE", value="yes")),
        ),
        stage("Wobbly", step("unstable", "meh")),
        stage("After", echo("not after unstable")),
        options=options(option("skipStagesAfterUnstable")),
    )
    result = run(tmp_path, doc)
    assert result.stage("Own env").reason == "when conditional"  # its environment comes later
    assert result.result == "UNSTABLE"
    assert result.stage("After").reason == "unstable"
    assert 'Stage "After" skipped due to earlier stage(s) marking the build as unstable' in (
        result.log
    )


def test_when_before_agent_is_evaluated_before_the_stage_agent(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Docker",
            echo("in docker"),
            agent={"type": "docker", "arguments": [{"key": "image", "value": lit("x")}]},
            when=when(cond("branch", "nope"), beforeAgent=True),
        )
    )
    result = run(tmp_path, doc)
    assert result.stage("Docker").skipped
    assert "agent docker" not in result.log


# ---- environment, parameters, credentials --------------------------------------------------


def test_environment_refers_to_entries_params_and_credentials(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Show",
            sh('echo "BAR=$BAR BAZ=$BAZ LATE=$LATE TARGET=$TARGET USER=$C_USR" > env.txt'),
            environment=[env_entry("BAZ", expr('"${BAR}-baz"'))],
        ),
        environment=[
            env_entry("LATE", expr('"late-${FOO}"')),  # refers to an entry written after it
            env_entry("FOO", "foo"),
            env_entry("BAR", expr('"${FOO}bar-${params.WHERE}"')),
            env_entry("TARGET", expr("\"${params.MISSING ?: 'default'}\"")),
            credentials_entry("C", "up"),
        ],
        parameters={"parameters": [option("string", name="WHERE", defaultValue="here")]},
    )
    result = run(tmp_path, doc, params={"WHERE": "there"})
    assert result.result == "SUCCESS", result.log
    text = (tmp_path / "ws" / "env.txt").read_text()
    assert text == "BAR=foobar-there BAZ=foobar-there-baz LATE=late-foo TARGET=default USER=bob\n"


def test_parameters_defaults_overrides_and_unknown_names(tmp_path: Path) -> None:
    doc = pipeline(
        stage("P", sh('echo "$NAME/$FLAG/$PICK/$NOTE" > params.txt')),
        parameters={
            "parameters": [
                option("string", name="NAME", defaultValue="dflt"),
                option("booleanParam", name="FLAG", defaultValue=False),
                option("choice", name="PICK", choices=expr("${['first', 'second']}")),
                option("text", name="NOTE", defaultValue="n"),
            ]
        },
    )
    assert run(tmp_path, doc).result == "SUCCESS"
    assert (tmp_path / "ws" / "params.txt").read_text() == "dflt/false/first/n\n"
    run(tmp_path, doc, params={"FLAG": "true", "PICK": "second"})
    assert (tmp_path / "ws" / "params.txt").read_text() == "dflt/true/second/n\n"
    with pytest.raises(ConfigError, match="'NOPE' is not declared"):
        run(tmp_path, doc, params={"NOPE": "1"})
    with pytest.raises(ConfigError, match="not one of"):
        run(tmp_path, doc, params={"PICK": "third"})


def test_a_missing_credential_fails_with_jenkins_message(tmp_path: Path) -> None:
    binding = expr(
        "${[usernamePassword(credentialsId: 'nope', usernameVariable: 'U', passwordVariable: 'P')]}"
    )
    doc = pipeline(stage("Creds", step("withCredentials", binding, children=[sh("true")])))
    result = run(tmp_path, doc)
    assert result.result == "FAILURE"
    assert "ERROR: Could not find credentials entry with ID 'nope'" in result.stage("Creds").output


def test_errors_before_the_stages_still_run_post(tmp_path: Path) -> None:
    doc = pipeline(
        stage("Never", echo("never")),
        environment=[credentials_entry("C", "nope")],
        post=post(failure=[echo("post after a missing credential")]),
    )
    result = run(tmp_path, doc)
    assert result.result == "FAILURE"
    assert "ERROR: Could not find credentials entry with ID 'nope'" in result.log
    assert "post after a missing credential" in result.log
    assert result.stages == []  # as in Jenkins: the stages were never reached

    doc = pipeline(stage("Never", echo("never")), libraries={"libraries": [lit("lib@1")]})
    result = run(tmp_path, doc, locations={"/pipeline/libraries": 4})
    assert "ERROR: needs the stack driver: libraries at Jenkinsfile:4" in result.log
    assert result.result == "FAILURE" and "never" not in result.log


def test_docker_agent_strips_what_equals_the_node_environment(tmp_path: Path) -> None:
    doc = pipeline(stage("S", sh('echo "SHARED=${SHARED:-unset} OWN=$OWN" > agent.txt')))
    doc["pipeline"]["agent"] = {"type": "dockerfile", "argument": lit(True)}
    result = run(
        tmp_path,
        doc,
        env={"SHARED": "same", "OWN": "mine"},
        node_env={"SHARED": "same", "OWN": "x"},
    )
    assert (tmp_path / "ws" / "agent.txt").read_text() == "SHARED=unset OWN=mine\n"
    assert "(docker-workflow WithContainerStep): SHARED" in result.log


# ---- options, timeouts, retry, parallel -----------------------------------------------------


def _gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped by init counts as exited)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_timeout_aborts_and_kills_the_process_group(tmp_path: Path) -> None:
    script = "sleep 30 & echo $! > grandchild.pid\nsleep 30"
    doc = pipeline(
        stage(
            "Slow",
            step("timeout", time=1, unit="SECONDS", children=[sh(script)]),
            post=post(aborted=[echo("stage aborted")]),
        ),
        stage("After", echo("never")),
    )
    result = run_within(10, tmp_path, doc)
    assert result.result == "ABORTED"
    assert result.stage("Slow").status == "ABORTED"
    assert "Timeout set to expire in 1 sec" in result.log
    assert "Cancelling nested steps due to timeout" in result.log
    assert "stage aborted" in result.log
    assert result.stage("After").reason == "earlier failure(s)"
    pid = int((tmp_path / "ws" / "grandchild.pid").read_text())
    assert _gone(pid), "the background child of the script survived the timeout"


def test_stage_timeout_bounds_every_stage(tmp_path: Path) -> None:
    doc = pipeline(stage("Hangs", sh("sleep 30")))
    result = run(tmp_path, doc, stage_timeout=0.3)
    assert result.result == "ABORTED"
    assert "[local driver] the stage ran past its bound of 0.3 sec" in result.log
    assert "Timeout set to expire" not in result.log


def test_options_timeout_and_timestamps_wrap_the_stages(tmp_path: Path) -> None:
    doc = pipeline(
        stage("S", echo("stamped")),
        options=options(option("timeout", time=1, unit="MINUTES"), option("timestamps")),
    )
    result = run(tmp_path, doc)
    assert "Timeout set to expire in 1 min 0 sec" in result.log
    stamped = [line for line in lines(result) if line.endswith("stamped")]
    assert stamped and stamped[0].startswith("[20") and "Z] stamped" in stamped[0]


def test_retry_counts_attempts(tmp_path: Path) -> None:
    flaky = 'echo try >> tries.txt; [ "$(wc -l < tries.txt)" -ge 3 ]'
    doc = pipeline(stage("Flaky", step("retry", 3, children=[sh(flaky)])))
    result = run(tmp_path, doc)
    assert result.result == "SUCCESS"
    assert (tmp_path / "ws" / "tries.txt").read_text().count("try") == 3
    assert result.log.count("Retrying") == 2

    (tmp_path / "ws" / "tries.txt").unlink()
    doc = pipeline(stage("Flaky", sh(flaky)), options=options(option("retry", 2)))
    result = run(tmp_path, doc)
    assert result.result == "FAILURE"
    assert (tmp_path / "ws" / "tries.txt").read_text().count("try") == 2


def test_parallel_fail_fast_stops_the_siblings(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Both",
            parallel=[
                stage("fails", sh("sleep 0.2; exit 1")),
                stage("slow", sh("sleep 20"), post=post(aborted=[echo("slow was aborted")])),
            ],
            failFast=True,
        ),
        stage("After", echo("never")),
    )
    result = run_within(10, tmp_path, doc)
    assert result.result == "FAILURE"
    assert result.stage("fails").status == "FAILURE"
    assert result.stage("slow").status == "ABORTED"
    assert result.stage("slow").parent == "Both"
    assert "slow was aborted" in result.log
    assert "Failed in branch fails" in result.stage("slow").output


def test_parallel_without_fail_fast_lets_siblings_finish(tmp_path: Path) -> None:
    doc = pipeline(
        stage(
            "Both",
            parallel=[stage("fails", sh("exit 1")), stage("ok", sh("sleep 0.3; touch ok.txt"))],
        )
    )
    result = run_within(5, tmp_path, doc)
    assert result.result == "FAILURE"
    assert result.stage("ok").status == "SUCCESS"
    assert (tmp_path / "ws" / "ok.txt").exists()


def test_parallels_always_fail_fast_option(tmp_path: Path) -> None:
    doc = pipeline(
        stage("Both", parallel=[stage("a", step("error", "x")), stage("b", sh("sleep 20"))]),
        options=options(option("parallelsAlwaysFailFast")),
    )
    result = run_within(10, tmp_path, doc)
    assert result.stage("b").status == "ABORTED"


# ---- honest limits ------------------------------------------------------------------------


def test_needs_stack_stops_at_the_construct_with_its_line(tmp_path: Path) -> None:
    doc = pipeline(
        stage("Plain", echo("fine")),
        stage("Scripted", echo("before"), step("script", scriptBlock="def x = 1"), echo("after")),
        stage("Later", echo("never")),
        post=post(always=[echo("post still runs")]),
    )
    locations = {"/pipeline/stages/1/branches/0/steps/1": 31, "/pipeline/stages/2": 40}
    result = run(tmp_path, doc, locations=locations, source="ci/Jenkinsfile")
    assert result.result == "FAILURE"
    message = "needs the stack driver: script { } at ci/Jenkinsfile:31"
    assert f"ERROR: {message}" in result.stage("Scripted").output
    assert "before" in result.log and "after" not in result.log
    assert result.stage("Later").skipped
    assert "post still runs" in result.log
    planned = plan(doc, locations=locations, source="ci/Jenkinsfile")
    assert [(p.name, p.runnable) for p in planned] == [
        ("Plain", True),
        ("Scripted", False),
        ("Later", True),
    ]
    assert planned[1].reason == message


@pytest.mark.parametrize(
    ("bad", "construct"),
    [
        (step("input", message="ok?"), "input"),
        (step("slackSend", message="hi"), "step slackSend"),
        (echo(expr('"${currentBuild.getRawBuild()}"')), "expression"),
    ],
)
def test_needs_stack_for_unknown_steps_and_expressions(
    tmp_path: Path, bad: dict, construct: str
) -> None:
    doc = pipeline(stage("S", bad))
    locations = {"/pipeline/stages/0": 12}
    result = run(tmp_path, doc, locations=locations)
    assert result.result == "FAILURE"
    assert f"needs the stack driver: {construct}" in result.log
    assert "at Jenkinsfile:12" in result.log
    (planned,) = plan(doc, locations=locations)
    assert not planned.runnable and "at Jenkinsfile:12" in planned.reason


def test_plan_reports_root_level_limits_on_every_stage() -> None:
    doc = pipeline(stage("A", echo("a")), libraries={"libraries": [lit("lib@main")]})
    planned = plan(doc, locations={"/pipeline/libraries": 3})
    assert planned[0].reason == "needs the stack driver: libraries at Jenkinsfile:3"


def test_plan_blocks_the_stages_inside_a_stage_it_cannot_enter() -> None:
    """A nested stage runs within its parent (its tools, environment, when): the parent's
    limit is the child's, as the pipeline's own limits are every stage's."""
    inner = stage("inner", sh("java -version"))
    outer = {"name": "outer", "tools": {"jdk": lit("17")}, "stages": [inner]}
    planned = plan(pipeline(outer), locations={"/pipeline/stages/0/tools": 7})
    assert [(p.name, p.runnable) for p in planned] == [("outer", False), ("inner", False)]
    assert planned[1].reason == planned[0].reason and "Jenkinsfile:7" in planned[1].reason


def test_matrix_cells_run_in_parallel_with_their_axis_values(tmp_path: Path) -> None:
    axes = [
        {"name": "OS", "values": [lit("linux"), lit("mac")]},
        {"name": "PY", "values": [lit("3.11"), lit("3.12")]},
    ]
    excludes = [[{"name": "OS", "values": [lit("mac")]}, {"name": "PY", "values": [lit("3.11")]}]]
    doc = pipeline(
        stage(
            "Test",
            matrix={
                "axes": axes,
                "excludes": excludes,
                "when": when(cond("environment", name="PY", value="3.12")),
                "stages": [stage("Run", sh('echo "$OS-$PY" >> cells.txt'))],
            },
        )
    )
    locations = {"/pipeline/stages/0/matrix/stages/0": 9}
    result = run(tmp_path, doc, locations=locations)
    assert result.result == "SUCCESS", result.log
    names = [s.name for s in result.stages if s.name.startswith("Matrix")]
    # Cells axis by axis, the excluded one (mac, 3.11) left out (RuntimeASTTransformer).
    assert names == [
        "Matrix - OS = 'linux', PY = '3.11'",
        "Matrix - OS = 'linux', PY = '3.12'",
        "Matrix - OS = 'mac', PY = '3.12'",
    ]
    assert result.stage("Matrix - OS = 'linux', PY = '3.11'").reason == "when conditional"
    cells = sorted((tmp_path / "ws" / "cells.txt").read_text().split())
    assert cells == ["linux-3.12", "mac-3.12"]
    assert [(p.name, p.parent) for p in plan(doc)] == [("Test", None), ("Run", "Test")]
    doc["pipeline"]["stages"][0]["matrix"]["stages"][0]["branches"][0]["steps"] = [step("slack")]
    result = run(tmp_path, doc, locations=locations)
    assert "needs the stack driver: step slack at Jenkinsfile:9" in result.log


@pytest.mark.parametrize(
    ("extra", "construct"),
    [
        ({"options": options(option("lock", "db"))}, "options { lock }"),
        ({"when": when(cond("changelog", ".*skip.*"))}, "when { changelog }"),
        ({"input": {"message": lit("ok?")}}, "input"),
        ({"tools": [{"key": "maven", "value": lit("m3")}]}, "tools"),
        (
            {"environment": [{"key": "X", "value": {"name": "vault", "arguments": []}}]},
            "environment function vault()",
        ),
    ],
)
def test_stage_directives_beyond_the_driver_need_the_stack(
    tmp_path: Path, extra: dict, construct: str
) -> None:
    doc = pipeline(stage("S", echo("s"), **extra), stage("T", echo("t")))
    (planned, other) = plan(doc, locations={"/pipeline/stages/0": 7})
    assert planned.reason == f"needs the stack driver: {construct} at Jenkinsfile:7"
    assert other.runnable
    result = run(tmp_path, doc, locations={"/pipeline/stages/0": 7})
    assert result.result == "FAILURE"
    assert f"ERROR: needs the stack driver: {construct} at Jenkinsfile:7" in result.log


def test_a_label_the_lab_provides_runs_here_and_one_nothing_provides_fails_clearly(
    tmp_path: Path,
) -> None:
    doc = pipeline(
        stage("Train", sh("echo trained"), agent={"type": "label", "argument": lit("train")}),
        stage("Gpu", sh("echo never"), agent={"type": "label", "argument": lit("gpu")}),
    )
    result = run(tmp_path, doc, labels=["train"])
    assert result.result == "FAILURE"
    assert [(s.name, s.status) for s in result.stages] == [("Train", "SUCCESS"), ("Gpu", "FAILURE")]
    assert "label 'train': provided by the lab" in result.log
    assert "There are no nodes with the label \u2018gpu\u2019" in result.log
    assert "would keep this build waiting in the queue for ever" in result.log
    assert "labels the lab provides: train" in result.log and "never" not in result.log
    # Without labels (lab run), every label runs on this host, unchecked.
    (tmp_path / "unchecked").mkdir()
    assert run(tmp_path / "unchecked", doc).result == "SUCCESS"
