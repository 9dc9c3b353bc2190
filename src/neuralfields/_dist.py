"""torch.distributed, as the library uses it: this process's rank and the world size, a process group
started from ``torchrun``'s environment, and the few collectives the library needs. Without a process
group everything works as one process (rank 0 of 1)."""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["rank_and_world", "init_from_env", "all_gather_objects", "barrier", "is_main"]


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` without one.

    Example:
        >>> rank_and_world()
        (0, 1)
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this process is rank 0 (the one that writes shared files and prints)."""
    return rank_and_world()[0] == 0


def init_from_env() -> bool:
    """Start the default process group when ``torchrun`` launched this process with more than one process
    (``WORLD_SIZE > 1``): NCCL when CUDA is available, gloo otherwise. Returns whether this call started it
    (the caller then ends it with ``torch.distributed.destroy_process_group()``)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available() or dist.is_initialized():
        return False
    backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    return True


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order; ``[obj]`` without a process group."""
    _, world = rank_and_world()
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    """Wait for every rank (nothing without a process group)."""
    if rank_and_world()[1] > 1:
        dist.barrier()
