"""Files a user names on the command line: one check, one wording for each way they fail."""

from __future__ import annotations

from pathlib import Path

from lab.errors import ConfigError


def read_text_file(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``; ConfigError saying whether it is missing, a directory,
    unreadable or not text (``what`` names what the file should have been)."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not {what}", hint=f"pass the path of {what}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (expected {what})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\0"), data.index(b"\0") + 1, "NUL")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a text file (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            f"expected {what}"
        ) from None
