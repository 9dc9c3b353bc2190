"""Step 5 of :func:`~neuralfields.experiments.hyper_train`: what a HyperSiren's one-shot guess is worth
next to fitting a SIREN per image with :func:`~neuralfields.fit`, from scratch or from the guess."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor

from .._metrics import psnr_from_mse
from ..conditioning import HyperSiren
from ..errors import InvalidDataError
from ..fields import Siren
from ..training import fit

__all__ = ["finetune_study", "psnr_of_mse"]


psnr_of_mse = psnr_from_mse


def _fit_curve(res: Any) -> tuple[list[float], list[float]]:
    """``(seconds, psnr)`` of the states after 0, 1, ..., S updates of a full-batch :func:`~neuralfields.fit`:
    ``history.psnr[j]`` is the PSNR of the state before update ``j + 1`` (on every pixel, as the batch is
    the whole image), ``res.psnr`` the final one; seconds are the cumulated step times."""
    secs, acc = [0.0], 0.0
    for t in res.history.time:
        acc += t
        secs.append(acc)
    return secs, [*res.history.psnr, res.psnr]


def _checkpoints(steps: int) -> list[int]:
    """1, 3, 10, 30, 100, ... below ``steps``, and ``steps``."""
    marks, k = [], 0
    while True:
        m = round(10 ** (k / 2))
        if m >= steps:
            return [*marks, steps]
        marks.append(m)
        k += 1


def _first_reaching(curve: list[float], secs: list[float], target: float) -> tuple[int | None, float | None]:
    """(steps, seconds) of the first state whose PSNR is at least ``target``, or ``(None, None)``."""
    j = next((j for j, p in enumerate(curve) if p >= target), None)
    return (None, None) if j is None else (j, secs[j])


def finetune_study(
    model: HyperSiren, images: Tensor, steps: int, seed: int, progress: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one-shot / from-scratch / fine-tune comparison on ``images`` (step 5 of
    :func:`~neuralfields.experiments.hyper_train`, which documents it).

    Args:
        model: the trained hypernetwork.
        images: ``(K, C, H, W)`` test images in [0, 1].
        steps: :func:`~neuralfields.fit` steps of the from-scratch and fine-tune fits.
        seed: their seed.
        progress: progress bars.

    Returns:
        ``(table, mean_curves)``: the metrics and, per fit kind, the mean ``(seconds, psnr)`` curves.
    """
    shape = tuple(images.shape[-2:])
    recipe = {"steps": steps, "batch_size": None, "seed": seed, "progress": progress}
    rows: dict[str, dict[str, list[Any]]] = {k: {} for k in ("one_shot", "scratch", "finetune")}
    curves: dict[str, list[tuple[list[float], list[float]]]] = {"scratch": [], "finetune": []}

    def add(kind: str, **values: Any) -> None:
        for k, v in values.items():
            rows[kind].setdefault(k, []).append(v)

    for i in range(images.shape[0]):
        x = images[i]
        t0 = time.perf_counter()
        with torch.no_grad():
            guess = model(x[None])[0]
            exported = model.export(x[None])
        one_shot_seconds = time.perf_counter() - t0
        one_shot = psnr_of_mse(float(((guess.double() - x.double()) ** 2).mean()))
        add("one_shot", psnr=one_shot, seconds=one_shot_seconds)

        scratch = Siren(**{**model.target.config, "backend": "auto"})
        res_s = fit(scratch, x, **recipe)
        tuned = Siren(**{**exported.config, "backend": "auto"})
        tuned.load_state_dict(exported.state_dict())
        res_f = fit(tuned, x, **recipe)
        secs_s, psnr_s = _fit_curve(res_s)
        secs_f, psnr_f = _fit_curve(res_f)
        if len(psnr_s) != steps + 1 or len(psnr_f) != steps + 1:
            raise InvalidDataError(f"nf.fit stopped before {steps} steps")
        curves["scratch"].append((secs_s, psnr_s))
        curves["finetune"].append((secs_f, psnr_f))
        steps_s, seconds_s = _first_reaching(psnr_s, secs_s, one_shot)
        steps_f, seconds_f = _first_reaching(psnr_f, secs_f, res_s.psnr)
        add("scratch", psnr=res_s.psnr, seconds=secs_s[-1], steps_to_one_shot=steps_s, seconds_to_one_shot=seconds_s)
        add("finetune", psnr=res_f.psnr, seconds=secs_f[-1], psnr_at_start=psnr_f[0],
            steps_to_scratch_final=steps_f, seconds_to_scratch_final=seconds_f)  # fmt: skip

    def mean(xs: list[Any]) -> float | None:
        vals = [v for v in xs if v is not None]
        return sum(vals) / len(vals) if vals else None

    table: dict[str, Any] = {"steps": steps, "shape": list(shape)}
    for kind, cols in rows.items():
        table[kind] = {"psnr": mean(cols["psnr"]), "seconds": mean(cols["seconds"])}
        if kind != "one_shot":
            table[kind]["psnr_at"] = {str(j): mean([c[1][j] for c in curves[kind]]) for j in _checkpoints(steps)}
        table[kind]["per_image"] = cols
    mean_curves = {}
    for kind, per in curves.items():
        n = len(per[0][1])
        mean_curves[kind] = (
            [sum(c[0][j] for c in per) / len(per) for j in range(n)],
            [sum(c[1][j] for c in per) / len(per) for j in range(n)],
        )
    return table, mean_curves
