"""Files a user names or keeps in the lab: one check, one wording for each way they fail."""

from __future__ import annotations

from pathlib import Path

from lab.errors import ConfigError


def read_text_file(path: Path, what: str, *, max_bytes: int | None = None) -> str:
    """The UTF-8 text of ``path``; ConfigError saying whether it is missing, a directory,
    too big (over ``max_bytes``, checked before reading), unreadable or not text. ``what``
    names what the file should have been ("a Jenkinsfile")."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not {what}", hint=f"pass the path of {what}")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ConfigError(f"{path}: {size} bytes; {what} is at most {max_bytes // 1024} KiB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (expected {what})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    bad = data.find(b"\0")
    try:
        if bad >= 0:
            raise UnicodeDecodeError("utf-8", data, bad, bad + 1, "NUL byte")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not a text file (byte 0x{data[exc.start]:02x} at line {line}, offset "
            f"{exc.start}); expected {what}"
        ) from None
