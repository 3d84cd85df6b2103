"""Per-lab secrets: generated once, stored 0600 in ``.lab/secrets.env``, never printed whole.

The file is a plain ``KEY=VALUE`` env file so ``docker compose --env-file`` can
read it. Keys:

- ``JENKINS_ADMIN_USER`` / ``JENKINS_ADMIN_PASSWORD``: the Jenkins local admin (JCasC)
- ``GITEA_ADMIN_USER`` / ``GITEA_ADMIN_PASSWORD``: the Gitea site admin
- ``GITEA_BOT_USER`` / ``GITEA_BOT_PASSWORD``: the bot that Jenkins pushes and comments as
- ``GITEA_BOT_TOKEN``: the bot's scoped API token, added by ``lab up`` once Gitea runs
  (Jenkins' ``GIT_PAT`` credential)
- ``MINIO_ROOT_USER`` / ``MINIO_ROOT_PASSWORD``: MinIO's root account (admin only)
- ``DVC_ACCESS_KEY`` / ``DVC_SECRET_KEY``: the least-privilege MinIO user DVC uses
  (Jenkins' ``DVC_Remote_Creds`` credential, and the ``s3-credentials`` file credential)
- ``PYPI_USER`` / ``PYPI_PASSWORD``: the private package index's (pypiserver) htpasswd
  user; ``lab up`` uploads with it, pipelines install with it (Jenkins' ``pip-conf``)
"""

from __future__ import annotations

import os
import secrets as _random
import stat
import string
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from lab.errors import ConfigError, os_error

_ALNUM = string.ascii_letters + string.digits


def _password(n: int = 24) -> Callable[[], str]:
    return lambda: "".join(_random.choice(_ALNUM) for _ in range(n))


def _fixed(value: str) -> Callable[[], str]:
    return lambda: value


def _access_key() -> str:
    return "dvc" + "".join(
        _random.choice(string.ascii_uppercase + string.digits) for _ in range(17)
    )


# Key -> generator. Order is the order written to the file.
GENERATED: dict[str, Callable[[], str]] = {
    "JENKINS_ADMIN_USER": _fixed("lab-admin"),
    "JENKINS_ADMIN_PASSWORD": _password(),
    "GITEA_ADMIN_USER": _fixed("lab-admin"),
    "GITEA_ADMIN_PASSWORD": _password(),
    "GITEA_BOT_USER": _fixed("cd4ml-bot"),
    "GITEA_BOT_PASSWORD": _password(),
    "MINIO_ROOT_USER": _fixed("lab-root"),
    "MINIO_ROOT_PASSWORD": _password(32),
    "DVC_ACCESS_KEY": _access_key,
    "DVC_SECRET_KEY": _password(40),
    "PYPI_USER": _fixed("lab-pypi"),
    "PYPI_PASSWORD": _password(),
}
# Keys filled in later by `lab up` (they need a running service to exist).
LATE_KEYS = ("GITEA_BOT_TOKEN",)
ALL_KEYS = (*GENERATED, *LATE_KEYS)
# Keys that are identities, not secrets: shown whole by `lab creds`.
PUBLIC_KEYS = frozenset(
    {"JENKINS_ADMIN_USER", "GITEA_ADMIN_USER", "GITEA_BOT_USER", "MINIO_ROOT_USER", "PYPI_USER"}
)


def mask(value: str) -> str:
    """A value safe to print: never more than its first two characters."""
    if len(value) <= 4:
        return "****"
    return value[:2] + "*" * 6


class Secrets(Mapping[str, str]):
    """The lab's secrets file, loaded; write with :meth:`set` (saved atomically, 0600)."""

    def __init__(self, path: Path, values: dict[str, str]) -> None:
        self.path = path
        self._values = values

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:  # never leak values through repr/logging
        return f"Secrets({self.path}, keys={sorted(self._values)})"

    def require(self, key: str) -> str:
        value = self._values.get(key, "")
        if not value:
            raise ConfigError(
                f"{self.path}: secret {key} is missing or empty",
                hint="run `lab up` to generate/complete the lab's secrets",
            )
        return value

    def set(self, key: str, value: str) -> None:
        if key not in ALL_KEYS:
            raise ConfigError(f"unknown secret key {key!r}")
        self._values[key] = value
        _write(self.path, self._values)

    # ---- file handling -------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> Secrets:
        if not path.is_file():
            raise ConfigError(
                f"no lab secrets at {path}", hint="run `lab up` (or `make lab-up`) first"
            )
        _check_mode(path)
        return cls(path, _parse(path))

    @classmethod
    def ensure(cls, path: Path) -> tuple[Secrets, list[str]]:
        """Load the secrets, generating any missing key; return them and the keys created."""
        values = _parse(path) if path.is_file() else {}
        if path.is_file():
            _check_mode(path)
        emptied = [k for k in GENERATED if k in values and not values[k]]
        if emptied:
            # The services were set up with the old values (Gitea's admin, MinIO's root
            # in its volume): a new value would lock the lab out of them.
            raise ConfigError(
                f"{path}: {', '.join(emptied)} {'is' if len(emptied) == 1 else 'are'} empty; "
                "the lab will not make up a new value the running services do not know",
                hint="put the value back; or, to start afresh, `lab down --volumes`, delete "
                "the line(s) and run `lab up` (that deletes the lab's data)",
            )
        created = [k for k in GENERATED if not values.get(k)]
        for key in created:
            values[key] = GENERATED[key]()
        if created or not path.is_file():
            _write(path, values)
        return cls(path, values), created


def read_private_env(path: Path, what: str) -> dict[str, str]:
    """KEY=VALUE lines of a private file (mode 0600 or stricter), e.g. `lab run --credentials`."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such {what}")
    _check_mode(path)
    return _parse(path)


def _parse(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{path}:{lineno}: expected KEY=VALUE")
        values[key.strip()] = value.strip()
    return values


def _check_mode(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} is readable by others (mode {mode:o})",
            hint=f"chmod 600 {path}",
        )


def _write(path: Path, values: Mapping[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    body = "# cd4ml-lab secrets: generated by `lab up`. Keep private (mode 0600), never commit.\n"
    body += "".join(f"{k}={v}\n" for k, v in values.items())
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise os_error(exc, f"cannot write the lab's secrets to {path}") from None
