"""Bootstrap: pure planners, and convergence against an in-process fake Gitea and fake MinIO.

The fake Gitea speaks the REST calls the bootstrap uses and serves git pushes
through the real `git http-backend`, behind HTTP basic auth, so the push's
credential handling is exercised for real.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from lab.bootstrap import (
    GiteaDesired,
    GiteaObserved,
    HookState,
    MinioDesired,
    MinioObserved,
    RepoState,
    TeamState,
    apply,
    converge_gitea,
    converge_minio,
    plan_gitea,
    plan_minio,
    push_directory,
)
from lab.clients.gitea import BOT_TOKEN_SCOPES, HOOK_EVENTS, JENKINS_HOOK_URL
from lab.clients.storage import DVC_POLICY_NAME, dvc_policy
from lab.config import LabConfig
from lab.errors import ServiceError
from lab.secrets import Secrets

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

PR_FAMILY = (
    "pull_request",
    "pull_request_assign",
    "pull_request_label",
    "pull_request_milestone",
    "pull_request_comment",
    "pull_request_review",
    "pull_request_review_request",
    "pull_request_sync",
)


# ------------------------------------------------------------ planners --
def desired(*names: str) -> GiteaDesired:
    return GiteaDesired(
        org="cd4ml",
        bot_user="cd4ml-bot",
        bot_email="bot@lab.invalid",
        projects=tuple((n, Path("/p") / n) for n in names),
    )


def good_hook(hook_id: int = 1) -> HookState:
    return HookState(
        id=hook_id,
        url=JENKINS_HOOK_URL,
        events=frozenset({"push", "create", "delete", *PR_FAMILY}),
        content_type="json",
        active=True,
        branch_filter="*",
    )


def converged(*names: str) -> GiteaObserved:
    return GiteaObserved(
        bot_exists=True,
        token_ok=True,
        token_names=frozenset({"lab-jenkins"}),
        org_exists=True,
        team=TeamState(id=3, permission="write", includes_all=True, has_bot=True),
        repos={n: RepoState(exists=True, empty=False, hooks=(good_hook(),)) for n in names},
    )


FRESH = GiteaObserved(
    bot_exists=False,
    token_ok=False,
    token_names=frozenset(),
    org_exists=False,
    team=None,
    repos={},
)


def descriptions(actions) -> list[str]:
    return [a.description for a in actions]


def test_fresh_gitea_plans_every_step_in_dependency_order():
    plan = descriptions(plan_gitea(FRESH, desired("demo", "other")))
    assert plan == [
        "create bot user cd4ml-bot",
        "create token lab-jenkins for cd4ml-bot "
        "(scopes write:repository, write:issue, read:user, read:organization)",
        "create organisation cd4ml",
        "create team cd4ml/lab-bots (write on all repositories)",
        "add cd4ml-bot to team cd4ml/lab-bots",
        "create repository cd4ml/demo",
        "push demo into cd4ml/demo (initial commit on main)",
        f"create webhook cd4ml/demo -> {JENKINS_HOOK_URL}",
        "create repository cd4ml/other",
        "push other into cd4ml/other (initial commit on main)",
        f"create webhook cd4ml/other -> {JENKINS_HOOK_URL}",
    ]


def test_converged_gitea_plans_nothing():
    assert plan_gitea(converged("demo"), desired("demo")) == []


def test_drifted_hook_plans_one_edit_and_duplicates_are_deleted():
    drifted = replace(good_hook(), content_type="form", events=frozenset({"push"}))
    observed = replace(
        converged("demo"),
        repos={"demo": RepoState(exists=True, empty=False, hooks=(drifted,))},
    )
    plan = descriptions(plan_gitea(observed, desired("demo")))
    assert plan == [
        f"fix webhook cd4ml/demo -> {JENKINS_HOOK_URL} "
        "(events lack create, delete, pull_request; content type form)"
    ]
    other = HookState(9, "http://elsewhere/hook", frozenset({"push"}), "json", True)
    observed = replace(
        converged("demo"),
        repos={"demo": RepoState(True, False, (good_hook(4), good_hook(2), other))},
    )
    plan = descriptions(plan_gitea(observed, desired("demo")))
    assert plan == [f"delete duplicate webhook #4 cd4ml/demo -> {JENKINS_HOOK_URL}"]


def test_stale_token_is_deleted_then_recreated():
    stale = replace(converged(), token_ok=False)
    assert descriptions(plan_gitea(stale, desired())) == [
        "delete stale token lab-jenkins of cd4ml-bot",
        "create token lab-jenkins for cd4ml-bot "
        "(scopes write:repository, write:issue, read:user, read:organization)",
    ]
    lost = replace(stale, token_names=frozenset({"someone-elses"}))
    assert [d.split(" (")[0] for d in descriptions(plan_gitea(lost, desired()))] == [
        "create token lab-jenkins for cd4ml-bot"
    ]


def test_team_drift_and_missing_membership():
    observed = replace(
        converged(), team=TeamState(id=3, permission="read", includes_all=False, has_bot=False)
    )
    assert descriptions(plan_gitea(observed, desired())) == [
        "set team cd4ml/lab-bots to write on all repositories (was read, all repositories: False)",
        "add cd4ml-bot to team cd4ml/lab-bots",
    ]


def test_empty_repo_is_pushed_but_a_repo_with_commits_is_left_alone():
    observed = replace(
        converged("a", "b"),
        repos={
            "a": RepoState(exists=True, empty=True, hooks=(good_hook(),)),
            "b": RepoState(exists=True, empty=False, hooks=()),
        },
    )
    assert descriptions(plan_gitea(observed, desired("a", "b"))) == [
        "push a into cd4ml/a (initial commit on main)",
        f"create webhook cd4ml/b -> {JENKINS_HOOK_URL}",
    ]


def test_a_plan_made_without_executor_cannot_run():
    action = plan_gitea(FRESH, desired())[0]
    with pytest.raises(RuntimeError, match="without an executor"):
        action.run()


MINIO_DESIRED = MinioDesired(bucket="cd4ml-dvc", access_key="dvcABCDEFGH")


def test_minio_plans_from_fresh_to_converged():
    fresh = MinioObserved(False, None, False, False, frozenset())
    plan = descriptions(plan_minio(fresh, MINIO_DESIRED))
    assert plan == [
        "create bucket cd4ml-dvc",
        "create policy cd4ml-dvc-rw (read/write objects in cd4ml-dvc)",
        "create DVC user dv******",
        "attach policy cd4ml-dvc-rw to DVC user dv******",
    ]
    assert not any("dvcABCDEFGH" in d for d in plan)
    # The server may return the policy in another order/shape: still converged.
    shuffled = dvc_policy("cd4ml-dvc")
    shuffled["Statement"].reverse()
    shuffled["Statement"][0]["Action"].reverse()
    done = MinioObserved(True, shuffled, True, True, frozenset({DVC_POLICY_NAME, "other"}))
    assert plan_minio(done, MINIO_DESIRED) == []


def test_minio_drift_policy_widened_and_secret_changed():
    wide = dvc_policy("cd4ml-dvc")
    wide["Statement"][1]["Action"].append("s3:*")
    observed = MinioObserved(True, wide, True, False, frozenset({DVC_POLICY_NAME}))
    assert descriptions(plan_minio(observed, MINIO_DESIRED)) == [
        "reset policy cd4ml-dvc-rw to least privilege on cd4ml-dvc",
        "reset the secret of DVC user dv****** to the lab's",
    ]


def test_apply_names_the_failing_action():
    def boom() -> None:
        raise ServiceError("Gitea: POST /api/v1/orgs -> HTTP 500: oops")

    from lab.bootstrap import Action

    with pytest.raises(ServiceError, match="gitea: could not create organisation cd4ml: Gitea"):
        apply([Action("gitea", "create organisation cd4ml", boom)], progress=lambda _: None)


# ---------------------------------------------------------- fake Gitea --
class FakeGitea:
    """Just enough of Gitea for the bootstrap, state in memory, repos as bare git dirs."""

    def __init__(self, root: Path, admin: tuple[str, str]) -> None:
        self.root = root
        self.admin = admin
        self.users: dict[str, dict[str, Any]] = {admin[0]: {"password": admin[1], "admin": True}}
        self.tokens: dict[str, dict[str, Any]] = {}  # value -> {id, name, user, scopes}
        self.orgs: set[str] = set()
        self.teams: dict[int, dict[str, Any]] = {}
        self.repos: dict[str, dict[str, Any]] = {}
        self.hooks: dict[str, list[dict[str, Any]]] = {}
        self.log: list[tuple[str, str, str | None]] = []  # method, path+query, auth user
        self.next_id = 1
        self.lock = threading.Lock()

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.log if m != "GET" and ".git/" not in p]

    def auth(self, header: str | None) -> str | None:
        if not header:
            return None
        kind, _, value = header.partition(" ")
        if kind == "Basic":
            user, _, pw = base64.b64decode(value).decode().partition(":")
            found = self.users.get(user)
            return user if found and found["password"] == pw else None
        if kind == "token":
            token = self.tokens.get(value)
            return token["user"] if token else None
        return None

    # ---- REST ------------------------------------------------------------
    def api(self, method: str, path: str, user: str | None, body: Any) -> tuple[int, Any]:
        if user is None:
            return 401, {"message": "unauthorized"}
        m = re.fullmatch
        if method == "GET" and path == "/user":
            return 200, {"login": user}
        if r := m(r"/users/([^/]+)", path):
            found = r[1] in self.users
            return (200, {"login": r[1]}) if found else (404, {"message": "user does not exist"})
        if method == "POST" and path == "/admin/users":
            assert body["must_change_password"] is False
            self.users[body["username"]] = {"password": body["password"], "admin": False}
            return 201, {"login": body["username"]}
        if r := m(r"/users/([^/]+)/tokens", path):
            if method == "GET":
                return 200, [
                    {
                        "id": t["id"],
                        "name": t["name"],
                        "scopes": t["scopes"],
                        "token_last_eight": v[-8:],
                    }
                    for v, t in self.tokens.items()
                    if t["user"] == r[1]
                ]
            if any(t["name"] == body["name"] and t["user"] == r[1] for t in self.tokens.values()):
                return 400, {"message": "access token name has been used already"}
            value = f"{self.new_id():08d}" + "f" * 32
            self.tokens[value] = {
                "id": self.next_id,
                "name": body["name"],
                "user": r[1],
                "scopes": sorted(body["scopes"]),
            }
            return 201, {"id": self.next_id, "name": body["name"], "sha1": value}
        if (r := m(r"/users/([^/]+)/tokens/([^/]+)", path)) and method == "DELETE":
            for value, t in list(self.tokens.items()):
                if t["user"] == r[1] and r[2] in (t["name"], str(t["id"])):
                    del self.tokens[value]
                    return 204, None
            return 404, {"message": "no such token"}
        if r := m(r"/orgs/([^/]+)", path):
            return (200, {"username": r[1]}) if r[1] in self.orgs else (404, {"message": "nope"})
        if method == "POST" and path == "/orgs":
            self.orgs.add(body["username"])
            return 201, {"username": body["username"]}
        if r := m(r"/orgs/([^/]+)/teams", path):
            if method == "GET":
                return 200, [
                    {k: v for k, v in t.items() if k != "members"}
                    for t in self.teams.values()
                    if t["org"] == r[1]
                ]
            team = {"id": self.new_id(), "org": r[1], "members": set(), **body}
            self.teams[team["id"]] = team
            return 201, {k: v for k, v in team.items() if k != "members"}
        if (r := m(r"/teams/(\d+)", path)) and method == "PATCH":
            self.teams[int(r[1])].update(body)
            return 200, {}
        if r := m(r"/teams/(\d+)/members/([^/]+)", path):
            members = self.teams[int(r[1])]["members"]
            if method == "PUT":
                members.add(r[2])
                return 204, None
            return (200, {"login": r[2]}) if r[2] in members else (404, {"message": "nope"})
        if (r := m(r"/orgs/([^/]+)/repos", path)) and method == "POST":
            full = f"{r[1]}/{body['name']}"
            assert body["auto_init"] is False
            bare = self.root / f"{full}.git"
            subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
            self.repos[full] = {"name": body["name"], "bare": bare}
            self.hooks[full] = []
            return 201, {"full_name": full, "empty": True}
        if r := m(r"/repos/([^/]+/[^/]+)", path):
            repo = self.repos.get(r[1])
            if repo is None:
                return 404, {"message": "repo does not exist"}
            empty = not list((repo["bare"] / "refs" / "heads").iterdir())
            return 200, {"full_name": r[1], "empty": empty}
        if r := m(r"/repos/([^/]+/[^/]+)/hooks", path):
            hooks = self.hooks[r[1]]
            if method == "GET":
                return 200, hooks
            hook = {"id": self.new_id(), "type": body["type"]}
            self._set_hook(hook, body)
            hooks.append(hook)
            return 201, hook
        if r := m(r"/repos/([^/]+/[^/]+)/hooks/(\d+)", path):
            hooks = self.hooks[r[1]]
            hook = next(h for h in hooks if h["id"] == int(r[2]))
            if method == "DELETE":
                hooks.remove(hook)
                return 204, None
            self._set_hook(hook, body)
            return 200, hook
        return 404, {"message": f"fake Gitea has no {method} {path}"}

    @staticmethod
    def _set_hook(hook: dict[str, Any], body: dict[str, Any]) -> None:
        events = set(body["events"])
        if "pull_request" in events:  # what Gitea does (routers/api/v1/utils/hook.go)
            events |= set(PR_FAMILY)
        hook.update(
            config={k: v for k, v in body["config"].items()},
            events=sorted(events),
            active=body["active"],
            branch_filter=body.get("branch_filter", ""),
        )

    # ---- git over smart HTTP ---------------------------------------------
    def git(self, handler: BaseHTTPRequestHandler, user: str | None, body: bytes) -> None:
        if user is None:
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="Gitea"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        url = urlsplit(handler.path)
        env = {
            "PATH": "/usr/bin:/bin",
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": user,
            "REQUEST_METHOD": handler.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=True
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value))
        handler.send_response(status)
        for key, value in headers:
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


def _handler(fake: FakeGitea) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            assert "chunked" not in self.headers.get("Transfer-Encoding", "")
            raw = self.rfile.read(length) if length else b""
            user = fake.auth(self.headers.get("Authorization"))
            with fake.lock:
                fake.log.append((self.command, self.path, user))
            url = urlsplit(self.path)
            if ".git/" in url.path:
                fake.git(self, user, raw)
                return
            assert url.path.startswith("/api/v1/"), url.path
            query = dict(parse_qsl(url.query))
            if int(query.get("page", "1")) > 1:
                status, payload = 200, []
            else:
                body = json.loads(raw) if raw else None
                with fake.lock:
                    status, payload = fake.api(self.command, url.path[len("/api/v1") :], user, body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    secrets, _ = Secrets.ensure(tmp_path / "lab" / ".lab" / "secrets.env")
    admin = (secrets["GITEA_ADMIN_USER"], secrets["GITEA_ADMIN_PASSWORD"])
    fake = FakeGitea(tmp_path / "git", admin)
    (tmp_path / "git").mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    project = tmp_path / "projects" / "demo"
    (project / "src").mkdir(parents=True)
    (project / "Jenkinsfile").write_text("pipeline { agent any\n stages { } }\n")
    (project / "params.yaml").write_text("train:\n  n_estimators: 50\n")
    (project / "src" / "train.py").write_text("print('train')\n")
    cfg = LabConfig.load(
        root=tmp_path / "lab", env={"LAB_GITEA_PORT": str(server.server_address[1])}
    )
    try:
        yield {"cfg": cfg, "secrets": secrets, "fake": fake, "project": project}
    finally:
        server.shutdown()
        server.server_close()


def run_gitea(lab: dict[str, Any]) -> tuple[list[str], list[str]]:
    said: list[str] = []
    changed = converge_gitea(
        lab["cfg"], lab["secrets"], [("demo", lab["project"])], progress=said.append
    )
    return changed, said


def test_converge_gitea_builds_everything_then_a_second_run_writes_nothing(lab):
    fake: FakeGitea = lab["fake"]
    secrets: Secrets = lab["secrets"]
    changed, said = run_gitea(lab)
    assert len(changed) == 8
    # The new bot token was stored, works, and carries the wanted scopes.
    token = Secrets.load(secrets.path)["GITEA_BOT_TOKEN"]
    assert fake.tokens[token]["user"] == "cd4ml-bot"
    assert fake.tokens[token]["scopes"] == sorted(BOT_TOKEN_SCOPES)
    # The bot can write to every org repository through the team.
    (team,) = fake.teams.values()
    assert team["permission"] == "write" and team["includes_all_repositories"] is True
    assert team["members"] == {"cd4ml-bot"}
    # The project's files were pushed as one commit on main, authored by the lab.
    bare = fake.repos["cd4ml/demo"]["bare"]
    files = subprocess.run(
        ["git", "-C", str(bare), "ls-tree", "-r", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert files == ["Jenkinsfile", "params.yaml", "src/train.py"]
    author = subprocess.run(
        ["git", "-C", str(bare), "log", "-1", "--format=%an <%ae>", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert author == "cd4ml-lab <lab@lab.invalid>"
    (hook,) = fake.hooks["cd4ml/demo"]
    assert hook["config"]["url"] == JENKINS_HOOK_URL
    assert hook["config"]["content_type"] == "json"
    assert set(HOOK_EVENTS) <= set(hook["events"]) and hook["active"] is True
    # No secret in any URL, nor in anything printed.
    values = [v for k, v in secrets.items() if k.endswith(("PASSWORD", "TOKEN"))]
    for _, path, _ in fake.log:
        assert not any(v in path for v in values)
    assert not any(v in line for v in values for line in said)
    # Git sent credentials only after the server asked for them (helper, not URL).
    git_calls = [(p, u) for _, p, u in fake.log if ".git/" in p]
    assert git_calls[0][1] is None and git_calls[-1][1] == secrets["GITEA_ADMIN_USER"]

    fake.log.clear()
    changed, said = run_gitea(lab)
    assert changed == []
    assert fake.writes == []
    assert said == [
        "  gitea: cd4ml/demo already has commits; left as it is",
        "  gitea: nothing to change",
    ]


def test_converge_gitea_repairs_drift(lab):
    fake: FakeGitea = lab["fake"]
    run_gitea(lab)
    (hook,) = fake.hooks["cd4ml/demo"]
    hook["config"]["content_type"] = "form"
    hook["events"] = ["push"]
    fake.hooks["cd4ml/demo"].append(dict(hook, id=999))
    lab["secrets"].set("GITEA_BOT_TOKEN", "0" * 40)  # no longer valid
    fake.log.clear()
    changed, _ = run_gitea(lab)
    assert [c.split(" (")[0] for c in changed] == [
        "delete stale token lab-jenkins of cd4ml-bot",
        "create token lab-jenkins for cd4ml-bot",
        f"fix webhook cd4ml/demo -> {JENKINS_HOOK_URL}",
        f"delete duplicate webhook #999 cd4ml/demo -> {JENKINS_HOOK_URL}",
    ]
    assert [t["name"] for t in fake.tokens.values()] == ["lab-jenkins"]
    assert lab["secrets"]["GITEA_BOT_TOKEN"] in fake.tokens
    assert run_gitea(lab)[0] == []


def test_push_directory_refuses_credentials_in_the_url(tmp_path):
    with pytest.raises(ValueError, match="credentials"):
        push_directory(
            tmp_path, "http://u:p@localhost/x.git", username="u", password="p", message="m"
        )


def test_failed_push_names_the_url_and_hides_the_password(lab):
    fake: FakeGitea = lab["fake"]
    fake.api("POST", "/orgs", "x", {"username": "cd4ml"})
    fake.api("POST", "/orgs/cd4ml/repos", "x", {"name": "demo", "auto_init": False})
    url = f"{lab['cfg'].gitea_url}/cd4ml/demo.git"
    with pytest.raises(ServiceError) as err:
        push_directory(lab["project"], url, username="lab-admin", password="wrong-pw", message="m")
    assert url in str(err.value)
    assert "wrong-pw" not in str(err.value)


# ---------------------------------------------------------- fake MinIO --
class FakeStorage:
    def __init__(self, state: dict[str, Any], creds_ok: bool = True) -> None:
        self.state = state
        self.creds_ok = creds_ok

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.state["buckets"]

    def ensure_bucket(self, bucket: str) -> bool:
        self.state["writes"].append(f"bucket {bucket}")
        self.state["buckets"].add(bucket)
        return True

    def credentials_valid(self, bucket: str) -> bool:
        return self.state["secret"] == self.state["wanted_secret"]


class FakeAdmin:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def get_policy(self, name: str) -> dict[str, Any] | None:
        return self.state["policies"].get(name)

    def put_policy(self, name: str, doc: dict[str, Any]) -> None:
        self.state["writes"].append(f"policy {name}")
        self.state["policies"][name] = json.loads(json.dumps(doc))

    def get_user(self, access_key: str) -> dict[str, Any] | None:
        if access_key not in self.state["users"]:
            return None
        return {"status": "enabled", "policyName": ",".join(self.state["users"][access_key])}

    def put_user(self, access_key: str, secret_key: str) -> None:
        self.state["writes"].append(f"user {access_key}")
        self.state["users"].setdefault(access_key, set())
        self.state["secret"] = secret_key

    def attach_policy(self, policy: str, access_key: str) -> bool:
        self.state["writes"].append(f"attach {policy}")
        self.state["users"][access_key].add(policy)
        return True


def test_converge_minio_then_a_second_run_writes_nothing(tmp_path):
    secrets, _ = Secrets.ensure(tmp_path / ".lab" / "secrets.env")
    cfg = LabConfig.load(root=tmp_path, env={})
    state: dict[str, Any] = {
        "buckets": set(),
        "policies": {},
        "users": {},
        "secret": None,
        "wanted_secret": secrets["DVC_SECRET_KEY"],
        "writes": [],
    }
    store = FakeStorage(state)

    def run() -> tuple[list[str], list[str]]:
        said: list[str] = []
        changed = converge_minio(
            cfg,
            secrets,
            progress=said.append,
            root=store,  # type: ignore[arg-type]
            admin=FakeAdmin(state),  # type: ignore[arg-type]
            dvc=store,  # type: ignore[arg-type]
        )
        return changed, said

    changed, said = run()
    assert len(changed) == 4
    assert state["policies"][DVC_POLICY_NAME] == dvc_policy("cd4ml-dvc")
    assert state["users"][secrets["DVC_ACCESS_KEY"]] == {DVC_POLICY_NAME}
    assert not any(secrets["DVC_ACCESS_KEY"] in s or secrets["DVC_SECRET_KEY"] in s for s in said)
    state["writes"].clear()
    changed, said = run()
    assert changed == [] and state["writes"] == []
    assert said == ["  minio: nothing to change"]
    # Someone changed the DVC user's secret: the lab's is put back, nothing else.
    state["secret"] = "changed-by-hand"
    changed, _ = run()
    assert changed == [
        f"reset the secret of DVC user {secrets['DVC_ACCESS_KEY'][:2]}****** to the lab's"
    ]
