"""Keep freed memory for reuse during a fit, so training steps do not page-fault on fresh memory (glibc only).

A full-batch SIREN step allocates and frees tensors of tens of MiB every step. glibc serves blocks that
large with ``mmap`` and returns them to the system on ``free``; the next step maps fresh pages and pays a
page fault per 4 KiB page as it first touches them (``benchmarks/train_step.py`` counts them). Telling
glibc not to ``mmap`` (``M_MMAP_MAX = 0``) and not to trim the heap (a high ``M_TRIM_THRESHOLD``) keeps
freed blocks in the heap, where the next step reuses them already mapped. The cost: the process keeps its
peak memory while the setting is on.

The engine applies :func:`freed_memory_kept` for the duration of every run and restores glibc's
defaults afterwards (then returns the kept memory to the system with ``malloc_trim``). Set
``NEURALFIELDS_MALLOC=system`` to leave the allocator alone. Elsewhere than glibc-based Linux it does
nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["freed_memory_kept", "keep_freed_memory", "restore_allocator"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_DEFAULT_TRIM_THRESHOLD = 128 * 1024  # glibc's documented defaults
_DEFAULT_MMAP_MAX = 65536
_lock = threading.Lock()
_depth = [0]


def _libc() -> ctypes.CDLL | None:
    if os.environ.get("NEURALFIELDS_MALLOC", "").lower() == "system" or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        return libc
    except (OSError, AttributeError):
        return None


def keep_freed_memory() -> bool:
    """Tell glibc's ``malloc`` to keep freed memory for reuse (until :func:`restore_allocator`).

    Returns:
        ``True`` if the allocator is now configured, ``False`` if it was left alone (turned off with
        ``NEURALFIELDS_MALLOC=system``, not Linux, or no glibc ``mallopt``).
    """
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


def restore_allocator() -> bool:
    """Put glibc's ``mmap`` and trim settings back to their defaults and return the kept memory.

    Returns:
        ``True`` if the allocator was reset, ``False`` where :func:`keep_freed_memory` does nothing.
    """
    libc = _libc()
    if libc is None:
        return False
    done = bool(libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
    )
    try:
        libc.malloc_trim(0)
    except AttributeError:  # pragma: no cover - every glibc has it
        pass
    return done


@contextmanager
def freed_memory_kept() -> Iterator[bool]:
    """Keep freed memory for reuse inside the ``with`` block; nested blocks restore only at the outermost.

    Yields:
        Whether the setting is in force (see :func:`keep_freed_memory`).
    """
    with _lock:
        _depth[0] += 1
        active = keep_freed_memory() if _depth[0] == 1 else _libc() is not None
    try:
        yield active
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0:
                restore_allocator()
