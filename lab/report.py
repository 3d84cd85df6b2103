"""Progress output for long commands: phases with elapsed time."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO


class Reporter:
    """Prints ``==> phase`` lines, notes under them, and each phase's duration."""

    def __init__(
        self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._start = clock()

    def _print(self, text: str) -> None:
        print(text, file=self._stream or sys.stdout, flush=True)

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._print(f"==> {name}")
        begun = self._clock()
        try:
            yield
        except BaseException:
            self._print(f"    failed after {self._clock() - begun:.1f}s")
            raise
        self._print(f"    done in {self._clock() - begun:.1f}s")

    def note(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._print(f"    {line}")
