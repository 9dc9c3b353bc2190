"""Keep freed memory for reuse, so training steps do not page-fault on fresh memory (glibc only).

A full-batch SIREN step allocates and frees tensors of tens of MiB every step. glibc serves blocks that
large with ``mmap`` and returns them to the system on ``free``; the next step maps fresh pages and pays a
page fault per 4 KiB page as it first touches them (``benchmarks/train_step.py`` counts them). Telling
glibc not to ``mmap`` (``M_MMAP_MAX = 0``) and not to trim the heap (a high ``M_TRIM_THRESHOLD``) keeps
freed blocks in the heap, where the next step reuses them already mapped. The cost: the process keeps its
peak memory instead of returning it to the system.

The fitting functions call :func:`keep_freed_memory` once; set ``NEURALFIELDS_MALLOC=system`` to leave
the allocator alone. Elsewhere than glibc-based Linux it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_state: dict[str, bool] = {}


def keep_freed_memory() -> bool:
    """Configure glibc's ``malloc`` to keep freed memory for reuse (once per process).

    Returns:
        ``True`` if the allocator is (now) configured, ``False`` if it was left alone (turned off with
        ``NEURALFIELDS_MALLOC=system``, not Linux, or no glibc ``mallopt``).
    """
    if "done" in _state:
        return _state["done"]
    done = False
    if os.environ.get("NEURALFIELDS_MALLOC", "").lower() != "system" and sys.platform.startswith("linux"):
        try:
            mallopt = ctypes.CDLL("libc.so.6").mallopt
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            done = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
        except (OSError, AttributeError):
            done = False
    _state["done"] = done
    return done
