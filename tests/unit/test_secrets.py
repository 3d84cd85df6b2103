import stat

import pytest

from lab.errors import ConfigError
from lab.secrets import GENERATED, LATE_KEYS, Secrets, mask


def test_first_run_generates_every_secret_with_mode_0600(tmp_path):
    path = tmp_path / ".lab" / "secrets.env"
    secrets, created = Secrets.ensure(path)
    assert set(created) == set(GENERATED)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for key in GENERATED:
        assert secrets[key]
    assert "admin" not in secrets["JENKINS_ADMIN_PASSWORD"].lower()
    assert len(secrets["MINIO_ROOT_PASSWORD"]) >= 8  # MinIO refuses shorter ones
    assert len(secrets["DVC_SECRET_KEY"]) >= 8


def test_second_run_reuses_the_same_values(tmp_path):
    path = tmp_path / "secrets.env"
    first, _ = Secrets.ensure(path)
    before = path.read_text()
    second, created = Secrets.ensure(path)
    assert created == []
    assert dict(second) == dict(first)
    assert path.read_text() == before


def test_two_labs_get_different_secrets(tmp_path):
    a, _ = Secrets.ensure(tmp_path / "a.env")
    b, _ = Secrets.ensure(tmp_path / "b.env")
    for key in ("JENKINS_ADMIN_PASSWORD", "GITEA_ADMIN_PASSWORD", "DVC_SECRET_KEY"):
        assert a[key] != b[key]


def test_missing_key_is_filled_in_without_touching_others(tmp_path):
    path = tmp_path / "secrets.env"
    first, _ = Secrets.ensure(path)
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("DVC_SECRET_KEY=")]
    path.write_text("\n".join(lines) + "\n")
    second, created = Secrets.ensure(path)
    assert created == ["DVC_SECRET_KEY"]
    assert second["JENKINS_ADMIN_PASSWORD"] == first["JENKINS_ADMIN_PASSWORD"]


def test_late_token_is_stored_and_kept_private(tmp_path):
    path = tmp_path / "secrets.env"
    secrets, _ = Secrets.ensure(path)
    secrets.set(LATE_KEYS[0], "tok-123456789")
    assert Secrets.load(path)["GITEA_BOT_TOKEN"] == "tok-123456789"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_world_readable_file_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "secrets.env"
    Secrets.ensure(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Secrets.load(path)


def test_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "secrets.env"
    path.write_text("# c\nGOOD=1\nthis is wrong\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=r"secrets.env:3"):
        Secrets.load(path)


def test_repr_and_mask_never_show_a_whole_secret(tmp_path):
    secrets, _ = Secrets.ensure(tmp_path / "s.env")
    value = secrets["GITEA_ADMIN_PASSWORD"]
    assert value not in repr(secrets)
    assert value not in mask(value)
    assert mask(value).startswith(value[:2])


def test_require_names_the_missing_key(tmp_path):
    secrets, _ = Secrets.ensure(tmp_path / "s.env")
    with pytest.raises(ConfigError, match="GITEA_BOT_TOKEN"):
        secrets.require("GITEA_BOT_TOKEN")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o606])
def test_a_file_others_or_the_group_can_read_is_refused(tmp_path, mode):
    path = tmp_path / "secrets.env"
    Secrets.ensure(path)
    path.chmod(mode)
    for open_it in (Secrets.load, Secrets.ensure):
        with pytest.raises(ConfigError, match=f"readable by others \\(mode {mode:o}\\)"):
            open_it(path)


def test_an_emptied_secret_is_named_not_regenerated(tmp_path):
    path = tmp_path / "secrets.env"
    first, _ = Secrets.ensure(path)
    text = path.read_text().replace(
        f"MINIO_ROOT_PASSWORD={first['MINIO_ROOT_PASSWORD']}", "MINIO_ROOT_PASSWORD="
    )
    path.write_text(text)
    with pytest.raises(ConfigError, match="MINIO_ROOT_PASSWORD is empty") as err:
        Secrets.ensure(path)
    assert "put the value back" in str(err.value)
    assert path.read_text() == text  # nothing was rewritten


def test_a_state_directory_that_cannot_be_written_is_a_clear_error(tmp_path):
    # `.lab` as a file: mkdir fails as on a read-only disk, whoever runs the test (root too)
    (tmp_path / ".lab").write_text("")
    with pytest.raises(ConfigError, match=r"cannot write the lab's secrets to .*: File exists"):
        Secrets.ensure(tmp_path / ".lab" / "secrets.env")
