"""Fill a DVC remote with a project's data: the seeding behind ``lab up``, ``lab exercise``
on the stack, the local driver and the integration tests.

:func:`seed_dvc_remote` materialises the project's DVC-tracked data in a checkout (its
``ci/seed.sh``, when the project has one: it must make the data byte-identical to the
committed hashes) and pushes it with ``dvc push -r origin``.

With a seed cache (``LAB_SEED_CACHE``, a directory) the seeding runs against that
shared DVC cache, and ``ci/seed.sh`` is skipped when the cache already holds every
cached output the checkout's ``dvc.lock`` and ``.dvc`` files name (objects are
addressed by their md5, so a hit is exactly the data the seed would make).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from lab.errors import ConfigError, ServiceError, output_tail
from lab.pipeline.buildenv import base_env

SEED_SCRIPT = Path("ci") / "seed.sh"
SEED_TIMEOUT = 1800.0
SEED_CACHE_ENV = "LAB_SEED_CACHE"


def seed_dvc_remote(
    checkout: Path,
    *,
    env: Mapping[str, str],
    credentials: tuple[str, str],
    cache_dir: Path | None = None,
) -> None:
    """Materialise the project's DVC data in ``checkout`` (its ``ci/seed.sh``, if any)
    and ``dvc push -r origin`` it, with ``credentials`` as AWS_ACCESS_KEY_ID/SECRET.

    When ``env`` has DVC_S3_ENDPOINT, ``origin``'s endpoint is set first with
    ``dvc remote modify --local`` (``.dvc/config.local``: never committed).
    ``cache_dir`` (default: ``$LAB_SEED_CACHE``, if set) is a DVC cache shared between
    seedings: used with ``dvc config --local cache.dir``, and ``ci/seed.sh`` is
    skipped when it already holds every object to push. One seeding at a time uses it.
    """
    checkout = Path(checkout)
    if cache_dir is None and os.environ.get(SEED_CACHE_ENV):
        cache_dir = Path(os.environ[SEED_CACHE_ENV])
    if cache_dir is None or not (checkout / ".dvc").is_dir():
        _seed(checkout, env, credentials, None)
        return
    cache_dir = Path(cache_dir).resolve()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / ".seed.lock").touch()
    except OSError as exc:
        raise ConfigError(
            f"seed cache {cache_dir} ({SEED_CACHE_ENV}) is not a writable directory: "
            f"{exc.strerror or exc}"
        ) from None
    with _locked(cache_dir / ".seed.lock", f"seed cache {cache_dir}"):
        _seed(checkout, env, credentials, cache_dir)


@contextlib.contextmanager
def _locked(path: Path, what: str) -> Any:
    """An exclusive lock on ``path`` (other processes seeding into the same cache wait)."""
    with path.open("a") as fh:
        deadline = time.monotonic() + SEED_TIMEOUT
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"{what} stayed locked by another seeding for {SEED_TIMEOUT:.0f}s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _seed(
    checkout: Path,
    env: Mapping[str, str],
    credentials: tuple[str, str],
    cache_dir: Path | None,
) -> None:
    seed = checkout / SEED_SCRIPT
    run_env = base_env({"DVC_NO_ANALYTICS": "1", **env})
    run_env.update(AWS_ACCESS_KEY_ID=credentials[0], AWS_SECRET_ACCESS_KEY=credentials[1])

    def run(argv: list[str], what: str) -> None:
        try:
            proc = subprocess.run(
                argv,
                cwd=checkout,
                env=run_env,
                capture_output=True,
                text=True,
                timeout=SEED_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(
                f"{what} in {checkout} took longer than {SEED_TIMEOUT:.0f}s"
            ) from None
        except FileNotFoundError as exc:
            raise ServiceError(f"{what} in {checkout}: {exc.filename} is not installed") from None
        if proc.returncode != 0:
            raise ServiceError(
                f"{what} in {checkout} failed (exit {proc.returncode}):\n"
                + output_tail(proc.stdout + proc.stderr, lines=30, secret=credentials[1])
            )

    if cache_dir is not None:
        run(["dvc", "config", "--local", "cache.dir", str(cache_dir)], "dvc config cache.dir")
    if seed.is_file() and not (cache_dir is not None and _holds_outputs(checkout, cache_dir)):
        run(["bash", "-e", str(SEED_SCRIPT)], f"the project's {SEED_SCRIPT}")
    endpoint = env.get("DVC_S3_ENDPOINT")
    if endpoint:
        run(
            ["dvc", "remote", "modify", "--local", "origin", "endpointurl", endpoint],
            "dvc remote modify --local origin endpointurl",
        )
    run(["dvc", "push", "-r", "origin"], "dvc push -r origin")


# ---- what a seed cache holds ---------------------------------------------------------


def _uncached_paths(checkout: Path) -> set[str] | None:
    """Paths of dvc.yaml stage outputs declared ``cache: false`` (not pushed, so never
    looked for); None when dvc.yaml is templated or unreadable (the cache is not trusted)."""
    path = checkout / "dvc.yaml"
    if not path.is_file():
        return set()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return set()
    found: set[str] = set()
    for stage in stages.values():
        if not isinstance(stage, dict) or "foreach" in stage or "matrix" in stage:
            return None
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key) or []:
                if isinstance(entry, dict):
                    for out, flags in entry.items():
                        if "${" in str(out):
                            return None
                        if isinstance(flags, dict) and flags.get("cache") is False:
                            found.add(str(out))
                elif "${" in str(entry):
                    return None
    return found


def _has_object(cache_dir: Path, md5: str) -> bool:
    """DVC 3 keeps objects under files/md5/, DVC 2 (legacy lock entries) at the top."""
    name = Path(md5[:2]) / md5[2:]
    for path in (cache_dir / "files" / "md5" / name, cache_dir / name):
        if path.is_file():
            if not md5.endswith(".dir"):
                return True
            try:
                entries = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError):
                return False
            return isinstance(entries, list) and all(
                isinstance(e, dict) and _has_object(cache_dir, str(e.get("md5", "")))
                for e in entries
            )
    return False


def _holds_outputs(checkout: Path, cache_dir: Path) -> bool:
    """Does ``cache_dir`` hold every cached output of ``checkout``'s dvc.lock and .dvc files?"""
    uncached = _uncached_paths(checkout)
    if uncached is None:
        return False
    outs: list[Any] = []
    lock = checkout / "dvc.lock"
    dvc_files = [
        p
        for p in checkout.rglob("*.dvc")
        if p.is_file() and not {".git", ".dvc"} & set(p.relative_to(checkout).parts[:-1])
    ]
    try:
        if lock.is_file():
            stages = (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages") or {}
            for stage in stages.values():
                outs += [o for o in stage.get("outs") or [] if o.get("path") not in uncached]
        for dvc_file in dvc_files:
            data = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
            outs += [o for o in data.get("outs") or [] if o.get("cache", True) is not False]
    except (yaml.YAMLError, UnicodeDecodeError, AttributeError, OSError):
        return False
    md5s = [str(o.get("md5") or "") if isinstance(o, dict) else "" for o in outs]
    return bool(md5s) and all(m and _has_object(cache_dir, m) for m in md5s)
