"""One exception hierarchy for the lab, each class mapped to a documented exit code.

Exit codes (also listed in ``lab --help``):

====  ==========================================================
0     success
1     a check or scenario failed (expected behaviour not seen)
2     usage or configuration error (bad file, field, argument)
3     a prerequisite is missing (Docker engine, compose v2, ports)
4     a service misbehaved (HTTP error, command failed)
5     timed out waiting for something
70    an internal error of the lab itself (a bug: please report it)
====  ==========================================================
"""

from __future__ import annotations


class LabError(Exception):
    """Base of every error the lab reports to a user (no traceback shown)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class CheckFailed(LabError):
    """A check, lint or scenario expectation did not hold."""

    exit_code = 1


class ConfigError(LabError):
    """A file, field or argument is invalid; the message names which."""

    exit_code = 2


class PrerequisiteMissing(LabError):
    """Something the lab needs on this machine is absent (Docker, compose v2, a free port)."""

    exit_code = 3


class ServiceError(LabError):
    """A service (Gitea, Jenkins, MinIO, Docker, a command) answered with an error."""

    exit_code = 4


class WaitTimeout(LabError):
    """A bounded wait ran out; the message says what was awaited and the last error seen."""

    exit_code = 5


def output_tail(text: str, *, lines: int = 12, secret: str | None = None) -> str:
    """The last ``lines`` whole lines of a command's output, for an error message.

    Whole lines, not characters: git's and Docker's reasons ("! [rejected] ...",
    "hint: ...") stay readable instead of starting mid-word. ``secret`` is masked.
    """
    if secret:
        text = text.replace(secret, "****")
    kept = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    cut = len(kept) - lines
    shown = kept[-lines:]
    if cut > 0:
        shown.insert(0, f"... ({cut} earlier lines)")
    return "\n".join(f"  | {line}" for line in shown)


def os_error(exc: OSError, doing: str | None = None) -> ConfigError:
    """A file-system error (read-only or missing directory, permissions) as a usage error
    naming the path: the user fixes it on their side."""
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    reason = exc.strerror or type(exc).__name__
    head = doing or f"cannot use {where or 'a file'}"
    return ConfigError(
        f"{head}: {reason}" + (f" ({where})" if doing and where else ""),
        hint="check that the lab's directories exist and are writable by you",
    )


# sysexits.h EX_SOFTWARE: an exception no LabError describes is a bug in the lab, not
# something the user did; it still gets one line, not a traceback.
INTERNAL_ERROR = 70

EXIT_CODES: dict[int, str] = {
    0: "success",
    CheckFailed.exit_code: "a check, lint or scenario failed",
    ConfigError.exit_code: "usage or configuration error",
    PrerequisiteMissing.exit_code: "a prerequisite is missing (Docker engine, compose v2, ports)",
    ServiceError.exit_code: "a service or command answered with an error",
    WaitTimeout.exit_code: "timed out waiting for something",
    INTERNAL_ERROR: "an internal error of the lab (a bug: LAB_DEBUG=1 shows the traceback)",
}
