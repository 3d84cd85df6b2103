"""The lab's Jenkins plugin set (``casc/plugins.txt``) and which plugin provides what.

``read_plugins`` parses ``id:version`` lines (``#`` comments, blank lines).
``required_plugins`` maps the steps, directives and agent types a Jenkinsfile
uses to the plugin ids that provide them, from :data:`PROVIDERS`.

PROVIDERS was written from the Jenkins Pipeline Steps Reference
(https://www.jenkins.io/doc/pipeline/steps/, one page per plugin id: e.g.
``/doc/pipeline/steps/pipeline-utility-steps/`` lists readYaml, readJSON,
writeJSON, findFiles, zip ...; ``/workflow-basic-steps/`` echo, dir, timeout,
retry, stash ...; ``/credentials-binding/`` withCredentials and its bindings)
and the Declarative syntax page (https://www.jenkins.io/doc/book/pipeline/syntax/).
The ``docker``/``dockerfile`` agent types moved from pipeline-model-definition
to docker-workflow in docker-workflow 1.22 (JENKINS-58732). Steps of Jenkins
core (archiveArtifacts, fingerprint, the buildDiscarder option ...) need no
plugin and are not listed.

Plugins pull in their dependencies at install time: :data:`IMPLIES` lists the
dependencies of the aggregators that matter here (jenkinsci/workflow-aggregator-plugin
pom.xml, 2026-02), so a plugins.txt listing only ``workflow-aggregator`` still
provides ``sh``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lab.errors import ConfigError
from lab.inputs import read_text_file
from lab.lint import lexer

_PLUGIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class PluginPin:
    id: str
    version: str
    line: int


def read_plugins(path: Path) -> dict[str, PluginPin]:
    """Parse a ``plugins.txt``; errors name ``file:line``. Every plugin must be pinned."""
    text = read_text_file(path, "a plugin list (plugins.txt)")
    pins: dict[str, PluginPin] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        plugin, sep, version = line.partition(":")
        plugin, version = plugin.strip(), version.strip()
        if not sep or not version:
            raise ConfigError(
                f"{path}:{lineno}: {line!r} is not pinned: expected `plugin-id:version`"
            )
        if not _PLUGIN_ID.match(plugin):
            raise ConfigError(f"{path}:{lineno}: {plugin!r} is not a plugin id")
        if not _VERSION.match(version) or version in ("latest", "experimental"):
            raise ConfigError(
                f"{path}:{lineno}: version {version!r} of {plugin} is not a fixed version"
            )
        if plugin in pins:
            raise ConfigError(
                f"{path}:{lineno}: {plugin} listed twice (first at line {pins[plugin].line})"
            )
        pins[plugin] = PluginPin(plugin, version, lineno)
    return pins


# Construct -> plugin ids providing it (all must be installed).
PROVIDERS: dict[str, tuple[str, ...]] = {
    # Declarative Pipeline (pipeline-model-definition) and its agent types.
    "pipeline": ("pipeline-model-definition",),
    "docker": ("docker-workflow",),  # agent { docker ... } and the `docker.` global variable
    "dockerfile": ("docker-workflow",),  # agent { dockerfile ... }
    "kubernetes": ("kubernetes",),  # agent { kubernetes ... }
    "podTemplate": ("kubernetes",),
    "container": ("kubernetes",),
    "withDockerContainer": ("docker-workflow",),
    "withDockerRegistry": ("docker-workflow",),
    "withDockerServer": ("docker-workflow",),
    "dockerFingerprintFrom": ("docker-workflow",),
    "skipDefaultCheckout": ("pipeline-model-definition",),
    "script": ("pipeline-model-definition",),
    # Pipeline: Groovy, Job, Multibranch, SCM step, stage/input/build/milestone steps.
    "parallel": ("workflow-cps",),
    "properties": ("workflow-job",),
    "disableConcurrentBuilds": ("workflow-job",),
    "checkout": ("workflow-scm-step", "git"),  # the lab's sources are git repositories
    "stage": ("pipeline-stage-step",),
    "input": ("pipeline-input-step",),
    "build": ("pipeline-build-step",),
    "milestone": ("pipeline-milestone-step",),
    "library": ("pipeline-groovy-lib",),
    "@Library": ("pipeline-groovy-lib",),
    # Pipeline: Nodes and Processes.
    "sh": ("workflow-durable-task-step",),
    "bat": ("workflow-durable-task-step",),
    "powershell": ("workflow-durable-task-step",),
    "pwsh": ("workflow-durable-task-step",),
    "node": ("workflow-durable-task-step",),
    "ws": ("workflow-durable-task-step",),
    # Pipeline: Basic Steps.
    **dict.fromkeys(
        (
            "echo",
            "error",
            "dir",
            "deleteDir",
            "fileExists",
            "isUnix",
            "pwd",
            "readFile",
            "writeFile",
            "retry",
            "sleep",
            "timeout",
            "waitUntil",
            "withEnv",
            "catchError",
            "warnError",
            "unstable",
            "stash",
            "unstash",
            "tool",
            "mail",
        ),
        ("workflow-basic-steps",),
    ),
    # Credentials Binding: the step and its bindings; credentials() in `environment {}`.
    "withCredentials": ("credentials-binding",),
    "usernamePassword": ("credentials-binding",),
    "usernameColonPassword": ("credentials-binding",),
    "sshUserPrivateKey": ("credentials-binding",),
    "certificate": ("credentials-binding",),
    "credentials": ("credentials-binding",),
    # `string(credentialsId: ...)` / `file(credentialsId: ...)`: see _NEEDS_ARG.
    "string": ("credentials-binding",),
    "file": ("credentials-binding",),
    # Pipeline Utility Steps.
    **dict.fromkeys(
        (
            "readYaml",
            "writeYaml",
            "readJSON",
            "writeJSON",
            "readCSV",
            "writeCSV",
            "readProperties",
            "readManifest",
            "readMavenPom",
            "writeMavenPom",
            "findFiles",
            "zip",
            "unzip",
            "tar",
            "untar",
            "sha1",
            "sha256",
            "verifySha1",
            "verifySha256",
            "touch",
            "tee",
            "prependToFile",
            "nodesByLabel",
            "compareVersions",
        ),
        ("pipeline-utility-steps",),
    ),
    # SCM and other plugins.
    "git": ("git",),
    "sshagent": ("ssh-agent",),
    "timestamps": ("timestamper",),
    "ansiColor": ("ansicolor",),
    "junit": ("junit",),
    "lock": ("lockable-resources",),
    "slackSend": ("slack",),
    "publishHTML": ("htmlpublisher",),
    "cleanWs": ("ws-cleanup",),
    "emailext": ("email-ext",),
    "httpRequest": ("http_request",),
    "copyArtifacts": ("copyartifact",),
    "recordIssues": ("warnings-ng",),
    "recordCoverage": ("coverage",),
    "publishChecks": ("checks-api",),
    "withAWS": ("pipeline-aws",),
    "s3Upload": ("pipeline-aws",),
    "s3Download": ("pipeline-aws",),
    "withMaven": ("pipeline-maven",),
    "withSonarQubeEnv": ("sonar",),
    "waitForQualityGate": ("sonar",),
}

# Names that are plugin constructs only with this named argument (elsewhere
# `string(name: ...)` is a build parameter and `file` a common variable name).
_NEEDS_ARG: dict[str, str] = {"string": "credentialsId", "file": "credentialsId"}
# Names that count as the construct when followed by `.` (global variables).
_GLOBAL_VARIABLES = {"docker"}

# Plugin -> plugins it installs with it (dependencies), for the closure in `installed`.
IMPLIES: dict[str, tuple[str, ...]] = {
    "workflow-aggregator": (
        "workflow-durable-task-step",
        "workflow-cps",
        "pipeline-groovy-lib",
        "workflow-job",
        "workflow-basic-steps",
        "workflow-multibranch",
        "pipeline-build-step",
        "pipeline-input-step",
        "pipeline-stage-step",
        "pipeline-milestone-step",
        "pipeline-model-definition",
    ),
    "workflow-cps": ("workflow-scm-step", "workflow-support", "workflow-api"),
    "workflow-multibranch": ("workflow-job", "workflow-scm-step", "branch-api"),
}


def installed(plugin_ids: Iterable[str]) -> set[str]:
    """The plugins present when ``plugin_ids`` are installed (with IMPLIES' dependencies)."""
    todo = list(plugin_ids)
    seen: set[str] = set()
    while todo:
        plugin = todo.pop()
        if plugin in seen:
            continue
        seen.add(plugin)
        todo.extend(IMPLIES.get(plugin, ()))
    return seen


def _has_named_arg(tokens: list[lexer.Token], i: int, name: str) -> bool:
    if i + 1 >= len(tokens) or tokens[i + 1].text != "(":
        return False
    end = lexer.closing(tokens, i + 1)
    return any(
        t.kind == lexer.IDENT and t.text == name and tokens[j + 1].text == ":"
        for j, t in enumerate(tokens[i + 2 : end], start=i + 2)
    )


def constructs(tokens: list[lexer.Token]) -> list[tuple[int, int, str]]:
    """``(line, column, construct)`` for every construct of PROVIDERS used in ``tokens``."""
    found: list[tuple[int, int, str]] = []
    for i, tok in lexer.calls(tokens):
        name = tok.text
        if name not in PROVIDERS:
            continue
        needed = _NEEDS_ARG.get(name)
        if needed and not _has_named_arg(tokens, i, needed):
            continue
        found.append((tok.line, tok.column, name))
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = tokens[i - 1] if i > 0 else None
        if tok.kind != lexer.IDENT or nxt is None:
            continue
        if tok.text in _GLOBAL_VARIABLES and nxt.text == "." and (prev is None or prev.text != "."):
            found.append((tok.line, tok.column, tok.text))
        if tok.text == "Library" and prev is not None and prev.text == "@":
            found.append((prev.line, prev.column, "@Library"))
    return sorted(set(found))


def required_plugins(jenkinsfile_text: str) -> dict[str, list[tuple[int, str]]]:
    """Plugin id -> ``[(line, construct), ...]`` for the constructs the Jenkinsfile uses."""
    needed: dict[str, list[tuple[int, str]]] = {}
    for line, _column, construct in constructs(lexer.tokenize(jenkinsfile_text)):
        for plugin in PROVIDERS[construct]:
            entry = (line, construct)
            if entry not in needed.setdefault(plugin, []):
                needed[plugin].append(entry)
    return needed
