"""torch.distributed, as the library uses it: this process's rank and the world size, a process group
started from ``torchrun``'s environment, and the few collectives the library needs. Without a process
group everything works as one process (rank 0 of 1)."""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = [
    "rank_and_world", "init_from_env", "end_group", "all_gather_objects", "barrier", "is_main", "shard", "gather_rows",
    "all_reduce_sum_", "any_rank", "broadcast_from_main",
]


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
    (``WORLD_SIZE > 1``): gloo for CPU tensors, and NCCL for CUDA tensors where CUDA is available (the
    device of the process's ``LOCAL_RANK``). Returns whether this call started it (the caller then ends it
    with ``torch.distributed.destroy_process_group()``)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available() or dist.is_initialized():
        return False
    backend = "gloo"
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available() and dist.is_nccl_available() and local < torch.cuda.device_count():
        torch.cuda.set_device(local)
        backend = "cpu:gloo,cuda:nccl"  # the command line trains on the CPU; tensors on a GPU go through NCCL
    dist.init_process_group(backend)
    return True


def end_group(started: bool, clean: bool = True) -> None:
    """End the process group this process started (:func:`init_from_env` returned ``True``): after a
    barrier when the run ended cleanly, so that no process tears its connections down while another still
    talks to it; nothing when ``started`` is false."""
    if not started:
        return
    if clean:
        barrier()
    dist.destroy_process_group()


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


def shard(n: int) -> slice:
    """This rank's contiguous part of ``n`` items (``torch.tensor_split``'s split: the first ``n % world``
    ranks get one more); the whole range without a process group.

    Example:
        >>> shard(5)
        slice(0, 5, None)
    """
    rank, world = rank_and_world()
    size, extra = divmod(n, world)
    start = rank * size + min(rank, extra)
    return slice(start, start + size + (rank < extra))


def gather_rows(x: Tensor) -> Tensor:
    """Every rank's rows of ``x (b_r, ...)`` concatenated in rank order ``(sum b_r, ...)``; the ranks may
    hold different numbers of rows. This rank's rows keep their autograd graph (the others' are
    constants), so a function of the whole batch computed identically on every rank gives each rank the
    exact gradient of its own rows: summed over the ranks, the gradient of one process's computation.

    Example:
        >>> x = torch.ones(2, 3, requires_grad=True)
        >>> gather_rows(x) is x
        True
    """
    rank, world = rank_and_world()
    if world == 1:
        return x
    sizes = [int(s) for s in all_gather_objects(x.shape[0])]
    padded = x.detach().new_zeros((max(sizes), *x.shape[1:]))
    padded[: x.shape[0]] = x.detach()
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    rows = [part[:size] for part, size in zip(parts, sizes)]
    rows[rank] = x
    return torch.cat(rows)


def all_reduce_sum_(x: Tensor) -> Tensor:
    """Sum ``x`` over the ranks, in place (nothing without a process group)."""
    if rank_and_world()[1] > 1:
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
    return x


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` is true on any rank (``flag`` itself without a process group)."""
    if rank_and_world()[1] == 1:
        return flag
    return any(all_gather_objects(bool(flag)))


def broadcast_from_main(obj: Any) -> Any:
    """Rank 0's ``obj`` (picklable) on every rank; ``obj`` itself without a process group."""
    if rank_and_world()[1] == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
