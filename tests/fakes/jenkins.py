"""A fake Jenkins HTTP layer (a requests transport adapter) whose JSON answers follow
Stapler's export rules over the beans the pinned sources export.

``export()`` prunes an object graph the way jenkinsci/stapler 2088.v915606dc8e86 does
(the version core 2.568.2 pins): with ``tree=`` by name only
(``export/NamedPathPruner.java``: visibility plays no part), otherwise by depth
(``ResponseImpl.serveExposedBean``: ``new ByDepth(1 - depth)``; ``TreePruner.ByDepth``:
a property is written when its visibility >= n, and its value is one level deeper
unless ``inline``). ``_class`` is written as ``ClassAttributeBehaviour.IF_NEEDED``
does: at the top, and wherever the object's class is not the declared type.
Properties and visibilities come from ``tests/unit/fixtures/jenkins_api_beans.json``
(``scripts/derive_jenkins_api_fixture.py``); an object holding a field its class does
not export is refused, so the fake cannot answer with a shape Jenkins never produces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter

BEANS_FIXTURE = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "jenkins_api_beans.json"
Tree = dict[str, "Tree"]
Route = Callable[[requests.PreparedRequest], tuple[int, Any, dict[str, str]]]

RUN = "hudson.model.Run"
JOB = "hudson.model.Job"
FOLDER = "com.cloudbees.hudson.plugins.folder.AbstractFolder"
QUEUE_ITEM = "hudson.model.Queue$Item"
BUILD_DATA = "hudson.plugins.git.util.BuildData"
REVISION = "hudson.plugins.git.Revision"
SCM_REVISION_ACTION = "jenkins.scm.api.SCMRevisionAction"
PR_REVISION = "org.jenkinsci.plugin.gitea.PullRequestSCMRevision"
BRANCH_REVISION = "org.jenkinsci.plugin.gitea.BranchSCMRevision"
SCM_HEAD = "jenkins.scm.api.SCMHead"
CAUSE_ACTION = "hudson.model.CauseAction"  # exported, but nothing the lab reads


def load_beans() -> dict[str, Any]:
    return json.loads(BEANS_FIXTURE.read_text())["classes"]


def parse_tree(spec: str) -> Tree:
    """Stapler's tree grammar: ``a,b[c,d[e]]`` (ranges ``{m,n}`` are not used by the lab)."""
    pos = 0

    def names() -> Tree:
        nonlocal pos
        tree: Tree = {}
        while True:
            match = re.compile(r"[\w*]+").match(spec, pos)
            if match is None:
                raise ValueError(f"tree {spec!r}: a name expected at {pos}")
            pos = match.end()
            sub: Tree = {}
            if pos < len(spec) and spec[pos] == "[":
                pos += 1
                sub = names()
                if pos >= len(spec) or spec[pos] != "]":
                    raise ValueError(f"tree {spec!r}: `]` expected at {pos}")
                pos += 1
            tree[match.group()] = sub
            if pos < len(spec) and spec[pos] == ",":
                pos += 1
                continue
            return tree

    result = names()
    if pos != len(spec):
        raise ValueError(f"tree {spec!r}: unexpected {spec[pos:]!r}")
    return result


Accept = Callable[[str, dict[str, Any]], "Accept | None"]


def _by_name(tree: Tree) -> Accept:
    """NamedPathPruner: a property named in the tree (or `*`), visibility ignored."""

    def accept(name: str, prop: dict[str, Any]) -> Accept | None:
        sub = tree.get(name, tree.get("*"))
        return None if sub is None else _by_name(sub)

    return accept


def _by_depth(n: int) -> Accept:
    """TreePruner.ByDepth: visibility >= n; the value one level deeper unless inline."""

    def accept(name: str, prop: dict[str, Any]) -> Accept | None:
        if prop["visibility"] < n:
            return None
        return _by_depth(n if prop.get("inline") else n + 1)

    return accept


def _declared(type_text: str) -> str:
    """The simple name of a declared type, or of the element type of a collection/array."""
    text = type_text.strip()
    generic = re.match(r"^[\w.]+<(.*)>$", text)
    if generic and re.match(r"^(List|Collection|RunList|Set|Iterable)\b", text):
        text = generic.group(1)
    text = re.sub(r"^\?\s+(extends|super)\s+", "", text).removesuffix("[]")
    return re.sub(r"<.*>$", "", text).split(".")[-1]


class Beans:
    def __init__(self, classes: dict[str, Any] | None = None) -> None:
        self.classes = classes or load_beans()

    def properties(self, cls: str) -> dict[str, dict[str, Any]]:
        """Every exported property of ``cls`` and its superclasses (subclass wins)."""
        props: dict[str, dict[str, Any]] = {}
        cursor: str | None = cls
        while cursor is not None:
            if cursor not in self.classes:
                raise KeyError(f"class {cursor} is not in the beans fixture")
            for name, prop in self.classes[cursor]["properties"].items():
                props.setdefault(name, prop)
            cursor = self.classes[cursor]["extends"]
        return props

    def check(self, obj: Any) -> None:
        """Refuse an object graph with a field its class does not export."""
        if isinstance(obj, list):
            for item in obj:
                self.check(item)
            return
        if not isinstance(obj, dict):
            return
        cls = obj.get("_class")
        if cls is None:
            raise ValueError(f"object without _class: {obj!r}")
        if cls == CAUSE_ACTION:
            return
        props = self.properties(cls)
        for key, value in obj.items():
            if key == "_class":
                continue
            if key not in props:
                raise ValueError(f"{cls} exports no property {key!r} (see the beans fixture)")
            self.check(value)

    def export(self, obj: Any, *, tree: str | None = None, depth: int = 0) -> Any:
        self.check(obj)
        if tree is not None:
            return self._prune(obj, None, _by_name(parse_tree(tree)))
        return self._prune(obj, None, _by_depth(1 - depth))

    def _class_attr(self, obj: dict[str, Any], declared: str | None) -> dict[str, Any]:
        simple = obj["_class"].replace("$", ".").split(".")[-1]
        return {"_class": obj["_class"]} if declared != simple else {}

    def _prune(self, obj: Any, declared: str | None, accept: Accept) -> Any:
        """Write ``obj`` as Stapler's Model.writeTo does: a property goes out when
        ``accept`` gives a pruner for its value (TreePruner.accept), else it is dropped."""
        if isinstance(obj, list):
            return [self._prune(item, declared, accept) for item in obj]
        if not isinstance(obj, dict):
            return obj
        out = self._class_attr(obj, declared)
        if obj["_class"] == CAUSE_ACTION:
            return out
        for name, prop in self.properties(obj["_class"]).items():
            child = accept(name, prop)
            if child is not None and name in obj:
                out[name] = self._prune(obj[name], _declared(prop["type"]), child)
        return out

    def unmatched(self, obj: Any, tree: str) -> list[str]:
        """Names in ``tree`` that no exported property of ``obj`` (at that place) carries."""
        missing: list[str] = []

        def walk(value: Any, sub: Tree, where: str) -> None:
            items = value if isinstance(value, list) else [value]
            objects = [v for v in items if isinstance(v, dict) and v.get("_class") != CAUSE_ACTION]
            for name, child in sub.items():
                holders = [o for o in objects if name in self.properties(o["_class"])]
                if not holders:
                    missing.append(f"{where}{name}")
                    continue
                for holder in holders:
                    if child and name in holder:
                        walk(holder[name], child, f"{where}{name}.")

        walk(obj, parse_tree(tree), "")
        return sorted(set(missing))


# ---- object graphs shaped like the lab's builds ------------------------------------


def build_data(sha: str) -> dict[str, Any]:
    return {"_class": BUILD_DATA, "lastBuiltRevision": {"_class": REVISION, "SHA1": sha}}


def pr_revision(number: int, head_sha: str, base_sha: str, branch: str) -> dict[str, Any]:
    """gitea 273 GiteaSCMSource.retrieve: PullRequestSCMRevision(head, target=base, origin=head)."""
    return {
        "_class": SCM_REVISION_ACTION,
        "revision": {
            "_class": PR_REVISION,
            "head": {"_class": SCM_HEAD, "name": f"PR-{number}"},
            "target": {"_class": BRANCH_REVISION, "hash": base_sha},
            "origin": {"_class": BRANCH_REVISION, "hash": head_sha},
            "merge": False,
        },
    }


def branch_revision(branch: str, sha: str) -> dict[str, Any]:
    return {
        "_class": SCM_REVISION_ACTION,
        "revision": {
            "_class": BRANCH_REVISION,
            "head": {"_class": SCM_HEAD, "name": branch},
            "hash": sha,
        },
    }


def run(
    number: int,
    *,
    result: str | None = "SUCCESS",
    actions: list[dict[str, Any]] | None = None,
    url: str = "",
) -> dict[str, Any]:
    return {
        "_class": RUN,
        "number": number,
        "result": result,
        "building": result is None,
        "duration": 1000,
        "url": url or f"http://jenkins.test/job/x/{number}/",
        "actions": [{"_class": CAUSE_ACTION}, *(actions or [])],
    }


# ---- the HTTP layer --------------------------------------------------------------


class FakeJenkins(BaseAdapter):
    """Routes by (method, path?query); jobs registered in ``jobs`` answer their API
    (job, build, queue item, console, stop, cancel) through :class:`Beans`. Records
    requests and checks auth and timeouts."""

    def __init__(self) -> None:
        super().__init__()
        self.beans = Beans()
        self.routes: dict[tuple[str, str], Route | tuple[Any, ...]] = {
            ("GET", "/crumbIssuer/api/json"): (
                200,
                {"crumbRequestField": "Jenkins-Crumb", "crumb": "c0ffee"},
            ),
        }
        self.jobs: dict[str, dict[str, Any]] = {}  # full name (encoded names) -> Job object
        self.consoles: dict[tuple[str, int], str] = {}
        self.sent: list[requests.PreparedRequest] = []
        self.cancelled: list[int] = []
        self.stopped: list[tuple[str, int]] = []

    def add_job(self, name: str, *builds: dict[str, Any], folder: bool = False) -> dict[str, Any]:
        job: dict[str, Any] = (
            {"_class": FOLDER, "name": name.split("/")[-1], "jobs": []}
            if folder
            else {"_class": JOB, "name": name.split("/")[-1], "builds": list(builds)}
        )
        self.jobs[name] = job
        parent = self.jobs.get(name.rpartition("/")[0])
        if parent is not None and parent["_class"] == FOLDER:
            parent["jobs"].append(job)
        return job

    def queue(self, name: str, item_id: int, why: str) -> None:
        self.jobs[name]["queueItem"] = {
            "_class": QUEUE_ITEM,
            "id": item_id,
            "why": why,
            "task": {"_class": JOB, "name": name.split("/")[-1]},
        }

    def _job_of(self, path: str) -> tuple[str | None, str]:
        """(full job name, rest of the path) for ``/job/a/job/b/rest``; names decoded once."""
        parts = path.strip("/").split("/")
        names: list[str] = []
        while len(parts) >= 2 and parts[0] == "job":
            names.append(unquote(parts[1]))
            parts = parts[2:]
        return ("/".join(names) or None), "/".join(parts)

    def _model(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any] | None:
        if method == "POST" and path == "/queue/cancelItem":
            item_id = int(query["id"])
            for job in self.jobs.values():
                if (job.get("queueItem") or {}).get("id") == item_id:
                    del job["queueItem"]
                    self.cancelled.append(item_id)
                    return 204, ""  # core 2.568.2 Queue.doCancelItem
            return 404, f"Provided id ({item_id}) not found"
        name, rest = self._job_of(path)
        if name is None or name not in self.jobs:
            return None
        job = self.jobs[name]
        if job["_class"] == JOB:  # Job.getLastBuild: the newest build, or null
            job["lastBuild"] = job["builds"][0] if job.get("builds") else None
        tree = query.get("tree")
        depth = int(query.get("depth", 0))
        if method == "GET" and rest == "api/json":
            return 200, self.beans.export(job, tree=tree, depth=depth)
        number, _, tail = rest.partition("/")
        if not number.isdigit():
            return None
        build = next((b for b in job.get("builds", ()) if b["number"] == int(number)), None)
        if build is None:
            return 404, "Not Found"
        if method == "GET" and tail == "api/json":
            return 200, self.beans.export(build, tree=tree, depth=depth)
        if method == "GET" and tail == "consoleText":
            return 200, self.consoles.get((name, int(number)), "")
        if method == "POST" and tail == "stop":
            self.stopped.append((name, int(number)))
            build.update(building=False, result="ABORTED")
            return 200, ""
        return None

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
        assert kwargs.get("timeout"), "every Jenkins request needs a timeout"
        self.sent.append(request)
        parts = urlsplit(request.url)
        path = parts.path + (f"?{unquote(parts.query)}" if parts.query else "")
        route = self.routes.get((request.method, path))
        headers: dict[str, str] = {}
        if route is not None:
            if callable(route):
                status, body, headers = route(request)
            else:
                status, body, *rest = route
                headers = rest[0] if rest else {}
        else:
            answer = self._model(request.method, parts.path, dict(parse_qsl(parts.query)))
            status, body = answer if answer is not None else (404, "Not Found")
        resp = requests.Response()
        resp.status_code = status
        resp._content = (body if isinstance(body, str) else json.dumps(body)).encode()
        resp.headers.update(headers)
        resp.url = request.url
        resp.request = request
        resp.reason = "fake"
        return resp

    def close(self) -> None:
        pass

    def paths(self, method: str | None = None) -> list[str]:
        return [urlsplit(r.url).path for r in self.sent if method is None or r.method == method]

    def queries(self, method: str = "GET") -> list[str]:
        """Every path?query sent (query decoded), e.g. to check the `tree=` the client asks."""
        out = []
        for r in self.sent:
            if r.method == method:
                parts = urlsplit(r.url)
                out.append(parts.path + (f"?{unquote(parts.query)}" if parts.query else ""))
        return out
