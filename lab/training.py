"""`lab train PROJECT --param K=V ...`: start a project's parametrized job on the stack with
parameters and follow its log to the end.

The parameters a project takes are those its Jenkinsfile declares in ``parameters { }``
(string, choice, booleanParam, text, password), read here before Jenkins is asked, so an
unknown name or a value outside a choice fails at once with the list of what is allowed.
The job is the project's branch job ``<org>/<project>/main`` (made by the seed job).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.clients.jenkins import JenkinsClient, finished, job_path, strip_timestamps
from lab.errors import ConfigError, ServiceError, WaitTimeout

KINDS = ("string", "choice", "booleanParam", "text", "password")
_DECL = re.compile(r"\b(" + "|".join(KINDS) + r")\s*\(\s*name\s*:\s*'([^']+)'([^\n]*)\)")
_BLOCK = re.compile(r"^\s*parameters\s*\{(.*?)^\s*\}", re.S | re.M)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str
    choices: tuple[str, ...] = ()


def declared_parameters(jenkinsfile: Path) -> dict[str, ParamSpec]:
    """The ``parameters { }`` of a declarative Jenkinsfile: name -> spec (in order)."""
    try:
        text = jenkinsfile.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{jenkinsfile}: cannot read: {exc.strerror or exc}") from None
    block = _BLOCK.search(text)
    specs: dict[str, ParamSpec] = {}
    for kind, name, rest in _DECL.findall(block.group(1) if block else ""):
        choices: tuple[str, ...] = ()
        if kind == "choice":
            listed = re.search(r"choices\s*:\s*\[([^\]]*)\]", rest)
            choices = tuple(re.findall(r"'([^']*)'", listed.group(1))) if listed else ()
        specs[name] = ParamSpec(name, kind, choices)
    return specs


def parse_params(
    pairs: Sequence[str], specs: Mapping[str, ParamSpec], where: str
) -> dict[str, str]:
    """``K=V`` arguments checked against ``specs``; ConfigError naming the bad one."""
    if not specs:
        raise ConfigError(f"{where} declares no parameters: it is not a parametrized job")
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--param {pair!r}: expected NAME=VALUE")
        spec = specs.get(name)
        if spec is None:
            raise ConfigError(
                f"--param {name}: {where} has no parameter {name!r}; "
                f"it declares: {', '.join(specs)}"
            )
        if spec.choices and value not in spec.choices:
            raise ConfigError(f"--param {name}={value!r}: not one of {', '.join(spec.choices)}")
        if spec.kind == "booleanParam" and value not in ("true", "false"):
            raise ConfigError(f"--param {name}={value!r}: a booleanParam takes true or false")
        values[name] = value
    return values


def train_job(org: str, project: str, branch: str = "main") -> str:
    """The project's branch job (branch-api encodes the branch name)."""
    return job_path(org, project, branch)


def follow_log(
    jenkins: JenkinsClient,
    job: str,
    number: int,
    *,
    out: Callable[[str], None],
    timeout: float,
    interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Print the build's log as it grows, until Jenkins says it is complete."""
    deadline = clock() + timeout
    start = 0
    while True:
        text, start, more = jenkins.progressive_text(job, number, start)
        if text:
            out(strip_timestamps(text))
        if not more:
            return
        if clock() > deadline:
            raise WaitTimeout(
                f"{job} #{number} still running after {timeout:.0f}s; it goes on in Jenkins",
                hint=f"follow it in Jenkins ({jenkins.url}) or raise --timeout",
            )
        sleep(interval)


def run_training(
    jenkins: JenkinsClient,
    job: str,
    parameters: Mapping[str, str],
    *,
    out: Callable[[str], None],
    timeout: float,
    interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, str]:
    """Start ``job`` with ``parameters``, follow its log; return (build number, result)."""
    if not jenkins.job_exists(job):
        raise ServiceError(
            f"Jenkins has no job {job}",
            hint="`lab up` pushes the project and seeds its jobs; `lab status` lists them",
        )
    try:
        queue_id = jenkins.queue_with_parameters(job, parameters)
    except ServiceError as exc:
        raise ServiceError(
            exc.message,
            hint=f"a multibranch job learns its parameters when its Jenkinsfile first runs: "
            f"wait for the first build of {job} (the branch scan starts it)",
        ) from None
    number = jenkins_number(jenkins, job, queue_id, timeout=min(timeout, 600.0), interval=interval)
    out(f"lab train: {job} #{number} started\n")
    follow_log(jenkins, job, number, out=out, timeout=timeout, interval=interval, sleep=sleep)
    for _ in range(30):  # the log completes as the build ends; the result follows at once
        info = jenkins.build_info(job, number)
        if info and finished(info):
            return number, str(info.get("result"))
        sleep(interval)
    raise ServiceError(f"{job} #{number}: the log is complete but Jenkins reports no result")


def jenkins_number(
    jenkins: JenkinsClient, job: str, queue_id: int, *, timeout: float, interval: float
) -> int:
    """The build number of a queue item (it waits for an agent with the job's label)."""
    from lab.wait import poll

    return poll(
        lambda: jenkins.build_number_of(queue_id),
        what=f"{job} queue item {queue_id} to start (an agent for its label?)",
        timeout=timeout,
        interval=interval,
    )
