"""Every field JenkinsClient reads exists in the pinned Jenkins API, as the client asks.

The fixture (tests/unit/fixtures/jenkins_api_beans.json) lists the ``@Exported``
properties of the classes the client reads, with their resolved visibility, derived
by scripts/derive_jenkins_api_fixture.py from the pinned sources (core 2.568.2,
scm-api, gitea 273, git 5.10.1, git-client 6.6.1, cloudbees-folder, credentials). Each request
the client sends is recorded; its ``tree=`` must name only exported properties of the
class it addresses (walking declared types), and a request without ``tree=`` may read
only what Stapler's depth rule shows. When the upstream mirrors are present the
fixture's freshness is checked too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from lab.clients.jenkins import BUILD_FIELDS, JenkinsClient, commit_of
from tests.fakes.jenkins import (
    FakeJenkins,
    Tree,
    build_data,
    load_beans,
    parse_tree,
    pr_revision,
    run,
)

CLASSES = load_beans()

# Declared types the sources write as type variables or interfaces, and what they stand
# for in the lab's reads: Job<JobT, RunT> builds are Runs (core Job.getNewBuilds),
# AbstractFolder<I> holds Items, Queue.Item.task is the Job, LeftItem.executable the Run,
# Run.getAllActions lists Actions (any bean in the fixture may be one).
TYPE_VARIABLES = {
    "RunT": "hudson.model.Run",
    "I": "hudson.model.AbstractItem",
    "Task": "hudson.model.Job",
    "Executable": "hudson.model.Run",
    "Item": "hudson.model.Queue$Item",
    "Action": "*",
}

# Where each request of the client lands: (path pattern, the class answering it).
ROOTS: tuple[tuple[str, str], ...] = (
    (
        r"^/credentials/store/system/domain/_/credential/[^/]+/api/json$",
        "com.cloudbees.plugins.credentials.CredentialsStoreAction$CredentialsWrapper",
    ),
    (r"^/whoAmI/api/json$", "hudson.security.WhoAmI"),
    (r"^/queue/item/\d+/api/json$", "hudson.model.Queue$LeftItem"),
    (r"^(/job/[^/]+)+/\d+/api/json$", "hudson.model.Run"),
    (
        r"^(/job/[^/]+)+/api/json$",
        "hudson.model.Job|com.cloudbees.hudson.plugins.folder.AbstractFolder",
    ),
)


def _subclasses(name: str) -> list[str]:
    """``name`` and every fixture class that extends it (directly or not)."""
    out = []
    for fqn in CLASSES:
        cursor: str | None = fqn
        while cursor is not None:
            if cursor == name:
                out.append(fqn)
                break
            cursor = CLASSES[cursor]["extends"]
    return out


def _props(fqn: str) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = {}
    cursor: str | None = fqn
    while cursor is not None:
        for name, prop in CLASSES[cursor]["properties"].items():
            props.setdefault(name, prop)
        cursor = CLASSES[cursor]["extends"]
    return props


def _candidates(declared: str) -> list[str]:
    """Fixture classes a value of the declared type may be (the type and its subclasses)."""
    text = re.sub(r"^[\w.]*(List|Collection|RunList|Set)<(.*)>$", r"\2", declared.strip())
    text = re.sub(r"^\?\s+(extends|super)\s+", "", text).removesuffix("[]")
    simple = re.sub(r"<.*>$", "", text).split(".")[-1]
    target = TYPE_VARIABLES.get(simple)
    if target == "*":
        return list(CLASSES)
    if target is None:
        matches = [f for f in CLASSES if f.replace("$", ".").split(".")[-1] == simple]
        if not matches:
            return []
        target = matches[0]
    return _subclasses(target)


def tree_problems(roots: list[str], tree: Tree, where: str = "") -> list[str]:
    """Names in ``tree`` that no candidate class exports (a typo, or a field Jenkins lacks)."""
    problems = []
    for name, sub in tree.items():
        holders = [c for c in roots if name in _props(c)]
        if not holders:
            problems.append(f"{where}{name} (not exported by {', '.join(sorted(roots))})")
            continue
        if sub:
            below = sorted({k for c in holders for k in _candidates(_props(c)[name]["type"])})
            if not below:
                problems.append(f"{where}{name}: its type is not in the fixture")
                continue
            problems += tree_problems(below, sub, f"{where}{name}.")
    return problems


def hidden_at_depth(roots: list[str], path: list[str], depth: int = 0) -> str | None:
    """Why ``path`` is not in a plain ``api/json?depth=N`` answer (None when it is shown)."""
    n, classes = 1 - depth, roots
    for i, name in enumerate(path):
        holders = [c for c in classes if name in _props(c)]
        if not holders:
            return f"{'.'.join(path[: i + 1])} is not exported"
        prop = _props(holders[0])[name]
        if prop["visibility"] < n:
            return f"{'.'.join(path[: i + 1])} has visibility {prop['visibility']} < {n}"
        n = n if prop.get("inline") else n + 1
        classes = _candidates(prop["type"])
    return None


def _root(path: str) -> list[str]:
    for pattern, classes in ROOTS:
        if re.match(pattern, path):
            return classes.split("|")
    raise AssertionError(f"no class known for the client's request {path}")


# ---- the client's requests, recorded ------------------------------------------------


@pytest.fixture
def recorded() -> list[tuple[str, dict[str, str]]]:
    fake = FakeJenkins()
    fake.routes[("GET", "/login")] = (200, "<html>")
    fake.routes[("GET", "/whoAmI/api/json?tree=name,authenticated")] = (
        200,
        fake.beans.export(
            {"_class": "hudson.security.WhoAmI", "name": "lab-admin", "authenticated": True},
            tree="name,authenticated",
        ),
    )
    fake.routes[("GET", "/queue/item/3/api/json?tree=cancelled,executable[number]")] = (
        200,
        fake.beans.export(
            {"_class": "hudson.model.Queue$LeftItem", "cancelled": False, "executable": run(12)},
            tree="cancelled,executable[number]",
        ),
    )
    credential = "com.cloudbees.plugins.credentials.CredentialsStoreAction$CredentialsWrapper"
    fake.routes[
        ("GET", "/credentials/store/system/domain/_/credential/GIT_PAT/api/json?tree=id")
    ] = (
        200,
        fake.beans.export({"_class": credential, "id": "GIT_PAT"}, tree="id"),
    )
    fake.add_job("cd4ml", folder=True)
    fake.add_job("cd4ml/demo", folder=True)
    head = "a" * 40
    fake.add_job(
        "cd4ml/demo/PR-1", run(2, actions=[pr_revision(1, head, "b" * 40, "exp"), build_data(head)])
    )
    fake.queue("cd4ml/demo/PR-1", 9, "Waiting for next available executor")
    client = JenkinsClient("http://jenkins.test:8080", "lab-admin", "pw", timeout=3)
    client.server._session.mount("http://", fake)
    # Every read the client has.
    assert client.ready()
    assert client.job_exists("cd4ml/demo")
    assert client.list_jobs("cd4ml/demo") == ["PR-1"]
    assert [b["number"] for b in client.builds("cd4ml/demo/PR-1")] == [2]
    assert commit_of(client.build_info("cd4ml/demo/PR-1", 2) or {}) == head
    assert client.queue_item("cd4ml/demo/PR-1") is not None
    assert client.last_build_summary("cd4ml/demo/PR-1") == "#2 SUCCESS"
    assert client.build_number_of(3) == 12
    assert client.credential_exists("GIT_PAT")
    out = []
    for request in fake.sent:
        parts = urlsplit(request.url)
        if request.method == "GET" and parts.path.endswith("/api/json"):
            if parts.path == "/crumbIssuer/api/json":
                continue  # python-jenkins' own crumb request
            query = dict(q.split("=", 1) for q in unquote(parts.query).split("&") if q)
            out.append((parts.path, query))
    return out


def test_every_tree_the_client_asks_names_exported_fields(recorded) -> None:
    assert recorded, "no request recorded"
    trees = 0
    for path, query in recorded:
        assert "tree" in query, f"{path}: the client reads JSON without naming its fields"
        problems = tree_problems(_root(path), parse_tree(query["tree"]))
        assert not problems, f"{path}?tree={query['tree']}: {problems}"
        trees += 1
    assert trees >= 9


def test_the_build_fields_cover_every_commit_source() -> None:
    """What commit_of reads: BuildData, PR origin hash, branch hash (all exported)."""
    tree = parse_tree(BUILD_FIELDS)
    assert tree_problems(["hudson.model.Run"], tree) == []
    revision = tree["actions"]["revision"]
    assert "hash" in revision and "hash" in revision["origin"]
    assert tree["actions"]["lastBuiltRevision"] == {"SHA1": {}}


def test_the_checks_can_fail() -> None:
    """The old reads: a typo'd field, and the revision from a plain `N/api/json`."""
    bad = parse_tree("actions[revision[pullHash]]")
    assert tree_problems(["hudson.model.Run"], bad) == [
        "actions.revision.pullHash (not exported by "
        + ", ".join(sorted(_candidates("SCMRevision")))
        + ")"
    ]
    reason = hidden_at_depth(["hudson.model.Run"], ["actions", "revision", "origin", "hash"])
    assert reason == "actions.revision has visibility 1 < 2"
    # git's BuildData survives a plain request (visibility 999), and so does the number.
    assert hidden_at_depth(["hudson.model.Run"], ["actions", "lastBuiltRevision", "SHA1"]) is None
    assert hidden_at_depth(["hudson.model.Run"], ["number"]) is None


def test_fixture_facts_the_client_relies_on() -> None:
    """The visibilities quoted in lab/clients/jenkins.py, as the fixture holds them."""
    assert _props("jenkins.scm.api.SCMRevisionAction")["revision"]["visibility"] == 1
    assert _props("hudson.plugins.git.util.BuildData")["lastBuiltRevision"]["visibility"] == 999
    assert "origin" in _props("org.jenkinsci.plugin.gitea.PullRequestSCMRevision")
    assert "hash" not in _props("org.jenkinsci.plugin.gitea.PullRequestSCMRevision")
    assert "hash" in _props("org.jenkinsci.plugin.gitea.BranchSCMRevision")
    assert _props("hudson.model.Run")["number"]["visibility"] == 2
