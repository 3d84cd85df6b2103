#!/usr/bin/env bash
# Chain job "train": the data preprocess wrote, a model of params.yaml's `chain`
# hyperparameters, stored at CHAIN_URL/model.
# Environment: CHAIN_URL, DVC_S3_ENDPOINT, AWS_SHARED_CREDENTIALS_FILE (s3-credentials).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_s3_credentials
[[ -n "${CHAIN_URL:-}" ]] || die "CHAIN_URL is not set (a parameter from the preprocess job)"
rm -rf out
store get "$CHAIN_URL/data" out/data
train_cli train --from-params --data out/data --out out/model
store put out/model "$CHAIN_URL/model"
