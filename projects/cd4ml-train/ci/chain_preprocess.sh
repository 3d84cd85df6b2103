#!/usr/bin/env bash
# Chain job "preprocess": the split data of params.yaml's `chain` problem, a DVC stage
# (dvc.yaml `prepare`), to CHAIN_URL/data, where the train and test jobs read it (not
# through a workspace). The stage's outputs come from the agents' shared cache
# (jenkins_local, /extras) first, from origin only for what it lacks (then copied to
# jenkins_local); `dvc repro` then skips the stage when code, parameters and data are
# unchanged, and runs it (pushing its outputs to both remotes) otherwise.
# Environment: CHAIN_URL (s3://<bucket>/cd4ml-train/chain/<chain id>), DVC_S3_ENDPOINT,
#   DVC_LOCAL_CACHE_DIR, AWS_SHARED_CREDENTIALS_FILE (Jenkins file credential s3-credentials).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_s3_credentials
[[ -n "${CHAIN_URL:-}" ]] || die "CHAIN_URL is not set"
dvc_configure_remotes
if dvc pull -r jenkins_local prepare; then
    log "jenkins_local holds the prepared data: origin not contacted"
elif dvc pull -r origin prepare; then
    dvc push -r jenkins_local prepare || die "dvc push to jenkins_local failed"
    log "fetched from origin, copied to jenkins_local for the next chain"
else
    log "neither remote holds this commit's prepared data: the stage will make it"
fi
dvc repro prepare
if ! git diff --quiet -- dvc.lock; then  # the stage ran: keep both remotes current
    dvc push -r jenkins_local prepare || die "dvc push to jenkins_local failed"
    dvc push -r origin prepare || die "dvc push to origin failed"
fi
store put data/prepared "$CHAIN_URL/data"
