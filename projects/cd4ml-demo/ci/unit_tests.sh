#!/usr/bin/env bash
# Stage "Unit tests": the project's pytest suite (tests/).
# Environment: none beyond PATH (python with requirements.txt installed).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

python -m pytest -p no:cacheprovider tests
