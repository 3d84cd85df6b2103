"""lab.pipeline.model: declarative Jenkinsfiles as Jenkins' own AST JSON, extracted for real.

Every Jenkinsfile here goes through ONE groovy JVM (the module-scoped ``extracted``
fixture). The expected shapes follow pipeline-model-definition's ModelParser and the
``toJSON()`` of its ``ModelAST*`` classes (jenkinsci/pipeline-model-definition-plugin,
read at 42c9dc3e; see lab/pipeline/extract.groovy for the paths).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import groovy
from lab.errors import ConfigError
from lab.pipeline import model

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "projects" / "cd4ml-demo" / "Jenkinsfile"
LINT_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jenkinsfiles"
MODEL_FIXTURES = LINT_FIXTURES / "model"
REALISTIC = ("python-library", "webapp-deploy", "ml-training")

needs_groovy = pytest.mark.skipif(
    groovy.groovy_available(script=model.SCRIPT) is not None,
    reason=f"Groovy unavailable: {groovy.groovy_available(script=model.SCRIPT)}",
)

# Inline Jenkinsfiles (written to a temporary directory, extracted with the rest).
INLINE = {
    "agents": """\
pipeline {
    agent none
    stages {
        stage('Image') {
            agent { docker 'alpine:3.20' }
            steps { sh 'true' }
        }
        stage('Empty label') {
            agent { label '' }
            steps { sh 'true' }
        }
        stage('Pod') {
            agent {
                kubernetes {
                    yaml 'kind: Pod'
                    defaultContainer 'build'
                }
            }
            steps { sh 'true' }
        }
        stage('Label block') {
            agent { label { label 'big'; customWorkspace 'ws' } }
            steps { sh 'true' }
        }
        stage('Dockerfile') {
            agent { dockerfile true }
            steps { sh 'true' }
        }
    }
}
""",
    "scripted": """\
node {
    stage('Build') {
        sh 'make'
    }
}
""",
    "stray": """\
@Library('helpers') _
def version = '1.0'
pipeline {
    agent any
    stages {
        stage('Build') {
            steps { sh "make VERSION=${version}" }
        }
    }
}
""",
    "unknown": """\
pipeline {
    agent any
    frobnicate {
        speed 'fast'
    }
    environment {
        GOOD = 'yes'
        BAD = someVariable
    }
    stages {
        stage('Build') {
            banana 'x'
            steps { sh 'make' }
        }
        stage('Old style') {
            sh 'make'
        }
    }
}
""",
    "nested": """\
node {
    pipeline {
        agent any
        stages { stage('a') { steps { echo 'a' } } }
    }
}
""",
    "invalid": """\
pipeline {
    agent any
    stages {
        stage('Both') {
            steps { echo 'a' }
            stages { stage('Inner') { steps { echo 'b' } } }
        }
        stage('Fan out') {
            agent any
            parallel {
                stage('Deeper') {
                    parallel {
                        stage('Deepest') { steps { echo 'c' } }
                    }
                }
            }
        }
        stage('Empty group') { stages { } }
    }
    post {
        always { echo 'done' }
        banana { echo 'never' }
    }
}
""",
    "empty-when": """\
pipeline {
    agent any
    stages {
        stage('a') {
            when { }
            steps { echo 'a' }
        }
    }
}
""",
    "malformed": """\
pipeline {
    agent { docker { image } }
    tools {
        maven
        jdk 'a', 'b'
    }
    options {
        [foo: 'bar']
        timeout(time: 1) { echo 'x' }
    }
    triggers {
        'cron'
    }
    libraries {
        lib('a', 'b')
        something('x')
    }
    environment {
        A = 'x' - 'y'
        B = 'x' + y
        C = credentials(someVar)
        D = 'ok'
        D = 'again'
    }
    stages {
        stage('a') {
            when
            input {
                message 'ok?'
                colour 'red'
                ok()
            }
            steps {
                sh foo.bar('x')
                sleep 99999999999999999999
            }
        }
        stage('b') {
            failFast 'yes'
            steps {
                parallel one: { echo '1' }, failFast: 'no'
            }
        }
        stage(name) {
            steps {
                script
            }
        }
        stage {
            steps { echo 'x' }
        }
    }
    post {
        always
    }
}
""",
    "no-agent": """\
pipeline {
    stages {
        stage('a') {
            steps { echo 'a' }
        }
    }
}
""",
}


def _clean_fixtures() -> list[Path]:
    """The declarative Jenkinsfiles among the lint fixtures, and the model's own."""
    lint = [
        p
        for p in sorted(LINT_FIXTURES.glob("*.Jenkinsfile"))
        if "pipeline {" in p.read_text() and p.name != "syntax-error.Jenkinsfile"
    ]
    return [DEMO, *lint, *sorted(MODEL_FIXTURES.glob("*.Jenkinsfile"))]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, model.Extracted]:
    if groovy.groovy_available(script=model.SCRIPT) is not None:
        pytest.skip("Groovy unavailable")
    tmp = tmp_path_factory.mktemp("jenkinsfiles")
    inline = []
    for name, text in INLINE.items():
        (tmp / f"{name}.Jenkinsfile").write_text(text)
        inline.append(tmp / f"{name}.Jenkinsfile")
    files = [*_clean_fixtures(), LINT_FIXTURES / "syntax-error.Jenkinsfile", *inline]
    results = model.extract_files(files)
    assert [r.path for r in results] == [str(p) for p in files]
    return {Path(r.path).name.removesuffix(".Jenkinsfile"): r for r in results}


def _pipeline(found: model.Extracted) -> dict[str, Any]:
    assert found.pipeline is not None, found.problems
    return found.pipeline["pipeline"]


def _stage(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    def walk(stages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for s in stages:
            yield s
            yield from walk(s.get("stages", []))
            yield from walk(s.get("parallel", []))
            yield from walk(s.get("matrix", {}).get("stages", []))

    return next(s for s in walk(pipeline["stages"]) if s["name"] == name)


def _steps(stage: dict[str, Any]) -> list[dict[str, Any]]:
    return stage["branches"][0]["steps"]


def lit(value: Any) -> dict[str, Any]:
    return {"isLiteral": True, "value": value}


def gstring(value: str) -> dict[str, Any]:
    return {"isLiteral": False, "value": value}


def named(**kwargs: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in kwargs.items()]


def _declared_stage_names(path: Path) -> list[str]:
    return re.findall(r"""stage\(['"]([^'"]+)['"]\)""", path.read_text())


# ---- shipped and fixture Jenkinsfiles ----


@needs_groovy
def test_the_demo_jenkinsfile_extracts_validates_and_lists_its_stages_in_order(
    extracted: dict[str, model.Extracted],
) -> None:
    found = extracted["Jenkinsfile"]
    assert found.problems == []
    assert model.validate(found.pipeline) == []
    assert model.stage_names(found.pipeline) == _declared_stage_names(DEMO)
    pipeline = _pipeline(found)
    assert pipeline["agent"]["type"] == "dockerfile"
    assert [o["name"] for o in pipeline["options"]["options"]] == [
        "timeout",
        "timestamps",
        "disableConcurrentBuilds",
    ]


@needs_groovy
@pytest.mark.parametrize("path", _clean_fixtures(), ids=lambda p: p.name)
def test_every_declarative_fixture_extracts_and_validates(
    extracted: dict[str, model.Extracted], path: Path
) -> None:
    found = extracted[path.name.removesuffix(".Jenkinsfile")]
    assert found.problems == []
    assert model.validate(found.pipeline) == []
    assert model.stage_names(found.pipeline) == _declared_stage_names(path)


@needs_groovy
def test_realistic_jenkinsfiles_keep_their_structure(
    extracted: dict[str, model.Extracted],
) -> None:
    lib = _pipeline(extracted["python-library"])
    assert lib["agent"] == {"type": "none"}
    test = _stage(lib, "Test")["matrix"]
    assert test["axes"] == [
        {"name": "PYTHON", "values": [lit("3.10"), lit("3.11"), lit("3.12"), lit("3.13")]}
    ]
    assert test["agent"] == {
        "type": "docker",
        "arguments": named(image=gstring('"python:${PYTHON}-slim"')),
    }
    assert [c["name"] for c in test["when"]["conditions"][0]["children"]] == [
        "expression",
        "environment",
    ]
    pytest_stage = _stage(lib, "pytest")
    assert pytest_stage["post"]["conditions"][0]["condition"] == "always"
    release = _stage(lib, "Release")
    assert release["when"] == {
        "conditions": [{"name": "buildingTag", "arguments": []}],
        "beforeAgent": True,
    }
    assert release["environment"] == [
        {"key": "TWINE", "value": {"name": "credentials", "arguments": [lit("pypi-token")]}}
    ]
    assert [c["condition"] for c in lib["post"]["conditions"]] == ["failure", "fixed"]

    web = _pipeline(extracted["webapp-deploy"])
    test = _stage(web, "Test")
    assert test["failFast"] is True
    assert [s["name"] for s in test["parallel"]] == ["Unit", "E2E"]
    catch = _steps(_stage(web, "E2E"))[0]
    assert catch["name"] == "catchError"
    assert catch["arguments"] == named(buildResult=lit("UNSTABLE"), stageResult=lit("FAILURE"))
    prod = _stage(web, "Deploy production")
    assert prod["when"]["beforeInput"] is True
    assert prod["when"]["conditions"][1] == {
        "name": "equals",
        "arguments": named(expected=lit("production"), actual=gstring("${params.ENVIRONMENT}")),
    }
    assert prod["input"] == {
        "message": gstring('"Deploy ${env.GIT_COMMIT} to production?"'),
        "ok": lit("Deploy"),
        "submitterParameter": lit("APPROVER"),
    }
    assert [p["name"] for p in web["parameters"]["parameters"]] == ["choice", "booleanParam"]
    assert web["triggers"] == {"triggers": [{"name": "pollSCM", "arguments": [lit("H/5 * * * *")]}]}

    ml = _pipeline(extracted["ml-training"])
    assert [e["key"] for e in ml["environment"]] == [
        "AWS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ]
    # writeFile takes two required parameters: its arguments stay as written
    assert _steps(_stage(ml, "Train"))[1]["arguments"] == named(
        file=lit("run.txt"), text=gstring('"${params.MODEL}/${params.EPOCHS}"')
    )


# ---- argument and value shapes, as ModelParser builds them ----


@needs_groovy
def test_step_arguments_take_the_plugins_shapes(extracted: dict[str, model.Extracted]) -> None:
    steps = _steps(_stage(_pipeline(extracted["constructs"]), "Arguments"))
    assert steps[:8] == [
        # populateStepArgumentList: a lone argument names the sole required parameter
        {"name": "sh", "arguments": named(script=lit("make build"))},
        {
            "name": "sh",
            "arguments": named(script=lit("git rev-parse HEAD"), returnStdout=lit(True)),
        },
        # parseArgument: a GString keeps its source text, quotes included (as in the
        # plugin's json/environment/environmentCrossReferences.json)
        {"name": "echo", "arguments": named(message=gstring('"Building ${env.BRANCH_NAME}"'))},
        # any other expression becomes "${<source>}"; a binary one is rebuilt from its
        # operands and operator, without spaces (ModelParser.getSourceText(BinaryExpression))
        {"name": "echo", "arguments": named(message=gstring("${env.BRANCH_NAME}"))},
        {"name": "sleep", "arguments": named(time=gstring("${2*30}"), unit=lit("SECONDS"))},
        # a step without a descriptor keeps its single argument unnamed
        {"name": "notify", "arguments": lit("team-channel")},
        {"name": "publish", "arguments": [lit("dist"), lit(3)]},
        # [$class: ...] stays one argument (a map is a GString of its source), then names
        # the `step` metastep's sole parameter
        {
            "name": "step",
            "arguments": named(
                delegate=gstring("[$class: 'Mailer', recipients: 'ci@example.com']")
            ),
        },
    ]
    tree = steps[8]
    # a block step's arguments are never renamed (parseStep: parseArgumentList only)
    assert tree["name"] == "dir" and tree["arguments"] == lit("build")
    assert tree["children"][0]["arguments"] == gstring("${['MODE=release']}")
    assert tree["children"][0]["children"] == [
        {"name": "sh", "arguments": named(script=lit("./package.sh"))}
    ]
    retry = steps[9]
    assert retry["arguments"] == lit(3)
    assert retry["children"][0]["arguments"] == named(time=lit(5), unit=lit("MINUTES"))
    # script { }: the block's source text as a literal scriptBlock argument
    assert steps[10]["name"] == "script"
    block = steps[10]["arguments"][0]
    assert block["key"] == "scriptBlock" and block["value"]["isLiteral"] is True
    assert block["value"]["value"].splitlines()[0] == "def files = findFiles(glob: '*.txt')"
    assert block["value"]["value"].splitlines()[1].strip() == 'echo "found ${files.size()}"'
    # MilestoneStep(Integer ordinal): named, as in the plugin's basic/singleArgumentNullValue
    assert steps[11] == {"name": "milestone", "arguments": named(ordinal=lit(1))}
    assert steps[12:] == [
        {"name": "library", "arguments": named(identifier=lit("ci-helpers@v3"))},
        {"name": "load", "arguments": named(path=lit("ci/helpers.groovy"))},
    ]


@needs_groovy
def test_environment_values_literal_gstring_credentials_and_concatenation(
    extracted: dict[str, model.Extracted],
) -> None:
    env = {e["key"]: e["value"] for e in _pipeline(extracted["constructs"])["environment"]}
    assert env == {
        "APP": lit("demo"),
        "IMAGE": gstring('"registry.local/${APP}:${env.BUILD_NUMBER}"'),
        "DEPLOY_KEY": {"name": "credentials", "arguments": [lit("deploy-key")]},
        # envValueForStringConcat: pieces joined, quotes trimmed, a GString makes it one
        "JOINED": gstring("a-${APP}-z"),
        "ANSWER": lit(42),
    }


@needs_groovy
def test_options_parameters_triggers_tools_libraries_and_input(
    extracted: dict[str, model.Extracted],
) -> None:
    pipeline = _pipeline(extracted["constructs"])
    assert pipeline["options"]["options"] == [
        {"name": "timeout", "arguments": named(time=lit(30), unit=lit("MINUTES"))},
        {"name": "retry", "arguments": [lit(2)]},
        {"name": "timestamps", "arguments": []},
        {
            "name": "buildDiscarder",
            "arguments": [{"name": "logRotator", "arguments": named(numToKeepStr=lit("10"))}],
        },
        {"name": "disableConcurrentBuilds", "arguments": []},
    ]
    params = pipeline["parameters"]["parameters"]
    assert params[2] == {
        "name": "choice",
        "arguments": named(name=lit("LEVEL"), choices=gstring("${['low', 'high']}")),
    }
    assert [t["name"] for t in pipeline["triggers"]["triggers"]] == ["cron", "pollSCM"]
    assert pipeline["tools"] == [{"key": "jdk", "value": lit("temurin-17")}]
    assert pipeline["libraries"] == {"libraries": [lit("ci-helpers@v2")]}
    approve = _stage(pipeline, "Approve")
    assert approve["input"] == {
        "message": lit("Deploy?"),
        "ok": lit("Yes"),
        "submitter": lit("release-managers"),
        "parameters": {
            "parameters": [
                {"name": "string", "arguments": named(name=lit("REASON"), defaultValue=lit(""))}
            ]
        },
    }
    assert approve["options"] == {
        "options": [{"name": "timeout", "arguments": named(time=lit(1), unit=lit("HOURS"))}]
    }


@needs_groovy
def test_when_conditions_nest_and_carry_their_flags(
    extracted: dict[str, model.Extracted],
) -> None:
    when = _stage(_pipeline(extracted["constructs"]), "Conditions")["when"]
    assert when == {
        "conditions": [
            {
                "name": "anyOf",
                "children": [
                    {"name": "branch", "arguments": lit("main")},
                    {
                        "name": "allOf",
                        "children": [
                            {
                                "name": "not",
                                "children": [{"name": "changeRequest", "arguments": []}],
                            },
                            {
                                "name": "environment",
                                "arguments": named(name=lit("DEPLOY"), value=lit("yes")),
                            },
                        ],
                    },
                    {
                        "name": "expression",
                        "arguments": named(scriptBlock=lit("return params.DRY_RUN")),
                    },
                ],
            }
        ],
        "beforeAgent": True,
    }


@needs_groovy
def test_agents_of_every_kind(extracted: dict[str, model.Extracted]) -> None:
    pipeline = _pipeline(extracted["agents"])
    agents = {s["name"]: s["agent"] for s in pipeline["stages"]}
    assert pipeline["agent"] == {"type": "none"}
    assert agents == {
        "Image": {"type": "docker", "argument": lit("alpine:3.20")},
        # ModelASTAgent.toJSON, JENKINS-43016: an empty label is agent any
        "Empty label": {"type": "any"},
        "Pod": {
            "type": "kubernetes",
            "arguments": named(yaml=lit("kind: Pod"), defaultContainer=lit("build")),
        },
        # parseAgent, JENKINS-41118: label with a block of settings is "node"
        "Label block": {
            "type": "node",
            "arguments": named(label=lit("big"), customWorkspace=lit("ws")),
        },
        "Dockerfile": {"type": "dockerfile", "argument": lit(True)},
    }
    constructs = _pipeline(extracted["constructs"])
    assert constructs["agent"] == {"type": "label", "argument": lit("linux")}
    assert _stage(constructs, "Conditions")["agent"] == {
        "type": "docker",
        "arguments": named(image=lit("python:3.12-slim"), args=lit("-u root")),
    }
    assert _stage(constructs, "Lint")["agent"]["type"] == "node"
    assert _stage(constructs, "Unit")["agent"]["type"] == "dockerfile"


@needs_groovy
def test_parallel_matrix_nested_stages_and_legacy_parallel(
    extracted: dict[str, model.Extracted],
) -> None:
    pipeline = _pipeline(extracted["constructs"])
    checks = _stage(pipeline, "Checks")
    assert checks["failFast"] is True and "branches" not in checks
    assert [s["name"] for s in _stage(pipeline, "Grouped")["stages"]] == ["First", "Second"]
    matrix = _stage(pipeline, "Platforms")["matrix"]
    assert [a["name"] for a in matrix["axes"]] == ["OS", "PY"]
    assert matrix["excludes"] == [
        [
            {"name": "OS", "values": [lit("windows")]},
            {"name": "PY", "values": [lit("3.12")], "inverse": True},
        ]
    ]
    assert matrix["agent"] == {"type": "any"}
    old = _stage(pipeline, "Old parallel")
    assert [b["name"] for b in old["branches"]] == ["first", "second"]
    assert old["failFast"] is False
    assert [c["condition"] for c in pipeline["post"]["conditions"]] == [
        "always",
        "success",
        "cleanup",
    ]
    assert pipeline["post"]["conditions"][0]["branch"] == {
        "name": "default",
        "steps": [{"name": "junit", "arguments": named(testResults=lit("reports/*.xml"))}],
    }


# ---- line numbers ----


def _node_at(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.split("/")[1:]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


SECTIONS = {"agent", "when", "input", "matrix", "post", "options", "parameters", "triggers"}


def _token(document: Any, pointer: str) -> str:
    """What the source line of the construct at ``pointer`` must show."""
    node = _node_at(document, pointer)
    parts = pointer.split("/")
    last, parent = parts[-1], parts[-2]
    if pointer == "/pipeline" or last in SECTIONS or last == "parallel":
        return last
    if last == "branch":  # a post condition's block starts on the condition's line
        return _node_at(document, pointer.rsplit("/", 1)[0])["condition"]
    if parent in ("stages", "parallel"):
        return f"'{node['name']}'"
    if parent == "branches":
        return "steps" if node["name"] == "default" else node["name"]
    if parent == "excludes":
        return "exclude"
    if parent == "axes" or parts[-3] == "excludes":
        return "axis"
    if parent == "libraries":
        return "lib("
    if "condition" in node:
        return node["condition"]
    return node["key"] if "key" in node else node["name"]


def _must_be_located(document: Any) -> Iterator[str]:
    """Pointers of every stage, step, when/post condition, environment and section entry."""
    keys = {"stages", "parallel", "steps", "children", "conditions", "environment"}
    keys |= {"options", "parameters", "triggers", "tools"}

    def walk(node: Any, pointer: str, key: str) -> Iterator[str]:
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, f"{pointer}/{k}", k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if key in keys and isinstance(v, dict):
                    yield f"{pointer}/{i}"
                yield from walk(v, f"{pointer}/{i}", "")

    yield from walk(document, "", "")


@needs_groovy
@pytest.mark.parametrize("path", _clean_fixtures(), ids=lambda p: p.name)
def test_locations_point_at_the_line_of_each_construct(
    extracted: dict[str, model.Extracted], path: Path
) -> None:
    found = extracted[path.name.removesuffix(".Jenkinsfile")]
    lines = path.read_text().splitlines()
    for pointer in _must_be_located(found.pipeline):
        assert pointer in found.locations, f"{pointer} has no line"
    for pointer, line in found.locations.items():
        token = _token(found.pipeline, pointer)
        assert token in lines[line - 1], f"{pointer} -> line {line}: {lines[line - 1]!r}"


@needs_groovy
def test_line_of_names_exact_lines_in_the_demo(extracted: dict[str, model.Extracted]) -> None:
    found = extracted["Jenkinsfile"]
    lines = DEMO.read_text().splitlines()
    names = model.stage_names(found.pipeline)
    reproduce = f"/pipeline/stages/{names.index('Reproduce')}"
    assert lines[found.line_of(reproduce) - 1].strip() == "stage('Reproduce') {"
    assert lines[found.line_of(f"{reproduce}/when/conditions/0") - 1].strip() == (
        "when { changeRequest() }"
    )
    step = f"{reproduce}/branches/0/steps/0"
    assert lines[found.line_of(step) - 1].strip() == "sh 'ci/repro.sh'"
    # an argument has no line of its own: its step's line stands in
    assert found.line_of(f"{step}/arguments/0/value") == found.line_of(step)
    assert found.line_of("/nowhere") is None


# ---- what is not a declarative pipeline ----


def _problems(found: model.Extracted) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in found.problems]


@needs_groovy
def test_scripted_nested_and_broken_files_give_file_line_problems(
    extracted: dict[str, model.Extracted],
) -> None:
    scripted = extracted["scripted"]
    assert scripted.pipeline is None
    ((line, col, message),) = _problems(scripted)
    assert (line, col) == (1, 1)
    assert "not a declarative pipeline" in message and "needs the stack driver" in message

    nested = extracted["nested"]
    assert nested.pipeline is None
    assert _problems(nested) == [
        (2, 5, "pipeline block must be at the top-level, not within another block.")
    ]

    syntax = extracted["syntax-error"]
    assert syntax.pipeline is None
    assert [(p.line, p.path) for p in syntax.problems] == [
        (10, str(LINT_FIXTURES / "syntax-error.Jenkinsfile"))
    ]


@needs_groovy
def test_stray_statements_and_unknown_sections_are_problems_at_their_lines(
    extracted: dict[str, model.Extracted],
) -> None:
    stray = extracted["stray"]
    assert stray.pipeline is not None  # the pipeline itself still reads
    assert [(line, col) for line, col, _ in _problems(stray)] == [(1, 1), (2, 1)]
    library, statement = (m for _, _, m in _problems(stray))
    assert library.startswith("shared library import outside the pipeline block")
    assert statement == (
        "statement outside the pipeline block: \"def version = '1.0'\"; Jenkins runs it as "
        "script, which needs the stack driver"
    )
    assert "needs the stack driver" in library

    unknown = _problems(extracted["unknown"])
    assert [(line, m.split(":")[0].split(".")[0]) for line, _, m in unknown] == [
        (3, 'Undefined section "frobnicate"'),
        (
            8,
            "Environment variable values must either be single quoted, double quoted, "
            "or function calls",
        ),
        (12, 'Unknown stage section "banana"'),
        (15, 'Expected one of "steps", "stages", or "parallel" for stage "Old style"'),
        (16, 'Unknown stage section "sh"'),
    ]


@needs_groovy
def test_what_jenkins_validator_rejects_without_descriptors_is_a_problem_too(
    extracted: dict[str, model.Extracted],
) -> None:
    # ModelValidatorImpl.validateElement(ModelASTStage / ModelASTStages / ModelASTBuildCondition)
    found = extracted["invalid"]
    assert found.pipeline is not None
    assert _problems(found) == [
        (4, 9, 'Only one of "matrix", "parallel", "stages", or "steps" allowed for stage "Both"'),
        (
            8,
            9,
            '"agent" is not allowed in stage "Fan out" as it contains parallel or matrix stages',
        ),
        (11, 17, '"matrix" or "parallel" cannot be nested inside another "matrix" or "parallel".'),
        (18, 32, "No stages specified"),
        (
            22,
            9,
            'Invalid condition "banana" - valid conditions are [always, changed, fixed, '
            "regression, aborted, success, unsuccessful, unstable, failure, notBuilt, cleanup]",
        ),
    ]


@needs_groovy
def test_malformed_sections_are_reported_as_the_plugin_words_them(
    extracted: dict[str, model.Extracted],
) -> None:
    # ModelParser's error paths (messages from the plugin's Messages.properties)
    assert [(line, message) for line, _, message in _problems(extracted["malformed"])] == [
        (2, 'Expected to find \u2018someKey "someValue"\u2019'),
        (4, 'Expected to find \u2018someTool "someVersion"\u2019'),
        (5, 'Too many arguments for tool "jdk"'),
        (8, "Options cannot be defined as maps"),
        (9, "Options definitions cannot have blocks"),
        (12, "Expected a trigger"),
        (15, "Expected a \"lib(...)\" but got lib('a', 'b')"),
        (16, "Expected a \"lib(...)\" but got something('x')"),
        (19, "Environment variable values can only be joined together with \u2018+\u2019s."),
        (
            20,
            "Environment variable values to be concatenated together must be single or "
            "double quoted.",
        ),
        (21, "Internal function call parameters must be strings."),
        (23, 'Duplicate environment variable name: "D"'),
        (
            27,
            'Not a valid stage section definition: "when". Some extra configuration is required.',
        ),
        (30, 'Not a valid field for input: "colour"'),
        (31, 'No argument for field "ok"'),
        (
            35,
            "BigIntegers cannot be used as constants in Declarative. The maximum value for "
            "an integer is 9,223,372,036,854,775,807 and the minimum value for an integer "
            "is -9,223,372,036,854,775,808.",
        ),
        (39, "Expected a boolean with failFast"),
        (41, "Expected a boolean with failFast"),
        (46, "Expected a step"),
        (49, "Stage does not have a block"),
        (49, "Expected string literal"),
        (
            54,
            "The \u2018post\u2019 section can only contain build condition names with code "
            "blocks. Valid condition names are [always, changed, fixed, regression, aborted, "
            "success, unsuccessful, unstable, failure, notBuilt, cleanup]",
        ),
    ]


# ---- the Python side: validate, load, extract_text, stage_names ----


def test_validate_names_the_pointer_of_each_violation() -> None:
    doc = {
        "pipeline": {
            "stages": [{"name": "a", "branches": [{"name": "default", "steps": [{"name": "x"}]}]}]
        }
    }
    assert model.validate(doc) == [
        "/pipeline: 'agent' is a required property",
        "/pipeline/stages/0/branches/0/steps/0: 'arguments' is a required property",
    ]
    doc["pipeline"]["agent"] = {"type": "any"}
    doc["pipeline"]["stages"][0]["branches"][0]["steps"][0]["arguments"] = []
    assert model.validate(doc) == []
    assert model.validate({"pipeline": {"agent": {"type": "any"}, "stages": []}}) == [
        "/pipeline/stages: [] should be non-empty"
    ]


def test_the_schema_is_the_plugins_with_its_provenance() -> None:
    schema = json.loads(model.SCHEMA.read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert "jenkinsci/pipeline-model-definition-plugin" in schema["description"]
    assert "pipeline-model-api/src/main/resources/ast-schema.json" in schema["description"]
    assert re.search(r"\b[0-9a-f]{40}\b", schema["description"])
    assert schema["required"] == ["pipeline"]


def test_stage_names_flatten_nested_parallel_and_matrix_stages() -> None:
    doc = {
        "pipeline": {
            "stages": [
                {"name": "a", "stages": [{"name": "a1"}, {"name": "a2"}]},
                {"name": "b", "parallel": [{"name": "b1"}]},
                {"name": "c", "matrix": {"stages": [{"name": "c1"}]}},
                {"name": "d"},
            ]
        }
    }
    expected = ["a", "a1", "a2", "b", "b1", "c", "c1", "d"]
    assert model.stage_names(doc) == expected
    assert model.stage_names(doc["pipeline"]) == expected


@needs_groovy
def test_load_raises_with_file_and_line_for_problems_and_schema_errors(
    extracted: dict[str, model.Extracted], monkeypatch: pytest.MonkeyPatch
) -> None:
    by_path = {r.path: r for r in extracted.values()}
    monkeypatch.setattr(model, "extract_files", lambda paths, timeout: [by_path[str(paths[0])]])
    unknown = extracted["unknown"].path
    with pytest.raises(ConfigError) as err:
        model.load(unknown)
    assert str(err.value).splitlines()[0] == f'{unknown}:3: Undefined section "frobnicate"'
    assert len(str(err.value).splitlines()) == 5
    no_agent = extracted["no-agent"].path
    with pytest.raises(
        ConfigError, match=re.escape(f'{no_agent}:1: Missing required section "agent"')
    ):
        model.load(no_agent)
    # no problem from the parser, but Jenkins' schema: the line of the nearest construct
    empty_when = extracted["empty-when"].path
    assert extracted["empty-when"].problems == []
    with pytest.raises(ConfigError) as err:
        model.load(empty_when)
    assert str(err.value) == (
        f"{empty_when}:5: /pipeline/stages/0/when/conditions: [] should be non-empty"
    )
    assert model.load(str(DEMO)) is extracted["Jenkinsfile"]


def test_extract_text_names_the_given_source(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def fake(paths: list[Path], timeout: float) -> list[model.Extracted]:
        seen.append(Path(paths[0]).read_text())
        problem = model.Problem(str(paths[0]), 2, 3, "Expected a stage")
        return [model.Extracted(str(paths[0]), None, {}, [problem])]

    monkeypatch.setattr(model, "extract_files", fake)
    found = model.extract_text("pipeline {}\n", "projects/demo/Jenkinsfile")
    assert seen == ["pipeline {}\n"]
    assert found.path == "projects/demo/Jenkinsfile"
    assert found.problems == [model.Problem("projects/demo/Jenkinsfile", 2, 3, "Expected a stage")]


def test_a_missing_jenkinsfile_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.Jenkinsfile: no such file to extract"):
        model.extract_files([tmp_path / "nope.Jenkinsfile"])
