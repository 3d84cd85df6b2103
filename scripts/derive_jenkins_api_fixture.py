#!/usr/bin/env python3
"""Derive tests/unit/fixtures/jenkins_api_beans.json from the pinned Jenkins sources.

Jenkins' JSON API is Stapler's export of ``@ExportedBean`` classes: a property exists
when a getter or field carries ``@Exported``; its name is ``name=`` or the bean name of
the getter; its visibility is ``visibility=`` or the class's ``@ExportedBean
(defaultVisibility)`` (inherited; 1 when absent), and ``inline=true`` keeps the depth.
This script reads those annotations in the pinned sources of the classes the lab's
Jenkins client reads (core, scm-api, gitea, git, git-client, cloudbees-folder, credentials) and
writes one small fixture, so a plain clone runs the contract test without the sources.

Rules of the export (jenkinsci/stapler 2088.v915606dc8e86, the version core 2.568.2
pins in its pom.xml): ``export/Model.java`` (properties declared per class,
``@ExportedBean`` inherited), ``export/Property.java`` (visibility 0 -> the bean's
default), ``export/MethodProperty.java`` (``getX``/``isX`` -> ``x`` via
``Introspector.decapitalize``).

The sources are read from git mirrors (``<dir>/<owner>+<name>/repo`` or
``<dir>/<name>``) at the refs below, never fetched by this script:

    .venv/bin/python scripts/derive_jenkins_api_fixture.py --mirrors /path/to/mirrors
    .venv/bin/python scripts/derive_jenkins_api_fixture.py --mirrors DIR --check
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "unit" / "fixtures" / "jenkins_api_beans.json"
MIRRORS_ENV = "LAB_UPSTREAM_MIRRORS"

# Repository -> the ref read. Tags are the versions casc/Dockerfile and casc/plugins.txt
# pin. The tags of cloudbees-folder (6.1106.v3a_d9a_6d2465e) and credentials
# (1511.v2e3cb_0008ef0) are not in the mirrors, so their newest commits there
# (2026-04-17, 2026-04-22) stand in, each for one property (`jobs`, `id`).
REFS: dict[str, str] = {
    "jenkinsci/jenkins": "jenkins-2.568.2",
    "jenkinsci/scm-api-plugin": "728.vc30dcf7a_0df5",
    "jenkinsci/gitea-plugin": "273.vb_78d13f6d9a_d",
    "jenkinsci/git-plugin": "git-5.10.1",
    "jenkinsci/git-client-plugin": "git-client-6.6.1",
    "jenkinsci/cloudbees-folder-plugin": "b72f4d5",
    "jenkinsci/credentials-plugin": "d96751bc",
}

CORE = "core/src/main/java/hudson"
SCM = "src/main/java/jenkins/scm/api"


@dataclass(frozen=True)
class Bean:
    fqn: str
    repo: str
    path: str
    simple: str  # the class's name in the file (nested classes too)


BEANS: tuple[Bean, ...] = (
    Bean(
        "hudson.model.Actionable",
        "jenkinsci/jenkins",
        f"{CORE}/model/Actionable.java",
        "Actionable",
    ),
    Bean(
        "hudson.model.AbstractItem",
        "jenkinsci/jenkins",
        f"{CORE}/model/AbstractItem.java",
        "AbstractItem",
    ),
    Bean("hudson.model.Job", "jenkinsci/jenkins", f"{CORE}/model/Job.java", "Job"),
    Bean("hudson.model.Run", "jenkinsci/jenkins", f"{CORE}/model/Run.java", "Run"),
    Bean("hudson.model.Queue", "jenkinsci/jenkins", f"{CORE}/model/Queue.java", "Queue"),
    Bean("hudson.model.Queue$Item", "jenkinsci/jenkins", f"{CORE}/model/Queue.java", "Item"),
    Bean(
        "hudson.model.Queue$LeftItem", "jenkinsci/jenkins", f"{CORE}/model/Queue.java", "LeftItem"
    ),
    Bean("hudson.security.WhoAmI", "jenkinsci/jenkins", f"{CORE}/security/WhoAmI.java", "WhoAmI"),
    Bean(
        "jenkins.scm.api.SCMRevisionAction",
        "jenkinsci/scm-api-plugin",
        f"{SCM}/SCMRevisionAction.java",
        "SCMRevisionAction",
    ),
    Bean(
        "jenkins.scm.api.SCMRevision",
        "jenkinsci/scm-api-plugin",
        f"{SCM}/SCMRevision.java",
        "SCMRevision",
    ),
    Bean("jenkins.scm.api.SCMHead", "jenkinsci/scm-api-plugin", f"{SCM}/SCMHead.java", "SCMHead"),
    Bean(
        "jenkins.scm.api.mixin.ChangeRequestSCMRevision",
        "jenkinsci/scm-api-plugin",
        f"{SCM}/mixin/ChangeRequestSCMRevision.java",
        "ChangeRequestSCMRevision",
    ),
    Bean(
        "org.jenkinsci.plugin.gitea.PullRequestSCMRevision",
        "jenkinsci/gitea-plugin",
        "src/main/java/org/jenkinsci/plugin/gitea/PullRequestSCMRevision.java",
        "PullRequestSCMRevision",
    ),
    Bean(
        "org.jenkinsci.plugin.gitea.BranchSCMRevision",
        "jenkinsci/gitea-plugin",
        "src/main/java/org/jenkinsci/plugin/gitea/BranchSCMRevision.java",
        "BranchSCMRevision",
    ),
    Bean(
        "jenkins.plugins.git.AbstractGitSCMSource$SCMRevisionImpl",
        "jenkinsci/git-plugin",
        "src/main/java/jenkins/plugins/git/AbstractGitSCMSource.java",
        "SCMRevisionImpl",
    ),
    Bean(
        "hudson.plugins.git.util.BuildData",
        "jenkinsci/git-plugin",
        "src/main/java/hudson/plugins/git/util/BuildData.java",
        "BuildData",
    ),
    Bean(
        "hudson.plugins.git.Revision",
        "jenkinsci/git-client-plugin",
        "src/main/java/hudson/plugins/git/Revision.java",
        "Revision",
    ),
    Bean(
        "com.cloudbees.plugins.credentials.CredentialsStoreAction$CredentialsWrapper",
        "jenkinsci/credentials-plugin",
        "src/main/java/com/cloudbees/plugins/credentials/CredentialsStoreAction.java",
        "CredentialsWrapper",
    ),
    Bean(
        "com.cloudbees.hudson.plugins.folder.AbstractFolder",
        "jenkinsci/cloudbees-folder-plugin",
        "src/main/java/com/cloudbees/hudson/plugins/folder/AbstractFolder.java",
        "AbstractFolder",
    ),
)

_MODIFIERS = {
    "public",
    "protected",
    "private",
    "static",
    "final",
    "abstract",
    "synchronized",
    "transient",
    "volatile",
    "default",
}


class SourceError(Exception):
    pass


def _literal_end(text: str, i: int) -> int:
    """The index just past the string or char literal that starts at ``text[i]``."""
    quote, j = text[i], i + 1
    while j < len(text) and text[j] != quote:
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _blank_comments(text: str) -> str:
    """Comments replaced by spaces (offsets kept); string and char literals left alone."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            i = _literal_end(text, i)
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j == -1 else j
            out[i:j] = " " * (j - i)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j == -1 else j + 2
            out[i:j] = [ch if ch == "\n" else " " for ch in text[i:j]]
            i = j
        else:
            i += 1
    return "".join(out)


def _top_level(body: str) -> str:
    """The text of a class body at its own depth: nested blocks cut out, literals kept."""
    out: list[str] = []
    depth, i, n = 0, 0, len(body)
    while i < n:
        c = body[i]
        if c in "\"'":
            j = _literal_end(body, i)
            if depth == 0:
                out.append(body[i:j])
            i = j
            continue
        if c == "{":
            depth += 1
            if depth == 1:
                out.append(" ; ")  # a member ends where its body starts
        elif c == "}":
            depth -= 1
        elif depth == 0:
            out.append(c)
        i += 1
    return "".join(out)


def _class_span(text: str, simple: str) -> tuple[int, int, int]:
    """(start of the declaration header, index of its `{`, index after its `}`)."""
    match = re.search(rf"\b(?:class|interface)\s+{re.escape(simple)}\b", text)
    if match is None:
        raise SourceError(f"class {simple} not found")
    open_brace = text.index("{", match.end())
    depth = 0
    i = open_brace
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _literal_end(text, i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return match.start(), open_brace, i + 1
        i += 1
    raise SourceError(f"class {simple}: unbalanced braces")


def _args(annotation_args: str | None) -> dict[str, str]:
    if not annotation_args:
        return {}
    return {
        k: v.strip().strip('"')
        for k, v in re.findall(r"(\w+)\s*=\s*(\"[^\"]*\"|[-\w.]+)", annotation_args)
    }


def _bean_name(method: str) -> str:
    """MethodProperty.buildName: drop get/is, then java.beans.Introspector.decapitalize."""
    if method.startswith("get"):
        method = method[3:]
    elif method.startswith("is"):
        method = method[2:]
    if len(method) > 1 and method[0].isupper() and method[1].isupper():
        return method
    return method[:1].lower() + method[1:]


def _strip_annotations(text: str) -> str:
    return re.sub(r"@[\w.]+(\s*\([^()]*\))?", " ", text)


def parse_bean(source: str, simple: str) -> dict[str, Any]:
    text = _blank_comments(source)
    start, open_brace, end = _class_span(text, simple)
    # The annotations just before the declaration (back to the previous member or import).
    before = text[:start]
    cut = max(before.rfind(";"), before.rfind("}"), before.rfind("{"))
    head_annotations = before[cut + 1 :]
    bean = re.search(r"@ExportedBean\b(\s*\(([^()]*)\))?", head_annotations)
    header = _strip_annotations(text[start:open_brace])
    while re.search(r"<[^<>]*>", header):  # type parameters hold `extends` too
        header = re.sub(r"<[^<>]*>", " ", header)
    extends = re.search(r"\bextends\s+([\w.]+)", header)
    props: dict[str, dict[str, Any]] = {}
    members = _top_level(text[open_brace + 1 : end - 1])
    for match in re.finditer(r"@Exported\b(?!Bean)(\s*\(([^()]*)\))?", members):
        rest = _strip_annotations(members[match.end() :])
        stop = re.search(r"[(;=]", rest)
        if stop is None:
            raise SourceError(f"class {simple}: @Exported without a member")
        decl = rest[: stop.start()]
        decl = re.sub(r"^\s*<[^<>]*(<[^<>]*>[^<>]*)*>", " ", decl)  # generic method params
        words = [w for w in decl.split() if w not in _MODIFIERS]
        if len(words) < 2:
            raise SourceError(f"class {simple}: cannot read the member after @Exported: {decl!r}")
        member, declared = words[-1], " ".join(words[:-1])
        is_method = rest[stop.start()] == "("
        args = _args(match.group(2))
        name = args.get("name", "")
        if len(name) <= 1:  # Property: exported.name().length() > 1
            name = _bean_name(member) if is_method else member
        entry: dict[str, Any] = {"type": re.sub(r"\s+", " ", declared).strip()}
        if "visibility" in args:
            entry["visibility"] = int(args["visibility"])
        if args.get("inline") == "true":
            entry["inline"] = True
        props[name] = entry
    return {
        "extends_simple": extends.group(1).split(".")[-1] if extends else None,
        "bean": bean is not None,
        "default_visibility": int(_args(bean.group(2)).get("defaultVisibility", 1))
        if bean
        else None,
        "properties": props,
    }


def _git_dir(mirrors: Path, repo: str) -> Path:
    owner, name = repo.split("/")
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / name, mirrors / repo):
        if candidate.exists():
            return candidate
    raise SourceError(f"no mirror of {repo} under {mirrors}")


def read_source(mirrors: Path, repo: str, path: str, ref: str | None = None) -> str:
    """``path`` of ``repo`` at ``ref`` (default: the ref pinned in REFS) from the mirrors."""
    ref = ref or REFS[repo]
    proc = subprocess.run(
        ["git", "-C", str(_git_dir(mirrors, repo)), "show", f"{ref}:{path}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise SourceError(f"{repo}@{ref}:{path}: {proc.stderr.strip()}")
    return proc.stdout


def derive(mirrors: Path) -> dict[str, Any]:
    parsed: dict[str, dict[str, Any]] = {}
    for bean in BEANS:
        try:
            parsed[bean.fqn] = parse_bean(read_source(mirrors, bean.repo, bean.path), bean.simple)
        except SourceError as exc:
            raise SourceError(f"{bean.fqn}: {exc}") from None
        parsed[bean.fqn]["source"] = f"{bean.repo}@{REFS[bean.repo]}:{bean.path}"
    by_simple = {fqn.replace("$", ".").split(".")[-1]: fqn for fqn in parsed}
    classes: dict[str, Any] = {}
    for fqn, info in parsed.items():
        parent = by_simple.get(info["extends_simple"] or "")
        classes[fqn] = {"source": info["source"], "extends": parent}
    # @ExportedBean is @Inherited: a class without one takes its superclass's default.
    for fqn, info in parsed.items():
        seen: set[str] = set()
        cursor: str | None = fqn
        while cursor is not None and parsed[cursor]["default_visibility"] is None:
            if cursor in seen:
                raise SourceError(f"{fqn}: its superclasses loop through {cursor}")
            seen.add(cursor)
            cursor = classes[cursor]["extends"]
        default = parsed[cursor]["default_visibility"] if cursor is not None else None
        if default is None:
            raise SourceError(f"{fqn}: no @ExportedBean on it or a superclass in the set")
        props = {}
        for name, prop in sorted(info["properties"].items()):
            visibility = prop.get("visibility") or default  # 0 -> the bean's default
            props[name] = {"type": prop["type"], "visibility": visibility}
            if prop.get("inline"):
                props[name]["inline"] = True
        classes[fqn]["default_visibility"] = default
        classes[fqn]["properties"] = props
    return {
        "_about": (
            "Exported properties (Stapler @Exported) of the Jenkins classes lab/clients/"
            "jenkins.py reads, with resolved visibility; generated by "
            "scripts/derive_jenkins_api_fixture.py, do not edit."
        ),
        "refs": dict(sorted(REFS.items())),
        "classes": dict(sorted(classes.items())),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def default_mirrors() -> Path | None:
    env = os.environ.get(MIRRORS_ENV)
    if env and all(_has_mirror(Path(env), repo) for repo in REFS):
        return Path(env)
    return None


def _has_mirror(mirrors: Path, repo: str) -> bool:
    try:
        _git_dir(mirrors, repo)
    except SourceError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, help=f"git mirrors (default: ${MIRRORS_ENV})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the fixture is stale")
    args = parser.parse_args(argv)
    mirrors = args.mirrors or default_mirrors()
    if mirrors is None:
        print(f"no upstream mirrors found: pass --mirrors or set {MIRRORS_ENV}", file=sys.stderr)
        return 2
    try:
        text = render(derive(mirrors))
    except SourceError as exc:
        print(f"derive_jenkins_api_fixture: {exc}", file=sys.stderr)
        return 2
    return write_or_check(args.out, text, check=args.check, script=Path(__file__).name)


def write_or_check(out: Path, text: str, *, check: bool, script: str) -> int:
    """Write a derived file, or with ``check`` exit status 1 when the stored one differs."""
    if check:
        current = out.read_text() if out.exists() else ""
        if current != text:
            print(f"{out} is stale: rerun {script}", file=sys.stderr)
            return 1
        return 0
    out.write_text(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
