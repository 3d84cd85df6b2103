#!/usr/bin/env python3
"""Derive lab/pipeline/ast-schema.json from pipeline-model-definition's own schema.

Jenkins checks declarative AST JSON (what ``pipeline-model-converter/toJson`` gives)
against ``pipeline-model-api/src/main/resources/ast-schema.json`` with a draft-04
validator (``Converter.validateJSONAgainstSchema``, fge json-schema-validator). The lab's
copy is that file unchanged except for two keys: ``$schema`` names draft-04, so
``jsonschema`` picks the same rules, and ``description`` records where it comes from.

The plugin is read from a git mirror (``<dir>/jenkinsci+pipeline-model-definition-plugin/
repo`` or ``<dir>/pipeline-model-definition-plugin``) at the commit below, never fetched
by this script. The pinned 2.2293.v6e7193cec599 (casc/plugins.txt; commit 6e7193cec599)
is not in our mirror, whose newest master commit is 42c9dc3e (2025-11-10); the schema
file last changed on 2019-10-29 (e51a5ef8, `beforeOptions`).

    .venv/bin/python scripts/derive_pipeline_ast_schema.py --mirrors /path/to/mirrors
    .venv/bin/python scripts/derive_pipeline_ast_schema.py --mirrors DIR --check
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from derive_jenkins_api_fixture import MIRRORS_ENV, SourceError, read_source, write_or_check

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "lab" / "pipeline" / "ast-schema.json"
REPO = "jenkinsci/pipeline-model-definition-plugin"
COMMIT = "42c9dc3e440b8e1b52d1859ea60fed20e8b54aa4"
PATH = "pipeline-model-api/src/main/resources/ast-schema.json"
DRAFT = "http://json-schema.org/draft-04/schema#"


def derive(mirrors: Path) -> dict[str, Any]:
    upstream = json.loads(read_source(mirrors, REPO, PATH, ref=COMMIT))
    about = (
        f"{upstream.get('description', '')} (from {REPO} {PATH} at {COMMIT}; derived by "
        "scripts/derive_pipeline_ast_schema.py, do not edit)"
    )
    return {"$schema": DRAFT, "description": about.strip()} | {
        k: v for k, v in upstream.items() if k not in ("$schema", "description")
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, help=f"git mirrors (default: ${MIRRORS_ENV})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the schema is stale")
    args = parser.parse_args(argv)
    mirrors = args.mirrors or (
        Path(os.environ[MIRRORS_ENV]) if os.environ.get(MIRRORS_ENV) else None
    )
    if mirrors is None:
        print(f"no upstream mirrors found: pass --mirrors or set {MIRRORS_ENV}", file=sys.stderr)
        return 2
    try:
        text = render(derive(mirrors))
    except (SourceError, ValueError) as exc:
        print(f"derive_pipeline_ast_schema: {exc}", file=sys.stderr)
        return 2
    return write_or_check(args.out, text, check=args.check, script=Path(__file__).name)


if __name__ == "__main__":
    sys.exit(main())
