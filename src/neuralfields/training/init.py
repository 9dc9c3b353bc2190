"""Initialisation strategies (registry kind ``"init"``): where a fit starts from.

A strategy is a callable ``strategy(field) -> field`` that sets the field's parameters in place.
:func:`~neuralfields.fit`, :func:`~neuralfields.fit_many` and :func:`~neuralfields.fit_dataset` take one
as ``init=`` (a strategy, a registered name, a ``{"name": ..., "config": {...}}`` spec, or ``None`` to keep
the field's weights). Registered:

- ``"paper"``: the family's reference initialisation (for a :class:`~neuralfields.Siren`, Sitzmann et
  al.'s), drawn again from ``seed``;
- ``"weight-scaling"``: the reference bounds of every layer but the output layer times ``alpha``
  (Yeom et al., "Fast training of sinusoidal neural fields via scaling initializations", reported
  ``alpha`` near 2.5 to speed up SIREN fitting);
- ``"prefit"``: fit the field to another signal for ``steps`` steps first (its weights are where that fit
  ended).

A family supports the first two when it has ``reset_parameters(seed, weight_scale)``, as
:class:`~neuralfields.Siren` does; ``"prefit"`` works for every field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

from .._checks import check_positive_float, check_positive_int, check_seed
from .._registry import create, register
from ..errors import ConfigError
from ..fields.base import Field

__all__ = ["PaperInit", "WeightScalingInit", "PrefitInit", "resolve_init", "InitLike"]

InitLike = str | Mapping[str, Any] | Callable[[Field], Any] | None
"""What ``init=`` takes: a registered name, a spec, a strategy (any callable on a field) or ``None``."""


def _reset(field: Field, seed: int | None, weight_scale: float, name: str) -> Field:
    reset = getattr(field, "reset_parameters", None)
    if not callable(reset):
        raise ConfigError(
            f"the {name!r} initialisation needs a field with reset_parameters(seed, weight_scale) (a Siren has "
            f"it); {type(field).__name__} has none: use init='prefit' or a strategy of your own"
        )
    reset(seed, weight_scale)
    return field


@register("init", "paper", example={"seed": 0})
class PaperInit:
    """The family's reference initialisation, drawn from ``seed``.

    Args:
        seed: seed of the draw (``None``: the global RNG).

    Example:
        >>> import neuralfields as nf, torch
        >>> f = PaperInit(seed=3)(nf.Siren(2, 1, 16, seed=0))
        >>> torch.equal(f.layers[0].weight, nf.Siren(2, 1, 16, seed=3).layers[0].weight)
        True
    """

    def __init__(self, seed: int | None = 0) -> None:
        self.seed = check_seed(seed, allow_none=True)

    def __call__(self, field: Field) -> Field:
        return _reset(field, self.seed, 1.0, "paper")


@register("init", "weight-scaling", example={"alpha": 2.5, "seed": 0})
class WeightScalingInit:
    """The reference initialisation with every weight bound but the output layer's times ``alpha``.

    Args:
        alpha: the factor (> 0; 1 is the reference initialisation).
        seed: seed of the draw (``None``: the global RNG).

    Example:
        >>> import neuralfields as nf
        >>> f = WeightScalingInit(alpha=2.5)(nf.Siren(2, 1, 64, seed=0))
        >>> bound = nf.Siren(2, 1, 64, seed=0).layout[1].weight_bound
        >>> bool(f.layers[1].weight.abs().max() > bound), bool(f.layers[1].weight.abs().max() <= 2.5 * bound)
        (True, True)
    """

    def __init__(self, alpha: float = 2.5, seed: int | None = 0) -> None:
        self.alpha = check_positive_float("alpha", alpha)
        self.seed = check_seed(seed, allow_none=True)

    def __call__(self, field: Field) -> Field:
        return _reset(field, self.seed, self.alpha, "weight-scaling")


@register("init", "prefit", example={"signal": None, "steps": 2})
class PrefitInit:
    """Fit the field to another signal for ``steps`` steps first, with :func:`~neuralfields.fit`.

    Args:
        signal: the other signal (an image ``(C, *spatial)`` in [0, 1] or a ``(coords, values)`` pair), of
            the field's dimensions and channels; ``None`` uses a synthetic image of the field's size
            (example configurations only).
        steps: steps of the pre-fit.
        seed, fit_kwargs: passed to :func:`~neuralfields.fit` (``lr``, ``batch_size``, ...).

    Example:
        >>> import neuralfields as nf
        >>> other = nf.data.load_image("synthetic", size=16)
        >>> before = nf.psnr(nf.render(nf.Siren(2, 1, 16, seed=0), (16, 16)), other)
        >>> f = PrefitInit(other, steps=100)(nf.Siren(2, 1, 16, seed=0))
        >>> nf.psnr(nf.render(f, (16, 16)), other) > before + 10
        True
    """

    def __init__(self, signal: Tensor | tuple[Tensor, Tensor] | None = None, steps: int = 100, seed: int = 0, **fit_kwargs: Any) -> None:
        self.signal, self.steps = signal, check_positive_int("steps", steps)
        self.seed, self.fit_kwargs = check_seed(seed), dict(fit_kwargs)

    def __call__(self, field: Field) -> Field:
        from .fit import fit

        signal = self.signal
        if signal is None:
            from ..data import synthetic_image

            signal = synthetic_image(16, channels=1 if field.out_features == 1 else 3)[: field.out_features]
        fit(field, signal, steps=self.steps, seed=self.seed, progress=False, **self.fit_kwargs)
        return field


def resolve_init(init: InitLike) -> Callable[[Field], Any] | None:
    """The strategy ``init=`` names (``None``: keep the field's weights).

    Raises:
        UnknownNameError: an unknown name. ConfigError: not a name, spec or callable.
    """
    if init is None:
        return None
    if isinstance(init, str):
        return create("init", init)  # type: ignore[no-any-return]
    if isinstance(init, Mapping):
        if "name" not in init:
            raise ConfigError(f"an init spec needs a 'name' (and optionally a 'config'), got {dict(init)!r}")
        return create("init", init["name"], **dict(init.get("config", {})))  # type: ignore[no-any-return]
    if callable(init):
        return init
    raise ConfigError(f"init must be a registered name, a spec, a callable or None, got {type(init).__name__}")
