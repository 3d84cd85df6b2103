"""What a forge webhook plus Jenkins' branch source would start, for drivers that run
builds themselves: a push builds the branch, or the open PR on it (the seed job's
branch discovery strategy 1: a branch filed as a PR builds as PR-N only), opening a PR
builds it, and a build that pushed to its own branch (commit-back) starts the next one.

Jenkins builds only the newest commit of a head: a schedule while the job's build is
still queued folds into that item (core Queue, one item per job without parameters),
and the build takes the head's tip when it starts (workflow-multibranch SCMBinder
``scmSource.fetch(head)``). So here a commit superseded before its build ran is never
built, and waiting for it fails at once, naming the commit that superseded it.
Opening a PR drops the head's branch build nobody waited for (the stack driver
cancels it: the branch is a PR from then on).

Builds run when a scenario waits for them, in the order they were triggered; builds
nobody waits for are never run (the local driver models CI, it does not replace it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lab.errors import CheckFailed
from lab.scenarios.driver import Build, Target

RunBuild = Callable[[Target, str, int], Build]


@dataclass
class BuildQueue:
    # Which branch each open PR builds (the PR head).
    open_prs: dict[int, str] = field(default_factory=dict)
    pending: list[tuple[Target, str]] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    history: list[Build] = field(default_factory=list)
    # (target, commit) never built -> the newer commit that took its place
    superseded: dict[tuple[Target, str], str] = field(default_factory=dict)

    def _queue(self, target: Target, commit: str) -> None:
        for entry in [e for e in self.pending if e[0] == target and e[1] != commit]:
            self.pending.remove(entry)
            self.superseded[entry] = commit
        if (target, commit) not in self.pending:
            self.pending.append((target, commit))

    def pushed(self, branch: str, commit: str) -> None:
        prs = [number for number, head in self.open_prs.items() if head == branch]
        for number in prs:
            self._queue(Target(branch, number), commit)
        if not prs:
            self._queue(Target(branch), commit)

    def pr_opened(self, number: int, head: str, commit: str) -> None:
        self.open_prs[number] = head
        self.pending = [(t, c) for t, c in self.pending if t != Target(head)]
        self._queue(Target(head, number), commit)

    def pr_closed(self, number: int) -> None:
        self.open_prs.pop(number, None)
        self.pending = [(t, c) for t, c in self.pending if t.pr != number]

    def wait(
        self,
        target: Target,
        commit: str,
        run: RunBuild,
        head_after: Callable[[str], str | None],
    ) -> Build:
        """Run ``target``'s queued build, the one of ``commit``; return it."""
        newer = self.superseded.get((target, commit))
        if newer is not None and (target, commit) not in self.pending:
            raise CheckFailed(
                f"no build of {commit[:10]} will run for {target}: {newer[:10]} superseded it "
                "before its build started (Jenkins builds only the newest commit of a head)"
            )
        if (target, commit) not in self.pending:
            queued = [f"{t.job}@{c[:10]}" for t, c in self.pending] or ["nothing"]
            raise CheckFailed(
                f"no build of {commit[:10]} was triggered for {target} "
                f"(queued: {', '.join(queued)})"
            )
        while True:
            entry = next(e for e in self.pending if e[0] == target)
            self.pending.remove(entry)
            number = self.numbers.get(target.job, 0) + 1
            self.numbers[target.job] = number
            build = run(entry[0], entry[1], number)
            self.history.append(build)
            head = head_after(target.branch)
            if head is not None and head != build.commit:
                self.pushed(target.branch, head)  # the pipeline pushed: the webhook fires
            if entry[1] == commit:
                return build
