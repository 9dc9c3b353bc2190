"""Shared helpers of the test suite."""

import neuralfields as nf
from neuralfields import _registry


def example_config(kind: str, name: str) -> dict:
    """The example configuration ``name`` was registered with (``{}`` when it has none)."""
    return _registry.example_config(kind, name)


def small_field(name: str, **overrides):
    """A small instance of the registered field ``name``."""
    return nf.create("field", name, **{**example_config("field", name), **overrides})
