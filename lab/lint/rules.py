"""The offline lint rules: what a production Jenkins only reports at run time, if at all.

Rule ids (stable, used in text and JSON output):

- ``unknown-credential`` (error): a credential id the lab's JCasC does not define.
- ``missing-plugin`` (error): a step, directive or agent type whose plugin is not in
  plugins.txt (Jenkins: "No such DSL method" / "Invalid agent type").
- ``dvc-removed`` (error): a DVC command or option that DVC 3 no longer has.
- ``token-in-url`` (error): credentials interpolated into a URL (they end up in
  .git/config, process lists and logs).
- ``git-add-all`` (warning): ``git add`` of the whole tree (``.``, ``*``, ``:/``, ``-A``...)
  or ``git commit -a`` commit whatever the build left in the workspace; commit back only
  named files.
- ``interpolated-secret`` (warning): a credential variable interpolated by Groovy in a
  double-quoted string; Jenkins warns "A secret was passed to ... using Groovy String
  interpolation, which is insecure" (https://www.jenkins.io/doc/book/pipeline/jenkinsfile/
  "Interpolation of sensitive environment variables").
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lab import plugins as plugin_map
from lab.lint import lexer
from lab.lint.findings import ERROR, WARNING, Finding

Token = lexer.Token


@dataclass(frozen=True)
class Context:
    """What the rules check against; ``None`` skips the rules that need it."""

    credential_ids: frozenset[str] | None = None
    plugins: frozenset[str] | None = None  # installed plugin ids (with dependencies)
    casc_name: str = "casc/jenkins.yaml"
    plugins_name: str = "casc/plugins.txt"


def _next(tokens: list[Token], i: int) -> Token | None:
    return tokens[i + 1] if i + 1 < len(tokens) else None


def _is(tok: Token | None, text: str) -> bool:
    return tok is not None and tok.kind == lexer.OP and tok.text == text


# ---- credentials ------------------------------------------------------------


def credential_uses(tokens: list[Token]) -> Iterator[tuple[str, Token]]:
    """Literal credential ids: ``credentialsId: 'X'``, ``credentials('X')``, ``sshagent(['X'])``."""
    for i, tok in enumerate(tokens):
        if tok.kind != lexer.IDENT:
            continue
        nxt = _next(tokens, i)
        if tok.text == "credentialsId" and _is(nxt, ":"):
            value = tokens[i + 2] if i + 2 < len(tokens) else None
            if lexer.literal(value) is not None:
                assert value is not None
                yield value.text, value
        elif tok.text == "credentials" and _is(nxt, "("):
            value = tokens[i + 2] if i + 2 < len(tokens) else None
            if lexer.literal(value) is not None and _is(_next(tokens, i + 2), ")"):
                assert value is not None
                yield value.text, value
        elif tok.text == "sshagent" and _is(nxt, "("):
            end = lexer.closing(tokens, i + 1)
            inside = tokens[i + 2 : end]
            in_list = False
            for t in inside:
                if _is(t, "["):
                    in_list = True
                elif _is(t, "]"):
                    in_list = False
                elif in_list and t.kind == lexer.STRING:
                    yield t.text, t


def check_credentials(path: str, tokens: list[Token], ctx: Context) -> list[Finding]:
    if ctx.credential_ids is None:
        return []
    known = ", ".join(sorted(ctx.credential_ids)) or "none"
    return [
        Finding(
            path,
            tok.line,
            tok.column,
            "unknown-credential",
            ERROR,
            f"credential id {cred!r} is not defined in {ctx.casc_name} (defined: {known})",
            f"use one of the lab's credentials or add {cred!r} under credentials: in "
            f"{ctx.casc_name}",
        )
        for cred, tok in credential_uses(tokens)
        if cred not in ctx.credential_ids
    ]


# ---- plugins ------------------------------------------------------------------


def check_plugins(path: str, tokens: list[Token], ctx: Context) -> list[Finding]:
    if ctx.plugins is None:
        return []
    findings: list[Finding] = []
    reported: set[tuple[str, str]] = set()
    for line, column, construct in plugin_map.constructs(tokens):
        for plugin in plugin_map.PROVIDERS[construct]:
            if plugin in ctx.plugins or (plugin, construct) in reported:
                continue
            reported.add((plugin, construct))
            findings.append(
                Finding(
                    path,
                    line,
                    column,
                    "missing-plugin",
                    ERROR,
                    f"`{construct}` needs the Jenkins plugin {plugin}, which "
                    f"{ctx.plugins_name} does not install",
                    f"add a pinned `{plugin}:VERSION` to {ctx.plugins_name} or avoid `{construct}`",
                )
            )
    return findings


# ---- shell commands inside strings --------------------------------------------


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=False)
    except ValueError:
        return command.split()


def _short_flag_has(word: str, letter: str) -> bool:
    return bool(re.fullmatch(r"-[A-Za-z]+", word)) and letter in word[1:]


@dataclass(frozen=True)
class DvcRule:
    """A DVC command or option that DVC 3 rejects; ``bad``/``fix`` are checked against the
    installed DVC's own argument parser by the tests."""

    applies: Callable[[list[str]], bool]  # on the words after `dvc`
    message: str
    hint: str
    bad: tuple[str, ...]
    fix: tuple[str, ...] = ()


def _starts(words: list[str], *prefix: str) -> bool:
    return words[: len(prefix)] == list(prefix)


DVC_RULES: tuple[DvcRule, ...] = (
    DvcRule(
        lambda w: _starts(w, "run"),
        "`dvc run` was removed in DVC 3.0",
        "declare the stage with `dvc stage add -n NAME -d ... -o ... CMD` (or in dvc.yaml) "
        "and run `dvc repro`",
        bad=("run -n train python train.py",),
        fix=("stage add -n train python train.py", "repro"),
    ),
    DvcRule(
        lambda w: _starts(w, "pipeline"),
        "`dvc pipeline` was removed (DVC 2.0)",
        "use `dvc dag`",
        bad=("pipeline show",),
        fix=("dag",),
    ),
    DvcRule(
        lambda w: (
            _starts(w, "repro") and any(x == "--metrics" or _short_flag_has(x, "m") for x in w[1:])
        ),
        "`dvc repro -m/--metrics` does not exist in DVC 3 (repro has no metrics option)",
        "run `dvc repro`, then `dvc metrics show --md` or `dvc metrics diff --md TARGET_REV`",
        bad=("repro -m", "repro -mP", "repro --metrics"),
        fix=("repro", "repro -P", "metrics show --md", "metrics diff --md main"),
    ),
    DvcRule(
        lambda w: "--show-md" in w,
        "`--show-md` was renamed `--md` (DVC 2.0); DVC 3 rejects it",
        "use `--md`, e.g. `dvc metrics diff --md TARGET_REV`",
        bad=("metrics diff --show-md main", "params diff --show-md", "diff --show-md"),
        fix=("metrics diff --md main", "params diff --md", "diff --md"),
    ),
    DvcRule(
        lambda w: "--show-json" in w,
        "`--show-json` was renamed `--json` (DVC 2.0); DVC 3 rejects it",
        "use `--json`",
        bad=("metrics show --show-json", "metrics diff --show-json"),
        fix=("metrics show --json", "metrics diff --json"),
    ),
    DvcRule(
        lambda w: _starts(w, "metrics") and len(w) > 1 and w[1] in ("add", "modify", "remove"),
        "`dvc metrics add/modify/remove` were removed (DVC 1.0)",
        "declare metrics files under `metrics:` in dvc.yaml",
        bad=("metrics add metrics.json", "metrics modify metrics.json"),
    ),
    DvcRule(
        lambda w: (
            _starts(w, "metrics", "show")
            and any(x in ("-x", "--xpath", "-t", "--type") for x in w[2:])
        ),
        "`dvc metrics show -x/--xpath/-t/--type` were removed (DVC 1.0)",
        "metrics files are structured (JSON/YAML/TOML): use `dvc metrics show --json` or `--md`",
        bad=("metrics show -x auc", "metrics show --type json"),
        fix=("metrics show --json",),
    ),
)

_DVC = re.compile(r"(?<![\w./-])dvc[ \t]+(?P<rest>(?:[^;&|)`\n\\]|\\\n|\\.)*)")
_GIT_OPTS = r"(?:-[cC][ \t]+(?:[^\s\"']|\"[^\"]*\"|'[^']*')+[ \t]+)*"
# A git command's arguments run to the end of the command; quoted words may hold ; & | ).
_GIT_ARGS = r"(?P<rest>(?:'[^'\n]*'|\"[^\"\n]*\"|[^;&|)`\n'\"])*)"
_GIT_ADD = re.compile(r"(?<![\w./-])git[ \t]+" + _GIT_OPTS + r"add\b" + _GIT_ARGS)
_GIT_COMMIT = re.compile(r"(?<![\w./-])git[ \t]+" + _GIT_OPTS + r"commit\b" + _GIT_ARGS)
_SEPARATORS = re.compile(r"[;&|(`{]")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")
_PREFIX_WORDS = {"then", "do", "else", "exec", "time", "!", "if", "while", "until", "env"}


def _is_command(text: str, start: int) -> bool:
    """The word at ``start`` is where a shell command starts (not an argument or a message)."""
    before = text[text.rfind("\n", 0, start) + 1 : start]
    words = _SEPARATORS.split(before)[-1].split()
    return all(w in _PREFIX_WORDS or _ASSIGNMENT.match(w) for w in words)


# scheme://USERINFO@ where the user info holds a shell or Groovy variable.
_URL_WITH_VAR = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?P<userinfo>[^\s/@'\"]*\$[^\s/@'\"]*)@")

# What git's option parser does with `git add`/`git commit` arguments, read in git's source
# (git/git, builtin/add.c, builtin/commit.c and parse-options.c at v2.39.5, Debian 12's git;
# the two option tables are unchanged in v2.47.3 and v2.49.1 but for --trailer's callback):
# - short options cluster (`-am`); an option that takes a value takes the rest of its cluster
#   (`-ma` is the message "a") or, if last, the next word (`-m -a` is the message "-a");
# - options and pathspecs mix in any order until `--`, after which every word is a pathspec.
# Long options given by a unique prefix (`--mess`) are not resolved: at worst a false warning.
# `git add`: -A/--all and --no-ignore-removal (builtin/add.c ignore_removal_cb) stage every
# change; so do pathspecs naming the whole tree: `.`, `./`, `*` (git's own glob, or the
# shell's), `:/` (the top of the tree), `:(top)`.
_ADD_ALL_PATHSPECS = {".", "./", "*", "./*", ":/", ":/*", ":(top)", ":(top)*"}
_ADD_ALL_LONG = {"--all", "--no-ignore-removal"}
_ADD_VALUE_LONG = {"--chmod", "--pathspec-from-file"}
_COMMIT_VALUE_SHORT = "mFcCt"  # --message, --file, --reedit-message, --reuse-message, --template
_COMMIT_OPTIONAL_SHORT = "Su"  # --gpg-sign[=key], --untracked-files[=mode]: value attached only
_COMMIT_VALUE_LONG = {
    "--message",
    "--file",
    "--author",
    "--date",
    "--reedit-message",
    "--reuse-message",
    "--fixup",
    "--squash",
    "--trailer",
    "--template",
    "--cleanup",
    "--pathspec-from-file",
}


def _string_tokens(tokens: list[Token]) -> Iterator[Token]:
    return (t for t in tokens if t.is_string)


def _at(
    path: str, tok: Token, offset: int, rule: str, severity: str, msg: str, hint: str
) -> Finding:
    line, column = tok.position_of(offset)
    return Finding(path, line, column, rule, severity, msg, hint)


def check_dvc(path: str, tokens: list[Token], ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    for tok in _string_tokens(tokens):
        for m in _DVC.finditer(tok.text):
            if not _is_command(tok.text, m.start()):
                continue
            words = _words(m.group("rest").replace("\\\n", " "))
            for rule in DVC_RULES:
                if rule.applies(words):
                    findings.append(
                        _at(path, tok, m.start(), "dvc-removed", ERROR, rule.message, rule.hint)
                    )
    return findings


def _git_args(
    words: list[str], value_short: str, optional_short: str, value_long: set[str]
) -> Iterator[tuple[str, str]]:
    """``(kind, text)`` for each argument as git's parse-options reads it: ``("short", "a")``
    per letter of a cluster, ``("long", "--all")``, ``("path", ".")``; values are left out."""
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            yield from (("path", w) for w in words[i:])
            return
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            yield "long", name
            if name in value_long and "=" not in word:
                i += 1  # the next word is its value
        elif word.startswith("-") and len(word) > 1:
            for j, letter in enumerate(word[1:], start=2):
                yield "short", letter
                if letter in value_short or letter in optional_short:
                    # the rest of the cluster is the value; a required one may be the next word
                    if j == len(word) and letter in value_short:
                        i += 1
                    break
        else:
            yield "path", word


def _commit_all(words: list[str]) -> bool:
    """``git commit`` arguments include ``-a``/``--all`` (alone or in a cluster like ``-am``),
    not as the value of another option (``-m -a``, ``-ma``) nor as a pathspec (``-- -a``)."""
    return any(
        arg in (("short", "a"), ("long", "--all"))
        for arg in _git_args(words, _COMMIT_VALUE_SHORT, _COMMIT_OPTIONAL_SHORT, _COMMIT_VALUE_LONG)
    )


def _add_all(words: list[str]) -> bool:
    """``git add`` arguments stage every change of the workspace (see _ADD_ALL_PATHSPECS)."""
    for kind, text in _git_args(words, "", "", _ADD_VALUE_LONG):
        if (
            (kind == "short" and text == "A")
            or (kind == "long" and text in _ADD_ALL_LONG)
            or (kind == "path" and text in _ADD_ALL_PATHSPECS)
        ):
            return True
    return False


def check_git_add_all(path: str, tokens: list[Token], ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    hint = "stage only what the pipeline produced, e.g. `git add dvc.lock metrics.json`"
    for tok in _string_tokens(tokens):
        for m in _GIT_ADD.finditer(tok.text):
            if not _is_command(tok.text, m.start()):
                continue
            words = _words(m.group("rest"))
            if _add_all(words):
                findings.append(
                    _at(
                        path,
                        tok,
                        m.start(),
                        "git-add-all",
                        WARNING,
                        f"`git add {' '.join(words)}` stages everything in the workspace "
                        "(build leftovers, caches, reports) for the commit-back",
                        hint,
                    )
                )
        for m in _GIT_COMMIT.finditer(tok.text):
            if _is_command(tok.text, m.start()) and _commit_all(_words(m.group("rest"))):
                findings.append(
                    _at(
                        path,
                        tok,
                        m.start(),
                        "git-add-all",
                        WARNING,
                        "`git commit -a/--all` commits every modified tracked file, not just "
                        "the pipeline's outputs",
                        hint + ", then `git commit -m ...` without -a",
                    )
                )
    return findings


def check_token_in_url(path: str, tokens: list[Token], ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    for tok in _string_tokens(tokens):
        for m in _URL_WITH_VAR.finditer(tok.text):
            findings.append(
                _at(
                    path,
                    tok,
                    m.start(),
                    "token-in-url",
                    ERROR,
                    f"credentials interpolated into a URL ({m.group('userinfo')}@): they are "
                    "stored in .git/config and shown in process lists and logs",
                    "authenticate git through a credential helper or GIT_ASKPASS reading the "
                    "token from the environment (withCredentials), never in the URL",
                )
            )
    return findings


# ---- Groovy interpolation of credentials ---------------------------------------

_BINDING_VARIABLES = {
    "usernameVariable",
    "passwordVariable",
    "variable",
    "keyFileVariable",
    "passphraseVariable",
    "aliasVariable",
    "keystoreVariable",
}


def secret_variables(tokens: list[Token]) -> set[str]:
    """Variables holding credentials: withCredentials bindings and ``X = credentials('id')``."""
    names: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok.kind != lexer.IDENT:
            continue
        nxt = _next(tokens, i)
        if tok.text in _BINDING_VARIABLES and _is(nxt, ":"):
            value = lexer.literal(tokens[i + 2] if i + 2 < len(tokens) else None)
            if value:
                names.add(value)
        elif (
            _is(nxt, "=")
            and i + 3 < len(tokens)
            and tokens[i + 2].text == "credentials"
            and _is(tokens[i + 3], "(")
        ):
            names.update({tok.text, f"{tok.text}_USR", f"{tok.text}_PSW"})
    return names


def check_interpolated_secrets(path: str, tokens: list[Token], ctx: Context) -> list[Finding]:
    secrets = secret_variables(tokens)
    if not secrets:
        return []
    findings: list[Finding] = []
    for tok in tokens:
        for interp in tok.interpolations:
            name = interp.expr.removeprefix("env.")
            if name in secrets:
                findings.append(
                    Finding(
                        path,
                        interp.line,
                        interp.column,
                        "interpolated-secret",
                        WARNING,
                        f"credential variable {name} is interpolated by Groovy in a "
                        "double-quoted string: its value leaks into the build log and "
                        "the step's arguments",
                        f"use a single-quoted string and let the shell expand it: '... ${name}'",
                    )
                )
    return findings


SHELL_RULES: tuple[Callable[[str, list[Token], Context], list[Finding]], ...] = (
    check_dvc,
    check_git_add_all,
    check_token_in_url,
)

_SCRIPT_CALL = re.compile(r"^\s*(?:(?:ba)?sh\s+)?(?P<path>(?:\./)?[\w.-]+(?:/[\w.-]+)*)(?:\s|$)")


def called_scripts(tokens: list[Token]) -> list[str]:
    """Relative paths of the scripts ``sh 'ci/step.sh ...'`` runs (first word, with a ``/``
    or a ``.sh`` suffix), in order of first use."""
    paths: list[str] = []
    for i, tok in lexer.calls(tokens):
        if tok.text != "sh" or i + 2 >= len(tokens):
            continue
        arg = tokens[i + 2] if _is(tokens[i + 1], "(") else tokens[i + 1]
        m = _SCRIPT_CALL.match(arg.text) if arg.kind == lexer.STRING else None
        path = m.group("path") if m else ""
        if ("/" in path or path.endswith(".sh")) and path not in paths:
            paths.append(path)
    return paths


def run_shell_rules(path: str, text: str, ctx: Context) -> list[Finding]:
    """The shell-command rules on a whole script file."""
    whole = Token(lexer.STRING, text, 1, 1, 1, 1)
    findings: list[Finding] = []
    for rule in SHELL_RULES:
        findings.extend(rule(path, [whole], ctx))
    return findings


RULES: tuple[Callable[[str, list[Token], Context], list[Finding]], ...] = (
    check_credentials,
    check_plugins,
    check_dvc,
    check_git_add_all,
    check_token_in_url,
    check_interpolated_secrets,
)


def run_rules(path: str, text: str, ctx: Context) -> list[Finding]:
    tokens = lexer.tokenize(text)
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(rule(path, tokens, ctx))
    return findings
