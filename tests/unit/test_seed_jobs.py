"""seed-jobs/*.groovy and the shipped Jenkinsfiles: parse with Groovy, and run the seed.

The seed (seed-jobs/projects.groovy) runs under plain Groovy against a recording stand-in
of the Job DSL context (tests/unit/fixtures/stack/dsl_recorder.groovy) and a fake Gitea
API served on 127.0.0.1, so what it would create in Jenkins is checked without Jenkins.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from lab import up
from lab.clients.gitea import GiteaClient
from lab.config import LabConfig
from lab.errors import PrerequisiteMissing
from lab.groovy import parse_files
from lab.secrets import Secrets
from tests.fakes.http import running

ROOT = Path(__file__).resolve().parents[2]
SEED_SCRIPT = ROOT / "seed-jobs" / "projects.groovy"
JCASC_FILE = ROOT / "casc" / "jenkins.yaml"
DSL_RECORDER = Path(__file__).resolve().parent / "fixtures" / "stack" / "dsl_recorder.groovy"
JAVA_HOME_DEBIAN = Path("/usr/lib/jvm/java-17-openjdk-amd64")

TOKEN = "test-token-0123456789"
# The fake Gitea caps the page size as Gitea caps `limit` at [api] MAX_RESPONSE_ITEMS
# (default 50; noted in lab/clients/gitea.py), low here to force paging; archived
# repositories are listed with `archived: true` (tests/fakes/EVIDENCE.md, E4).
PAGE_CAP = 2
ORGS: dict[str, list[dict[str, Any]]] = {
    "cd4ml": [
        {"name": "gamma", "archived": False},
        {"name": "alpha", "archived": False},
        {"name": "old-demo", "archived": True},
        {"name": "beta", "archived": False},
    ],
    "empty-org": [],
    "train-org": [{"name": "cd4ml-train", "archived": False}, {"name": "other", "archived": False}],
}


def groovy_env() -> dict[str, str]:
    """A clean environment: no lab secret or LAB_* variable leaks in from the caller."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    java_home = os.environ.get("JAVA_HOME") or (
        str(JAVA_HOME_DEBIAN) if JAVA_HOME_DEBIAN.is_dir() else ""
    )
    if java_home:
        env["JAVA_HOME"] = java_home
    return env


def require_groovy() -> str:
    groovy = shutil.which("groovy")
    if groovy is None:
        pytest.skip("the `groovy` command is not installed (Debian/Ubuntu: apt-get install groovy)")
    return groovy


def run_groovy(*args: str) -> Any:
    proc = subprocess.run(
        [require_groovy(), str(DSL_RECORDER), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=groovy_env(),
        check=False,
    )
    assert proc.returncode == 0, f"groovy failed ({proc.returncode}):\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- a fake Gitea organisation API ------------------------------------------------


class FakeGitea(ThreadingHTTPServer):
    requests: list[tuple[str, dict[str, list[str]], str | None]]


class GiteaHandler(BaseHTTPRequestHandler):
    server: FakeGitea

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.server.requests.append((url.path, query, self.headers.get("Authorization")))
        parts = url.path.strip("/").split("/")
        if self.headers.get("Authorization") != f"token {TOKEN}":
            return self._send(401, {"message": "token is required"})
        if len(parts) != 5 or parts[:3] != ["api", "v1", "orgs"] or parts[4] != "repos":
            return self._send(404, {"message": "not found"})
        if parts[3] not in ORGS:
            return self._send(404, {"message": "GetOrgByName"})
        limit = min(int(query.get("limit", ["30"])[0]), PAGE_CAP)
        page = int(query.get("page", ["1"])[0])
        repos = ORGS[parts[3]][(page - 1) * limit : page * limit]
        return self._send(200, repos)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def gitea() -> Iterator[FakeGitea]:
    with running(GiteaHandler, FakeGitea) as server:
        server.requests = []
        yield server


@pytest.fixture(scope="module")
def seed_runs(gitea: FakeGitea, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Run the seed once per case in a single JVM; return the recordings by case name."""
    require_groovy()
    base = f"http://127.0.0.1:{gitea.server_address[1]}"
    work = tmp_path_factory.mktemp("seed-jobs")
    secrets = work / "secrets"
    secrets.mkdir()
    # The path used in Jenkins: check-env.sh writes the token to $SECRETS and unsets it.
    (secrets / "GITEA_BOT_TOKEN").write_text(TOKEN + "\n")
    no_secrets = work / "no-secrets"
    no_secrets.mkdir()
    with_token = {"GITEA_URL": base, "GITEA_BOT_TOKEN": TOKEN}
    cases = [
        {
            "name": "org",
            "vars": {"LAB_ORG": "cd4ml", "GITEA_URL": base + "/", "SECRETS": str(secrets)},
        },
        {"name": "empty", "vars": {"LAB_ORG": "empty-org", **with_token}},
        {"name": "chain", "vars": {"LAB_ORG": "train-org", **with_token}},
        {
            "name": "chain-off",
            "vars": {"LAB_ORG": "train-org", "LAB_CHAIN_PROJECTS": "none", **with_token},
        },
        {"name": "bad-token", "vars": {**with_token, "LAB_ORG": "cd4ml", "GITEA_BOT_TOKEN": "x"}},
        {"name": "no-org", "vars": {"LAB_ORG": "nope", **with_token}},
        {
            "name": "no-token",
            "vars": {"LAB_ORG": "cd4ml", "GITEA_URL": base, "SECRETS": str(no_secrets)},
        },
    ]
    cases_file = work / "cases.json"
    cases_file.write_text(json.dumps(cases))
    gitea.requests.clear()
    results = run_groovy("run", str(SEED_SCRIPT), str(cases_file))
    return {r["name"]: r | {"base": base} for r in results}


def find(calls: list[dict], name: str) -> list[dict]:
    """Every call named `name` at any depth."""
    found = []
    for call in calls:
        if call["name"] == name:
            found.append(call)
        found.extend(find(call["children"], name))
    return found


def only(calls: list[dict], name: str) -> dict:
    matches = find(calls, name)
    assert len(matches) == 1, f"expected exactly one {name}(), got {len(matches)}"
    return matches[0]


def jobs_of(result: dict) -> dict[str, dict]:
    return {c["args"][0]: c for c in result["calls"] if c["name"] == "multibranchPipelineJob"}


# ---- the seed -------------------------------------------------------------------------


def test_seed_creates_one_multibranch_job_per_active_repo(seed_runs: dict[str, dict]) -> None:
    result = seed_runs["org"]
    assert result["error"] is None, result["error"]
    assert list(jobs_of(result)) == ["cd4ml/alpha", "cd4ml/beta", "cd4ml/gamma"]
    # The archived repository gets no job; every created job is indexed right away.
    queued = [c["args"][0] for c in result["calls"] if c["name"] == "queue"]
    assert queued == ["cd4ml/alpha", "cd4ml/beta", "cd4ml/gamma"]
    assert "3 repositories: alpha, beta, gamma" in result["log"]


def test_lab_up_waits_for_exactly_the_jobs_the_seed_creates(
    seed_runs: dict[str, dict], gitea: FakeGitea, tmp_path: Path
) -> None:
    # Both sides read the same org listing (an archived repository, pages capped below
    # the requested limit): `lab up` must expect the seed's jobs, no more, no fewer.
    result = seed_runs["org"]
    secrets, _ = Secrets.ensure(tmp_path / ".lab" / "secrets.env")
    secrets.set("GITEA_BOT_TOKEN", TOKEN)
    cfg = LabConfig.load(root=tmp_path, env={"LAB_GITEA_PORT": str(gitea.server_address[1])})
    expected = [f"{cfg.org}/{name}" for name in up._org_projects(cfg, secrets)]
    assert expected == list(jobs_of(result)) == ["cd4ml/alpha", "cd4ml/beta", "cd4ml/gamma"]
    assert GiteaClient(result["base"], token=TOKEN).job_repo_names("empty-org") == []


def test_seeded_job_uses_gitea_source_pr_head_and_no_hook_management(
    seed_runs: dict[str, dict],
) -> None:
    result = seed_runs["org"]
    ids = set()
    for name, job in jobs_of(result).items():
        repo = name.split("/", 1)[1]
        source = only(job["children"], "giteaSCMSource")
        args = {c["name"]: c["args"] for c in source["children"] if c["args"]}
        # Trailing slash of GITEA_URL dropped: serverUrl must equal the JCasC server's.
        assert args["serverUrl"] == [result["base"]]
        assert args["repoOwner"] == ["cd4ml"]
        assert args["repository"] == [repo]
        assert args["credentialsId"] == ["GIT_PAT"]
        ids.add(args["id"][0])
        assert only(job["children"], "giteaBranchDiscovery")["children"][0]["args"] == [1]
        pr = only(job["children"], "giteaPullRequestDiscovery")
        assert pr["children"] == [{"name": "strategyId", "args": [2], "children": []}]
        hooks = only(job["children"], "giteaWebhookRegistration")
        assert hooks["children"] == [{"name": "mode", "args": ["DISABLE"], "children": []}]
        assert only(job["children"], "scriptPath")["args"] == ["Jenkinsfile"]
        assert only(job["children"], "interval")["args"] == ["30m"]
        assert find(job["children"], "discardOldItems"), "orphaned branches must be discarded"
    assert len(ids) == 3, "each repository needs its own stable branch source id"
    rerun_ids = {
        only(job["children"], "giteaSCMSource")["children"][0]["args"][0]
        for job in jobs_of(result).values()
    }
    assert rerun_ids == ids


def test_seed_pages_through_the_org_listing_with_the_token(
    seed_runs: dict[str, dict], gitea: FakeGitea
) -> None:
    assert seed_runs["org"]["error"] is None
    org_requests = [r for r in gitea.requests if r[0] == "/api/v1/orgs/cd4ml/repos"]
    pages = [r[1]["page"][0] for r in org_requests if r[2] == f"token {TOKEN}"]
    # 4 repositories, 2 per page: pages 1 and 2, then an empty page 3 ends the listing.
    assert pages[:3] == ["1", "2", "3"]


def test_empty_org_creates_nothing(seed_runs: dict[str, dict]) -> None:
    result = seed_runs["empty"]
    assert result["error"] is None
    assert [c for c in result["calls"] if c["name"] != "println"] == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad-token", ["HTTP 401", "GITEA_BOT_TOKEN"]),
        ("no-org", ["HTTP 404", "organisation 'nope'"]),
        ("no-token", ["GITEA_BOT_TOKEN", "GITEA_BOT_TOKEN is missing or empty"]),
    ],
)
def test_seed_fails_loudly_and_creates_nothing(
    seed_runs: dict[str, dict], case: str, expected: list[str]
) -> None:
    result = seed_runs[case]
    assert result["error"], f"{case}: the seed must fail, not create an empty job list"
    for text in expected:
        assert text in result["error"]
    assert jobs_of(result) == {}, "a failed listing must not delete jobs (no empty generation)"


def test_seed_matches_the_jcasc_gitea_server_and_credentials() -> None:
    jcasc = yaml.safe_load(JCASC_FILE.read_text())
    servers = jcasc["unclassified"]["giteaServers"]["servers"]
    env = {
        e["key"]: e["value"]
        for prop in jcasc["jenkins"]["globalNodeProperties"]
        for e in prop.get("envVars", {}).get("env", [])
    }
    # The seed's serverUrl is GITEA_URL from the build env; it must be the configured
    # server, or webhook events are not matched (GiteaServers.isEventFor / aliasUrl).
    assert env["GITEA_URL"] in [s["serverUrl"] for s in servers]
    ids = [
        next(iter(c.values()))["id"]
        for d in jcasc["credentials"]["system"]["domainCredentials"]
        for c in d["credentials"]
    ]
    assert "GIT_PAT" in ids
    assert "'GIT_PAT'" in SEED_SCRIPT.read_text()


# ---- Groovy syntax of everything Jenkins will compile --------------------------------


def groovy_files() -> list[Path]:
    return sorted((ROOT / "seed-jobs").glob("*.groovy")) + sorted(
        (ROOT / "projects").glob("*/Jenkinsfile")
    )


def test_there_is_something_to_parse() -> None:
    files = groovy_files()
    assert any(p.name == "Jenkinsfile" for p in files), "no projects/*/Jenkinsfile found"
    assert SEED_SCRIPT in files


def test_job_dsl_and_jenkinsfiles_parse_as_groovy(tmp_path: Path) -> None:
    files = groovy_files()
    try:
        problems = [f"{p.path}:{p.line}:{p.column}: {p.message}" for p in parse_files(files)]
    except PrerequisiteMissing as exc:
        pytest.skip(f"Groovy is not available: {exc}")
    assert problems == []


def test_parser_reports_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "Jenkinsfile"
    broken.write_text("pipeline {\n  stages {\n    stage('x') { steps { sh 'ls' }\n  }\n")
    problems = run_groovy("parse", str(broken))
    assert problems and problems[0]["path"] == str(broken)


# ---- chained jobs (projects/cd4ml-train) ---------------------------------------------


def test_chain_project_gets_preprocess_on_main_then_train_and_test(
    seed_runs: dict[str, dict],
) -> None:
    result = seed_runs["chain"]
    assert result["error"] is None, result["error"]
    assert list(jobs_of(result)) == [
        "train-org/cd4ml-train",
        "train-org/cd4ml-train-chain/preprocess",
        "train-org/other",
    ]
    folders = [c["args"][0] for c in result["calls"] if c["name"] == "folder"]
    assert folders == ["train-org/cd4ml-train-chain"]
    pre = jobs_of(result)["train-org/cd4ml-train-chain/preprocess"]
    # A push to main starts it (Gitea webhook -> multibranch); no PR jobs, main only.
    assert only(pre["children"], "scriptPath")["args"] == ["jobs/preprocess.Jenkinsfile"]
    assert not find(pre["children"], "giteaPullRequestDiscovery")
    flt = only(pre["children"], "headWildcardFilter")["children"]
    assert {c["name"]: c["args"] for c in flt} == {"includes": ["main"], "excludes": [""]}
    source = only(pre["children"], "giteaSCMSource")["children"]
    ids = {c["args"][0] for c in source if c["name"] == "id"}
    assert ids == {"gitea-train-org-cd4ml-train-preprocess"}, "its own stable source id"
    # The project's own multibranch job keeps PR discovery and the root Jenkinsfile.
    own = jobs_of(result)["train-org/cd4ml-train"]
    assert only(own["children"], "scriptPath")["args"] == ["Jenkinsfile"]
    assert find(own["children"], "giteaPullRequestDiscovery")

    pipelines = {c["args"][0]: c for c in result["calls"] if c["name"] == "pipelineJob"}
    assert list(pipelines) == [
        "train-org/cd4ml-train-chain/train",
        "train-org/cd4ml-train-chain/test",
    ]
    for name, job in pipelines.items():
        step = name.rsplit("/", 1)[1]
        assert only(job["children"], "scriptPath")["args"] == [f"jobs/{step}.Jenkinsfile"]
        assert only(job["children"], "url")["args"] == [
            f"{result['base']}/train-org/cd4ml-train.git"
        ]
        assert only(job["children"], "credentials")["args"] == ["GIT_PAT"]
        assert only(job["children"], "branch")["args"] == ["*/main"]
        # Declared by the job itself: Jenkins drops parameters a job does not define, and
        # the Jenkinsfile's own `parameters` apply only after its first run.
        params = [c["args"][0] for c in find(job["children"], "stringParam")]
        assert params == ["CHAIN_ID", "UPSTREAM"]
    assert "2 repositories: cd4ml-train, other" in result["log"]


def test_chain_jobs_are_exactly_what_the_downstream_steps_call(seed_runs: dict[str, dict]) -> None:
    """`build job:` in jobs/*.Jenkinsfile names /<org>/<repo>-chain/<job>, as seeded, and
    the parameters the seed declares are the ones the Jenkinsfiles pass."""
    project = ROOT / "projects" / "cd4ml-train"
    seeded = {
        c["args"][0].split("/", 1)[1]
        for c in seed_runs["chain"]["calls"]
        if c["name"] == "pipelineJob"
    }
    for upstream in ("preprocess", "train"):
        text = (project / "jobs" / f"{upstream}.Jenkinsfile").read_text()
        (target,) = re.findall(r'build job: "/\$\{env\.LAB_ORG\}/([^"]+)"', text)
        assert target in seeded
        passed = re.findall(r"string\(name: '(\w+)'", text.split("build job:")[1])
        assert passed == ["CHAIN_ID", "UPSTREAM"]


def test_chain_projects_can_be_switched_off_and_lab_up_expects_the_same(
    seed_runs: dict[str, dict],
) -> None:
    result = seed_runs["chain-off"]
    assert result["error"] is None
    assert [c for c in result["calls"] if c["name"] in ("folder", "pipelineJob")] == []
    # lab up's list of the jobs the seed makes at top level of the org folder.
    assert up.expected_jobs("train-org", ["cd4ml-train", "other"]) == {
        "train-org/cd4ml-train",
        "train-org/cd4ml-train-chain",
        "train-org/other",
    }
    default = re.search(r"setting\('LAB_CHAIN_PROJECTS', '([^']*)'\)", SEED_SCRIPT.read_text())
    assert default and tuple(default.group(1).split()) == up.CHAIN_PROJECTS
