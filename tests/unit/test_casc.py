"""casc/: JCasC (jenkins.yaml), plugins.txt, the image's Dockerfile and check-env.sh.

No public JSON schema for JCasC is usable offline, so jenkins.yaml is checked
structurally and against what feeds it: the jenkins service's environment in compose,
the secret keys of lab/secrets.py, the entrypoint's checks and the shipped Jenkinsfiles.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.config import GITEA_INTERNAL_URL, MINIO_INTERNAL_URL, LabConfig
from lab.jenkinsenv import (
    collisions,
    compose_variables,
    controller_env,
    global_build_vars,
    symbolic_collisions,
)
from lab.plugins import required_plugins
from lab.secrets import ALL_KEYS, PUBLIC_KEYS

ROOT = Path(__file__).resolve().parents[2]
CASC = ROOT / "casc"
JCASC_FILE = CASC / "jenkins.yaml"
PLUGINS_FILE = CASC / "plugins.txt"
DOCKERFILE = CASC / "Dockerfile"
CHECK_ENV = CASC / "check-env.sh"
COMPOSE_FILE = ROOT / "compose" / "docker-compose.yml"
SEED_SCRIPT = ROOT / "seed-jobs" / "projects.groovy"
DSL_RECORDER = Path(__file__).resolve().parent / "fixtures" / "stack" / "dsl_recorder.groovy"
JAVA_HOME_DEBIAN = Path("/usr/lib/jvm/java-17-openjdk-amd64")

KNOWN_SECTIONS = {"jenkins", "security", "credentials", "unclassified", "jobs", "tool"}
# ${NAME}, ${NAME:-default}; `^${...}` is a JCasC literal.
JCASC_VAR = re.compile(r"(?<!\^)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
PLUGIN_LINE = re.compile(r"(?P<id>[a-z0-9][a-z0-9._-]*):(?P<version>[A-Za-z0-9][A-Za-z0-9._+-]*)")
# Plugins the lab's stack itself needs, whatever the Jenkinsfiles say.
STACK_PLUGINS = {
    "configuration-as-code",
    "job-dsl",
    "gitea",
    "workflow-aggregator",
    "workflow-multibranch",
    "pipeline-model-definition",
    "branch-api",
    "cloudbees-folder",
    "git",
    "credentials",
    "credentials-binding",
    "docker-workflow",
    "pipeline-utility-steps",
    "timestamper",
}


@pytest.fixture(scope="module")
def jcasc() -> dict[str, Any]:
    data = yaml.safe_load(JCASC_FILE.read_text())
    assert isinstance(data, dict)
    return data


def scalars(node: Any) -> list[str]:
    """Every string value of a loaded YAML document (comments are not configuration)."""
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in scalars(key) + scalars(value)]
    if isinstance(node, list):
        return [s for item in node for s in scalars(item)]
    return [node] if isinstance(node, str) else []


def jcasc_vars() -> dict[str, bool]:
    """Variable name -> has a default, for every ${...} JCasC resolves in jenkins.yaml."""
    found: dict[str, bool] = {}
    for value in scalars(yaml.safe_load(JCASC_FILE.read_text())):
        for m in JCASC_VAR.finditer(value):
            found[m.group(1)] = found.get(m.group(1), False) or bool(m.group(2))
    return found


def jenkins_environment() -> dict[str, str]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    env = compose["services"]["jenkins"]["environment"]
    return {k: str(v) for k, v in env.items()}


def bash_array(name: str) -> list[str]:
    m = re.search(rf"^{name}=\(([^)]*)\)", CHECK_ENV.read_text(), re.MULTILINE)
    assert m, f"{CHECK_ENV}: no `{name}=(...)` list"
    return m.group(1).split()


def credentials(jcasc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = {}
    for domain in jcasc["credentials"]["system"]["domainCredentials"]:
        for entry in domain["credentials"]:
            ((kind, body),) = entry.items()
            result[body["id"]] = {"kind": kind, **body}
    return result


def global_env(jcasc: dict[str, Any]) -> dict[str, str]:
    return {
        e["key"]: e["value"]
        for prop in jcasc["jenkins"]["globalNodeProperties"]
        for e in prop.get("envVars", {}).get("env", [])
    }


def plugins() -> list[tuple[str, str]]:
    pins = []
    for lineno, raw in enumerate(PLUGINS_FILE.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = PLUGIN_LINE.fullmatch(line)
        assert m, f"{PLUGINS_FILE}:{lineno}: expected `id:version`, got {line!r}"
        pins.append((m["id"], m["version"]))
    return pins


def jenkinsfiles() -> list[Path]:
    files = sorted((ROOT / "projects").glob("*/Jenkinsfile"))
    assert files, "no projects/*/Jenkinsfile: nothing to check against JCasC"
    return files


def dockerfile_env() -> dict[str, str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r'([A-Z_]+)=("[^"]*"|\S+)', line):
                env[key] = value.strip('"')
    return env


def dockerfile_copies() -> dict[str, tuple[str | None, str]]:
    """Destination -> (--from context or None, source) for each COPY."""
    copies = {}
    for m in re.finditer(r"^COPY\s+(.*)$", DOCKERFILE.read_text(), re.MULTILINE):
        parts = m.group(1).split()
        origin = next((p.split("=", 1)[1] for p in parts if p.startswith("--from=")), None)
        args = [p for p in parts if not p.startswith("--")]
        copies[args[-1]] = (origin, args[0])
    return copies


# ---- jenkins.yaml structure ------------------------------------------------------------


def test_jcasc_has_only_known_sections_and_is_locked_down(jcasc: dict[str, Any]) -> None:
    assert set(jcasc) <= KNOWN_SECTIONS, f"unknown top-level sections {set(jcasc) - KNOWN_SECTIONS}"
    jenkins = jcasc["jenkins"]
    assert jenkins["authorizationStrategy"] == {
        "loggedInUsersCanDoAnything": {"allowAnonymousRead": False}
    }
    assert jenkins["crumbIssuer"], "CSRF protection must stay on"
    realm = jenkins["securityRealm"]["local"]
    assert realm["allowsSignup"] is False
    (admin,) = realm["users"]
    assert admin["id"] == "${JENKINS_ADMIN_USER}"
    assert admin["password"] == "${JENKINS_ADMIN_PASSWORD}"
    assert jenkins["numExecutors"] == 2
    assert jcasc["security"]["globalJobDslSecurityConfiguration"] == {"useScriptSecurity": False}


def test_docs_promise_no_isolation_while_builds_run_on_the_controller(
    jcasc: dict[str, Any],
) -> None:
    """Build steps on the built-in node run as the jenkins user, who reads $SECRETS and
    jenkins_home: the docs must say Jenkinsfiles are trusted, not that builds are kept
    from the secrets."""
    if jcasc["jenkins"]["numExecutors"] == 0:
        pytest.skip("no executor on the controller")
    readme = (ROOT / "compose" / "README.md").read_text()
    assert "## Builds run on the controller: Jenkinsfiles are trusted code" in readme
    for path in (ROOT / "compose" / "README.md", CHECK_ENV, ROOT / "README.md"):
        text = " ".join(path.read_text().split()).lower()
        for promise in ("do not inherit them", "builds cannot read", "isolated from jenkins"):
            assert promise not in text, f"{path.relative_to(ROOT)} promises: {promise!r}"


def test_every_jcasc_variable_is_provided_by_compose() -> None:
    provided = jenkins_environment()
    missing = set(jcasc_vars()) - set(provided) - set(dockerfile_env())
    assert not missing, f"casc/jenkins.yaml uses {missing}; the jenkins service does not set them"


def test_jcasc_variables_are_lab_settings_or_secret_keys() -> None:
    lab_vars = set(LabConfig.load(root=ROOT, env={}).compose_env())
    provided = jenkins_environment()
    for name in set(jcasc_vars()) - set(dockerfile_env()):
        sources = compose_variables(provided[name])
        assert sources and sources <= lab_vars | set(ALL_KEYS), (
            f"{name}: the jenkins service sets it from {sources or 'a literal'}, "
            "neither LAB_* config nor a secret"
        )


def test_no_global_build_variable_equals_the_controllers_own() -> None:
    """docker-workflow (WithContainerStep, tag 634.vedc7242b_eda_7, l.133-135 and
    l.293-294) leaves out of `agent { dockerfile }` containers every variable equal in
    name and value to the node's environment (the controller's, on the built-in node).
    Symbolically (same literal, or the same compose variable on both sides), then with
    the values of a default lab and of one with every LAB_* setting changed."""
    assert symbolic_collisions(ROOT) == []
    changed = {
        "LAB_ORG": "acme",
        "LAB_DVC_BUCKET": "acme-dvc",
        "LAB_BOT_EMAIL": "bot@acme.invalid",
        "LAB_GITEA_PORT": "3300",
        "LAB_JENKINS_PORT": "8880",
    }
    for overrides in ({}, changed):
        host = LabConfig.load(root=ROOT, env=overrides).compose_env() | {"GITEA_BOT_USER": "b"}
        node = controller_env(host, ROOT)
        assert collisions(global_build_vars(node, ROOT), node) == [], overrides


def test_the_collision_check_sees_a_build_variable_set_like_the_controllers(
    stack_config_with_collision: Path,
) -> None:
    """The configuration that broke commit-back: LAB_BOT_EMAIL set the same way in the
    jenkins service and as a global build variable."""
    tmp_path = stack_config_with_collision
    assert symbolic_collisions(tmp_path) == ["LAB_BOT_EMAIL"]
    host = LabConfig.load(root=ROOT, env={}).compose_env()
    node = controller_env(host, tmp_path)
    assert collisions(global_build_vars(node, tmp_path), node) == ["LAB_BOT_EMAIL"]


def test_variables_without_default_are_checked_by_the_entrypoint() -> None:
    """JCasC turns an unset variable into "" silently: the image must refuse instead."""
    required, secret = set(bash_array("required")), set(bash_array("secret"))
    no_default = {name for name, has_default in jcasc_vars().items() if not has_default}
    assert no_default <= required, f"not checked by check-env.sh: {no_default - required}"
    secret_keys_used = {name for name in jcasc_vars() if name in ALL_KEYS} - PUBLIC_KEYS
    # ...and those check-env.sh writes into the secret files of `file` credentials.
    secret_keys_used |= set(secret_file_inputs()) - PUBLIC_KEYS
    assert secret_keys_used == secret, "secret JCasC inputs must leave the environment"
    # compose hands Jenkins exactly what the entrypoint checks.
    assert set(jenkins_environment()) & set(ALL_KEYS) == required


def test_credentials_come_from_secrets_never_literals(jcasc: dict[str, Any]) -> None:
    creds = credentials(jcasc)
    assert creds["DVC_Remote_Creds"]["username"] == "${DVC_ACCESS_KEY}"
    assert creds["DVC_Remote_Creds"]["password"] == "${DVC_SECRET_KEY}"
    assert creds["GIT_PAT"]["username"] == "${GITEA_BOT_USER}"
    assert creds["GIT_PAT"]["password"] == "${GITEA_BOT_TOKEN}"
    for cred_id, body in creds.items():
        if body["kind"] in ("file", "x509ClientCert"):
            continue  # test_file_credentials_..., test_docker_cloud_...
        assert body["kind"] == "usernamePassword", cred_id
        for field in ("username", "password"):
            assert JCASC_VAR.fullmatch(body[field]), f"{cred_id}.{field} is a literal"


def secret_file_inputs() -> dict[str, str]:
    """{variable used by check-env.sh in a file it writes into $SECRETS: file name}, as
    pairs `"$NAME" ... >"$secrets_dir/FILE"` of its printf lines."""
    text = CHECK_ENV.read_text().replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        target = re.search(r'>"\$secrets_dir/([\w.-]+)"', line)
        if target and "printf" in line:
            for name in re.findall(r'"\$(\w+)"', line):
                found[name] = target.group(1)
    return found


def test_file_credentials_read_the_files_check_env_writes(jcasc: dict[str, Any]) -> None:
    """plain-credentials 199.v9f8e1f741799 FileCredentialsImpl (symbol `file`): fileName
    and base64 secretBytes; JCasC 2117's readFileBase64 lookup reads the file."""
    creds = {k: v for k, v in credentials(jcasc).items() if v["kind"] == "file"}
    assert set(creds) == {"pip-conf", "s3-credentials"}
    secrets_dir = dockerfile_env()["SECRETS"]
    written = set(secret_file_inputs().values())
    for cred_id, body in creds.items():
        assert body["scope"] == "GLOBAL" and body["fileName"], cred_id
        match = re.fullmatch(r"\$\{readFileBase64:(.+)/([\w.-]+)\}", body["secretBytes"])
        assert match, f"{cred_id}.secretBytes must be read from a secret file"
        assert match.group(1) == secrets_dir, f"{cred_id}: not under $SECRETS"
        assert match.group(2) in written, f"{cred_id}: check-env.sh never writes {match.group(2)}"
    assert {"PYPI_USER", "PYPI_PASSWORD", "DVC_ACCESS_KEY", "DVC_SECRET_KEY"} <= set(
        secret_file_inputs()
    )


def test_entrypoint_writes_the_secret_files_0600(tmp_path: Path) -> None:
    values = all_required()
    proc, _ = run_check_env(tmp_path, **values)
    assert proc.returncode == 0, proc.stderr
    pip_conf = tmp_path / "secrets" / "pip.conf"
    s3 = tmp_path / "secrets" / "s3-credentials"
    assert pip_conf.read_text().splitlines()[:2] == [
        "[global]",
        f"index-url = http://{values['PYPI_USER']}:{values['PYPI_PASSWORD']}@pypi:8080/simple/",
    ]
    assert s3.read_text() == (
        "[default]\n"
        f"aws_access_key_id = {values['DVC_ACCESS_KEY']}\n"
        f"aws_secret_access_key = {values['DVC_SECRET_KEY']}\n"
    )
    for path in (pip_conf, s3):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_gitea_server_clones_in_network_and_matches_browser_urls(jcasc: dict[str, Any]) -> None:
    (server,) = jcasc["unclassified"]["giteaServers"]["servers"]
    assert server["serverUrl"] == GITEA_INTERNAL_URL
    assert server["manageHooks"] is False
    # aliasUrl must be Gitea's ROOT_URL (webhook html_url), i.e. from the same variable.
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    root_url = compose["services"]["gitea"]["environment"]["GITEA__server__ROOT_URL"]
    alias_var = JCASC_VAR.fullmatch(server["aliasUrl"]).group(1)
    assert compose_variables(jenkins_environment()[alias_var]) == compose_variables(root_url)
    location_var = JCASC_VAR.fullmatch(jcasc["unclassified"]["location"]["url"]).group(1)
    assert compose_variables(jenkins_environment()[location_var]) == {"LAB_JENKINS_PUBLIC_URL"}


def test_pipelines_get_in_network_urls_and_the_bot_identity(jcasc: dict[str, Any]) -> None:
    env = global_env(jcasc)
    assert env["GITEA_URL"] == GITEA_INTERNAL_URL
    assert env["DVC_S3_ENDPOINT"] == MINIO_INTERNAL_URL
    assert env["LAB_BOT_USER"] == "${GITEA_BOT_USER}"
    assert env["LAB_BOT_EMAIL"].startswith("${CASC_LAB_BOT_EMAIL")


def test_credentials_used_by_jenkinsfiles_exist(jcasc: dict[str, Any]) -> None:
    ids = set(credentials(jcasc))
    for path in jenkinsfiles():
        text = path.read_text()
        used = set(re.findall(r"credentialsId\s*:\s*['\"]([^'\"]+)['\"]", text))
        used |= set(re.findall(r"\bcredentials\(\s*['\"]([^'\"]+)['\"]\s*\)", text))
        assert used <= ids, f"{path.relative_to(ROOT)} uses undefined credentials {used - ids}"


# ---- the seed job made by JCasC --------------------------------------------------------


def test_jcasc_seed_script_has_nothing_for_jcasc_to_substitute(jcasc: dict[str, Any]) -> None:
    (entry,) = jcasc["jobs"]
    script = entry["script"]
    assert "${" not in script, "JCasC would replace ${...} in an inline Job DSL script"
    assert "LAB_SEED_SCRIPT" in script
    assert "removeAction('DELETE')" in script


def seed_job_name() -> str:
    """SEED_JOB of lab/up.py (read, not imported: `lab up` triggers the job by this name)."""
    tree = ast.parse((ROOT / "lab" / "up.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "SEED_JOB" for t in node.targets
        ):
            assert isinstance(node.value, ast.Constant)
            return str(node.value.value)
    raise AssertionError("lab/up.py defines no SEED_JOB")


def test_jcasc_seed_script_creates_the_folder_and_lab_seed(
    jcasc: dict[str, Any], tmp_path: Path
) -> None:
    groovy = shutil.which("groovy")
    if groovy is None:
        pytest.skip("the `groovy` command is not installed (Debian/Ubuntu: apt-get install groovy)")
    script = tmp_path / "jcasc-jobs.groovy"
    script.write_text(jcasc["jobs"][0]["script"])
    cases = tmp_path / "cases.json"
    cases.write_text(
        json.dumps(
            [
                {
                    "name": "jcasc",
                    "vars": {
                        "CASC_LAB_ORG": controller_env(
                            LabConfig.load(root=ROOT, env={"LAB_ORG": "acme"}).compose_env(), ROOT
                        )["CASC_LAB_ORG"],
                        "LAB_SEED_SCRIPT": str(SEED_SCRIPT),
                    },
                }
            ]
        )
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    if os.environ.get("JAVA_HOME") or JAVA_HOME_DEBIAN.is_dir():
        env["JAVA_HOME"] = os.environ.get("JAVA_HOME") or str(JAVA_HOME_DEBIAN)
    proc = subprocess.run(
        [groovy, str(DSL_RECORDER), "run", str(script), str(cases)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["error"] is None, result["error"]
    calls = {c["name"]: c for c in result["calls"]}
    assert calls["folder"]["args"] == ["acme"]
    seed = calls["freeStyleJob"]
    assert seed["args"] == [seed_job_name()]
    (steps,) = [c for c in seed["children"] if c["name"] == "steps"]
    (dsl,) = steps["children"]
    text = {c["name"]: c["args"] for c in dsl["children"]}
    assert text["text"] == [SEED_SCRIPT.read_text()], "lab-seed must embed the seed script"


# ---- plugins.txt -----------------------------------------------------------------------


def required_by_jenkinsfiles() -> set[str]:
    needed: set[str] = set()
    for path in jenkinsfiles():
        needed |= set(required_plugins(path.read_text()))
    return needed


def test_plugins_are_pinned_once_each() -> None:
    pins = plugins()
    ids = [plugin_id for plugin_id, _ in pins]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"pinned more than once: {duplicates}"
    for plugin_id, version in pins:
        assert version.lower() not in {"latest", "experimental"}, plugin_id
        assert re.search(r"\d", version), f"{plugin_id}:{version} is not a version"


def test_plugins_cover_the_stack_and_the_jenkinsfiles() -> None:
    ids = {plugin_id for plugin_id, _ in plugins()}
    assert ids >= STACK_PLUGINS, f"missing stack plugins {STACK_PLUGINS - ids}"
    needed = required_by_jenkinsfiles()
    assert needed, "found no plugin use in the Jenkinsfiles: is the mapping broken?"
    assert needed <= ids, f"Jenkinsfiles need unpinned plugins {needed - ids}"


# ---- the image -------------------------------------------------------------------------


def test_image_is_built_from_the_pinned_core_and_the_files_it_configures() -> None:
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert "jenkins/jenkins:2.568.2-lts-jdk21" in froms
    env, copies = dockerfile_env(), dockerfile_copies()
    assert copies[env["CASC_JENKINS_CONFIG"]] == (None, "jenkins.yaml")
    assert copies[env["LAB_SEED_SCRIPT"]] == ("seed-jobs", "projects.groovy")
    assert "runSetupWizard=false" in env["JAVA_OPTS"]
    assert re.search(
        r"jenkins-plugin-cli\b.*--plugin-file\s+\S*plugins\.txt", text.replace("\\\n", " ")
    )
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    build = compose["services"]["jenkins"]["build"]
    assert (COMPOSE_FILE.parent / build["context"]).resolve() == CASC
    assert (COMPOSE_FILE.parent / build["additional_contexts"]["seed-jobs"]).resolve() == (
        SEED_SCRIPT.parent
    )
    # The CLI copied into the image matches the engine it talks to.
    cli = next(f for f in froms if f.startswith("docker:"))
    engine = compose["services"]["docker"]["image"]
    assert cli.split(":")[1].split("-")[0] == engine.split(":")[1].split("-")[0]
    assert re.search(r'ENTRYPOINT \["/usr/bin/tini", "--", "/usr/local/bin/check-env.sh"\]', text)


def test_the_images_plugins_override_those_of_an_existing_jenkins_home() -> None:
    """jenkinsci/docker tag 2.568.2, jenkins-support copy_reference_file: a reference
    plugin replaces the installed one only when missing or newer, unless its file name
    ends in .override. The plugin CLI's download directory is $REF/plugins and every .jpi
    there is renamed, in the same RUN (no later layer may add a plain .jpi)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    runs = [line for line in text.splitlines() if "jenkins-plugin-cli" in line]
    assert len(runs) == 1, runs
    (run,) = runs
    m = re.search(r"--plugin-download-directory\s+(\S+)", run)
    assert m and m.group(1).rstrip("/") == "/usr/share/jenkins/ref/plugins", run
    rename = re.search(
        r"set -- (\S+)/\*\.jpi .*test -e \"\$1\" .*mv \"\$f\" \"\$f\.override\"", run
    )
    assert rename and rename.group(1).rstrip("/") == m.group(1).rstrip("/"), run
    assert "PLUGINS_FORCE_UPGRADE" not in text, "upgrades only; .override also downgrades"


# ---- check-env.sh (the image's entrypoint) ---------------------------------------------


def run_check_env(tmp_path: Path, **values: str) -> tuple[subprocess.CompletedProcess, Path]:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    dump = tmp_path / "jenkins-env.txt"
    fake = tmp_path / "jenkins.sh"
    fake.write_text(f'#!/bin/sh\n{{ env; echo "ARGS=$*"; }} > "{dump}"\n')
    fake.chmod(0o755)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SECRETS": str(secrets_dir),
        "JENKINS_ENTRYPOINT": str(fake),
        **values,
    }
    proc = subprocess.run(
        ["bash", str(CHECK_ENV), "--httpPort=8080"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    return proc, dump


def all_required() -> dict[str, str]:
    return {name: f"value-of-{name.lower()}" for name in bash_array("required")}


def test_entrypoint_refuses_to_start_without_the_bot_token(tmp_path: Path) -> None:
    values = all_required() | {"GITEA_BOT_TOKEN": ""}
    proc, dump = run_check_env(tmp_path, **values)
    assert proc.returncode == 78
    assert "GITEA_BOT_TOKEN" in proc.stderr and "lab up" in proc.stderr
    assert not dump.exists(), "Jenkins must not start"
    assert not list((tmp_path / "secrets").iterdir())


def test_entrypoint_drops_plugins_the_image_no_longer_ships(tmp_path: Path) -> None:
    ref, home = tmp_path / "ref" / "plugins", tmp_path / "home" / "plugins"
    ref.mkdir(parents=True)
    home.mkdir(parents=True)
    (ref / "git.jpi.override").write_text("image")
    for name in ("git", "old-plugin"):
        (home / f"{name}.jpi").write_text("installed")
        (home / f"{name}.jpi.pinned").write_text("")
        (home / f"{name}.jpi.version_from_image").write_text("1.0")
        (home / name / "META-INF").mkdir(parents=True)
    (home / "manual.hpi").write_text("installed by hand")
    values = all_required() | {"REF": str(ref.parent), "JENKINS_HOME": str(home.parent)}
    proc, dump = run_check_env(tmp_path, **values)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in home.iterdir()) == [
        "git",
        "git.jpi",
        "git.jpi.pinned",
        "git.jpi.version_from_image",
    ]
    assert "removing plugin old-plugin" in proc.stderr and "manual" in proc.stderr
    assert dump.exists(), "Jenkins starts after the clean-up"


def test_entrypoint_keeps_plugins_when_the_image_has_none_marked(tmp_path: Path) -> None:
    """An image built without .override files must not wipe jenkins_home's plugins."""
    ref, home = tmp_path / "ref" / "plugins", tmp_path / "home" / "plugins"
    ref.mkdir(parents=True)
    home.mkdir(parents=True)
    (ref / "git.jpi").write_text("image")
    (home / "git.jpi").write_text("installed")
    values = all_required() | {"REF": str(ref.parent), "JENKINS_HOME": str(home.parent)}
    proc, _ = run_check_env(tmp_path, **values)
    assert proc.returncode == 0, proc.stderr
    assert (home / "git.jpi").exists()


def test_entrypoint_moves_secrets_to_private_files(tmp_path: Path) -> None:
    values = all_required()
    proc, dump = run_check_env(tmp_path, **values)
    assert proc.returncode == 0, proc.stderr
    jenkins_env = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    assert jenkins_env["ARGS"] == "--httpPort=8080"
    for name in bash_array("secret"):
        assert name not in jenkins_env, f"{name} is still in Jenkins' environment"
        path = tmp_path / "secrets" / name
        assert path.read_text() == values[name]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert jenkins_env["JENKINS_ADMIN_USER"] == values["JENKINS_ADMIN_USER"]
    assert proc.stdout == "" and all(v not in proc.stderr for v in values.values())


# ---- the Docker cloud: on-demand labelled agents ---------------------------------------


def test_docker_cloud_reaches_the_labs_engine_over_tls_with_its_certificates(
    jcasc: dict[str, Any],
) -> None:
    (cloud,) = [c["docker"] for c in jcasc["jenkins"]["clouds"]]
    host = cloud["dockerApi"]["dockerHost"]
    compose = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert host["uri"] == compose["jenkins"]["environment"]["DOCKER_HOST"] == "tcp://docker:2376"
    tls = credentials(jcasc)[host["credentialsId"]]
    assert tls["kind"] == "x509ClientCert" and tls["scope"] == "SYSTEM"
    cert_dir = compose["jenkins"]["environment"]["DOCKER_CERT_PATH"]
    assert f"docker-certs:{cert_dir}:ro" in compose["jenkins"]["volumes"]
    for field, name in (
        ("clientKeySecret", "key.pem"),
        ("clientCertificate", "cert.pem"),
        ("serverCaCertificate", "ca.pem"),
    ):
        assert tls[field] == "${readFile:" + f"{cert_dir}/{name}" + "}", field
    assert 0 < cloud["containerCap"] <= 4


def test_every_agent_label_of_the_projects_has_a_template_with_its_image() -> None:
    from lab.agents import AGENT_IMAGES

    jcasc = yaml.safe_load(JCASC_FILE.read_text())
    (cloud,) = [c["docker"] for c in jcasc["jenkins"]["clouds"]]
    templates = {t["labelString"]: t for t in cloud["templates"]}
    used = set()
    for path in (ROOT / "projects").rglob("*Jenkinsfile"):
        used |= set(re.findall(r"agent \{ label '([^']+)' \}", path.read_text()))
    assert used and used <= set(templates), f"labels without a template: {used - set(templates)}"
    built = {a.label: a for a in AGENT_IMAGES}
    for label, template in templates.items():
        assert template["mode"] == "EXCLUSIVE", label
        # One build per container, then removed; an unused one goes after a minute.
        assert template["retentionStrategy"] == {"idleMinutes": 1}, label
        assert template["removeVolumes"] is True, label
        # Never pulled: `lab up` builds it on the engine (lab/agents.py).
        assert template["pullStrategy"] == "PULL_NEVER", label
        assert template["dockerTemplateBase"]["image"] == built[label].image, label
        assert template["dockerTemplateBase"]["network"] == "host", label
        assert "attach" in template["connector"], label
        assert (ROOT / "projects" / built[label].project / built[label].dockerfile).is_file()
