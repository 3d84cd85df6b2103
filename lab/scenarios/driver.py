"""The one interface scenarios use to reach a forge, a CI server and a DVC remote.

A driver knows how to push (it hands out a git remote), open/merge/close pull requests,
wait for the build a change triggers, and read what a build left behind (comments,
commit statuses, DVC remote objects). Git inspection itself happens in the runner's
clone, the same for every driver.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lab.errors import LabError

Progress = Callable[[str], None]


class DriverUnavailable(Exception):
    """The driver cannot run here; the message says why and what would fix it (a skip)."""


@dataclass(frozen=True)
class GitRemote:
    """Where the runner clones from and pushes to; the token never goes into the URL."""

    url: str
    username: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass(frozen=True)
class Target:
    """What a build is for: a branch, or a pull request (whose head is ``branch``)."""

    branch: str
    pr: int | None = None

    @property
    def job(self) -> str:
        """The multibranch job name Jenkins gives it (``PR-7`` or the branch name)."""
        return f"PR-{self.pr}" if self.pr is not None else self.branch

    def __str__(self) -> str:
        return f"PR-{self.pr} ({self.branch})" if self.pr is not None else f"branch {self.branch}"


@dataclass(frozen=True)
class Build:
    job: str
    number: int
    result: str  # SUCCESS, FAILURE, UNSTABLE, ABORTED, NOT_BUILT
    commit: str
    log: str
    url: str = ""
    duration: float = 0.0
    tag: str = ""  # BUILD_TAG (jenkins-<job name with '-' for '/'>-<number>)


@dataclass(frozen=True)
class Status:
    context: str
    state: str  # pending, success, error, failure, warning
    description: str = ""


@dataclass(frozen=True)
class PullRequest:
    number: int
    head: str
    base: str
    title: str


class Driver(abc.ABC):
    """Base of the local and stack drivers. One instance may serve many scenario runs."""

    name: str = "?"
    # Which built-in driver this one stands for in a scenario's `drivers:` list.
    kind: str = "?"

    @abc.abstractmethod
    def sanity_check(self) -> None:
        """Raise :class:`DriverUnavailable` with the reason when this driver cannot run."""

    @abc.abstractmethod
    def start(self, project: str, uid: str, progress: Progress) -> None:
        """Prepare a run of one scenario on ``project`` (``uid`` is unique to the run)."""

    @abc.abstractmethod
    def remote(self) -> GitRemote:
        """The project's git remote (for clone, fetch and push)."""

    @abc.abstractmethod
    def bot(self) -> Identity:
        """Who the pipeline commits and comments as."""

    def use_credentials(self, credential_id: str, state: str) -> None:
        """Give later builds the real value of a credential (``valid``), a wrong one
        (``invalid``) or none at all (``missing``)."""
        raise LabError(f"driver {self.name} cannot change credential {credential_id}")

    @abc.abstractmethod
    def pushed(self, branch: str, commit: str) -> None:
        """The runner pushed ``commit`` to ``branch`` (the forge's push webhook)."""

    @abc.abstractmethod
    def open_pr(self, head: str, base: str, title: str, body: str) -> int:
        """Open a pull request and return its number.

        From then on ``head`` builds as ``PR-N`` only: a build of it as a branch that
        nobody waited for is dropped (the stack driver cancels or stops it).
        """

    @abc.abstractmethod
    def merge_pr(self, number: int, style: str) -> None: ...

    @abc.abstractmethod
    def wait_build(self, target: Target, commit: str, timeout: float, progress: Progress) -> Build:
        """The finished build of ``commit`` for ``target`` that the last change triggered.

        Only the newest commit of a head is built (as Jenkins does): a commit superseded
        before its build started has none. Raise :class:`lab.errors.WaitTimeout` when
        none comes in time, or :class:`lab.errors.CheckFailed` when none was triggered
        (or it was superseded).
        """

    def start_build(self, job: str, params: Mapping[str, str], progress: Progress) -> str:
        """Start a build of the project's branch job ``job`` with ``params`` (Jenkins'
        buildWithParameters); :meth:`wait_started` waits for it. Returns what started."""
        raise LabError(f"driver {self.name} cannot start builds")

    def wait_started(self, timeout: float, progress: Progress) -> Build:
        """The finished build the last :meth:`start_build` started."""
        raise LabError(f"driver {self.name} cannot start builds")

    def wait_chain(self, commit: str, timeout: float, progress: Progress) -> list[Build]:
        """The chain a push of ``commit`` to main started (``<org>/<project>-chain``:
        preprocess, then the jobs it triggers), each finished build in the order it started."""
        raise LabError(f"driver {self.name} runs no chained jobs")

    def refuse_index(self, count: int) -> None:
        """Make the private package index refuse its next ``count`` requests."""
        raise LabError(f"driver {self.name} cannot make the private index refuse requests")

    @property
    def bucket(self) -> str:
        """The lab's bucket (DVC remote, training results)."""
        raise LabError(f"driver {self.name} names no bucket")

    def artifact(self, build: Build, path: str) -> bytes | None:
        """The content of an artifact ``build`` archived, None when it has none at ``path``."""
        raise LabError(f"driver {self.name} cannot read archived artifacts")

    @abc.abstractmethod
    def pr_comments(self, number: int) -> list[str]: ...

    @abc.abstractmethod
    def commit_statuses(self, commit: str) -> list[Status]:
        """Statuses on a commit, oldest first."""

    @abc.abstractmethod
    def remote_objects(self, remote: str, url: str) -> set[str]:
        """Keys under a DVC remote (``origin`` or ``jenkins_local``), relative to ``url``."""

    @abc.abstractmethod
    def finish(self, keep: bool, progress: Progress) -> None:
        """Clean up what the run created (branches, PRs, temp dirs) unless ``keep``."""

    def close(self) -> None:  # noqa: B027 - a no-op unless the driver holds something
        """Release what the driver holds across runs (servers, sessions)."""
