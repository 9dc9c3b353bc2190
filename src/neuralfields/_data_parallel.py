"""The engine's data-parallel step (:mod:`neuralfields._loop`), what ``DistributedDataParallel`` does, for
any task: under a ``torch.distributed`` process group a task with ``data_parallel = True`` computes each
step on its rank's part of the step's batch and says which fraction of the batch that was
(:attr:`~neuralfields._task.StepOutput.share`). The engine then

- starts every rank from rank 0's parameters (:func:`sync_parameters`),
- sums the ranks' gradients, each weighted by its share, in one flat all-reduce (:func:`reduce_step`):
  for a loss that is a mean over the batch this is the gradient of one process's step on the whole batch,
- combines the ranks' reports into the whole batch's loss, PSNR, metrics and per-item values,

so the optimiser makes the same update on every rank and the parameters stay equal without being sent
again. Terms of a loss that depend on the whole batch (latent moments) use
:func:`~neuralfields._dist.gather_rows` and divide by the share (see the trainers)."""

from __future__ import annotations

import json
import math
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from ._dist import all_gather_objects, all_reduce_sum_
from ._task import StepOutput
from .errors import ConfigError

__all__ = ["check_same_run", "sync_parameters", "reduce_step"]


def check_same_run(settings: dict[str, Any], params: list[Tensor], name: str) -> None:
    """Raise on every rank unless every rank runs the same settings on parameters of the same shapes.

    Raises:
        ConfigError: naming the first rank that differs from rank 0.
    """
    mine = (json.dumps(settings, sort_keys=True, default=str), [(tuple(p.shape), str(p.dtype)) for p in params])
    runs = all_gather_objects(mine)
    for rank, other in enumerate(runs):
        if other != runs[0]:
            what = "settings" if other[0] != runs[0][0] else "parameters"
            raise ConfigError(
                f"{name}: rank {rank} runs other {what} than rank 0 ({other[0] if what == 'settings' else other[1]} vs "
                f"{runs[0][0] if what == 'settings' else runs[0][1]}); data-parallel training needs the same call in every "
                f"process (pass data_parallel=False to train each process on its own)"
            )


def sync_parameters(params: list[Tensor], model: nn.Module | None) -> None:
    """Copy rank 0's parameters (and the model's floating-point buffers) to every rank."""
    tensors = list(params)
    if model is not None:
        tensors += [b for b in model.buffers() if b.is_floating_point()]
    with torch.no_grad():
        for t in tensors:
            block = t.data.contiguous()
            dist.broadcast(block, src=0)
            if block.data_ptr() != t.data.data_ptr():
                t.data.copy_(block)


def _combined_psnr(reports: list[dict[str, Any]]) -> float | None:
    """The PSNR of the whole batch from each rank's PSNR of its part: the shares' mean of the squared errors."""
    parts = [(r["share"], r["psnr"]) for r in reports if r["share"] > 0]
    if not parts or any(p is None for _, p in parts):
        return None
    ratio = sum(share * 10.0 ** (-psnr / 10.0) for share, psnr in parts)  # mse / range^2
    return math.inf if ratio <= 0 else -10.0 * math.log10(ratio)


def _combined(reports: list[dict[str, Any]]) -> StepOutput:
    live = [r for r in reports if r["share"] > 0]
    metrics: dict[str, float] = {}
    for name in dict.fromkeys(k for r in live for k in r["metrics"]):
        having = [r for r in live if name in r["metrics"]]
        weight = sum(r["share"] for r in having)
        metrics[name] = sum(r["share"] * r["metrics"][name] for r in having) / weight
    items: dict[str, list[float]] = {}
    for name in dict.fromkeys(k for r in reports for k in r["items"]):
        items[name] = [float(v) for r in reports for v in r["items"].get(name, ())]
    return StepOutput(
        loss=sum(r["share"] * r["loss"] for r in live),
        psnr=_combined_psnr(reports),
        metrics=metrics,
        items=items,
        stop=any(r["stop"] for r in reports),
        share=1.0,
    )


def reduce_step(params: list[Tensor], out: StepOutput, name: str) -> StepOutput:
    """Sum the ranks' gradients of ``params`` weighted by their shares, and combine the ranks' outputs.

    A parameter without a gradient on every rank keeps none (the optimiser skips it, as in one process).

    Raises:
        ConfigError: the step returned no share, or the shares of the ranks do not add up to 1.
    """
    if out.share is None or not 0.0 <= out.share <= 1.0:
        raise ConfigError(f"the data-parallel step of {name} must return a share in [0, 1], got {out.share!r}")
    share = float(out.share)
    report = {
        "share": share, "loss": float(out.loss) if share > 0 else 0.0, "psnr": out.psnr, "metrics": dict(out.metrics),
        "items": {k: [float(v) for v in vs] for k, vs in out.items.items()}, "stop": bool(out.stop),
        "grads": [p.grad is not None for p in params],
    }  # fmt: skip
    reports = all_gather_objects(report)
    total = sum(r["share"] for r in reports)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"the shares of the ranks' steps of {name} add up to {total:g}, not 1")
    combined = _combined(reports)
    if combined.stop:
        return combined
    buckets: dict[tuple[Any, Any], list[Tensor]] = {}  # one flat all-reduce per device and dtype
    for i, p in enumerate(params):
        if any(r["grads"][i] for r in reports):
            buckets.setdefault((p.device, p.dtype), []).append(p)
    for live in buckets.values():
        flat = torch.cat([(p.grad * share if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in live])
        all_reduce_sum_(flat)
        offset = 0
        for p in live:
            n = p.numel()
            summed = flat[offset : offset + n].view_as(p)
            if p.grad is None:
                p.grad = summed.clone()
            else:
                p.grad.copy_(summed)
            offset += n
    return combined
