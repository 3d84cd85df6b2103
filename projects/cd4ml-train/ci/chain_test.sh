#!/usr/bin/env bash
# Chain job "test": evaluate the chain's model on its held-out data and enforce
# params.yaml's gate (accuracy >= 0.8): below it the step fails, printing the metric and
# the threshold, and the chain is red.
# Environment: CHAIN_URL, DVC_S3_ENDPOINT, AWS_SHARED_CREDENTIALS_FILE (s3-credentials).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_s3_credentials
[[ -n "${CHAIN_URL:-}" ]] || die "CHAIN_URL is not set (a parameter from the train job)"
rm -rf out
store get "$CHAIN_URL/data" out/data
store get "$CHAIN_URL/model" out/model
train_cli evaluate --data out/data --model out/model --out out/metrics.json
train_cli gate --metrics out/metrics.json
