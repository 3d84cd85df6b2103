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
def test_bad_ports_are_named(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        LabConfig.load(root=tmp_path, env=env)


def test_the_lab_subnet_is_pinned_overridable_and_checked(tmp_path):
    assert LabConfig.load(root=tmp_path, env={}).compose_env()["LAB_SUBNET"] == "10.213.91.0/24"
    cfg = LabConfig.load(root=tmp_path, env={"LAB_SUBNET": "192.168.240.0/24"})
    assert cfg.compose_env()["LAB_SUBNET"] == "192.168.240.0/24"
    for bad in ("10.213.91.7/24", "8.8.8.0/24", "10.1.1.0/30", "lab"):
        with pytest.raises(ConfigError, match="LAB_SUBNET"):
            LabConfig.load(root=tmp_path, env={"LAB_SUBNET": bad})


def test_shipped_projects_are_found():
    cfg = LabConfig.load(env={})
    assert "cd4ml-demo" in cfg.project_names()
