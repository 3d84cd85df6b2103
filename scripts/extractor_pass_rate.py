#!/usr/bin/env python3
"""How often lab/pipeline/extract.groovy gives what Jenkins' own parser gives.

Reads pipeline-model-definition's test pairs from a git mirror: every
``pipeline-model-definition/src/test/resources/<name>.groovy`` (not under errors/) with a
``json/<name>.json`` partner, the JSON being what the plugin's ``toJson`` produced. Our
extraction of each Jenkinsfile is compared with its JSON the way the plugin's own
``ConvertRoundTripTest.groovyToASTEqualsJSONToAST`` does: as models, so what model
equality ignores is normalised away first (``ModelASTStep``: absent arguments are an
empty named list; ``AbstractModelASTCodeBlock.equals``: a literal script block compares
line by line with each line trimmed). Two rates: "exact" compares whole documents;
"plugin" is the plugin's own test, whose ``ModelASTWhen`` has no ``equals()`` (so two
``when`` blocks are always equal there): it compares ``when`` by presence only. Prints
both rates and each exact miss with a diff.
Nothing is copied into the repository: the files go to a temporary directory.

    .venv/bin/python scripts/extractor_pass_rate.py /path/to/mirrors [--rev REV]
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derive_jenkins_api_fixture import SourceError, _git_dir  # noqa: E402
from derive_pipeline_ast_schema import COMMIT, REPO  # noqa: E402

from lab.errors import LabError  # noqa: E402
from lab.pipeline import model  # noqa: E402

RESOURCES = "pipeline-model-definition/src/test/resources/"


def _git(git_dir: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(git_dir), *args], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        raise SourceError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def pairs(git_dir: Path, rev: str) -> list[str]:
    names = set(_git(git_dir, "ls-tree", "-r", "--name-only", rev, RESOURCES).splitlines())
    found = []
    for path in sorted(names):
        rel = path[len(RESOURCES) :]
        if not rel.endswith(".groovy") or rel.startswith(("errors/", "json/")):
            continue
        name = rel[: -len(".groovy")]
        if f"{RESOURCES}json/{name}.json" in names:
            found.append(name)
    return found


def _code_block(value: str) -> str:
    return "\n".join(line.strip() for line in value.splitlines())


def normalise(node: Any, *, when_by_presence: bool = False) -> Any:
    """What model equality ignores, made equal."""
    if isinstance(node, list):
        return [normalise(n, when_by_presence=when_by_presence) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: normalise(v, when_by_presence=when_by_presence) for k, v in node.items()}
    if when_by_presence and isinstance(out.get("when"), dict):
        out["when"] = "present"
    if "name" in out and ("arguments" in out or "children" in out or len(out) == 1):
        out.setdefault("arguments", [])
    if out.get("name") in ("script", "expression") and isinstance(out.get("arguments"), list):
        for arg in out["arguments"]:
            value = arg.get("value", {}) if isinstance(arg, dict) else {}
            if arg.get("key") == "scriptBlock" and value.get("isLiteral"):
                value["value"] = _code_block(str(value["value"]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirrors", type=Path, help="git mirrors dir, or the plugin's git dir")
    parser.add_argument("--rev", default=COMMIT, help=f"commit to read (default {COMMIT[:8]})")
    parser.add_argument("--quiet", action="store_true", help="only the pass rate and names")
    args = parser.parse_args(argv)
    try:
        git_dir = (
            args.mirrors if (args.mirrors / "objects").is_dir() else _git_dir(args.mirrors, REPO)
        )
        names = pairs(git_dir, args.rev)
        with tempfile.TemporaryDirectory(prefix="lab-pass-rate-") as tmp:
            files = []
            for name in names:
                path = Path(tmp) / f"{name}.groovy"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(_git(git_dir, "show", f"{args.rev}:{RESOURCES}{name}.groovy"))
                files.append(path)
            results = model.extract_files(files)
        expected = {
            n: json.loads(_git(git_dir, "show", f"{args.rev}:{RESOURCES}json/{n}.json"))
            for n in names
        }
    except (SourceError, LabError, ValueError) as exc:
        print(f"extractor_pass_rate: {exc}", file=sys.stderr)
        return 2
    misses, plugin_misses = [], []
    for name, found in zip(names, results, strict=True):
        ours, theirs = normalise(found.pipeline), normalise(expected[name])
        if found.problems or normalise(found.pipeline, when_by_presence=True) != normalise(
            expected[name], when_by_presence=True
        ):
            plugin_misses.append(name)
        if ours != theirs or found.problems:
            misses.append(name)
            if args.quiet:
                continue
            print(f"--- MISS {name}")
            for p in found.problems:
                print(f"    problem: {p.line}:{p.column}: {p.message}")
            a = json.dumps(theirs, indent=1, sort_keys=True).splitlines()
            b = json.dumps(ours, indent=1, sort_keys=True).splitlines()
            for line in difflib.unified_diff(a, b, "jenkins", "ours", n=2, lineterm=""):
                print("    " + line)
    print(f"{REPO}@{args.rev[:8]}: {len(names)} Jenkinsfile/JSON pairs")
    for label, missed in (("plugin equality", plugin_misses), ("exact JSON", misses)):
        passed = len(names) - len(missed)
        rate = 100 * passed / max(len(names), 1)
        print(f"  {label}: {passed}/{len(names)} ({rate:.0f}%)", end="")
        print(f"; misses: {', '.join(missed)}" if missed else "")
    return 0 if not plugin_misses else 1


if __name__ == "__main__":
    sys.exit(main())
