#!/usr/bin/env bash
# Stage "Train": prepare the data, train and evaluate into out/ (a fresh local directory;
# nothing reaches S3 here, so a training stopped by its timeout leaves no result).
# Environment: PROBLEM, N_ESTIMATORS, MAX_DEPTH, TEST_SIZE (build parameters).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

rm -rf out
train_cli prepare --out out/data
train_cli train --data out/data --out out/model
train_cli evaluate --data out/data --model out/model --out out/metrics.json
