"""Sub-command modules of the `lab` CLI. Add a module's ``register`` here to expose it."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

Registrar = Callable[[argparse._SubParsersAction], None]

# Order is the order shown by `lab --help`.
MODULES = (
    "lab.commands.stack",
    "lab.commands.project",
    "lab.commands.train",
    "lab.commands.scenario",
    "lab.commands.lint",
    "lab.commands.run",
    "lab.commands.exercise",
)


def register_all() -> list[Registrar]:
    return [importlib.import_module(name).register for name in MODULES]
