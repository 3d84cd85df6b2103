"""Sub-command modules of the `lab` CLI. Add a module's ``register`` here to expose it."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Registrar = Callable[[argparse._SubParsersAction], None]


def register_all() -> list[Registrar]:
    registrars: list[Registrar] = []
    # Each import is local so one module's optional dependency cannot break the others.
    from lab.commands import stack as stack_cmds

    registrars.append(stack_cmds.register)
    return registrars
