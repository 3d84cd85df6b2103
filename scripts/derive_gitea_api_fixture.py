#!/usr/bin/env python3
"""Derive tests/unit/fixtures/gitea_api_subset.json from Gitea's OpenAPI (swagger 2) specs.

Keeps only facts, and only those the lab relies on: for the operations the Gitea client
calls, path templates, HTTP methods, query parameters, and the body's required and
allowed fields (lower-cased, with enum values); every (method, path) Gitea declares,
which the local forge's routes are checked against; and the field names (with the type
of nested objects) of the objects the local forge answers with. With several specs
(1.25.3 and 1.27.1) the result is what holds in all of them: allowed fields, query
parameters, operations and answer fields are intersected, required fields united, so
the lab stays compatible with both.

The specs are not part of the repository (they live in ../shared/upstream in the lab's
workspace); the tests read only the derived fixture, so a plain clone runs them all.

    .venv/bin/python scripts/derive_gitea_api_fixture.py            # write the fixture
    .venv/bin/python scripts/derive_gitea_api_fixture.py --check    # exit 1 if stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = (
    ROOT.parent / "shared" / "upstream" / "gitea-openapi-1.25.3.json",
    ROOT.parent / "shared" / "upstream" / "gitea-openapi.json",
)
DEFAULT_OUT = ROOT / "tests" / "unit" / "fixtures" / "gitea_api_subset.json"

# Every (method, path template) lab/clients/gitea.py calls.
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("GET", "/version"),
    ("GET", "/user"),
    ("GET", "/users/{username}"),
    ("POST", "/admin/users"),
    ("PATCH", "/admin/users/{username}"),
    ("GET", "/users/{username}/tokens"),
    ("POST", "/users/{username}/tokens"),
    ("DELETE", "/users/{username}/tokens/{token}"),
    ("GET", "/orgs/{org}"),
    ("POST", "/orgs"),
    ("GET", "/orgs/{org}/teams"),
    ("POST", "/orgs/{org}/teams"),
    ("PATCH", "/teams/{id}"),
    ("GET", "/teams/{id}/members/{username}"),
    ("PUT", "/teams/{id}/members/{username}"),
    ("PUT", "/repos/{owner}/{repo}/collaborators/{collaborator}"),
    ("GET", "/repos/{owner}/{repo}"),
    ("DELETE", "/repos/{owner}/{repo}"),
    ("GET", "/orgs/{org}/repos"),
    ("POST", "/orgs/{org}/repos"),
    ("GET", "/repos/{owner}/{repo}/branches"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("DELETE", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/hooks"),
    ("POST", "/repos/{owner}/{repo}/hooks"),
    ("PATCH", "/repos/{owner}/{repo}/hooks/{id}"),
    ("DELETE", "/repos/{owner}/{repo}/hooks/{id}"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("POST", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}"),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{index}"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}/files"),
    ("POST", "/repos/{owner}/{repo}/pulls/{index}/merge"),
    ("GET", "/repos/{owner}/{repo}/issues/{index}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{index}/comments"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
    ("POST", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("GET", "/repos/{owner}/{repo}/git/commits/{sha}"),
    ("GET", "/repos/{owner}/{repo}/commits"),
)

# Response fields the lab reads, by definition: each must exist in every spec.
READ_FIELDS: dict[str, tuple[str, ...]] = {
    "AccessToken": ("id", "name", "scopes", "sha1", "token_last_eight"),
    "Commit": ("files", "sha"),
    "CommitAffectedFiles": ("filename",),
    "ChangedFile": ("filename",),
    "Hook": ("active", "branch_filter", "config", "events", "id"),
    "Repository": ("default_branch", "empty", "full_name"),
    "Team": ("id", "includes_all_repositories", "name", "permission", "units_map"),
    "ServerVersion": ("version",),
    "User": ("login",),
}


# The JSON objects lab/localforge/forge.py answers with (tests/unit/test_localforge_forge.py
# checks their field names); the objects they nest are derived too.
FORGE_ANSWERS: tuple[str, ...] = (
    "CombinedStatus",
    "Comment",
    "CommitStatus",
    "PullRequest",
    "Repository",
    "User",
)


def _resolve(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return spec["definitions"][name]
    return schema


def operation_facts(spec: Mapping[str, Any], method: str, path: str) -> dict[str, Any]:
    """The facts of one operation in one spec; KeyError if the spec lacks it."""
    item = spec["paths"][path]
    op = item[method.lower()]
    params = [*item.get("parameters", []), *op.get("parameters", [])]
    query = sorted(p["name"] for p in params if p.get("in") == "query")
    body: dict[str, Any] | None = None
    for p in params:
        if p.get("in") == "body":
            schema = _resolve(spec, p.get("schema", {}))
            # Gitea decodes bodies with Go's encoding/json, which matches field names
            # case-insensitively; some specs (1.25.3's MergePullRequestForm) name
            # fields by their Go names ("Do"). Compare lower-cased names.
            props = {k.lower(): v for k, v in schema.get("properties", {}).items()}
            body = {
                "required": sorted(k.lower() for k in schema.get("required", [])),
                "allowed": sorted(props),
                "enums": {k: sorted(v["enum"]) for k, v in sorted(props.items()) if "enum" in v},
            }
    return {"query": query, "body": body}


def _merge(facts: list[dict[str, Any]]) -> dict[str, Any]:
    def inter(lists: Iterable[list[str]]) -> list[str]:
        sets = [set(x) for x in lists]
        return sorted(set.intersection(*sets)) if sets else []

    merged: dict[str, Any] = {"query": inter(f["query"] for f in facts)}
    bodies = [f["body"] for f in facts]
    if any(b is None for b in bodies):
        merged["body"] = None
    else:
        enums: dict[str, list[str]] = {}
        for field in inter(list(b["enums"]) for b in bodies):
            enums[field] = inter(b["enums"][field] for b in bodies)
        merged["body"] = {
            "required": sorted(set().union(*(b["required"] for b in bodies))),
            "allowed": inter(b["allowed"] for b in bodies),
            "enums": enums,
        }
    return merged


def all_operations(specs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``METHOD /path`` of every operation declared in every spec."""
    per_spec = [
        {
            f"{method.upper()} {path}"
            for path, item in spec["paths"].items()
            for method in item
            if method != "parameters"
        }
        for spec in specs.values()
    ]
    return sorted(set.intersection(*per_spec))


def _nested(prop: Mapping[str, Any]) -> str | None:
    ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
    return str(ref).rsplit("/", 1)[-1] if ref else None


def answer_fields(specs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """For FORGE_ANSWERS and the objects they nest: field -> nested object's definition (or
    None for a scalar or enum, such as 1.25.3's StateType), the fields every spec declares."""
    out: dict[str, Any] = {}
    todo = list(FORGE_ANSWERS)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        props: list[Mapping[str, Any]] = []
        for version, spec in specs.items():
            definition = spec["definitions"].get(name)
            if definition is None:
                raise SystemExit(f"Gitea {version}'s spec has no definition {name}")
            props.append(definition.get("properties") or {})
        if not all(props):
            if any(props):
                raise SystemExit(f"{name} is an object in some specs only")
            out[name] = None
            continue
        fields: dict[str, str | None] = {}
        for field in sorted(set.intersection(*(set(p) for p in props))):
            nested = {_nested(p[field]) for p in props}
            objects = {n for n in nested if n and _is_object(specs, n)}
            if objects and len(nested) > 1:
                raise SystemExit(f"{name}.{field} is a different object in each spec: {nested}")
            fields[field] = objects.pop() if objects else None
            todo.extend(objects if fields[field] is None else [fields[field]])
        out[name] = fields
    return dict(sorted(out.items()))


def _is_object(specs: Mapping[str, Mapping[str, Any]], name: str) -> bool:
    return any(spec["definitions"].get(name, {}).get("properties") for spec in specs.values())


def derive(specs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``specs`` maps a version label to a loaded spec; returns the fixture document."""
    operations: dict[str, Any] = {}
    for method, path in OPERATIONS:
        facts = []
        for version, spec in specs.items():
            try:
                facts.append(operation_facts(spec, method, path))
            except KeyError:
                raise SystemExit(f"{method} {path} is not in Gitea {version}'s spec") from None
        operations[f"{method} {path}"] = _merge(facts)
    responses: dict[str, list[str]] = {}
    for name, fields in READ_FIELDS.items():
        for version, spec in specs.items():
            props = spec["definitions"].get(name, {}).get("properties", {})
            missing = [f for f in fields if f not in props]
            if missing:
                raise SystemExit(f"Gitea {version}: {name} has no field(s) {missing}")
        responses[name] = sorted(fields)
    return {
        "_about": "Subset of Gitea's OpenAPI used by lab/clients/gitea.py and lab/localforge; "
        "generated by scripts/derive_gitea_api_fixture.py, do not edit.",
        "all_operations": all_operations(specs),
        "answer_fields": answer_fields(specs),
        "base_path": "/api/v1",
        "gitea_versions": sorted(specs),
        "operations": operations,
        "read_fields": responses,
    }


def load_specs(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for path in paths:
        spec = json.loads(path.read_text())
        specs[str(spec["info"]["version"])] = spec
    return specs


def render(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, action="append", help="OpenAPI file (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if --out is not up to date")
    args = parser.parse_args(argv)
    spec_paths = args.spec or list(DEFAULT_SPECS)
    missing = [str(p) for p in spec_paths if not p.is_file()]
    if missing:
        print(
            f"spec file(s) not found: {', '.join(missing)} (Gitea's OpenAPI specs are not "
            "shipped with the project: pass them with --spec FILE)",
            file=sys.stderr,
        )
        return 2
    text = render(derive(load_specs(spec_paths)))
    if args.check:
        current = args.out.read_text() if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(OPERATIONS)} operations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
