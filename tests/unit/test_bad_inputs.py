"""docs/errors.md's table of bad inputs, run row by row: each command, in its situation,
exits with the code and prints the first line the table shows (no traceback, ever)."""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.cli import main
from lab.scenarios.loader import MAX_BYTES
from lab.secrets import Secrets
from tests.fakes import docker as fake_docker

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "docs" / "errors.md"
LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(99 + i)}: &{chr(99 + i)} [{','.join(['*' + chr(98 + i if i else 97)] * 9)}]\n"
        for i in range(8)
    )
    + "name: laughs\nsteps: [push]\n"
)


@dataclass(frozen=True)
class Row:
    situation: str
    command: str
    exit: int
    first_line: str


def _code(cell: str) -> str:
    cell = cell.strip()
    for fence in ("`` ", "`"):
        if cell.startswith(fence.strip()):
            return cell.strip("`").strip()
    return cell


def rows() -> list[Row]:
    text = TABLE.read_text(encoding="utf-8")
    body = text.split("<!-- bad-inputs:start -->", 1)[1].split("<!-- bad-inputs:end -->", 1)[0]
    found = []
    for line in body.strip().splitlines()[2:]:  # after the header and its rule
        cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        situation, command, code, first = (c.strip() for c in cells)
        found.append(Row(situation, _code(command), int(code), _code(first)))
    return found


def _git(path: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)


def _repo(path: Path, files: dict[str, str]) -> None:
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    for rel, content in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(content)
    if files:
        _git(path, "add", "-A")
        _git(path, "commit", "-q", "-m", "first")


def _sandbox(root: Path) -> None:
    """What the commands of the table name, in the directory they run in (LAB_HOME)."""
    jenkinsfile = "pipeline {\n  agent any\n  stages { stage('x') { steps { echo 'hi' } } }\n}\n"
    (root / "compose").mkdir()
    (root / "compose" / "docker-compose.yml").write_text("services: {}\n")
    (root / "casc").mkdir()
    for name in ("jenkins.yaml", "plugins.txt"):
        shutil.copy(REPO / "casc" / name, root / "casc" / name)
    (root / "exercises").symlink_to(REPO / "exercises", target_is_directory=True)
    _repo(root / "projects", {"cd4ml-demo/Jenkinsfile": jenkinsfile})
    (root / "good").mkdir()
    (root / "good" / "Jenkinsfile").write_text(jenkinsfile)
    (root / "binary.Jenkinsfile").write_bytes(b"pipe\x00line {}\n")
    (root / "notes.txt").write_text("not a directory\n")
    (root / "plain").mkdir()
    _repo(root / "empty-repo", {})
    _repo(root / "no-jenkinsfile", {"README.md": "no pipeline\n"})
    _repo(root / "mono", {"outside.txt": "x\n", "svc/Jenkinsfile": jenkinsfile})
    scenarios = root / "scenarios"
    scenarios.mkdir()
    (scenarios / "good.yaml").write_text("name: good\nsteps: [push]\n")
    (scenarios / "laughs.yaml").write_text(LAUGHS)
    (scenarios / "deep.yaml").write_text("name: deep\nsteps: " + "[" * 5000 + "]" * 5000 + "\n")
    (scenarios / "huge.yaml").write_text("name: huge\nsteps: [push]\n" + "#\n" * MAX_BYTES)
    (scenarios / "empty.yaml").write_text("")
    (scenarios / "latin1.yaml").write_bytes(b"name: caf\xe9\nsteps: [push]\n")


def _free_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    names = (
        "LAB_JENKINS_PORT",
        "LAB_GITEA_PORT",
        "LAB_MINIO_PORT",
        "LAB_MINIO_CONSOLE_PORT",
        "LAB_PYPI_PORT",
    )
    sockets = [socket.socket() for _ in names]
    try:
        for name, sock in zip(names, sockets, strict=True):
            sock.bind(("127.0.0.1", 0))
            monkeypatch.setenv(name, str(sock.getsockname()[1]))
    finally:
        for sock in sockets:
            sock.close()


def _secrets(root: Path) -> Path:
    path = root / ".lab" / "secrets.env"
    Secrets.ensure(path)
    return path


def _emptied(root: Path) -> None:
    path = _secrets(root)
    text = re.sub(r"(?m)^MINIO_ROOT_PASSWORD=.*$", "MINIO_ROOT_PASSWORD=", path.read_text())
    path.write_text(text)


Setup = Callable[[Path, pytest.MonkeyPatch], None]


def _docker(script: str) -> Setup:
    def install(root: Path, mp: pytest.MonkeyPatch) -> None:
        fake_docker.install(root.parent / "bin", script, mp)
        if script is fake_docker.WORKING:
            _free_ports(mp)  # doctor then finds the lab's ports free

    return install


def _both(*setups: Setup) -> Setup:
    def run(root: Path, mp: pytest.MonkeyPatch) -> None:
        for setup in setups:
            setup(root, mp)

    return run


SITUATIONS: dict[str, Setup] = {
    "": lambda root, mp: None,
    "`.lab` cannot be written": lambda root, mp: (root / ".lab").write_text(""),
    "`.lab/secrets.env` at mode 0640": lambda root, mp: _secrets(root).chmod(0o640),
    "Docker works": _docker(fake_docker.WORKING),
    "Docker works; `MINIO_ROOT_PASSWORD=` emptied in `.lab/secrets.env`": _both(
        _docker(fake_docker.WORKING), lambda root, mp: _emptied(root)
    ),
    "no compose v2 plugin": _docker(fake_docker.NO_COMPOSE_PLUGIN),
    "Docker engine stopped": _docker(fake_docker.ENGINE_DOWN),
}


def _first_line(out: str, err: str) -> str:
    for line in err.splitlines():
        if line.startswith("lab "):
            return line
    return next((" ".join(line.split()) for line in out.splitlines() if line.strip()), "")


def _matches(expected: str, seen: str) -> bool:
    if expected.endswith("…"):
        return seen.startswith(expected[:-1].rstrip())
    return seen == expected


ROWS = rows()


def test_the_table_lists_the_bad_inputs_of_every_kind() -> None:
    assert len(ROWS) >= 30
    assert {r.exit for r in ROWS} >= {0, 2, 3}
    unknown = {r.situation for r in ROWS} - set(SITUATIONS)
    assert not unknown, f"situations without a set-up in this test: {unknown}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-inputs") / "lab"
    root.mkdir()
    _sandbox(root)
    return root


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.situation}:{r.command}"[:80] for r in ROWS])
def test_each_bad_input_gives_the_documented_exit_code_and_first_line(
    row: Row,
    built: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = (tmp_path / "lab").resolve()
    shutil.copytree(built, root, symlinks=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("LAB_HOME", str(root))
    for name in ("LAB_BIND", "LAB_JENKINS_PORT", "LAB_GITEA_PORT", "LAB_MINIO_PORT"):
        monkeypatch.delenv(name, raising=False)
    SITUATIONS[row.situation](root, monkeypatch)
    words = shlex.split(row.command)
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        monkeypatch.setenv(name, value)
    assert words[0] == "lab"
    capsys.readouterr()
    try:
        code = main(words[1:])
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    seen = _first_line(out, err)
    expected = row.first_line.replace("<dir>", str(root))
    assert (code, _matches(expected, seen)) == (row.exit, True), (
        f"{row.command}\n  table: exit {row.exit}, {expected}\n  seen:  exit {code}, {seen}"
    )


def test_offline_commands_ignore_network_settings_they_do_not_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path.resolve()
    _sandbox(root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("LAB_HOME", str(root))
    monkeypatch.setenv("LAB_JENKINS_PORT", "notaport")
    monkeypatch.setenv("LAB_BIND", "lab.local")
    monkeypatch.setenv("LAB_SUBNET", "not-a-subnet")
    assert main(["lint", "good/Jenkinsfile"]) == 0
    (root / "scenarios" / "laughs.yaml").unlink()
    for name in ("deep", "huge", "empty", "latin1"):
        (root / "scenarios" / f"{name}.yaml").unlink()
    assert main(["scenario", "list"]) == 0
    assert "good" in capsys.readouterr().out
