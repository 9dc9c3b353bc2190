"""Progress bars (tqdm) for long loops: shown only when asked for and stderr is a terminal."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(progress: bool, total: int, desc: str, initial: int = 0, unit: str = "step") -> Any:
    """A tqdm bar when ``progress`` is on and stderr is a terminal, else ``None``."""
    if not (bool(progress) and sys.stderr.isatty()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True)
