import os
import subprocess

import pytest

from lab.errors import ServiceError
from lab.gitcreds import _verb, git_credential_env, git_with_credentials


def test_helper_answers_git_from_the_environment_and_stores_nothing(tmp_path):
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    argv = ["git", "-C", str(repo), "credential", "fill"]
    proc = subprocess.run(
        argv,
        input="protocol=http\nhost=127.0.0.1:3000\n\n",
        env=git_credential_env(os.environ, ("cd4ml-bot", "tok-secret-1")),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "username=cd4ml-bot" in proc.stdout
    assert "password=tok-secret-1" in proc.stdout
    assert not any("tok-secret-1" in a for a in argv)
    config = subprocess.run(
        ["git", "-C", str(repo), "config", "--list", "--show-origin"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "tok-secret-1" not in config


def test_failure_masks_the_password_and_names_the_command(tmp_path):
    with pytest.raises(ServiceError) as err:
        git_with_credentials(
            ["-c", "user.name=x", "push", str(tmp_path / "nowhere-tok-secret-2"), "HEAD"],
            "bot",
            "tok-secret-2",
            cwd=tmp_path,
        )
    assert "git push failed" in str(err.value)
    assert "tok-secret-2" not in str(err.value)


def test_verb_skips_global_options():
    assert _verb(["-c", "a=b", "-C", "/x", "push", "-q"]) == "push"


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_a_refused_push_says_why_in_whole_lines(tmp_path):
    """git's reason for refusing a push ("! [rejected] ... (fetch first)" and its hints)
    reaches the user whole: the message used to be the last 400 characters of the
    output squeezed onto one line, cut mid-word."""
    remote, mine, theirs = tmp_path / "remote.git", tmp_path / "mine", tmp_path / "theirs"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    for clone in (mine, theirs):
        _git(tmp_path, "clone", "-q", str(remote), str(clone))
        (clone / "f.txt").write_text(clone.name)
        _git(clone, "add", "f.txt")
        _git(clone, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", clone.name)
    _git(theirs, "push", "-q", "origin", "HEAD:main")
    with pytest.raises(ServiceError) as err:
        git_with_credentials(["push", "origin", "HEAD:main"], "bot", "pw", cwd=mine)
    lines = str(err.value).splitlines()
    assert lines[0] == "git push failed (exit 1):"
    assert any(
        line.startswith("  | ") and "! [rejected]" in line and line.endswith("(fetch first)")
        for line in lines
    )
    assert any(line.startswith("  | hint: ") for line in lines)
