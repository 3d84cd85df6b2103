#!/usr/bin/env bash
# Chain job "preprocess": the split data of params.yaml's `chain` problem to
# CHAIN_URL/data, where the train and test jobs read it (not through a workspace).
# Environment: CHAIN_URL (s3://<bucket>/cd4ml-train/chain/<chain id>), DVC_S3_ENDPOINT,
#   AWS_SHARED_CREDENTIALS_FILE (Jenkins file credential s3-credentials).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_s3_credentials
[[ -n "${CHAIN_URL:-}" ]] || die "CHAIN_URL is not set"
rm -rf out
train_cli prepare --from-params --out out/data
store put out/data "$CHAIN_URL/data"
