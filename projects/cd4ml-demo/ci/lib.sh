# shellcheck shell=bash
# Helpers sourced by the ci/ step scripts (not a step itself).
#
# Environment read here:
#   DVC_S3_ENDPOINT      S3 endpoint of remote `origin` (Jenkins: http://minio:9000);
#                        written with `dvc remote modify --local`, never committed
#   DVC_LOCAL_CACHE_DIR  directory of remote `jenkins_local` (default from .dvc/config,
#                        /extras/dvc-cache/cd4ml-demo)
#   GIT_USER, GIT_TOKEN  Gitea account and token (Jenkins credential GIT_PAT), used
#                        through a credential helper that reads them from the environment

log() { printf '[ci] %s\n' "$*"; }
die() {
    printf '[ci] ERROR: %s\n' "$*" >&2
    exit 1
}

# Run from the workspace root whatever the caller's directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# Point the remotes at this environment (idempotent; writes .dvc/config.local only).
dvc_configure_remotes() {
    local local_cfg=.dvc/config.local
    if [[ -n "${DVC_S3_ENDPOINT:-}" ]] &&
        ! grep -qxF "    endpointurl = ${DVC_S3_ENDPOINT}" "$local_cfg" 2>/dev/null; then
        dvc remote modify --local origin endpointurl "$DVC_S3_ENDPOINT"
    fi
    if [[ -n "${DVC_LOCAL_CACHE_DIR:-}" ]] &&
        ! grep -qxF "    url = ${DVC_LOCAL_CACHE_DIR}" "$local_cfg" 2>/dev/null; then
        dvc remote modify --local jenkins_local url "$DVC_LOCAL_CACHE_DIR"
    fi
}

# Directory of remote jenkins_local as this workspace sees it.
jenkins_local_dir() {
    if [[ -n "${DVC_LOCAL_CACHE_DIR:-}" ]]; then
        printf '%s\n' "$DVC_LOCAL_CACHE_DIR"
    else
        dvc config remote.jenkins_local.url
    fi
}

require_aws_env() {
    [[ -n "${AWS_ACCESS_KEY_ID:-}" && -n "${AWS_SECRET_ACCESS_KEY:-}" ]] ||
        die "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set: bind the Jenkins credential DVC_Remote_Creds (usernamePassword) around this step"
}

# git with the Gitea token supplied by a credential helper that echoes GIT_USER and
# GIT_TOKEN from the environment when git asks. The token is never in a URL, in
# .git/config or on a command line; `credential.helper=` first drops other helpers.
git_auth() {
    [[ -n "${GIT_USER:-}" && -n "${GIT_TOKEN:-}" ]] ||
        die "GIT_USER/GIT_TOKEN are not set: bind the Jenkins credential GIT_PAT (usernamePassword) around this step"
    export GIT_USER GIT_TOKEN
    # shellcheck disable=SC2016  # expanded by the helper's shell, at request time
    GIT_TERMINAL_PROMPT=0 git -c credential.helper= \
        -c 'credential.helper=!f() { test "$1" = get || exit 0; echo "username=${GIT_USER}"; echo "password=${GIT_TOKEN}"; }; f' \
        "$@"
}

is_change_request() { [[ -n "${CHANGE_ID:-}" ]]; }
