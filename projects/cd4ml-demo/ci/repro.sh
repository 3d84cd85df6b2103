#!/usr/bin/env bash
# Stage "Reproduce" (pull requests): run the stages whose inputs changed.
# Environment: none beyond PATH; data is in the workspace after "Sync remotes".
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dvc repro
if git diff --quiet -- dvc.lock; then
    log "dvc.lock unchanged: the pipeline was already up to date"
else
    log "dvc.lock changed: $(git diff --stat -- dvc.lock | tail -1)"
fi
