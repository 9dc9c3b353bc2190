"""The listing commands: ``plugins`` and ``samples``."""

from __future__ import annotations

import argparse
import json

__all__ = ["plugins_command", "samples_command"]


def plugins_command(args: argparse.Namespace) -> int:
    """``neuralfields plugins``: the installed plugins and what they registered (``--json``: as JSON)."""
    from . import _registry

    found = _registry.plugins()
    if args.json:
        print(json.dumps([p.as_dict() for p in found], indent=2))
        return 0
    if not found:
        print("no plugins installed (packages add them through the 'neuralfields.plugins' entry-point group)")
    for p in found:
        what = ", ".join(f"{k}:{n}" for k, n in p.registered) or "nothing"
        status = f"FAILED ({p.error})" if p.error else f"registered {what}"
        print(f"{p.name} ({p.distribution} {p.version}): {status}")
    return 0


def samples_command(args: argparse.Namespace) -> int:
    """``neuralfields samples``: the bundled sample images (``--json``: their names as JSON)."""
    from . import data

    names = data.sample_names()
    if args.json:
        print(json.dumps(names))
        return 0
    for name in names:
        print(f"{name:22s} {data.SAMPLES.get(name, 'procedural test image (always available)')}")
    return 0
