#!/usr/bin/env bash
# Stage "Push outputs" (pull requests): store what "Reproduce" produced in both remotes.
# Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, DVC_S3_ENDPOINT,
#   DVC_LOCAL_CACHE_DIR (see ci/lib.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_aws_env
dvc_configure_remotes
dvc push -r origin || die "dvc push to remote 'origin' failed (see above)"
dvc push -r jenkins_local || die "dvc push to remote 'jenkins_local' ($(jenkins_local_dir)) failed"
