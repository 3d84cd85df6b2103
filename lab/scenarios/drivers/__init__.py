"""Scenario drivers: ``local`` (no Docker: local forge, moto S3, ci/ steps run here) and
``stack`` (the running lab: Gitea, Jenkins, MinIO). ``module:Class`` names a custom one."""

from __future__ import annotations

import importlib

from lab.errors import ConfigError
from lab.scenarios.driver import Driver

BUILTIN = ("local", "stack")


def make_driver(name: str) -> Driver:
    if name == "local":
        from lab.scenarios.drivers.local import LocalDriver

        return LocalDriver()
    if name == "stack":
        from lab.scenarios.drivers.stack import StackDriver

        return StackDriver()
    module_name, sep, attr = name.partition(":")
    if not sep:
        raise ConfigError(
            f"unknown scenario driver {name!r}", hint="use local, stack or module:Class"
        )
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # a user module may fail in any way
        raise ConfigError(
            f"scenario driver {name!r} cannot be imported: {type(exc).__name__}: {exc}"
        ) from None
    if not callable(factory):
        raise ConfigError(
            f"scenario driver {name!r} is a {type(factory).__name__}, not a Driver class",
            hint="module:Class names a subclass of lab.scenarios.driver.Driver",
        )
    try:
        driver = factory()
    except Exception as exc:  # reported with its type, never a traceback
        raise ConfigError(
            f"scenario driver {name!r} could not be created: {type(exc).__name__}: {exc}",
            hint="module:Class names a Driver subclass that takes no arguments",
        ) from None
    if not isinstance(driver, Driver):
        raise ConfigError(f"scenario driver {name!r} is not a lab.scenarios.driver.Driver")
    return driver
