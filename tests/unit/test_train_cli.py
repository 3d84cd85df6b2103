"""`lab train`: parameters checked against the Jenkinsfile, the build started with them
through the fake Jenkins (tests/fakes/jenkins.py), its log followed to the end."""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from lab.clients.jenkins import JenkinsClient
from lab.commands.train import cmd_train
from lab.config import LabConfig
from lab.errors import ConfigError, ServiceError
from lab.secrets import Secrets
from lab.training import declared_parameters, parse_params, run_training, train_job
from tests.fakes.jenkins import FakeJenkins, run

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "projects" / "cd4ml-train"
URL = "http://jenkins.test:8080"
JOB = "cd4ml/cd4ml-train/main"
BASE = "/job/cd4ml/job/cd4ml-train/job/main"


@pytest.fixture
def fake() -> FakeJenkins:
    return FakeJenkins()


@pytest.fixture
def client(fake: FakeJenkins) -> JenkinsClient:
    c = JenkinsClient(URL, "lab-admin", "pw-not-shown", timeout=3)
    c.server._session.mount("http://", fake)
    return c


def started(fake: FakeJenkins, result: str = "SUCCESS", chunks: int = 2) -> list[dict[str, str]]:
    """Jenkins as the client sees it: buildWithParameters answers 201 + Location of the
    queue item (python-jenkins 1.8.3 build_job reads it there), the item gets build #5,
    the log grows over `chunks` reads (stapler LargeText: X-Text-Size, X-More-Data)."""
    bodies: list[dict[str, str]] = []

    def build_with_parameters(request):  # type: ignore[no-untyped-def]
        bodies.append(dict(parse_qsl(request.body)))
        return 201, "", {"Location": f"{URL}/queue/item/9/"}

    fake.add_job(JOB, run(5, result=result), run(4))
    fake.routes[("POST", f"{BASE}/buildWithParameters")] = build_with_parameters
    fake.routes[("GET", "/queue/item/9/api/json?tree=cancelled,executable[number]")] = (
        200,
        {"executable": {"number": 5}},
    )
    log = [f"[2026-12-02T10:00:0{i}.000Z] line {i}\n" for i in range(chunks)]
    offsets = [sum(len(x) for x in log[:i]) for i in range(chunks + 1)]
    for i in range(chunks):
        fake.routes[("GET", f"{BASE}/5/logText/progressiveText?start={offsets[i]}")] = (
            200,
            log[i],
            {"X-Text-Size": str(offsets[i + 1])}
            | ({"X-More-Data": "true"} if i < chunks - 1 else {}),
        )
    return bodies


def test_parameters_are_those_of_the_jenkinsfile() -> None:
    specs = declared_parameters(TRAIN / "Jenkinsfile")
    assert list(specs) == ["PROBLEM", "N_ESTIMATORS", "MAX_DEPTH", "TEST_SIZE"]
    assert specs["PROBLEM"].choices == ("wine", "iris", "breast_cancer", "digits")
    assert declared_parameters(ROOT / "projects" / "cd4ml-demo" / "Jenkinsfile") == {}


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["PROBLEM"], r"--param 'PROBLEM': expected NAME=VALUE"),
        (["EPOCHS=3"], r"has no parameter 'EPOCHS'; it declares: PROBLEM, N_ESTIMATORS"),
        (["PROBLEM=mnist"], r"PROBLEM='mnist': not one of wine, iris, breast_cancer, digits"),
    ],
)
def test_bad_parameters_are_named_before_jenkins_is_asked(pairs, message) -> None:
    specs = declared_parameters(TRAIN / "Jenkinsfile")
    with pytest.raises(ConfigError, match=message):
        parse_params(pairs, specs, "Jenkinsfile")


def test_a_job_without_parameters_is_refused() -> None:
    with pytest.raises(ConfigError, match="declares no parameters"):
        parse_params([], {}, "projects/cd4ml-demo/Jenkinsfile")


def test_run_training_starts_with_the_parameters_and_follows_the_log(client, fake) -> None:
    bodies = started(fake)
    out: list[str] = []
    number, result = run_training(
        client, JOB, {"PROBLEM": "iris", "MAX_DEPTH": "3"}, out=out.append, timeout=10,
        interval=0.01,
    )  # fmt: skip
    assert (number, result) == (5, "SUCCESS")
    # Parameters travel in the form body (never in the URL), with the crumb.
    assert bodies == [{"PROBLEM": "iris", "MAX_DEPTH": "3"}]
    post = next(r for r in fake.sent if r.method == "POST")
    assert "?" not in post.url and post.headers["Jenkins-Crumb"] == "c0ffee"
    # The whole log, timestamper prefixes removed, read from each new offset.
    assert "".join(out) == f"lab train: {JOB} #5 started\nline 0\nline 1\n"
    reads = [q for q in fake.queries() if "progressiveText" in q]
    assert reads == [f"{BASE}/5/logText/progressiveText?start=0",
                     f"{BASE}/5/logText/progressiveText?start=34"]  # fmt: skip


def test_a_missing_job_says_how_to_make_it(client, fake) -> None:
    with pytest.raises(ServiceError, match=f"Jenkins has no job {JOB}") as err:
        run_training(client, JOB, {}, out=print, timeout=5)
    assert "lab up" in (err.value.hint or "")


def test_a_job_that_does_not_take_parameters_yet_explains_itself(client, fake) -> None:
    fake.add_job(JOB)
    fake.routes[("POST", f"{BASE}/buildWithParameters")] = (
        400,
        "This build is not parameterized!",
    )
    with pytest.raises(ServiceError, match="HTTP 400") as err:
        run_training(client, JOB, {"PROBLEM": "iris"}, out=print, timeout=5)
    assert "first build" in (err.value.hint or "")


@pytest.mark.parametrize(("result", "code"), [("SUCCESS", 0), ("FAILURE", 1), ("ABORTED", 1)])
def test_lab_train_exits_0_only_on_success(
    tmp_path, client, fake, monkeypatch, capsys, result, code
) -> None:
    (tmp_path / "projects").mkdir()
    (tmp_path / "projects" / "cd4ml-train").symlink_to(TRAIN)
    cfg = LabConfig.load(root=tmp_path, env={})
    Secrets.ensure(cfg.secrets_file)
    monkeypatch.setattr("lab.up.jenkins_client", lambda cfg, secrets: client)
    monkeypatch.setattr("lab.training.time.sleep", lambda s: None)
    bodies = started(fake, result=result)
    args = argparse.Namespace(
        project="cd4ml-train", param=["PROBLEM=wine"], branch="main", timeout=10.0
    )
    assert cmd_train(args, cfg) == code
    assert bodies == [{"PROBLEM": "wine"}]
    assert capsys.readouterr().out.endswith(f"lab train: {JOB} #5 {result}\n")
    assert train_job("cd4ml", "cd4ml-train", "feature/x") == "cd4ml/cd4ml-train/feature%2Fx"


# ---- `lab train --driver local`: the Jenkinsfile run for real on the local driver -------


def _local_args(*params: str) -> argparse.Namespace:
    return argparse.Namespace(
        project="cd4ml-train", param=list(params), branch="main", timeout=600.0, driver="local"
    )


@pytest.fixture
def local_cfg() -> LabConfig:
    from lab.scenarios.driver import DriverUnavailable
    from lab.scenarios.drivers.local import LocalDriver

    cfg = LabConfig.load(root=ROOT, env={})
    try:
        LocalDriver(cfg).sanity_check()
    except DriverUnavailable as exc:
        pytest.skip(f"the local driver cannot run here: {exc}")
    return cfg


@pytest.fixture
def printed(monkeypatch) -> list[str]:
    """What `lab train` writes of the build's log, one call at a time."""
    chunks: list[str] = []
    monkeypatch.setattr("lab.commands.train._out", chunks.append)
    return chunks


def test_lab_train_on_the_local_driver_runs_the_parameters_and_prints_the_log_live(
    local_cfg, printed, capsys
) -> None:
    chunks = printed
    assert cmd_train(_local_args("PROBLEM=iris", "N_ESTIMATORS=5"), local_cfg) == 0
    log = "".join(chunks)
    assert "prepared iris:" in log and "(5 trees, depth 4)" in log
    assert "uploaded 5 objects to s3://cd4ml-dvc/iris/jenkins-cd4ml-cd4ml-train-main-1" in log
    # Line by line as the build runs, not the whole log at its end.
    assert len(chunks) > 20 and all(c.count("\n") == 1 for c in chunks[1:])
    assert chunks[-1] == "Finished: SUCCESS\n"
    assert not any(c.startswith("[20") for c in chunks)  # timestamper prefixes removed
    assert capsys.readouterr().out.endswith("lab train: cd4ml/cd4ml-train/main #1 SUCCESS\n")


def test_lab_train_on_the_local_driver_exits_1_when_the_build_fails(
    local_cfg, printed, capsys
) -> None:
    assert cmd_train(_local_args("PROBLEM=wine", "N_ESTIMATORS=0"), local_cfg) == 1
    assert "N_ESTIMATORS" in "".join(printed)
    assert capsys.readouterr().out.endswith("lab train: cd4ml/cd4ml-train/main #1 FAILURE\n")


def test_lab_train_on_the_local_driver_names_a_bad_parameter_before_starting(
    local_cfg, monkeypatch
) -> None:
    started: list[str] = []
    monkeypatch.setattr(
        "lab.scenarios.drivers.local.LocalDriver.start", lambda *a: started.append("start")
    )
    with pytest.raises(ConfigError, match="has no parameter 'EPOCHS'"):
        cmd_train(_local_args("EPOCHS=3"), local_cfg)
    with pytest.raises(ConfigError, match="declares no parameters"):
        cmd_train(
            argparse.Namespace(project="cd4ml-demo", param=[], branch="main", timeout=1.0,
                               driver="local"), local_cfg,
        )  # fmt: skip
    assert started == []
