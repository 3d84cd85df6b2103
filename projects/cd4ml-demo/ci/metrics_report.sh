#!/usr/bin/env bash
# Stage "Metrics report" (pull requests): diff metrics and params against the PR
# target, then post them on the pull request as one comment (updated in place on
# later builds) and a commit status with context dvc/metrics.
# Environment: CHANGE_ID, CHANGE_TARGET, GITEA_URL, GIT_USER, GIT_TOKEN (GIT_PAT),
#   GIT_COMMIT (commit built; default HEAD), BUILD_URL, BUILD_NUMBER (optional).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

is_change_request || die "CHANGE_ID is not set: the metrics report is for pull-request builds"
: "${CHANGE_TARGET:?CHANGE_TARGET (the PR target branch) is not set}"
: "${GITEA_URL:?GITEA_URL (Gitea base URL) is not set}"

git_auth fetch --quiet --no-tags origin \
    "+refs/heads/${CHANGE_TARGET}:refs/remotes/origin/${CHANGE_TARGET}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
dvc metrics diff --md "origin/${CHANGE_TARGET}" >"$out/metrics.md"
dvc params diff --md "origin/${CHANGE_TARGET}" >"$out/params.md"
cat "$out/metrics.md"
python ci/gitea_report.py --metrics "$out/metrics.md" --params "$out/params.md"
