#!/usr/bin/env bash
# Stage "Validate parameters": fail early, naming the parameter, when a build parameter is
# out of its range (the Jenkinsfile's `choice` parameters cannot be, the `string` ones can).
# Environment: PROBLEM, N_ESTIMATORS, MAX_DEPTH, TEST_SIZE (build parameters); or
#   CHAIN=1 to check params.yaml's `chain` section instead.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [[ "${CHAIN:-}" == 1 ]]; then
    train_cli validate --from-params
else
    train_cli validate
fi
