#!/usr/bin/env bash
# Seed a fresh DVC cache with everything main's dvc.lock references, deterministically:
# the raw data from scikit-learn's bundled dataset, then the pipeline outputs.
# Fails if the result differs from the committed .dvc/dvc.lock hashes.
# `dvc push -r origin` afterwards stores it all in a new remote.
# Environment: none beyond PATH.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

python src/make_raw_data.py data/raw/breast_cancer.csv
dvc commit --force --quiet data/raw/breast_cancer.csv.dvc
dvc repro --quiet
if ! git diff --quiet -- data/raw/breast_cancer.csv.dvc dvc.lock metrics.json; then
    git diff --stat -- data/raw/breast_cancer.csv.dvc dvc.lock metrics.json >&2
    die "seeded data differs from the committed hashes (scikit-learn version not the pinned one?)"
fi
log "seeded: raw data and pipeline outputs match the committed dvc.lock"
