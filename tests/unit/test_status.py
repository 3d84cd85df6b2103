from lab.config import LabConfig
from lab.stack import ServiceState
from lab.status import JobRow, collect_status, format_status


class FakeCompose:
    def __init__(self, states):
        self.states = states

    def ps(self):
        return self.states


def state(service, health="healthy", run="running"):
    return ServiceState(service, f"id-{service}", run, health, "")


def test_all_healthy_lists_services_with_urls(tmp_path):
    cfg = LabConfig.load(root=tmp_path, env={})
    compose = FakeCompose([state(s) for s in ("docker", "gitea", "jenkins", "minio", "pypi")])
    status = collect_status(cfg, compose, with_jobs=False)
    assert status.healthy
    status.jobs = [JobRow("cd4ml/cd4ml-demo/main", "#3 SUCCESS")]
    text = format_status(status)
    assert "jenkins   healthy    http://localhost:8080" in text
    assert "cd4ml/cd4ml-demo/main  #3 SUCCESS" in text
    assert "not (fully) up" not in text
    assert "pypi      healthy    http://localhost:8081/simple/ (private package index)" in text


def test_missing_or_starting_service_is_unhealthy_and_says_what_to_do(tmp_path):
    cfg = LabConfig.load(root=tmp_path, env={})
    compose = FakeCompose([state("gitea"), state("jenkins", health="starting")])
    status = collect_status(cfg, compose)
    assert not status.healthy
    text = format_status(status)
    assert "jenkins   starting" in text
    assert "minio     absent" in text
    assert "`lab up` starts it" in text
    assert status.jobs == []  # no Jenkins calls while the stack is not healthy


def test_with_seaweedfs_status_checks_that_service_on_the_same_s3_url(tmp_path):
    cfg = LabConfig.load(root=tmp_path, env={"LAB_S3": "seaweedfs"})
    services = ("docker", "gitea", "jenkins", "seaweedfs", "pypi")
    compose = FakeCompose([state(s) for s in services])
    status = collect_status(cfg, compose, with_jobs=False)
    assert status.healthy
    text = format_status(status)
    assert "seaweedfs healthy    http://localhost:9000 (S3 API)" in text
    assert "minio" not in text


def test_lab_up_summary_names_the_s3_service_that_runs(tmp_path):
    from lab.up import summary

    secrets = {"MINIO_ROOT_USER": "lab-root", "JENKINS_ADMIN_USER": "a", "GITEA_ADMIN_USER": "a"}
    minio = summary(LabConfig.load(root=tmp_path, env={}), secrets)  # type: ignore[arg-type]
    assert "MinIO console  http://localhost:9001" in minio and "SeaweedFS" not in minio
    cfg = LabConfig.load(root=tmp_path, env={"LAB_S3": "seaweedfs"})
    seaweedfs = summary(cfg, secrets)  # type: ignore[arg-type]
    assert "SeaweedFS S3 API  http://localhost:9000" in seaweedfs
    assert "MinIO" not in seaweedfs and "9001" not in seaweedfs
    assert "Private index     http://localhost:8081/simple/" in seaweedfs


def test_job_rows_reach_the_branches_of_a_multibranch_job_inside_a_folder():
    """The training project's chain folder holds pipeline jobs and a multibranch job."""
    from lab.clients.jenkins import JenkinsClient
    from lab.status import job_rows
    from tests.fakes.jenkins import FakeJenkins, run

    fake = FakeJenkins()
    fake.add_job("cd4ml", folder=True)
    fake.add_job("cd4ml/cd4ml-demo", folder=True)
    fake.add_job("cd4ml/cd4ml-demo/main", run(3))
    fake.add_job("cd4ml/cd4ml-train-chain", folder=True)
    fake.add_job("cd4ml/cd4ml-train-chain/preprocess", folder=True)
    fake.add_job("cd4ml/cd4ml-train-chain/preprocess/main", run(2, result="FAILURE"))
    fake.add_job("cd4ml/cd4ml-train-chain/test")
    fake.add_job("cd4ml/new", folder=True)
    client = JenkinsClient("http://jenkins.test", "lab-admin", "pw", timeout=3)
    client.server._session.mount("http://", fake)
    rows = {r.job: r.last_build for r in job_rows(client, "cd4ml")}
    assert rows == {
        "cd4ml/cd4ml-demo/main": "#3 SUCCESS",
        "cd4ml/cd4ml-train-chain/preprocess/main": "#2 FAILURE",
        "cd4ml/cd4ml-train-chain/test": "no builds",
        "cd4ml/new": "(no branches)",
    }
