import pytest

from lab.config import LabConfig
from lab.errors import ConfigError


def test_defaults_bind_loopback_and_name_host_urls(tmp_path):
    cfg = LabConfig.load(root=tmp_path, env={})
    assert cfg.bind == "127.0.0.1"
    assert cfg.jenkins_url == "http://localhost:8080"
    assert cfg.gitea_url == "http://localhost:3000"
    assert cfg.secrets_file == tmp_path.resolve() / ".lab" / "secrets.env"


def test_ports_are_overridable_and_reach_compose(tmp_path):
    cfg = LabConfig.load(root=tmp_path, env={"LAB_JENKINS_PORT": "18080"})
    assert cfg.jenkins_url.endswith(":18080")
    assert cfg.compose_env()["LAB_JENKINS_PORT"] == "18080"
    assert cfg.compose_env()["LAB_JENKINS_PUBLIC_URL"] == "http://localhost:18080/"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LAB_GITEA_PORT": "http"}, "LAB_GITEA_PORT"),
        ({"LAB_MINIO_PORT": "70000"}, "LAB_MINIO_PORT"),
        ({"LAB_GITEA_PORT": "8080"}, "distinct"),
    ],
)
def test_bad_ports_are_named_when_used(tmp_path, env, message):
    cfg = LabConfig.load(root=tmp_path, env=env)
    assert cfg.projects_dir == tmp_path.resolve() / "projects"  # offline settings work
    for use in (lambda: cfg.jenkins_url, lambda: cfg.ports, lambda: cfg.compose_env()):
        with pytest.raises(ConfigError, match=message):
            use()


def test_lab_bind_must_be_an_ip_address_and_exposure_is_known(tmp_path):
    with pytest.raises(ConfigError, match=r"LAB_BIND='lab\.local' is not an IP address"):
        _ = LabConfig.load(root=tmp_path, env={"LAB_BIND": "lab.local"}).gitea_url
    assert not LabConfig.load(root=tmp_path, env={}).exposed
    assert not LabConfig.load(root=tmp_path, env={"LAB_BIND": "127.0.0.2"}).exposed
    assert LabConfig.load(root=tmp_path, env={"LAB_BIND": "0.0.0.0"}).exposed
    assert LabConfig.load(root=tmp_path, env={"LAB_BIND": "192.168.1.20"}).exposed


def test_lab_home_must_exist(tmp_path):
    with pytest.raises(ConfigError, match=f"LAB_HOME={tmp_path}/nowhere: no such directory"):
        LabConfig.load(env={"LAB_HOME": str(tmp_path / "nowhere")})


def test_the_lab_subnet_is_pinned_overridable_and_checked(tmp_path):
    assert LabConfig.load(root=tmp_path, env={}).compose_env()["LAB_SUBNET"] == "10.213.91.0/24"
    cfg = LabConfig.load(root=tmp_path, env={"LAB_SUBNET": "192.168.240.0/24"})
    assert cfg.compose_env()["LAB_SUBNET"] == "192.168.240.0/24"
    for bad in ("10.213.91.7/24", "8.8.8.0/24", "10.1.1.0/30", "lab"):
        cfg = LabConfig.load(root=tmp_path, env={"LAB_SUBNET": bad})  # offline use: fine
        with pytest.raises(ConfigError, match="LAB_SUBNET"):
            cfg.compose_env()


def test_shipped_projects_are_found():
    cfg = LabConfig.load(env={})
    assert "cd4ml-demo" in cfg.project_names()


def test_an_invalid_dvc_bucket_is_named_when_used_and_ignored_otherwise(tmp_path):
    assert LabConfig.load(root=tmp_path, env={}).dvc_bucket == "cd4ml-dvc"
    assert LabConfig.load(root=tmp_path, env={"LAB_DVC_BUCKET": "ml.data-1"}).dvc_bucket == (
        "ml.data-1"
    )
    for bad in ("ab", "Bad_Bucket", "a..b", "-ab", "192.168.1.1", "x" * 64):
        cfg = LabConfig.load(root=tmp_path, env={"LAB_DVC_BUCKET": bad})  # offline use: fine
        with pytest.raises(ConfigError, match=r"LAB_DVC_BUCKET=.* is not a valid S3 bucket"):
            cfg.compose_env()
