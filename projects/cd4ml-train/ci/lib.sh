# shellcheck shell=bash
# Helpers sourced by the ci/ step scripts (not a step itself).
#
# Environment read here:
#   PYTHON   interpreter for the steps (default: .venv/bin/python once ci/provision.sh
#            made it, else python)

log() { printf '[ci] %s\n' "$*"; }
die() {
    printf '[ci] ERROR: %s\n' "$*" >&2
    exit 1
}

# Run from the workspace root whatever the caller's directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

py() {
    local python="${PYTHON:-}"
    if [[ -z "$python" ]]; then
        if [[ -x .venv/bin/python ]]; then python=.venv/bin/python; else python=python; fi
    fi
    "$python" "$@"
}

# The project's own steps (src/cd4ml_train/cli.py).
train_cli() { py -m cd4ml_train.cli "$@"; }

# The private package's results store (installed by ci/provision.sh).
store() {
    py -c 'import trainkit' 2>/dev/null ||
        die "cd4ml-trainkit is not installed: run the Provision stage (ci/provision.sh) first"
    py -m trainkit.store "$@"
}

# The S3 credentials file (Jenkins file credential s3-credentials) must be bound.
require_s3_credentials() {
    [[ -n "${AWS_SHARED_CREDENTIALS_FILE:-}" && -s "${AWS_SHARED_CREDENTIALS_FILE}" ]] ||
        die "AWS_SHARED_CREDENTIALS_FILE is not set or empty: bind the Jenkins file credential s3-credentials around this step"
    [[ -z "${AWS_ACCESS_KEY_ID:-}" ]] ||
        die "AWS_ACCESS_KEY_ID is set: it would override the s3-credentials file; unset it"
}

# DVC remotes of this workspace: origin's endpoint (DVC_S3_ENDPOINT) and jenkins_local,
# the agents' shared cache (DVC_LOCAL_CACHE_DIR), in .dvc/config.local (never committed).
dvc_configure_remotes() {
    if [[ -n "${DVC_S3_ENDPOINT:-}" ]]; then
        dvc remote modify --local origin endpointurl "$DVC_S3_ENDPOINT"
    fi
    if [[ -n "${DVC_LOCAL_CACHE_DIR:-}" ]]; then
        dvc remote modify --local jenkins_local url "$DVC_LOCAL_CACHE_DIR"
    fi
}
