"""The container tier's offline parts: reading compose (one pin for both), the compose
exec bridge, the Docker tiers' skip, and the wiring (Makefile, README, workflow,
testpaths). The tier itself (tests/containers) needs a Docker engine."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from lab.config import LabConfig
from lab.stack import Compose
from tests.containers import exec_bridge
from tests.containers.exec_bridge import BridgeError, ExecBridge, docker_exec_argv
from tests.containers.stack_spec import (
    COMPOSE_FILE,
    REPO_ROOT,
    SpecError,
    build_argv,
    interpolate,
    service,
)


# ------------------------------------------------------- compose reading --
@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("${A}", {}, ""),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A-d}", {}, "d"),
        ("${A:?missing}", {"A": "v"}, "v"),
        ("http://$H:${P:-80}/", {"H": "h"}, "http://h:80/"),
        ("$$HOME", {"HOME": "no"}, "$HOME"),
    ],
)
def test_interpolation_follows_compose(value, env, expected):
    assert interpolate(value, env, where="f: x") == expected


@pytest.mark.parametrize(
    ("value", "env"),
    [("${A:?A is needed}", {}), ("${A:?A is needed}", {"A": ""}), ("${A?x}", {})],
)
def test_required_variables_fail_naming_the_field(value, env):
    with pytest.raises(SpecError, match=r"f: services.x.environment.K: A is required"):
        interpolate(value, env, where="f: services.x.environment.K")


@pytest.mark.parametrize("value", ["${A:-${B}}", "${A x}", "${A:+alt}", "${A+alt}"])
def test_unsupported_interpolation_is_refused(value):
    with pytest.raises(SpecError, match="unsupported interpolation"):
        interpolate(value, {}, where="f")


def test_services_the_tier_starts_are_read_from_the_compose_file():
    raw = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    for name in ("gitea", "minio", "jenkins"):
        spec = service(name)
        assert spec.image == raw[name]["image"]  # the one pin, unchanged
        assert spec.tag and spec.tag in spec.image
    # What the tier relies on for Gitea: the installer is skipped by the environment.
    assert service("gitea").env({})["GITEA__security__INSTALL_LOCK"] == "true"
    assert service("minio").command == [str(c) for c in raw["minio"]["command"]]


def test_secrets_are_required_where_compose_requires_them():
    minio = service("minio")
    with pytest.raises(SpecError, match="MINIO_ROOT_USER is required"):
        minio.env({})
    env = minio.env({"MINIO_ROOT_USER": "u", "MINIO_ROOT_PASSWORD": "p" * 12})
    assert (env["MINIO_ROOT_USER"], env["MINIO_ROOT_PASSWORD"]) == ("u", "p" * 12)
    jenkins = service("jenkins").env({"GITEA_BOT_TOKEN": "t"})
    assert jenkins["GITEA_BOT_TOKEN"] == "t"
    assert jenkins["JENKINS_ADMIN_PASSWORD"] == ""  # `:-`: check-env refuses it at start


def test_jenkins_is_built_like_compose_builds_it():
    build = service("jenkins").build
    assert build is not None
    assert build.context == REPO_ROOT / "casc" and build.dockerfile.is_file()
    assert all(path.is_dir() for path in build.additional_contexts.values())
    assert "seed-jobs" in build.additional_contexts  # casc/Dockerfile COPY --from=seed-jobs
    argv = build_argv(build, "t:1")
    assert argv[:6] == ["docker", "build", "--tag", "t:1", "--file", str(build.dockerfile)]
    assert f"seed-jobs={REPO_ROOT / 'seed-jobs'}" in argv and argv[-1] == str(build.context)


def test_a_compose_file_without_the_service_or_its_image_is_named(tmp_path: Path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  gitea:\n    environment: [A=1]\n")
    with pytest.raises(SpecError, match=r"services.gitea.image is missing"):
        service("gitea", compose)
    with pytest.raises(SpecError, match="no service 'minio'"):
        service("minio", compose)


# ----------------------------------------------------------- exec bridge --
@pytest.fixture
def compose_argv() -> Compose:
    return Compose(LabConfig.load(root=REPO_ROOT, env={}))


def test_compose_exec_becomes_docker_exec_in_the_started_container(compose_argv: Compose):
    argv = compose_argv.argv("exec", "-T", "-u", "git", "gitea", "gitea", "admin", "user")
    assert docker_exec_argv(argv, {"gitea": "c1"}) == [
        *("docker", "exec", "--user", "git", "c1"),
        *("gitea", "admin", "user"),
    ]
    argv = compose_argv.argv("exec", "-T", "--env=PW", "-w", "/d", "gitea", "sh")
    assert docker_exec_argv(argv, {"gitea": "c1"}, stdin=True) == [
        *("docker", "exec", "-i", "--env", "PW", "--workdir", "/d", "c1", "sh"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("up", "--wait", "gitea"), "only bridges `compose exec`, not `up`"),
        (("exec", "-T", "minio", "ls"), "no container started for service 'minio'"),
        (("exec", "--tty", "gitea", "ls"), "option --tty is not modelled"),
        (("exec", "-T"), "without a service"),
    ],
)
def test_the_bridge_refuses_what_it_does_not_model(compose_argv: Compose, args, message):
    with pytest.raises(BridgeError, match=message):
        docker_exec_argv(compose_argv.argv(*args), {"gitea": "c1"})


def test_the_bridge_records_argv_and_names_a_secret_without_printing_it(
    compose_argv: Compose, monkeypatch: pytest.MonkeyPatch
):
    ran: list[tuple[list[str], dict]] = []

    def fake_run(argv, **kwargs):
        ran.append((argv, kwargs))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(exec_bridge.subprocess, "run", fake_run)
    bridge = ExecBridge({"gitea": "c1"})
    compose = Compose(compose_argv.cfg, runner=bridge, environ={})
    compose.exec("gitea", ["gitea", "admin", "user", "create", "--password", "s3cret-value"])
    compose.run("exec", "-T", "gitea", "gitea", "admin", input_text="s3cret-piped")
    assert ran[0][0][:3] == ["docker", "exec", "c1"] and ran[0][1]["check"] is False
    assert ran[1][0][:3] == ["docker", "exec", "-i"] and ran[1][1]["input"] == "s3cret-piped"
    assert bridge.argv_holding("s3cret-piped") == []
    found = bridge.argv_holding("s3cret-value")
    assert found == ["user create --password <secret>"]


# ------------------------------------------------------- skips and wiring --
def _item(nodeid: str) -> SimpleNamespace:
    item = SimpleNamespace(nodeid=nodeid, markers=[])
    item.add_marker = item.markers.append
    return item


def test_docker_tiers_skip_with_the_reason_and_the_engine_is_asked_only_for_them(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
):
    import lab.stack

    root_conftest = request.config.pluginmanager.get_plugin(
        str(REPO_ROOT / "tests" / "conftest.py")
    )
    assert root_conftest is not None
    asked: list[bool] = []
    monkeypatch.setattr(lab.stack, "engine_unavailable_reason", lambda: asked.append(True) or "x")
    offline = [_item("tests/unit/test_a.py::t")]
    root_conftest.pytest_collection_modifyitems(request.config, offline)
    assert (asked, offline[0].markers) == ([], [])

    items = [_item("tests/containers/test_a.py::t"), _item("tests/e2e/test_b.py::t"), *offline]
    root_conftest.pytest_collection_modifyitems(request.config, items)
    reasons = [[m.kwargs["reason"] for m in i.markers] for i in items]
    assert reasons == [
        ["containers tests need a Docker engine: x"],
        ["e2e tests need a Docker engine: x"],
        [],
    ]


def test_ci_allows_skips_in_the_docker_tiers_only(request: pytest.FixtureRequest):
    root_conftest = request.config.pluginmanager.get_plugin(
        str(REPO_ROOT / "tests" / "conftest.py")
    )

    def skipped(nodeid: str) -> SimpleNamespace:
        return SimpleNamespace(nodeid=nodeid, longrepr=("f.py", 1, "Skipped: no engine"))

    assert root_conftest._allowed_skip(skipped("tests/containers/test_a.py::t"))
    assert root_conftest._allowed_skip(skipped("tests/e2e/test_a.py::t"))
    assert not root_conftest._allowed_skip(skipped("tests/unit/test_a.py::t"))


def test_make_test_collects_neither_docker_tier():
    options = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    testpaths = options["ini_options"]["testpaths"]
    assert testpaths, "without testpaths `make test` would collect tests/containers"
    docker = [
        p
        for p in testpaths
        if p.rstrip("/") in (".", "tests") or p.startswith(("tests/containers", "tests/e2e"))
    ]
    assert docker == []


def test_make_help_readme_and_hosted_workflow_know_the_container_tier():
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "\ntest-containers: venv ## " in makefile
    assert "$(BIN)/pytest tests/containers" in makefile
    helped = subprocess.run(
        ["make", "-s", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    rows = {line.split()[0]: line for line in helped.splitlines() if line.strip()}
    assert "needs Docker" in rows["test-containers"]
    # one column for every description, the longest target name included
    assert len({line.index(line.split(maxsplit=1)[1]) for line in rows.values()}) == 1
    assert "make test-containers" in (REPO_ROOT / "README.md").read_text()
    steps = yaml.safe_load((REPO_ROOT / ".github/workflows/e2e.yml").read_text())["jobs"]["e2e"][
        "steps"
    ]
    runs = [step.get("run", "") for step in steps]
    tier = runs.index("make test-containers")
    assert tier < runs.index("make lab-up") < runs.index("make test-e2e")


def test_lab_config_points_the_lab_s_urls_at_the_container_s_mapped_ports() -> None:
    """The Gitea and MinIO modules build their LabConfig with this helper; it must keep
    working when LabConfig's fields change (it is never run without Docker otherwise)."""
    from tests.containers.services import lab_config

    container = SimpleNamespace(
        get_exposed_port=lambda port: {3000: "49153", 9000: "49154"}[port],
        get_container_host_ip=lambda: "127.0.0.1",
    )
    cfg = lab_config(container, gitea=3000, minio=9000)
    assert cfg.gitea_url == "http://localhost:49153"
    assert cfg.minio_url == "http://localhost:49154"
    assert cfg.jenkins_url == "http://localhost:8080"  # unused ports keep their defaults
    assert cfg.s3 == "minio"
    assert lab_config(container, s3="seaweedfs", minio=9000).s3 == "seaweedfs"
