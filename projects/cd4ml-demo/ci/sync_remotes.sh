#!/usr/bin/env bash
# Stage "Sync remotes": fill the workspace with the data of the checked-out commit,
# from the agents' shared cache first, from the team remote only for what it lacks.
#   warm jenkins_local: everything comes from it, origin is not contacted;
#   cold or partial:    missing objects come from origin and are copied back into
#                       jenkins_local for the next build.
# Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, DVC_S3_ENDPOINT,
#   DVC_LOCAL_CACHE_DIR (see ci/lib.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_aws_env
dvc_configure_remotes
mkdir -p "$(jenkins_local_dir)"

misses="$(mktemp)"
trap 'rm -f "$misses"' EXIT
if dvc pull -r jenkins_local >"$misses" 2>&1; then
    cat "$misses"
    log "jenkins_local holds every object: origin not contacted"
else
    log "jenkins_local misses objects (cold or partial cache): fetching the rest from origin"
    dvc pull -r origin || die "dvc pull from remote 'origin' failed (see above)"
    dvc push -r jenkins_local || die "dvc push to remote 'jenkins_local' ($(jenkins_local_dir)) failed"
    log "copied to jenkins_local for the next build"
fi
