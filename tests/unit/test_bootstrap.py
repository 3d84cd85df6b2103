"""Bootstrap: pure planners, and convergence against an in-process fake Gitea and fake MinIO.

The fake Gitea speaks the REST calls the bootstrap uses and serves git pushes
through the real `git http-backend`, behind HTTP basic auth, so the push's
credential handling is exercised for real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from lab import up
from lab.bootstrap import (
    GiteaDesired,
    GiteaObserved,
    HookState,
    RepoState,
    S3Desired,
    S3Observed,
    TeamState,
    apply,
    converge_gitea,
    converge_minio,
    plan_gitea,
    plan_s3,
    push_directory,
)
from lab.clients.gitea import BOT_TOKEN_SCOPES, HOOK_EVENTS, JENKINS_HOOK_URL, TEAM_UNITS
from lab.clients.s3admin import DvcIdentity
from lab.clients.storage import DVC_POLICY_NAME, MinioS3Admin, Storage, StorageAdmin, dvc_policy
from lab.config import LabConfig
from lab.errors import ServiceError
from lab.secrets import PUBLIC_KEYS, Secrets
from lab.stack import Compose
from tests.fakes.gitea import PR_FAMILY, FakeGitea, serve

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


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


WRITE_UNITS = dict.fromkeys(TEAM_UNITS, "write")


def converged(*names: str) -> GiteaObserved:
    return GiteaObserved(
        bot_exists=True,
        token_ok=True,
        token_names=frozenset({"lab-jenkins"}),
        org_exists=True,
        # What Gitea >= 1.24 reads back for the team the lab creates [E1 in tests/fakes].
        team=TeamState(id=3, permission="none", includes_all=True, units=WRITE_UNITS, has_bot=True),
        repos={n: RepoState(exists=True, seeded=True, hooks=(good_hook(),)) for n in names},
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
        repos={"demo": RepoState(exists=True, seeded=True, hooks=(drifted,))},
    )
    plan = descriptions(plan_gitea(observed, desired("demo")))
    assert plan == [
        f"fix webhook cd4ml/demo -> {JENKINS_HOOK_URL} "
        "(events lack create, delete, pull_request; content type form)"
    ]
    other = HookState(9, "http://elsewhere/hook", frozenset({"push"}), "json", True)
    observed = replace(
        converged("demo"),
        repos={"demo": RepoState(True, True, (good_hook(4), good_hook(2), other))},
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
        converged(),
        team=TeamState(
            id=3,
            permission="none",
            includes_all=False,
            units={**WRITE_UNITS, "repo.code": "read"},
            has_bot=False,
        ),
    )
    assert descriptions(plan_gitea(observed, desired())) == [
        "set team cd4ml/lab-bots to write on all repositories "
        "(not on all repositories; repo.code read)",
        "add cd4ml-bot to team cd4ml/lab-bots",
    ]


def test_a_unit_based_team_reading_back_permission_none_is_converged():
    # Gitea >= 1.24 (PR #34128): a non-admin team's own permission reads "none".
    team = TeamState(3, "none", True, WRITE_UNITS, True)
    assert plan_gitea(replace(converged(), team=team), desired()) == []
    # Missing units, or a team broader than write, are drift.
    lacking = replace(team, units={"repo.code": "write"})
    (fix,) = descriptions(plan_gitea(replace(converged(), team=lacking), desired()))
    assert "repo.issues none; repo.pulls none; repo.releases none" in fix
    admin = replace(team, permission="admin", units=dict.fromkeys(TEAM_UNITS, "admin"))
    (fix,) = descriptions(plan_gitea(replace(converged(), team=admin), desired()))
    assert fix.startswith(
        "set team cd4ml/lab-bots to write on all repositories (team permission admin"
    )


def test_inactive_or_filtered_hook_is_repaired():
    for drifted, why in (
        (replace(good_hook(), active=False), "inactive"),
        (replace(good_hook(), branch_filter="main"), "branch filter main"),
    ):
        observed = replace(converged("demo"), repos={"demo": RepoState(True, True, (drifted,))})
        assert descriptions(plan_gitea(observed, desired("demo"))) == [
            f"fix webhook cd4ml/demo -> {JENKINS_HOOK_URL} ({why})"
        ]
    # Gitea answers "" for a hook created without a filter: that is every branch too.
    unfiltered = replace(good_hook(), branch_filter="")
    observed = replace(converged("demo"), repos={"demo": RepoState(True, True, (unfiltered,))})
    assert plan_gitea(observed, desired("demo")) == []


def test_repo_without_its_branch_is_pushed_but_a_seeded_repo_is_left_alone():
    observed = replace(
        converged("a", "b"),
        repos={
            "a": RepoState(exists=True, seeded=False, hooks=(good_hook(),)),
            "b": RepoState(exists=True, seeded=True, hooks=()),
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


S3_DESIRED = S3Desired(bucket="cd4ml-dvc", access_key="dvcABCDEFGH")


def test_s3_plans_from_fresh_to_converged():
    fresh = S3Observed(False, DvcIdentity(exists=False), False)
    plan = descriptions(plan_s3(fresh, S3_DESIRED))
    assert plan == [
        "create bucket cd4ml-dvc",
        "create DVC user dv****** with least privilege on cd4ml-dvc",
    ]
    assert not any("dvcABCDEFGH" in d for d in plan)
    assert plan_s3(S3Observed(True, DvcIdentity(exists=True), True), S3_DESIRED) == []


def test_s3_drift_rights_widened_and_secret_changed():
    observed = S3Observed(True, DvcIdentity(True, ("policy p is not least privilege",)), False)
    assert descriptions(plan_s3(observed, S3_DESIRED, phase="seaweedfs")) == [
        "reset DVC user dv****** to least privilege on cd4ml-dvc (policy p is not least privilege)",
        "reset the secret of DVC user dv****** to the lab's",
    ]
    assert {a.phase for a in plan_s3(observed, S3_DESIRED, phase="seaweedfs")} == {"seaweedfs"}


def _minio_admin(state: dict[str, Any]) -> MinioS3Admin:
    store = FakeStorage(state)
    return MinioS3Admin(
        cast(Storage, store), cast(StorageAdmin, FakeAdmin(state)), dvc=cast(Storage, store)
    )


def minio_state(**extra: Any) -> dict[str, Any]:
    return {
        "buckets": {"cd4ml-dvc"},
        "policies": {},
        "users": {},
        "secret": "s",
        "wanted_secret": "s",
        "writes": [],
        **extra,
    }


def test_minio_identity_drift_is_the_policy_its_content_and_its_attachment():
    key = S3_DESIRED.access_key
    state = minio_state(users={key: set()})
    minio = _minio_admin(state)
    assert minio.dvc_identity("someone-else", "cd4ml-dvc") == DvcIdentity(exists=False)
    assert minio.dvc_identity(key, "cd4ml-dvc").drift == (
        f"no policy {DVC_POLICY_NAME}",
        f"policy {DVC_POLICY_NAME} not attached",
    )
    # The server may return the policy in another order/shape: still least privilege.
    shuffled = dvc_policy("cd4ml-dvc")
    shuffled["Statement"].reverse()
    shuffled["Statement"][0]["Action"].reverse()
    state["policies"][DVC_POLICY_NAME] = shuffled
    state["users"][key] = {DVC_POLICY_NAME, "other"}
    assert minio.dvc_identity(key, "cd4ml-dvc") == DvcIdentity(exists=True)
    wide = dvc_policy("cd4ml-dvc")
    wide["Statement"][1]["Action"].append("s3:*")
    state["policies"][DVC_POLICY_NAME] = wide
    assert minio.dvc_identity(key, "cd4ml-dvc").drift == (
        f"policy {DVC_POLICY_NAME} is not least privilege on cd4ml-dvc",
    )
    minio.ensure_dvc_identity(key, "s", "cd4ml-dvc")
    assert state["writes"] == [f"policy {DVC_POLICY_NAME}"]  # the user exists, attached
    assert minio.dvc_identity(key, "cd4ml-dvc") == DvcIdentity(exists=True)


def test_apply_names_the_failing_action():
    def boom() -> None:
        raise ServiceError("Gitea: POST /api/v1/orgs -> HTTP 500: oops")

    from lab.bootstrap import Action

    with pytest.raises(ServiceError, match="gitea: could not create organisation cd4ml: Gitea"):
        apply([Action("gitea", "create organisation cd4ml", boom)], progress=lambda _: None)


# ---------------------------------------------------------- fake Gitea --
@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    secrets, _ = Secrets.ensure(tmp_path / "lab" / ".lab" / "secrets.env")
    admin = (secrets["GITEA_ADMIN_USER"], secrets["GITEA_ADMIN_PASSWORD"])
    project = tmp_path / "projects" / "demo"
    (project / "src").mkdir(parents=True)
    (project / "Jenkinsfile").write_text("pipeline { agent any\n stages { } }\n")
    (project / "params.yaml").write_text("train:\n  n_estimators: 50\n")
    (project / "src" / "train.py").write_text("print('train')\n")
    with serve(tmp_path / "git", admin) as (fake, port):
        cfg = LabConfig.load(root=tmp_path / "lab", env={"LAB_GITEA_PORT": str(port)})
        yield {"cfg": cfg, "secrets": secrets, "fake": fake, "project": project}


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
    # The bot can write to every org repository through the team's units; the team's
    # own mode is "none", as Gitea >= 1.24 stores a unit-based team.
    (team,) = fake.teams.values()
    assert team["access_mode"] == "none" and team["includes_all_repositories"] is True
    assert team["units"] == dict.fromkeys(TEAM_UNITS, "write")
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

    # Gitea's push queue has not run yet: the repository still reads `empty`.
    assert fake.api("GET", "/repos/cd4ml/demo", "x", None)[1]["empty"] is True
    fake.log.clear()
    changed, said = run_gitea(lab)
    assert changed == []
    assert fake.writes == []
    assert not [p for _, p, _ in fake.log if "git-receive-pack" in p]  # no second push
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
    (team,) = fake.teams.values()
    team["units"]["repo.pulls"] = "read"
    lab["secrets"].set("GITEA_BOT_TOKEN", "0" * 40)  # no longer valid
    fake.log.clear()
    changed, _ = run_gitea(lab)
    assert [c.split(" (")[0] for c in changed] == [
        "delete stale token lab-jenkins of cd4ml-bot",
        "create token lab-jenkins for cd4ml-bot",
        "set team cd4ml/lab-bots to write on all repositories",
        f"fix webhook cd4ml/demo -> {JENKINS_HOOK_URL}",
        f"delete duplicate webhook #999 cd4ml/demo -> {JENKINS_HOOK_URL}",
    ]
    assert team["units"] == dict.fromkeys(TEAM_UNITS, "write")
    assert [t["name"] for t in fake.tokens.values()] == ["lab-jenkins"]
    assert lab["secrets"]["GITEA_BOT_TOKEN"] in fake.tokens
    assert run_gitea(lab)[0] == []


@pytest.mark.parametrize(
    ("change", "why"),
    [({"active": False}, "inactive"), ({"branch_filter": "main"}, "branch filter main")],
)
def test_converge_gitea_reactivates_and_unfilters_the_hook(lab, change, why):
    fake: FakeGitea = lab["fake"]
    run_gitea(lab)
    (hook,) = fake.hooks["cd4ml/demo"]
    hook.update(change)
    changed, _ = run_gitea(lab)
    assert changed == [f"fix webhook cd4ml/demo -> {JENKINS_HOOK_URL} ({why})"]
    assert hook["active"] is True and hook["branch_filter"] == "*"
    assert run_gitea(lab)[0] == []


def test_a_repo_whose_push_is_not_yet_processed_is_not_pushed_again(lab):
    # `lab up` killed right after the push: Gitea still says empty (its push queue has
    # not run), but the branch exists. A second push would be a non-fast-forward.
    fake: FakeGitea = lab["fake"]
    run_gitea(lab)
    assert fake.repos["cd4ml/demo"]["empty"] is True
    fake.log.clear()
    assert run_gitea(lab)[0] == []
    fake.run_push_queue()
    assert fake.repos["cd4ml/demo"]["empty"] is False
    assert run_gitea(lab)[0] == []


def test_lab_up_expects_no_job_for_an_archived_repository(lab):
    # The seed job skips archived repositories (tests/unit/test_seed_jobs.py); `lab up`
    # must not wait for a job that will never come.
    fake: FakeGitea = lab["fake"]
    run_gitea(lab)
    fake.api("POST", "/orgs/cd4ml/repos", "x", {"name": "old", "auto_init": False})
    fake.repos["cd4ml/old"]["archived"] = True
    assert up._org_projects(lab["cfg"], lab["secrets"]) == ["demo"]


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


# ------------------------------------------------- the Gitea site admin --
class GiteaContainer:
    """Stands in for the Docker engine under `docker compose exec gitea gitea ...`.

    Records every argv the lab builds, and does to the fake Gitea what the Gitea
    CLI would (tests/fakes/EVIDENCE.md, E2): `admin user list --admin` prints a table
    (ID, then the name: the layout the lab parses, not re-read upstream), `create
    --random-password` prints the password it generated, `generate-access-token --raw`
    prints only the token.
    """

    def __init__(self, fake: FakeGitea) -> None:
        self.fake = fake
        self.argvs: list[list[str]] = []
        self.printed: list[str] = []  # secrets the CLI printed (random password, tokens)

    def __call__(self, argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess:
        self.argvs.append(list(argv))
        cmd = argv[argv.index("admin") :] if "admin" in argv else []

        def flag(name: str) -> str:
            return cmd[cmd.index(name) + 1]

        out = ""
        if cmd[:3] == ["admin", "user", "list"]:
            admins = [u for u, info in self.fake.users.items() if info["admin"]]
            out = "ID   Username   Email   IsActive IsAdmin 2FA\n" + "".join(
                f"{i}   {u}   {u}@lab.invalid   true   true   false\n"
                for i, u in enumerate(admins, 1)
            )
        elif cmd[:3] == ["admin", "user", "create"]:
            if "--random-password" in cmd:
                password = "R4nd0m-" + flag("--username")
                self.printed.append(password)
                out = f"generated random password is '{password}'\n"
            else:
                password = flag("--password")
            self.fake.users[flag("--username")] = {"password": password, "admin": True}
        elif cmd[:3] == ["admin", "user", "change-password"]:
            self.fake.users[flag("--username")]["password"] = flag("--password")
        elif cmd[:3] == ["admin", "user", "generate-access-token"]:
            scopes = flag("--scopes").split(",")
            token = self.fake.add_token(flag("--username"), flag("--token-name"), scopes)
            self.printed.append(token)
            out = token + "\n" if "--raw" in cmd else f"Access token was created: {token}\n"
        else:
            raise AssertionError(f"unexpected command {argv}")
        return subprocess.CompletedProcess(argv, 0, stdout=out, stderr="")


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv of every process started (git, the fake's git backend, ...)."""
    argvs: list[list[str]] = []
    real = subprocess.Popen

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            argvs.append([str(a) for a in (args if isinstance(args, (list, tuple)) else [args])])
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    return argvs


@pytest.mark.parametrize("state", ["absent", "other-password"])
def test_no_command_the_bootstrap_runs_carries_a_secret(lab, spawned, state):
    fake: FakeGitea = lab["fake"]
    secrets: Secrets = lab["secrets"]
    cfg: LabConfig = lab["cfg"]
    admin = secrets["GITEA_ADMIN_USER"]
    if state == "absent":
        del fake.users[admin]
    else:
        fake.users[admin]["password"] = "set-by-hand-long-ago"
    cfg.compose_file.parent.mkdir(parents=True, exist_ok=True)
    cfg.compose_file.write_text("services: {}\n")
    container = GiteaContainer(fake)
    compose = Compose(cfg, runner=container, environ={"PATH": "/usr/bin:/bin"})

    changed = up.ensure_gitea_admin(cfg, compose, secrets)
    assert changed == [
        f"created Gitea admin {admin}"
        if state == "absent"
        else f"reset the password of Gitea admin {admin} to the one in {secrets.path}"
    ]
    assert fake.users[admin]["password"] == secrets["GITEA_ADMIN_PASSWORD"]
    assert not [t for t in fake.tokens.values() if t["user"] == admin]  # one-off token gone
    assert up.ensure_gitea_admin(cfg, compose, secrets) == []
    run_gitea(lab)

    argvs = container.argvs + spawned
    values = [v for k, v in secrets.items() if k not in PUBLIC_KEYS and v]
    values += [*fake.tokens, *container.printed]
    leaks = [(v[:3] + "...", argv) for argv in argvs for v in values if any(v in a for a in argv)]
    assert leaks == []
    assert len(container.printed) == (2 if state == "absent" else 1)
    assert any("generate-access-token" in argv for argv in container.argvs)
    assert any(a.endswith("git") and "push" in argv for argv in spawned for a in argv[:1])


# ---------------------------------------------------------- fake MinIO --
class FakeStorage:
    """Stands for Storage (tested against a MinIO-like server in test_storage.py)."""

    endpoint = "http://minio.invalid:9000"

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
        # Stands for Storage.credentials_valid, which tests/unit/test_storage.py runs
        # against a server answering as MinIO does (tests/fakes/s3.py).
        return self.state["secret"] == self.state["wanted_secret"]


class FakeAdmin:
    """Stands for StorageAdmin (tested against MinioAdmin's shapes in test_storage.py);
    put_user is an upsert, as the lab assumes MinIO's add-user is (not read upstream:
    tests/fakes/EVIDENCE.md, M3)."""

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
    assert len(changed) == 2  # the bucket, the user with its policy attached
    assert state["writes"] == [
        "bucket cd4ml-dvc",
        f"policy {DVC_POLICY_NAME}",
        f"user {secrets['DVC_ACCESS_KEY']}",
        f"attach {DVC_POLICY_NAME}",
    ]
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
