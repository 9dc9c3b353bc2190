"""The figure and the atomic PNG write every plot of :mod:`neuralfields.plots` shares."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import OptionalDependencyError

__all__: list[str] = []


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise OptionalDependencyError("matplotlib", "viz", "drawing plots") from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    import io as _io

    from .io import atomic_write

    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    return atomic_write(path, buf.getvalue())
