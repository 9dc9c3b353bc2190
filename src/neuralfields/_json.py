"""JSON helpers shared by results, reports and the command line."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite"]


def finite(x: Any) -> Any:
    """``x`` with every non-finite float (``inf``, ``nan``) replaced by ``None``, recursively through
    dicts, lists and tuples, so ``json.dumps`` writes valid JSON."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x
