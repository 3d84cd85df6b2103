#!/bin/bash
# Entrypoint of the cd4ml-lab Jenkins image, run before /usr/local/bin/jenkins.sh.
#
# 1. Refuse to start when a variable JCasC needs is empty: JCasC would otherwise
#    silently turn it into "" (an admin without password, a credential without token).
# 2. Hand the secrets to JCasC as files in $SECRETS (JCasC's Docker-secrets source reads
#    $SECRETS/<NAME> for ${NAME}) and drop them from the environment, so builds on the
#    controller do not inherit them (a stray `env` in a pipeline would print them).
#    Pipelines get credentials only through withCredentials / credentials().
set -euo pipefail

required=(JENKINS_ADMIN_USER JENKINS_ADMIN_PASSWORD GITEA_BOT_USER GITEA_BOT_TOKEN DVC_ACCESS_KEY DVC_SECRET_KEY)
secret=(JENKINS_ADMIN_PASSWORD GITEA_BOT_TOKEN DVC_ACCESS_KEY DVC_SECRET_KEY)

missing=()
for name in "${required[@]}"; do
    if [ -z "${!name:-}" ]; then
        missing+=("$name")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "check-env: refusing to start Jenkins: empty or unset: ${missing[*]}" >&2
    echo "check-env: these come from .lab/secrets.env through the jenkins service of" \
        "compose/docker-compose.yml; run \`lab up\` (it creates GITEA_BOT_TOKEN before" \
        "starting Jenkins)." >&2
    exit 78
fi

secrets_dir="${SECRETS:?SECRETS (directory for JCasC secret files) is not set}"
umask 077
for name in "${secret[@]}"; do
    printf '%s' "${!name}" >"$secrets_dir/$name"
    unset "$name"
done

# JENKINS_ENTRYPOINT exists for the offline test of this script.
exec "${JENKINS_ENTRYPOINT:-/usr/local/bin/jenkins.sh}" "$@"
