"""Reading training curves: the area under a capped PSNR curve, the step where one curve crosses another, the
step a curve first reaches a level; and the image triples of an initialisation study."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .._checks import check_positive_int, check_seed, generator
from ..errors import InvalidDataError

__all__ = ["capped_auc", "crossover_step", "steps_to", "make_triples", "running_mean"]


def _values(curve: Sequence[float], what: str) -> list[float]:
    values = [float(v) for v in curve]
    if not values:
        raise InvalidDataError(f"{what} is empty")
    if any(math.isnan(v) for v in values):
        raise InvalidDataError(f"{what} holds NaN")
    return values


def running_mean(values: Sequence[float], window: int) -> list[float]:
    """The mean of each value and the ``window - 1`` before it (fewer at the start), to smooth a noisy curve.

    Example:
        >>> running_mean([1.0, 3.0, 5.0, 7.0], 2)
        [1.0, 2.0, 4.0, 6.0]
    """
    window = check_positive_int("window", window)
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def capped_auc(psnr: Sequence[float], cap: float = 60.0) -> float:
    """The mean of a PSNR curve over its steps with every value capped at ``cap`` dB (trapezoidal rule).

    The cap keeps values far beyond what one can see (a tiny image fitted to float precision reaches
    100 dB and more, or ``inf`` when exact) from dominating the comparison. The result is in dB: the
    trapezoidal area over the step index divided by the number of intervals (a single value is its own
    mean).

    Args:
        psnr: PSNR (dB) at each step (``inf`` allowed; NaN is refused).
        cap: the ceiling in dB.

    Example:
        >>> capped_auc([10.0, 20.0, 70.0], cap=60.0)  # ((10 + 20) / 2 + (20 + 60) / 2) / 2
        27.5
    """
    values = [min(v, cap) for v in _values(psnr, "the PSNR curve")]
    if len(values) == 1:
        return values[0]
    area = sum((a + b) / 2 for a, b in zip(values[:-1], values[1:]))
    return area / (len(values) - 1)


def crossover_step(curve: Sequence[float], reference: Sequence[float]) -> int | None:
    """The step from which ``curve`` stays on the other side of ``reference`` than where it started.

    A curve that starts above the reference (a pre-fitted start against a random one) crosses at the first
    step of the last stretch where it is strictly below, provided it ends below (steps where the two are
    equal count for neither side, so ties at the end, as at a PSNR cap, are skipped), and the other way
    round.

    Returns:
        The 0-based step, or ``None`` when the curve ends on its starting side (or the two never differ).

    Example:
        >>> crossover_step([5, 6, 7, 8, 9], [1, 4, 8, 9, 9.5])
        2
        >>> crossover_step([5, 6, 7], [1, 2, 3]) is None
        True
    """
    a, b = _values(curve, "the curve"), _values(reference, "the reference curve")
    if len(a) != len(b):
        raise InvalidDataError(f"the curve has {len(a)} steps and the reference {len(b)}")
    signs = [(x > y) - (x < y) for x, y in zip(a, b)]
    nonzero = [i for i, s in enumerate(signs) if s]
    if not nonzero or signs[nonzero[-1]] != -signs[nonzero[0]]:
        return None
    step, other = nonzero[-1], signs[nonzero[-1]]
    while step > 0 and signs[step - 1] == other:
        step -= 1
    return step


def steps_to(psnr: Sequence[float], level: float = 30.0) -> int | None:
    """The first step (0-based) at which the curve reaches ``level`` dB, or ``None``.

    Example:
        >>> steps_to([10.0, 29.9, 30.0, 31.0]), steps_to([10.0, 20.0]) is None
        (2, True)
    """
    return next((i for i, v in enumerate(_values(psnr, "the PSNR curve")) if v >= level), None)


def make_triples(labels: Tensor | Sequence[int], n: int, seed: int = 0) -> list[tuple[int, int, int]]:
    """``n`` triples ``(a, b, c)`` of image indices: ``b`` of ``a``'s class, ``c`` of another class.

    All ``3 n`` indices are distinct (no image is in two triples), and one seed gives the same triples.

    Args:
        labels: the class of every image ``(N,)``.
        n: number of triples.
        seed: seed of the draw.

    Raises:
        InvalidDataError: fewer than two classes, a class with a single image, or too few images for
            ``n`` triples of distinct images.

    Example:
        >>> make_triples([0, 0, 1, 1, 0, 1], 2, seed=0)
        [(0, 4, 2), (5, 3, 1)]
    """
    labels = torch.as_tensor(labels).long().flatten()
    check_positive_int("n", n)
    check_seed(seed)
    classes, counts = labels.unique(return_counts=True)
    if len(classes) < 2:
        raise InvalidDataError(f"triples need images of at least two classes; the labels hold {len(classes)}")
    lonely = [int(c) for c, k in zip(classes, counts) if k < 2]
    if lonely:
        raise InvalidDataError(f"class {lonely[0]} has a single image; every class needs two or more for triples (a, b of one class)")
    gen = generator(seed)
    for _ in range(100):  # a greedy draw can paint itself into a corner: draw again (the seed fixes every try)
        out = _draw_triples(labels, classes, n, gen)
        if out is not None:
            return out
    raise InvalidDataError(f"too few images for {n} triples of distinct images (no draw of 100 found them)")


def _draw_triples(labels: Tensor, classes: Tensor, n: int, gen: torch.Generator) -> list[tuple[int, int, int]] | None:
    free = torch.ones(len(labels), dtype=torch.bool)
    out = []
    for _ in range(n):
        pairs = [int(c) for c in classes if int((free & (labels == c)).sum()) >= 2 and bool((free & (labels != c)).any())]
        if not pairs:
            return None
        cls = pairs[int(torch.randint(len(pairs), (1,), generator=gen))]
        same = (free & (labels == cls)).nonzero().flatten()
        pick = same[torch.randperm(len(same), generator=gen)[:2]].tolist()
        others = (free & (labels != cls)).nonzero().flatten()
        c = int(others[int(torch.randint(len(others), (1,), generator=gen))])
        out.append((pick[0], pick[1], c))
        free[[pick[0], pick[1], c]] = False
    return out
