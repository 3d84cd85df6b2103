#!/usr/bin/env bash
# Stage "Quality gate" (pull requests): fail when the gated metric in metrics.json is
# below params.yaml quality_gate.min.
# Environment: none beyond PATH.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

python ci/quality_gate.py
