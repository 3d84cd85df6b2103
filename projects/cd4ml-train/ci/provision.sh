#!/usr/bin/env bash
# Stage "Provision": a virtualenv over the agent image's packages, plus the project's own
# private package cd4ml-trainkit from the lab's private index (pypiserver). The Jenkinsfile
# wraps this step in retry(): an index that is still starting or a dropped connection
# costs one attempt, not the build.
# Environment: PIP_CONFIG_FILE (Jenkins file credential pip-conf: index-url with the
#   index's user and password); TRAINKIT_VERSION (default 0.1.0).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

version="${TRAINKIT_VERSION:-0.1.0}"
[[ -n "${PIP_CONFIG_FILE:-}" ]] ||
    die "PIP_CONFIG_FILE is not set: bind the Jenkins file credential pip-conf around this step"
[[ -s "$PIP_CONFIG_FILE" ]] ||
    die "pip-conf ($PIP_CONFIG_FILE) is missing or empty"
grep -Eq '^[[:space:]]*index-url[[:space:]]*=' "$PIP_CONFIG_FILE" ||
    die "pip-conf ($PIP_CONFIG_FILE) names no index-url: it must be a pip.conf for the lab's private index"

[[ -x .venv/bin/python ]] || python -m venv --system-site-packages .venv
# pip reads PIP_CONFIG_FILE itself; it never prints the password of an index URL.
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "cd4ml-trainkit==${version}"; then
    die "cannot install cd4ml-trainkit==${version} from the private index of pip-conf: check the credential and that \`lab up\` published the package"
fi
.venv/bin/python -c 'import trainkit; print("[ci] provisioned cd4ml-trainkit", trainkit.__version__)'
