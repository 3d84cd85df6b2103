#!/usr/bin/env bash
# Stage "Lint": flake8 (setup.cfg) and black --check (pyproject.toml).
# Environment: none beyond PATH.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

flake8 src tests ci
black --check --quiet src tests ci
log "flake8 and black: clean"
