"""Start one lab service alone with testcontainers, configured as compose configures it.

testcontainers-python tag testcontainers-v4.15.0 (the pinned 4.15.0), read in
src/testcontainers/core/container.py: ``DockerContainer(image)`` with ``with_env``,
``with_exposed_ports``, ``with_command``, ``waiting_for(strategy)`` (l.239; the strategy
runs in ``start()``, and a ``TimeoutError`` gets the container log as a note),
``get_container_host_ip()`` (l.314: the Docker host, or the gateway/bridge address when
the tests themselves run in a container) and ``get_exposed_port(port)`` (l.328: the
host port mapped to ``port``), ``get_logs()`` -> (stdout, stderr) bytes (l.373),
``get_wrapped_container()`` (the docker SDK container). Wait strategies:
src/testcontainers/core/wait_strategies.py ``HttpWaitStrategy(port, path)`` (l.155;
GET until an accepted status, default 200) and ``LogMessageWaitStrategy(regex)``
(l.56; raises RuntimeError when the container exits first), both with
``with_startup_timeout(seconds)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import WaitStrategy

from lab.config import LabConfig, Ports
from tests.containers.stack_spec import REPO_ROOT, ServiceSpec


@contextmanager
def started(
    spec: ServiceSpec,
    env: Mapping[str, str],
    *,
    port: int,
    wait: WaitStrategy | None,
    image: str | None = None,
) -> Iterator[DockerContainer]:
    """``spec``'s image, command and ``env``, with ``port`` published; removed afterwards.

    The environment goes through the Docker API (container config), never an argv.
    """
    container = DockerContainer(image or spec.image).with_exposed_ports(port)
    for key, value in env.items():
        container.with_env(key, value)
    if spec.command:
        container.with_command(spec.command)
    if wait is not None:
        container.waiting_for(wait)
    with container:
        yield container


def host_url(container: DockerContainer, port: int) -> str:
    return f"http://{container.get_container_host_ip()}:{container.get_exposed_port(port)}"


def lab_config(container: DockerContainer, *, s3: str = "minio", **ports: int) -> LabConfig:
    """The lab's config with its host URLs pointing at ``container``'s mapped ports.

    ``ports`` maps a :class:`lab.config.Ports` field (``gitea``, ``minio``, ``jenkins``)
    to the container port; the others keep their defaults (unused). ``s3`` is the S3
    service the config says runs (``LAB_S3``).
    """
    mapped = {name: int(container.get_exposed_port(port)) for name, port in ports.items()}
    return LabConfig(
        root=REPO_ROOT,
        _bind=container.get_container_host_ip(),
        _ports=dataclasses.replace(Ports(), **mapped),
        _s3=s3,
    )


def quiet(_line: str) -> None:
    """A ``progress`` for the lab's convergence functions that prints nothing."""


def logs(container: DockerContainer) -> str:
    out, err = container.get_logs()
    return out.decode(errors="replace") + err.decode(errors="replace")
