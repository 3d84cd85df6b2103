"""The environment of a build on the local driver, as the lab's Jenkins gives it.

What a multibranch build sees (``BRANCH_NAME``, ``CHANGE_*`` from the Gitea plugin,
``BUILD_*``, ``JOB_NAME``), the global variables of ``casc/jenkins.yaml`` resolved like
JCasC does, the node's environment (what docker-workflow strips from agent steps), and
:func:`base_env`: this process's environment without what must not leak into a build.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from lab import jenkinsenv
from lab.config import PACKAGE_ROOT
from lab.errors import ConfigError

# Never inherited from this process: they would redirect git or carry the user's own
# cloud credentials into a build (Jenkins agents have neither).
_DROPPED_PREFIXES = ("AWS_", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")
_DROPPED = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_PARAMETERS",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
        "WORKSPACE",
        "BRANCH_NAME",
        "CHANGE_ID",
        "CHANGE_TARGET",
        "CHANGE_BRANCH",
        "CHANGE_URL",
        "CHANGE_FORK",
    }
)


def _basics(branch_name: str, build_number: int) -> dict[str, str]:
    job = f"local/{quote(branch_name, safe='')}"
    return {
        "BRANCH_NAME": branch_name,
        "BUILD_NUMBER": str(build_number),
        "BUILD_ID": str(build_number),
        "BUILD_DISPLAY_NAME": f"#{build_number}",
        "JOB_NAME": job,
        "JOB_BASE_NAME": quote(branch_name, safe=""),
        "BUILD_TAG": f"jenkins-{job.replace('/', '-')}-{build_number}",
        "NODE_NAME": "local",
        "EXECUTOR_NUMBER": "0",
    }


def jenkins_env_for_branch(branch: str, *, build_number: int = 1) -> dict[str, str]:
    """What a multibranch branch build sees: BRANCH_NAME and no CHANGE_* at all."""
    return _basics(branch, build_number)


def _lab_host_env(settings: Mapping[str, str], bot_user: str) -> dict[str, str]:
    """What compose interpolates the jenkins service with: the lab's LAB_* settings
    (LabConfig.compose_env()) and the bot's name from .lab/secrets.env."""
    return {**settings, "GITEA_BOT_USER": bot_user}


def lab_node_env(
    *, settings: Mapping[str, str], bot_user: str, root: Path = PACKAGE_ROOT
) -> dict[str, str]:
    """The environment of the node the lab's builds run on (the built-in node: the
    controller JVM's), from compose/docker-compose.yml, casc/Dockerfile and
    casc/check-env.sh. docker-workflow strips what equals it from agent steps."""
    return jenkinsenv.controller_env(_lab_host_env(settings, bot_user), root)


def lab_global_env(
    *,
    gitea_url: str,
    s3_endpoint: str,
    extras: Path,
    settings: Mapping[str, str],
    bot_user: str,
    root: Path = PACKAGE_ROOT,
) -> dict[str, str]:
    """The global variables the lab's Jenkins gives every build (casc/jenkins.yaml resolved
    against the controller's environment, as JCasC does), with the in-network URLs
    pointed at local stand-ins; ``DVC_LOCAL_CACHE_DIR`` stands for the agents' /extras
    and the two agent-image variables (projects' Dockerfiles) are added."""
    node = lab_node_env(settings=settings, bot_user=bot_user, root=root)
    env = jenkinsenv.global_build_vars(node, root)
    for key, value in (("GITEA_URL", gitea_url), ("DVC_S3_ENDPOINT", s3_endpoint)):
        if key not in env:
            raise ConfigError(f"casc/jenkins.yaml: no global build variable {key}")
        env[key] = value
    return {
        "DVC_NO_ANALYTICS": "1",
        "GIT_TERMINAL_PROMPT": "0",
        **env,
        "DVC_LOCAL_CACHE_DIR": str(extras),
    }


def jenkins_env_for_pr(
    number: int, *, head: str, target: str, url: str = "", build_number: int = 1
) -> dict[str, str]:
    """What a Gitea pull-request build sees (gitea-plugin: BRANCH_NAME=PR-N, CHANGE_ID,
    CHANGE_TARGET, CHANGE_BRANCH, CHANGE_URL; no CHANGE_AUTHOR or CHANGE_TITLE)."""
    env = _basics(f"PR-{number}", build_number)
    env.update(CHANGE_ID=str(number), CHANGE_TARGET=target, CHANGE_BRANCH=head)
    if url:
        env["CHANGE_URL"] = url
    return env


def base_env(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without what must not leak into a build, with ``env`` on top.

    When ``env`` sets no PATH, this interpreter's bin directory goes first so ``dvc``
    and ``python`` are the ones installed with the lab.
    """
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    }
    if "PATH" not in env:
        bin_dir = str(Path(sys.executable).parent)
        base["PATH"] = os.pathsep.join([bin_dir, base.get("PATH", "/usr/bin:/bin")])
    base.update(env)
    return base
