"""The lab's Jenkins image alone, built from casc/ as compose builds it: JCasC applies,
every pinned plugin loads, anonymous users are refused, the lab's credentials and seed
job exist, and an empty secret stops the container with check-env's message.

Upstream behaviour relied on:
- Jenkins core (jenkinsci/jenkins tag jenkins-2.568.2): "Jenkins is fully up and
  running" is logged once start-up, JCasC included, has finished
  (core/src/main/java/hudson/lifecycle/Lifecycle.java ``onReady``, called from
  hudson/WebAppMain.java only after ``new Hudson(...)`` returned); a failed boot logs
  "Failed to initialize Jenkins" instead (hudson/util/BootFailure.java ``publish``).
- configuration-as-code (jenkinsci/configuration-as-code-plugin tag
  2117.vc05a_0b_e6b_f4e): ``ConfigurationAsCode.init`` wraps a ``ConfiguratorException``
  into ``ConfigurationAsCodeBootFailure``; ``UnknownAttributesException``,
  ``UnknownConfiguratorException`` and ``ConfiguratorConflictException`` extend
  ``ConfiguratorException`` and show in the log under their own names, so the log is
  searched for any ``io.jenkins.plugins.casc.*Exception``, not one class name.
- ``/pluginManager/api/json?depth=1``: ``PluginManager.getPlugins()`` is exported with
  ``PluginWrapper`` fields ``shortName``, ``version``, ``active``, ``enabled``
  (core/src/main/java/hudson/PluginManager.java, PluginWrapper.java). A plugin that
  fails to load is *removed* from that list and kept in ``failedPlugins``, which is
  not exported (PluginManager.java, "Loading plugins" task: ``plugins.remove(p)``), and
  logged as "Failed to install ..." or "Failed to load: ..." (hudson/Messages.properties
  ``PluginWrapper.failed_to_load_plugin_2``). So "no failed plugin" is checked as:
  every pin of casc/plugins.txt listed, active, enabled and at its version, and no
  such log line.
- Anonymous requests without Overall/Read get 403 from
  ``HudsonAuthenticationEntryPoint`` (core/src/main/java/hudson/security/).
- casc/check-env.sh (this repository) exits 78 with "check-env: refusing to start
  Jenkins: empty or unset: NAMES"; casc/Dockerfile runs it under ``/usr/bin/tini --``,
  Debian's tini as in jenkinsci/docker tag 2.568.2 (debian/Dockerfile). That tini
  exits with its child's code was not read in tini's source here: the test checks 78.
"""

from __future__ import annotations

import re
import secrets as random
import subprocess
from collections.abc import Iterator

import pytest
import requests
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from lab.clients.jenkins import JenkinsClient
from lab.plugins import read_plugins
from lab.secrets import PUBLIC_KEYS, Secrets
from tests.containers.services import host_url, logs, started
from tests.containers.stack_spec import build_argv, service

SPEC = service("jenkins")
HTTP_PORT = 8080
TAG = f"{SPEC.image}-containers-tier"  # not the lab's own tag: a running lab is left alone
BUILD_TIMEOUT = 1800  # plugin downloads on a cold cache
BOOT_TIMEOUT = 600
SECRETS_DIR = "/var/lib/cd4ml-lab/secrets"  # casc/Dockerfile ENV SECRETS

BOOTED = re.compile(r"Jenkins is fully up and running|Failed to initialize Jenkins")
FAILURES = re.compile(
    r"Failed to initialize Jenkins|io\.jenkins\.plugins\.casc\.\w*(?:Exception|BootFailure)"
    r"|ConfiguratorException|Failed to install \S+|Failed to load: .*"
)


def _excerpt(text: str, pattern: re.Pattern[str], around: int = 600) -> str:
    found = pattern.search(text)
    if not found:
        return ""
    return text[max(0, found.start() - around) : found.end() + around]


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    assert SPEC.build is not None, "compose: services.jenkins has no build section"
    argv = build_argv(SPEC.build, TAG)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except FileNotFoundError:
        pytest.fail("the `docker` CLI is needed to build casc/ (named build contexts)")
    except subprocess.TimeoutExpired:
        pytest.fail(f"`docker build` of {SPEC.build.context} took over {BUILD_TIMEOUT}s")
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr + proc.stdout).splitlines()[-40:])
        pytest.fail(
            f"`{' '.join(argv)}` failed (exit {proc.returncode}); it needs BuildKit "
            f"(Docker >= 23 or docker-buildx), as compose's additional_contexts do:\n{tail}"
        )
    yield TAG
    subprocess.run(["docker", "image", "rm", TAG], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def values(secrets: Secrets) -> dict[str, str]:
    """What compose interpolates into the jenkins service: the lab's secrets (fresh ones)."""
    return {**secrets, "GITEA_BOT_TOKEN": random.token_hex(20)}


@pytest.fixture(scope="module")
def jenkins(image: str, values: dict[str, str]) -> Iterator[DockerContainer]:
    wait = LogMessageWaitStrategy(BOOTED).with_startup_timeout(BOOT_TIMEOUT)
    with started(SPEC, SPEC.env(values), port=HTTP_PORT, wait=wait, image=image) as container:
        yield container


@pytest.fixture(scope="module")
def client(jenkins: DockerContainer, values: dict[str, str]) -> JenkinsClient:
    boot = logs(jenkins)
    if "Jenkins is fully up and running" not in boot:  # JCasC failed: say why, at once
        pytest.fail(f"Jenkins did not start:\n{_excerpt(boot, FAILURES) or boot[-3000:]}")
    url = host_url(jenkins, HTTP_PORT)
    client = JenkinsClient(url, values["JENKINS_ADMIN_USER"], values["JENKINS_ADMIN_PASSWORD"])
    client.wait_ready(timeout=180)  # /login 200, then whoAmI authenticated as the admin
    return client


def test_jcasc_applies_without_configurator_errors(jenkins: DockerContainer):
    log = logs(jenkins)
    assert "Jenkins is fully up and running" in log
    assert not FAILURES.search(log), _excerpt(log, FAILURES)


def test_every_pinned_plugin_is_loaded_active_and_at_its_pin(jenkins: DockerContainer, client):
    assert SPEC.build is not None
    pins = read_plugins(SPEC.build.context / "plugins.txt")
    data = client.get_json("pluginManager/api/json?depth=1")
    loaded = {str(p["shortName"]): p for p in data["plugins"]}
    assert len(loaded) >= len(pins)
    missing = sorted(set(pins) - set(loaded))
    inactive = sorted(n for n, p in loaded.items() if not (p["active"] and p["enabled"]))
    other_version = sorted(
        f"{n}: {loaded[n]['version']} (pinned {pin.version})"
        for n, pin in pins.items()
        if n in loaded and str(loaded[n]["version"]) != pin.version
    )
    assert (missing, inactive, other_version) == ([], [], [])


def test_anonymous_requests_get_403(jenkins: DockerContainer, client):
    base = host_url(jenkins, HTTP_PORT)
    for path in ("/api/json", "/job/lab-seed/api/json", "/credentials/"):
        resp = requests.get(base + path, timeout=10, allow_redirects=False)
        assert resp.status_code == 403, (path, resp.status_code)


def test_lab_credentials_and_seed_job_exist(
    jenkins: DockerContainer, client: JenkinsClient, values: dict[str, str]
):
    assert client.credential_exists("DVC_Remote_Creds")
    assert client.credential_exists("GIT_PAT")
    assert not client.credential_exists("NO_SUCH_CREDENTIAL")  # the check can say no
    assert client.job_exists("lab-seed")
    org = SPEC.env(values)["LAB_ORG"]
    assert client.job_exists(org), f"no folder {org} (JCasC jobs: script)"
    # check-env handed the secrets to JCasC as files only the jenkins user reads.
    result = jenkins.exec(["stat", "-c", "%a %U", f"{SECRETS_DIR}/GITEA_BOT_TOKEN"])
    assert (result.exit_code, result.output.decode().strip()) == (0, "600 jenkins")


@pytest.mark.parametrize("empty", ["GITEA_BOT_TOKEN", "JENKINS_ADMIN_PASSWORD"])
def test_an_empty_secret_stops_the_container_with_check_env_message(
    image: str, values: dict[str, str], empty: str
):
    env = {**SPEC.env(values), empty: ""}
    with started(SPEC, env, port=HTTP_PORT, wait=None, image=image) as container:
        status = container.get_wrapped_container().wait(timeout=120)
        log = logs(container)
    assert status["StatusCode"] == 78, log[-2000:]
    assert f"check-env: refusing to start Jenkins: empty or unset: {empty}" in log, log[-2000:]
    assert "Jenkins is fully up and running" not in log
    leaked = [k for k, v in values.items() if k not in PUBLIC_KEYS and v in log]
    assert leaked == [], f"secret values of {leaked} are in the container log"
