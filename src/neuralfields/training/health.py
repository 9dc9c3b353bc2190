"""Is a trained model done? Two checks every report states in its summary: undertrained (the loss was
still falling when training ended) and overfitting (held-out quality far below training quality)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

__all__ = ["training_health", "UNDERTRAINED_DROP", "OVERFIT_GAP_DB", "ENOUGH_DB"]

UNDERTRAINED_DROP = 0.02
"""The relative fall of the loss over the last tenth of training above which a model counts as
undertrained (2%)."""

OVERFIT_GAP_DB = 3.0
"""The train-minus-held-out PSNR gap (dB) above which a model counts as overfitting."""

ENOUGH_DB = 50.0
"""The training PSNR (dB) from which a model never counts as undertrained: past it a falling loss changes
nothing the eye or most uses can tell."""


def training_health(
    loss: Sequence[float],
    train_psnr: float | None = None,
    test_psnr: float | None = None,
    *,
    drop: float = UNDERTRAINED_DROP,
    gap_db: float = OVERFIT_GAP_DB,
    enough_db: float = ENOUGH_DB,
) -> dict[str, Any]:
    """Flags of a finished training run, from its loss curve and its train / held-out quality.

    Undertrained: the median loss of the last tenth of the steps is more than ``drop`` (relative) below the
    median of the tenth before it: more steps would still help. Medians make the check robust to the
    noise of mini-batch losses. A model at ``enough_db`` or more on its training data is not flagged. Overfitting: the held-out PSNR is more than ``gap_db`` below the training
    PSNR.

    Args:
        loss: the loss per step (at least 20 values to judge the trend; fewer give ``undertrained=None``).
        train_psnr: quality on the training data (dB), or ``None``.
        test_psnr: quality on held-out data (dB), or ``None``.
        drop: relative fall that counts as still improving.
        gap_db: train-minus-held-out gap that counts as overfitting.
        enough_db: training PSNR from which no model counts as undertrained.

    Returns:
        ``{"undertrained": bool | None, "loss_drop_last_tenth": float | None, "overfitting": bool | None,
        "gap_db": float | None, "caveats": [str, ...]}``: ``None`` where the inputs cannot tell, and one
        sentence per raised flag for a report's summary.

    Example:
        >>> still_falling = [1.0 / (1 + 0.1 * t) for t in range(200)]
        >>> h = training_health(still_falling, train_psnr=30.0, test_psnr=29.5)
        >>> h["undertrained"], h["overfitting"], round(h["loss_drop_last_tenth"], 3)
        (True, False, 0.1)
        >>> training_health(still_falling, train_psnr=62.0)["undertrained"]  # past ENOUGH_DB: done
        False
        >>> training_health([0.5] * 200, 30.0, 24.0)["caveats"]
        ['overfitting: held-out PSNR 24.00 dB is 6.00 dB below training (30.00 dB)']
    """
    values = [float(v) for v in loss if math.isfinite(float(v))]
    caveats = []
    under, fall = None, None
    if len(values) >= 20:
        w = len(values) // 10
        before, last = statistics.median(values[-2 * w : -w]), statistics.median(values[-w:])
        fall = (before - last) / abs(before) if before else 0.0
        under = fall > drop and not (train_psnr is not None and math.isfinite(train_psnr) and train_psnr >= enough_db)
        if under:
            caveats.append(
                f"undertrained: the loss fell {100 * fall:.1f}% over the last tenth of training "
                f"({len(values)} steps); more steps would still help"
            )  # fmt: skip
    over, gap = None, None
    if train_psnr is not None and test_psnr is not None and math.isfinite(train_psnr) and math.isfinite(test_psnr):
        gap = float(train_psnr) - float(test_psnr)
        over = gap > gap_db
        if over:
            caveats.append(f"overfitting: held-out PSNR {test_psnr:.2f} dB is {gap:.2f} dB below training ({train_psnr:.2f} dB)")
    return {"undertrained": under, "loss_drop_last_tenth": fall, "overfitting": over, "gap_db": gap, "caveats": caveats}
