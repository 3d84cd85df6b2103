#!/usr/bin/env bash
# Stage "Publish results": out/ (data, model, metrics) to RESULTS_URL, the marker object
# last (trainkit.store), so only a complete result ever looks complete.
# Environment: RESULTS_URL (s3://<bucket>/<problem>/<BUILD_TAG>), DVC_S3_ENDPOINT (the lab's
#   S3 service), AWS_SHARED_CREDENTIALS_FILE (Jenkins file credential s3-credentials).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_s3_credentials
[[ -n "${RESULTS_URL:-}" ]] || die "RESULTS_URL is not set (the Jenkinsfile derives it from PROBLEM and BUILD_NUMBER)"
[[ -s out/metrics.json ]] || die "out/metrics.json is missing: the Train stage did not finish"
store put out "$RESULTS_URL"
