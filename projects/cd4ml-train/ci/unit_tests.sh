#!/usr/bin/env bash
# Unit tests of the project and of its private package (tests/, packages/*/tests).
# Environment: none beyond PATH (python with requirements.txt installed).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

py -m pytest -p no:cacheprovider
