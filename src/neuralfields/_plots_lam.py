"""The picture of a prior-weight sweep (:func:`~neuralfields.inverse.lam_sweep`): the rule's score and, in
hindsight, the PSNR at every weight, with the chosen weights marked. Re-exported by :mod:`neuralfields.plots`."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._plots_base import _figure, _save

__all__ = ["plot_lam_sweep"]

_SCORE_LABEL = {
    "sure": "SURE: estimated MSE",
    "discrepancy": "residual / noise level (chosen where it crosses 1)",
    "holdout": "held-out MSE",
}


def plot_lam_sweep(sweeps: Mapping[str, Any], path: str | os.PathLike[str], *, title: str = "") -> Path:
    """One panel per sweep (``name -> LamSweep``): the rule's mean score over the images (dashed, right
    axis) and, where the sweep had a reference, the mean PSNR at each weight (solid, left axis); a vertical
    line at each image's chosen weight, and the best grid weight in hindsight as a star.

    Example:
        >>> import os, tempfile, torch
        >>> from neuralfields.inverse import LamSweep
        >>> s = LamSweep([1.0, 10.0, 100.0], "sure", torch.tensor([[3.0], [1.0], [2.0]]), torch.tensor([12.0]),
        ...              torch.tensor([False]), torch.tensor([[20.0], [25.0], [22.0]]), 0.1)
        >>> plot_lam_sweep({"tv": s}, os.path.join(tempfile.mkdtemp(), "lam.png")).suffix
        '.png'
    """
    names = list(sweeps)
    fig = _figure(4.2 * len(names), 3.6)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        s = sweeps[name]
        lams = list(s.lams)
        chosen = [float(v) for v in s.chosen]
        geo = math.exp(sum(math.log(v) for v in chosen) / len(chosen))
        head = f"{name}: {s.criterion} chose {geo:.3g}"
        if s.psnr is not None:
            mean_psnr = s.psnr.double().mean(1).tolist()
            ax.plot(lams, mean_psnr, "o-", lw=1.3, ms=3, color="C0", label="PSNR (hindsight)")
            best = max(range(len(lams)), key=lambda k: mean_psnr[k])
            ax.plot([lams[best]], [mean_psnr[best]], "*", ms=11, color="C3", label="best grid weight")
            ax.set_ylabel("mean PSNR (dB)")
            head += f", best grid {lams[best]:.3g}"
        for k, v in enumerate(chosen):
            ax.axvline(v, color="C2", lw=1, alpha=0.5, label="chosen (per image)" if k == 0 else None)
        twin = ax.twinx()
        twin.plot(lams, s.scores.double().mean(1).tolist(), "--", lw=1, color="0.4", label=_SCORE_LABEL.get(s.criterion, "score"))
        if s.criterion == "discrepancy":
            twin.axhline(1.0, lw=0.8, ls=":", color="0.4")
        if s.criterion != "sure":
            twin.set_yscale("log")
        twin.tick_params(labelsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("lam")
        ax.grid(alpha=0.3)
        ax.set_title(head, fontsize=9)
        lines = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
