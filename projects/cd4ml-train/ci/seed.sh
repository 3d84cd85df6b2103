#!/usr/bin/env bash
# Seeding (lab up, the local driver): make the chain's DVC outputs of main, byte-identical
# to the committed dvc.lock, so `dvc push -r origin` can put them in the team's remote.
# Environment: none read here (lab.dvcseed pushes with the DVC user's credentials).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dvc repro --quiet
if ! git diff --quiet -- dvc.lock; then
    git diff --stat -- dvc.lock >&2
    die "seeded data differs from the committed dvc.lock (scikit-learn version not the pinned one?)"
fi
log "seeded: the prepare stage's outputs match the committed dvc.lock"
