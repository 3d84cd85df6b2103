"""The lab's one waiting helper: poll a check until it passes, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from lab.errors import WaitTimeout

T = TypeVar("T")

Progress = Callable[[str], None]


def poll(
    check: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 2.0,
    progress: Progress | None = None,
    progress_every: float = 15.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``check`` until it returns a truthy value, and return that value.

    ``check`` may raise: the exception is remembered as the last error and the
    wait goes on. When ``timeout`` seconds pass, :class:`WaitTimeout` names
    ``what`` was awaited, how long, and the last error or value seen.
    ``progress`` (if given) is called every ``progress_every`` seconds with a
    one-line status, so long waits are never silent.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    start = clock()
    deadline = start + timeout
    last_note = start
    last_error: str | None = None
    attempts = 0
    while True:
        attempts += 1
        try:
            result = check()
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if result:
                return result
            last_error = f"not yet (check returned {result!r})"
        now = clock()
        if now >= deadline:
            raise WaitTimeout(
                f"timed out after {timeout:.0f}s waiting for {what} "
                f"({attempts} attempts); last: {last_error}"
            )
        if progress is not None and now - last_note >= progress_every:
            progress(f"still waiting for {what} ({now - start:.0f}s/{timeout:.0f}s): {last_error}")
            last_note = now
        sleep(min(interval, max(0.0, deadline - now)))
