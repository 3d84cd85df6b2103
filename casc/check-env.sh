#!/bin/bash
# Entrypoint of the cd4ml-lab Jenkins image, run before /usr/local/bin/jenkins.sh.
#
# 1. Refuse to start when a variable JCasC needs is empty: JCasC would otherwise
#    silently turn it into "" (an admin without password, a credential without token).
# 2. Hand the secrets to JCasC as files in $SECRETS (JCasC's Docker-secrets source reads
#    $SECRETS/<NAME> for ${NAME}) and drop them from the environment, so a stray `env`
#    in a pipeline does not print them. Hygiene, not isolation: builds run on the
#    controller as the same user and can read $SECRETS and jenkins_home
#    (compose/README.md, "Jenkinsfiles are trusted code").
#    Two secrets are files for pipelines, built here and read by JCasC's
#    ${readFileBase64:...} into `file` credentials: pip.conf (credential pip-conf: the
#    private index URL with PYPI_USER/PYPI_PASSWORD) and s3-credentials (credential
#    s3-credentials: an AWS shared-credentials file of the DVC user).
# 3. Drop plugins the image no longer ships (see below).
set -euo pipefail

required=(JENKINS_ADMIN_USER JENKINS_ADMIN_PASSWORD GITEA_BOT_USER GITEA_BOT_TOKEN DVC_ACCESS_KEY DVC_SECRET_KEY PYPI_USER PYPI_PASSWORD)
secret=(JENKINS_ADMIN_PASSWORD GITEA_BOT_TOKEN DVC_ACCESS_KEY DVC_SECRET_KEY PYPI_PASSWORD)

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
# In-network URL of the private index (compose service `pypi`); pip never prints the
# password of an index URL. The credentials live only in this 0600 file and in Jenkins'
# encrypted credential store.
printf '[global]\nindex-url = http://%s:%s@pypi:8080/simple/\ndisable-pip-version-check = true\ntimeout = 20\n' \
    "$PYPI_USER" "$PYPI_PASSWORD" >"$secrets_dir/pip.conf"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$DVC_ACCESS_KEY" "$DVC_SECRET_KEY" >"$secrets_dir/s3-credentials"
for name in "${secret[@]}"; do
    printf '%s' "${!name}" >"$secrets_dir/$name"
    unset "$name"
done

# 3. The image's plugin set wins on an existing jenkins_home. jenkins.sh (next) copies
#    every $REF/plugins/<id>.jpi.override over $JENKINS_HOME/plugins/<id>.jpi whatever the
#    installed version, a downgrade included (casc/Dockerfile names them so; jenkinsci/docker
#    tag 2.568.2, jenkins-support copy_reference_file). A plugin the image no longer has
#    would stay loaded: remove it here, with its exploded directory and markers.
ref_plugins="${REF:-/usr/share/jenkins/ref}/plugins"
home_plugins="${JENKINS_HOME:-/var/jenkins_home}/plugins"
shopt -s nullglob
image_plugins=("$ref_plugins"/*.jpi.override)
if [ "${#image_plugins[@]}" -gt 0 ] && [ -d "$home_plugins" ]; then
    for archive in "$home_plugins"/*.jpi "$home_plugins"/*.hpi; do
        name="$(basename "$archive")"
        id="${name%.*}"
        if [ ! -e "$ref_plugins/$id.jpi.override" ]; then
            echo "check-env: removing plugin $id from $home_plugins (not in the image's plugins.txt)" >&2
            rm -rf -- "$archive" "${home_plugins:?}/${id:?}" "$archive.pinned" "$archive.disabled" \
                "$home_plugins/$id.jpi.version_from_image"
        fi
    done
fi
shopt -u nullglob

# JENKINS_ENTRYPOINT exists for the offline test of this script.
exec "${JENKINS_ENTRYPOINT:-/usr/local/bin/jenkins.sh}" "$@"
