"""Scenarios as data: YAML files under ``scenarios/`` run as asserted pytest items.

``loader`` (schema + line numbers) -> ``model`` -> ``runner`` (``steps``, ``expectations``)
on a ``driver`` (``drivers.local`` or ``drivers.stack``); ``plugin`` makes pytest items.
"""
