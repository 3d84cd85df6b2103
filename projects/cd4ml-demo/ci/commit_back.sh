#!/usr/bin/env bash
# Stage "Commit back" (pull requests): commit dvc.lock and the metrics files that
# "Reproduce" changed to the PR branch, as the lab bot.
# Environment: CHANGE_ID, CHANGE_BRANCH, CHANGE_FORK (set for fork PRs),
#   GIT_USER, GIT_TOKEN (Jenkins credential GIT_PAT), LAB_BOT_USER, LAB_BOT_EMAIL,
#   GIT_COMMIT (the commit the build started from; default HEAD).
# Rules:
#   - only dvc.lock and metrics.json are staged, never anything else;
#   - nothing to commit when dvc.lock is unchanged;
#   - skipped when the built commit is the bot's own (no commit-back loop) and for
#     fork PRs (their branch is not ours to push to);
#   - no force-push: if the branch moved during the build (its head is no longer the
#     commit built), fail and say so; the build of the new head commits back instead.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

COMMIT_PATHS=(dvc.lock metrics.json)

is_change_request || die "CHANGE_ID is not set: commit-back is for pull-request builds"
: "${CHANGE_BRANCH:?CHANGE_BRANCH (the PR source branch) is not set}"
: "${LAB_BOT_USER:?LAB_BOT_USER (commit author name) is not set}"
: "${LAB_BOT_EMAIL:?LAB_BOT_EMAIL (commit author email) is not set}"
built="${GIT_COMMIT:-$(git rev-parse HEAD)}"

if [[ -n "${CHANGE_FORK:-}" ]]; then
    log "fork PR (from ${CHANGE_FORK}): no commit-back"
    exit 0
fi
if [[ "$(git log -1 --format=%ae "$built")" == "$LAB_BOT_EMAIL" ]]; then
    log "commit ${built:0:12} is a commit-back by ${LAB_BOT_EMAIL}: nothing to commit (no loop)"
    exit 0
fi
if git diff --quiet "$built" -- dvc.lock; then
    log "dvc.lock unchanged: nothing to commit"
    exit 0
fi

git_auth fetch --quiet --no-tags origin \
    "+refs/heads/${CHANGE_BRANCH}:refs/remotes/origin/${CHANGE_BRANCH}"
remote_head="$(git rev-parse "refs/remotes/origin/${CHANGE_BRANCH}")"
if [[ "$remote_head" != "$built" ]]; then
    die "branch ${CHANGE_BRANCH} moved during the build (built ${built:0:12}, now ${remote_head:0:12}): not force-pushing; the build of ${remote_head:0:12} will commit back"
fi

git checkout --quiet -B "$CHANGE_BRANCH" "$built"
git add -- "${COMMIT_PATHS[@]}"
git -c user.name="$LAB_BOT_USER" -c user.email="$LAB_BOT_EMAIL" commit --quiet \
    -m "Update dvc.lock and metrics from dvc repro (PR #${CHANGE_ID})" \
    -m "Committed by the pipeline after reproducing ${built:0:12}."
log "committed $(git rev-parse --short=12 HEAD): $(git diff --name-only HEAD~1 HEAD | tr '\n' ' ')"
if ! git_auth push --quiet origin "HEAD:refs/heads/${CHANGE_BRANCH}"; then
    die "push to ${CHANGE_BRANCH} rejected (branch moved or no write access); not force-pushing"
fi
log "pushed to ${CHANGE_BRANCH}; the build of that commit will find nothing to commit"
