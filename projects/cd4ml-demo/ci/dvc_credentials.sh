#!/usr/bin/env bash
# Stage "DVC credentials": point the remotes at this environment and prove the
# credentials work before any data moves.
# Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (Jenkins: DVC_Remote_Creds),
#   DVC_S3_ENDPOINT, DVC_LOCAL_CACHE_DIR (see ci/lib.sh).
# Credentials reach DVC only as environment variables; this step fails if any DVC
# config file holds one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

require_aws_env
for cfg in .dvc/config .dvc/config.local; do
    if [[ -f "$cfg" ]] && grep -Eq '^\s*(access_key_id|secret_access_key|session_token)\s*=' "$cfg"; then
        die "$cfg holds S3 credentials: remove them; the pipeline passes DVC_Remote_Creds as AWS_* environment variables"
    fi
done
dvc_configure_remotes
mkdir -p "$(jenkins_local_dir)"
python ci/check_remote.py origin
