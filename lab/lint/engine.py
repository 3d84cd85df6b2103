"""Lint Jenkinsfiles: Groovy syntax (one JVM for all files), then the offline rules."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lab import groovy
from lab import plugins as plugin_map
from lab.lint import casc, lexer, rules
from lab.lint.findings import ERROR, Finding, Report
from lab.lint.validator import Validator

SYNTAX_RULE = "groovy-syntax"


def discover(projects_dir: Path) -> list[Path]:
    """Every file named ``Jenkinsfile`` (or ``*.Jenkinsfile``/``Jenkinsfile.*``) under projects/."""
    if not projects_dir.is_dir():
        return []
    found = {
        p
        for p in projects_dir.rglob("*")
        if p.is_file()
        and (
            p.name == "Jenkinsfile"
            or p.name.endswith(".Jenkinsfile")
            or p.name.startswith("Jenkinsfile.")
        )
        and not any(part.startswith(".") for part in p.relative_to(projects_dir).parts)
    }
    return sorted(found)


def build_context(
    *, plugins_file: Path | None, casc_file: Path | None, display_root: Path | None = None
) -> rules.Context:
    def name(p: Path) -> str:
        return _display(p, display_root)

    return rules.Context(
        credential_ids=frozenset(casc.credential_ids(casc_file)) if casc_file else None,
        plugins=(
            frozenset(plugin_map.installed(plugin_map.read_plugins(plugins_file)))
            if plugins_file
            else None
        ),
        casc_name=name(casc_file) if casc_file else "the JCasC file",
        plugins_name=name(plugins_file) if plugins_file else "plugins.txt",
    )


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def lint(
    paths: Sequence[Path],
    ctx: rules.Context,
    *,
    display_root: Path | None = None,
    validator: Validator | None = None,
) -> Report:
    """Lint every file; unreadable files and syntax errors become findings, never tracebacks."""
    report = Report()
    readable: list[tuple[Path, str, str]] = []
    for path in paths:
        shown = _display(path, display_root)
        report.files.append(shown)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.findings.append(
                Finding(shown, 0, 0, "unreadable", ERROR, f"cannot read the file: {exc}")
            )
            continue
        readable.append((path, shown, text))

    reason = groovy.groovy_available()
    if reason is None:
        shown_of = {str(p): shown for p, shown, _ in readable}
        for problem in groovy.parse_files([p for p, _, _ in readable]):
            report.findings.append(
                Finding(
                    shown_of.get(problem.path, problem.path),
                    problem.line,
                    problem.column,
                    SYNTAX_RULE,
                    ERROR,
                    f"Groovy syntax error: {problem.message}",
                    "Jenkins rejects the whole file before any stage runs",
                )
            )
    else:
        report.notes.append(f"{SYNTAX_RULE} skipped: {reason} ({groovy.INSTALL_HINT})")
    if ctx.credential_ids is None:
        report.notes.append("unknown-credential skipped: no JCasC file given")
    if ctx.plugins is None:
        report.notes.append("missing-plugin skipped: no plugins.txt given")

    for path, shown, text in readable:
        report.findings.extend(rules.run_rules(shown, text, ctx))
        for script in _scripts(path, text):
            shown_script = _display(script, display_root)
            if shown_script in report.scripts:
                continue
            report.scripts.append(shown_script)
            try:
                body = script.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # not a text script: nothing for the shell rules to read
            report.findings.extend(rules.run_shell_rules(shown_script, body, ctx))
        if validator is not None:
            report.findings.extend(validator.validate(shown, text))
    return report


def _scripts(jenkinsfile: Path, text: str) -> list[Path]:
    """Scripts the Jenkinsfile's ``sh`` steps run that exist in its repository."""
    base = jenkinsfile.resolve().parent
    found: list[Path] = []
    for rel in rules.called_scripts(lexer.tokenize(text)):
        candidate = (base / rel).resolve()
        if candidate.is_file() and candidate.is_relative_to(base):
            found.append(candidate)
    return found
