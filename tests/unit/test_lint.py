"""`lab lint` on fixture Jenkinsfiles: one file per problem class, a clean one, a syntax error."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import subprocess
from pathlib import Path

import pytest

from lab import groovy
from lab.cli import main
from lab.lint import engine, lexer, rules
from lab.lint.findings import Finding, Report

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jenkinsfiles"
PLUGINS = ROOT / "casc" / "plugins.txt"
CASC = ROOT / "casc" / "jenkins.yaml"

needs_groovy = pytest.mark.skipif(
    groovy.groovy_available() is not None, reason=f"Groovy: {groovy.groovy_available()}"
)


@pytest.fixture(scope="module")
def report() -> Report:
    ctx = engine.build_context(plugins_file=PLUGINS, casc_file=CASC)
    return engine.lint(sorted(FIXTURES.glob("*.Jenkinsfile")), ctx, display_root=FIXTURES)


def _found(report: Report, name: str) -> list[tuple[int, str, str]]:
    return sorted((f.line, f.rule, f.severity) for f in report.findings if f.path == name)


def test_clean_cd4ml_pipeline_has_no_findings(report: Report) -> None:
    assert _found(report, "clean.Jenkinsfile") == []
    assert "clean.Jenkinsfile" in report.files


@needs_groovy
def test_syntax_error_is_a_finding_with_its_line(report: Report) -> None:
    [finding] = [f for f in report.findings if f.path == "syntax-error.Jenkinsfile"]
    assert (finding.rule, finding.severity, finding.line) == ("groovy-syntax", "error", 10)
    assert "expecting '}'" in finding.message


def test_unknown_credentials(report: Report) -> None:
    findings = [f for f in report.findings if f.path == "unknown-credential.Jenkinsfile"]
    assert sorted((f.line, f.column, f.rule) for f in findings) == [
        (4, 32, "unknown-credential"),
        (9, 56, "unknown-credential"),
    ]
    assert (
        "'docker-hub-login'" in findings[0].message or "'docker-hub-login'" in findings[1].message
    )
    assert all("DVC_Remote_Creds, GIT_PAT" in f.message for f in findings)


def test_missing_plugins(report: Report) -> None:
    findings = [f for f in report.findings if f.path == "missing-plugin.Jenkinsfile"]
    assert sorted((f.line, f.rule) for f in findings) == [
        (4, "missing-plugin"),
        (9, "missing-plugin"),
        (12, "missing-plugin"),
    ]
    messages = " ".join(f.message for f in findings)
    for plugin in ("ansicolor", "lockable-resources", "htmlpublisher"):
        assert plugin in messages


def test_dvc_commands_removed_in_dvc3(report: Report) -> None:
    assert _found(report, "dvc-removed.Jenkinsfile") == [
        (6, "dvc-removed", "error"),  # dvc repro -m
        (9, "dvc-removed", "error"),  # --show-md, inside a multi-line string
        (11, "dvc-removed", "error"),  # dvc run
    ]


def test_git_add_all_in_commit_back(report: Report) -> None:
    assert _found(report, "git-add-all.Jenkinsfile") == [
        (6, "git-add-all", "warning"),
        (7, "git-add-all", "warning"),
    ]


def test_token_in_url(report: Report) -> None:
    [finding] = [f for f in report.findings if f.path == "token-in-url.Jenkinsfile"]
    assert (finding.line, finding.column, finding.rule, finding.severity) == (
        7,
        34,
        "token-in-url",
        "error",
    )


def test_secrets_interpolated_by_groovy(report: Report) -> None:
    findings = [f for f in report.findings if f.path == "interpolated-secret.Jenkinsfile"]
    # Line 11 escapes the dollars (\$GIT_TOKEN): the shell expands them, no warning.
    assert sorted((f.line, f.rule, f.severity) for f in findings) == [
        (9, "interpolated-secret", "warning"),
        (12, "interpolated-secret", "warning"),
    ]
    assert {"DVC_REMOTE_PSW", "GIT_TOKEN"} == {f.message.split()[2] for f in findings}


# ---- rules on snippets ----------------------------------------------------------


def _rules(text: str) -> list[tuple[int, str]]:
    ctx = rules.Context(credential_ids=frozenset({"GIT_PAT"}), plugins=None)
    return sorted((f.line, f.rule) for f in rules.run_rules("J", text, ctx))


@pytest.mark.parametrize(
    "shell",
    [
        "git commit -m 'Update dvc.lock' -a",
        "git commit --all -m x",
        "git add -A",
        "git add --all && git commit -m x",
        "cd repo; git add . ; git commit -m x",
        "git add *",
        "git add :/",
        "git add ./",
        "git add -- .",
        "git add -vA",
        "git add --no-ignore-removal",
        "git commit -vam x",
        "git commit -m 'step 1; step 2 (of 3)' -a",  # ; and ) inside quotes end nothing
        "git add ':(top)' dvc.lock",
    ],
)
def test_git_add_all_variants(shell: str) -> None:
    assert (1, "git-add-all") in _rules(f"sh '''{shell}'''\n")


@pytest.mark.parametrize(
    "text",
    [
        "sh 'git add dvc.lock metrics.json && git commit -m \"add -a flag docs\"'\n",
        "sh 'git commit --amend --no-edit'\n",
        "// sh 'git add .'\n",
        "sh 'dvc repro -P && dvc metrics diff --md main && dvc metrics show -T'\n",
        "sh 'git push https://gitea:3000/cd4ml/demo.git'\n",
        "sh 'aws s3 ls s3://cd4ml-dvc/'\n",
    ],
)
def test_fine_commands_are_not_flagged(text: str) -> None:
    assert _rules(text) == []


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ('git commit -m "results of dvc repro -m"', []),
        ("echo 'then git add . by hand'", []),
        ('git -c user.name="Lab Bot" -c user.email=b@x commit -am "x"', [(1, "git-add-all")]),
        ("if true; then dvc run -n x cmd; fi", [(1, "dvc-removed")]),
        ('AWS_PROFILE=lab dvc metrics diff --show-md "$T"', [(1, "dvc-removed")]),
        ("out=$(dvc repro --metrics)", [(1, "dvc-removed")]),
    ],
)
def test_only_commands_are_checked_not_their_arguments(
    shell: str, expected: list[tuple[int, str]]
) -> None:
    assert _rules(f"sh '''{shell}'''\n") == expected


# Arguments of `git commit`, read by git itself (`git commit --dry-run` exits 0 when
# something would be committed: here only a modified tracked file, so only with -a) and by
# the rule. The value-taking options decide: `-m -a` and `-ma` are messages, `-- -a` a path.
COMMIT_ARGS = [
    "-am x",
    "-m x -a",
    "-vam x",
    "--all -m x",
    "-m -a",
    "-ma",
    "-m-a",
    "--message -a",
    "--message=-a",
    "-F -a",
    "-t -a -m x",
    "-t -a -a -m x",
    "-C HEAD -a",
    "-c HEAD -a",
    "-CHEAD",
    "--fixup HEAD",
    "--fixup HEAD -a",
    "--squash HEAD -am x",
    "--trailer -a -m x",
    "--author A<a@x.invalid> -m x",
    "--author A<a@x.invalid> -am x",
    "-u -a -m x",
    "-m x -- -a",
]


@pytest.fixture(scope="module")
def git_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with a modified tracked file, a tracked file named `-a`, nothing staged,
    and an untracked stray file."""
    repo = tmp_path_factory.mktemp("lint-git")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=30)

    git("init", "-q")
    (repo / "tracked.txt").write_text("1\n")
    (repo / "-a").write_text("a message file, a template and a path named -a\n")
    git("add", "--", "tracked.txt", "-a")
    git("commit", "-q", "-m", "base")
    (repo / "tracked.txt").write_text("2\n")
    (repo / "stray.log").write_text("left by the build\n")
    (repo / "dvc.lock").write_text("schema: '2.0'\n")
    return repo


def _git_dry_run(repo: Path, command: str, args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", command, "--dry-run", *shlex.split(args)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _quoted(args: str) -> str:
    """The arguments as a shell script passes them (`':(top)'` must be quoted there)."""
    return shlex.join(shlex.split(args))


@pytest.mark.parametrize("args", COMMIT_ARGS)
def test_commit_all_reads_arguments_as_git_does(git_repo: Path, args: str) -> None:
    proc = _git_dry_run(git_repo, "commit", args)
    assert proc.returncode in (0, 1), proc.stderr  # 1: nothing would be committed
    git_commits_all = proc.returncode == 0
    assert rules._commit_all(shlex.split(args)) is git_commits_all
    flagged = (1, "git-add-all") in _rules(f'sh """git commit {_quoted(args)}"""\n')
    assert flagged is git_commits_all


# Arguments of `git add`: git stages the untracked stray file, or only the named output.
ADD_ARGS = [
    ".",
    "./",
    "*",
    "./*",
    ":/",
    ":/*",
    ":(top)",
    ":(top)*",
    "-A",
    "--all",
    "-vA",
    "--no-ignore-removal",
    "-- .",
]
ADD_NAMED = ["dvc.lock", "-- dvc.lock", "--chmod=+x dvc.lock", "--chmod +x dvc.lock", "-v dvc.lock"]


@pytest.mark.parametrize("args", ADD_ARGS + ADD_NAMED)
def test_add_all_reads_arguments_as_git_does(git_repo: Path, args: str) -> None:
    proc = _git_dry_run(git_repo, "add", args)
    assert proc.returncode == 0, proc.stderr
    git_stages_stray = "add 'stray.log'" in proc.stdout
    assert git_stages_stray is (args in ADD_ARGS), proc.stdout
    flagged = (1, "git-add-all") in _rules(f'sh """git add {_quoted(args)}"""\n')
    assert flagged is git_stages_stray


def test_scripts_run_by_sh_steps_are_checked(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "commit_back.sh").write_text(
        "#!/bin/sh\nset -e\n# commit everything\ngit add -A\ngit commit -m 'dvc repro -m'\n"
    )
    (tmp_path / "ci" / "notes.txt").write_text("dvc run -n x\n")  # not run by the pipeline
    jf = tmp_path / "Jenkinsfile"
    jf.write_text(
        "pipeline {\n  agent any\n  stages { stage('x') { steps {\n"
        "    sh 'ci/commit_back.sh --all'\n    sh(script: './ci/commit_back.sh')\n"
        "    sh '../outside.sh'\n  } } }\n}\n"
    )
    (tmp_path.parent / "outside.sh").write_text("dvc run -n x\n")
    ctx = rules.Context()
    result = engine.lint([jf], ctx, display_root=tmp_path)
    assert result.scripts == ["ci/commit_back.sh"]
    assert [(f.path, f.line, f.column, f.rule) for f in result.findings] == [
        ("ci/commit_back.sh", 4, 1, "git-add-all")
    ]


def test_token_in_groovy_interpolated_url() -> None:
    text = 'sh "git push https://${env.GIT_PAT}@gitea:3000/cd4ml/demo.git"\n'
    assert _rules(text) == [(1, "token-in-url")]


def test_sshagent_and_environment_credentials() -> None:
    text = "sshagent(['deploy-key']) {\n  sh 'x'\n}\nX = credentials('GIT_PAT')\n"
    assert _rules(text) == [(1, "unknown-credential")]


def test_lexer_positions_in_multiline_strings() -> None:
    [tok] = [t for t in lexer.tokenize("x = '''\n  abc\n  dvc run'''\n") if t.is_string]
    assert tok.position_of(tok.text.index("dvc")) == (3, 3)
    [g] = [t for t in lexer.tokenize('echo "a \\$NOT ${YES} $also.this"') if t.is_string]
    assert [i.expr for i in g.interpolations] == ["YES", "also.this"]


@pytest.mark.parametrize("rule", rules.DVC_RULES, ids=lambda r: r.message[:40])
def test_dvc_rules_match_dvc3_argument_parser(rule: rules.DvcRule) -> None:
    """Every `bad` example is rejected by the installed DVC and caught by the rule; every
    suggested fix is accepted by DVC and passes the rule."""
    parser_mod = pytest.importorskip("dvc.cli.parser")
    from dvc.cli import DvcParserError

    parser = parser_mod.get_main_parser()

    def dvc_accepts(command: str) -> bool:
        """False only for a usage error: DvcParser.error raises DvcParserError (dvc/cli/
        parser.py, _find_parser, read in the pinned DVC 3.67.1); any other exception is a
        crash and fails the test."""
        out = io.StringIO()
        try:
            with contextlib.redirect_stderr(out), contextlib.redirect_stdout(out):
                parser.parse_args(shlex.split(command))
        except DvcParserError:
            return False
        return True

    for bad in rule.bad:
        assert not dvc_accepts(bad), f"DVC 3 accepts `dvc {bad}`"
        assert rule.applies(shlex.split(bad))
    for fix in rule.fix:
        assert dvc_accepts(fix), f"DVC 3 rejects the suggested `dvc {fix}`"
        assert not any(r.applies(shlex.split(fix)) for r in rules.DVC_RULES)


# ---- output formats and the CLI -------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_text_output_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["lint", str(FIXTURES / "clean.Jenkinsfile")], capsys)
    assert code == 0
    assert "1 file(s) and 0 script(s) checked: 0 error(s), 0 warning(s)" in out

    code, out, _ = _cli(["lint", str(FIXTURES / "dvc-removed.Jenkinsfile")], capsys)
    assert code == 1
    assert "dvc-removed.Jenkinsfile:6:21: error[dvc-removed] `dvc repro -m" in out
    assert "(hint: run `dvc repro`" in out

    # Warnings alone pass, unless --strict.
    warn = str(FIXTURES / "git-add-all.Jenkinsfile")
    assert _cli(["lint", warn], capsys)[0] == 0
    assert _cli(["lint", "--strict", warn], capsys)[0] == 1


def test_cli_json_is_stable_and_complete(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(FIXTURES / "token-in-url.Jenkinsfile"), str(FIXTURES / "git-add-all.Jenkinsfile")]
    code, out, _ = _cli(["lint", "--format", "json", *files], capsys)
    doc = json.loads(out)
    assert code == 1
    assert doc["version"] == 1
    assert doc["summary"] == {"errors": 1, "warnings": 2}
    assert [f["rule"] for f in doc["findings"]] == ["git-add-all", "git-add-all", "token-in-url"]
    assert set(doc["findings"][0]) == {
        "path",
        "line",
        "column",
        "rule",
        "severity",
        "message",
        "hint",
    }
    # Same input, same bytes.
    assert _cli(["lint", "--format", "json", *reversed(files)], capsys)[1] == out


@needs_groovy
def test_cli_syntax_error_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["lint", str(FIXTURES / "syntax-error.Jenkinsfile")], capsys)
    assert code == 1
    assert "syntax-error.Jenkinsfile:10:1: error[groovy-syntax]" in out
    assert "Traceback" not in out + err


def test_cli_bad_inputs_are_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(["lint", str(tmp_path / "Jenkinsfile")], capsys)
    assert code == 2
    assert "Jenkinsfile: no such file" in err
    jf = tmp_path / "Jenkinsfile"
    jf.write_text("pipeline { agent any }\n")
    bad = tmp_path / "plugins.txt"
    bad.write_text("git\n")
    code, _, err = _cli(["lint", "--plugins", str(bad), str(jf)], capsys)
    assert code == 2
    assert f"{bad}:1: 'git' is not pinned" in err


def test_default_lints_the_lab_projects(capsys: pytest.CaptureFixture[str]) -> None:
    """Without paths, every Jenkinsfile under projects/ is checked: the shipped ones pass."""
    shipped = engine.discover(ROOT / "projects")
    assert shipped, f"no Jenkinsfile under {ROOT / 'projects'}"
    code, out, _ = _cli(["lint", "--format", "json"], capsys)
    doc = json.loads(out)
    assert len(doc["files"]) == len(shipped)
    assert any(s.endswith(".sh") for s in doc["scripts"])  # the ci/ step scripts, read too
    assert doc["findings"] == []
    assert code == 0


def test_finding_text_without_column() -> None:
    f = Finding("J", 3, 0, "jenkins-validate", "error", "boom", "")
    assert f.text() == "J:3: error[jenkins-validate] boom"
