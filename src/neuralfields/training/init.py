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
  ended);
- ``"meta"``: a meta-learned starting point (:func:`~neuralfields.training.meta_learn`: Reptile, first-order
  or full MAML), read from the ``.safetensors`` file it was saved to, or learned on the spot from signals;
- ``"shared-encoder"``: the first layers trained jointly on several signals, one head each
  (:func:`~neuralfields.training.train_shared_encoder`), transferred from a file or trained on the spot;
  the field keeps its own head.

A family supports the first two when it has ``reset_parameters(seed, weight_scale)``, as
:class:`~neuralfields.Siren` does; ``"prefit"`` and ``"meta"`` work for every field, ``"shared-encoder"``
for fields with a ``layers`` list. Every strategy derives from :class:`Initialisation` and passes the
``"init"`` contract suite (:mod:`neuralfields.testing.inits`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._checks import check_positive_float, check_positive_int, check_seed
from .._registry import create, register
from ..errors import ConfigError
from ..fields.base import Field

__all__ = ["Initialisation", "PaperInit", "WeightScalingInit", "PrefitInit", "MetaInit", "SharedEncoderInit",
           "start_from", "architecture", "resolve_init", "InitLike"]  # fmt: skip

InitLike = str | os.PathLike | Mapping[str, Any] | Callable[[Field], Any] | None
"""What ``init=`` takes: a registered name, a spec, a ``.safetensors`` starting-point file, a strategy (any
callable on a field) or ``None``."""


class Initialisation:
    """Base class of the ``"init"`` kind: a strategy that sets a field's parameters in place.

    Subclasses implement :meth:`__call__`; the contract (:mod:`neuralfields.testing.inits`): the field
    keeps its architecture, its parameters end finite, one configuration gives the same weights every
    time, torch's global RNG is left alone, and a field the strategy cannot start raises a
    :class:`~neuralfields.errors.ConfigError` that says why.

    Example:
        A strategy of one's own (the output layer's weights scaled down), used by a fit:

        >>> import neuralfields as nf
        >>> class QuietOutput(Initialisation):
        ...     def __call__(self, field):
        ...         with torch.no_grad():
        ...             field.layers[-1].weight.mul_(0.1)
        ...         return field
        >>> f = nf.Siren(2, 1, hidden_features=8, seed=0)
        >>> before = f.layers[-1].weight.clone()
        >>> bool(torch.allclose(QuietOutput()(f).layers[-1].weight, 0.1 * before))
        True
        >>> img = nf.data.load_image("synthetic", size=8)
        >>> nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), img, steps=5, init=QuietOutput(), progress=False).steps
        5
        >>> isinstance(resolve_init("paper"), Initialisation)
        True
    """

    def __call__(self, field: Field) -> Field:
        """Set ``field``'s parameters (in place) and return it."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(field)")


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
class PaperInit(Initialisation):
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
class WeightScalingInit(Initialisation):
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
class PrefitInit(Initialisation):
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


def architecture(field: Field) -> tuple[Any, ...]:
    """``(family, config without the seed, parameter shapes)``: what two fields must share for one's weights to
    start the other."""
    try:
        config = {k: v for k, v in field.config.items() if k != "seed"}  # type: ignore[attr-defined]
    except (AttributeError, NotImplementedError):
        config = None
    return type(field), config, {k: tuple(v.shape) for k, v in field.named_parameters()}


def start_from(field: Field, source: Field | str | os.PathLike[str], names: Sequence[str] | None = None) -> Field:
    """Copy a starting point's weights into ``field`` (in place): all of them, or the parameters ``names``
    (a file saved by :meth:`~neuralfields.training.SharedEncoderResult.save` names its own). Persistent
    buffers (such as the Fourier features' frequency matrix) are always copied: the weights are only
    meaningful with them.

    Args:
        field: the field to start.
        source: a field of the same architecture, or a ``.safetensors`` file holding one.
        names: the parameters to copy (``None``: those the file lists, else all).

    Raises:
        ConfigError: the starting point has another architecture (family, config or shapes).
        FileFormatError: a missing or broken file.

    Example:
        >>> import neuralfields as nf
        >>> a, b = nf.Siren(2, 1, hidden_features=8, seed=0), nf.Siren(2, 1, hidden_features=8, seed=1)
        >>> b = start_from(b, a, names=["layers.0.weight"])  # only the first layer's weights
        >>> bool(torch.equal(b.layers[0].weight, a.layers[0].weight)), bool(torch.equal(b.layers[1].weight, a.layers[1].weight))
        (True, False)
    """
    where = "the starting point"
    if not isinstance(source, Field):
        from ..io import load, read_metadata
        from .shared_encoder import TRANSFER_KEY

        where = str(source)
        listed = read_metadata(source).get(TRANSFER_KEY)
        loaded = load(source, device=next(field.parameters()).device)
        if not isinstance(loaded, Field):
            raise ConfigError(f"{where} holds a {type(loaded).__name__}, not a field to start from")
        names = json.loads(listed) if names is None and listed else names
        source = loaded
    mine, theirs = architecture(field), architecture(source)
    if mine != theirs:
        raise ConfigError(
            f"{where} was made for another architecture: {theirs[0].__name__} {theirs[1]} against the field's "
            f"{mine[0].__name__} {mine[1]}; an init file only starts a field of its own architecture"
        )
    own = dict(source.named_parameters())
    state = source.state_dict()
    params = {name for name, _ in field.named_parameters()}
    with torch.no_grad():
        for name, p in field.named_parameters():
            if names is None or name in names:
                p.copy_(own[name].to(p.dtype))
        for name, b in field.state_dict().items():
            if name not in params and name in state:
                b.copy_(state[name].to(b.dtype))
    return field


def _example_signals(field: Field, n: int) -> Tensor:
    """``n`` smooth random signals ``(n, out_features, 8, ..., 8)`` that fit ``field`` (example configurations)."""
    gen = torch.Generator().manual_seed(0)
    coarse = torch.rand(n, field.out_features, *([2] * field.in_features), generator=gen)
    size = [8] * field.in_features
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}.get(field.in_features)
    if mode is None:
        return torch.rand(n, field.out_features, *([3] * field.in_features), generator=gen)
    return torch.nn.functional.interpolate(coarse, size=size, mode=mode, align_corners=True)


class _LearnedStart(Initialisation):
    """A starting point read from a file, or learned from signals at every call (the shared part of
    :class:`MetaInit` and :class:`SharedEncoderInit`)."""

    _what = "learned"
    _example_count = 3

    def __init__(self, path: str | os.PathLike[str] | None = None, *, signals: Tensor | None = None, **kwargs: Any) -> None:
        self.path = None if path is None else Path(path)
        self.signals, self.kwargs = signals, {"progress": False, **kwargs}
        if self.path is not None and (signals is not None or kwargs):
            raise ConfigError(f"give the {self._what} init either a file (path) or signals and settings, not both")

    def __call__(self, field: Field) -> Field:
        if self.path is not None:
            return start_from(field, self.path)
        signals = _example_signals(field, self._example_count) if self.signals is None else self.signals
        source, names = self.learn(field, signals)
        return start_from(field, source, names)

    def learn(self, field: Field, signals: Tensor) -> tuple[Field, list[str] | None]:
        """The learned starting point and the parameters to copy from it (``None``: all)."""
        raise NotImplementedError


@register("init", "meta", example={"steps": 2, "meta_batch": 2})
class MetaInit(_LearnedStart):
    """A meta-learned starting point: read from a file, or learned with
    :func:`~neuralfields.training.meta_learn` on ``signals`` from the field's current weights.

    Args:
        path: a ``.safetensors`` file saved by :meth:`~neuralfields.training.MetaLearnResult.save` (or any
            field file of the same architecture).
        signals: the training signals, when there is no file (``None`` with no file: a synthetic set, for
            example configurations only). Learning happens at every call: to reuse a starting point,
            save it once and pass ``path``.
        kwargs: passed to :func:`~neuralfields.training.meta_learn` (``algorithm``, ``inner_steps``,
            ``inner_optimizer``, ``inner_lr``, ``steps``, ``seed``, ...).

    Example:
        >>> import neuralfields as nf
        >>> imgs = nf.data.load_dataset("shapes", n=6, size=16)
        >>> import os, tempfile
        >>> path = nf.training.meta_learn(nf.Siren(2, 1, 16, seed=0), imgs, steps=3, progress=False).save(
        ...     os.path.join(tempfile.mkdtemp(), "start.safetensors"))
        >>> res = nf.fit(nf.Siren(2, 1, 16, seed=5), imgs[0], steps=10, init=path, progress=False)
        >>> res.steps, MetaInit(path).path.name
        (10, 'start.safetensors')
    """

    _what, _example_count = "meta", 4

    def learn(self, field: Field, signals: Tensor) -> tuple[Field, list[str] | None]:
        from .meta import meta_learn

        return meta_learn(field, signals, **self.kwargs).field, None


@register("init", "shared-encoder", example={"steps": 2})
class SharedEncoderInit(_LearnedStart):
    """Transferred shared layers: read from a file, or trained with
    :func:`~neuralfields.training.train_shared_encoder` on ``signals``; the field keeps its own head.

    Args:
        path: a ``.safetensors`` file saved by :meth:`~neuralfields.training.SharedEncoderResult.save`.
        signals: the training signals, when there is no file (``None`` with no file: a synthetic set, for
            example configurations only); training happens at every call.
        kwargs: passed to :func:`~neuralfields.training.train_shared_encoder` (``shared_layers``,
            ``steps``, ``lr``, ``seed``, ...).

    Example:
        >>> import neuralfields as nf
        >>> imgs = nf.data.load_dataset("shapes", n=3, size=8)
        >>> f = SharedEncoderInit(signals=imgs, steps=5)(nf.Siren(2, 1, hidden_features=8, hidden_layers=3, seed=1))
        >>> fresh = dict(nf.Siren(2, 1, hidden_features=8, hidden_layers=3, seed=1).named_parameters())
        >>> [name for name, p in f.named_parameters() if not torch.equal(p, fresh[name])]  # the head is the field's own
        ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']
    """

    _what = "shared-encoder"

    def learn(self, field: Field, signals: Tensor) -> tuple[Field, list[str] | None]:
        from .shared_encoder import train_shared_encoder

        result = train_shared_encoder(field, signals, **self.kwargs)
        return result.field, result.shared


def resolve_init(init: InitLike) -> Callable[[Field], Any] | None:
    """The strategy ``init=`` names (``None``: keep the field's weights).

    A string ending in ``.safetensors`` is a starting-point file (``MetaInit(path)``: a meta-learned or
    shared-encoder starting point, or any field file of the same architecture).

    Raises:
        UnknownNameError: an unknown name. ConfigError: not a name, spec or callable.

    Example:
        >>> resolve_init(None) is None, type(resolve_init("paper")).__name__
        (True, 'PaperInit')
        >>> resolve_init({"name": "weight-scaling", "config": {"alpha": 2.0}}).alpha
        2.0
        >>> type(resolve_init("start.safetensors")).__name__  # a starting-point file, read when the strategy runs
        'MetaInit'
    """
    if init is None:
        return None
    if isinstance(init, (str, os.PathLike)) and str(init).endswith(".safetensors"):
        return MetaInit(init)
    if isinstance(init, str):
        return create("init", init)  # type: ignore[no-any-return]
    if isinstance(init, Mapping):
        if "name" not in init:
            raise ConfigError(f"an init spec needs a 'name' (and optionally a 'config'), got {dict(init)!r}")
        return create("init", init["name"], **dict(init.get("config", {})))  # type: ignore[no-any-return]
    if callable(init):
        return init
    raise ConfigError(f"init must be a registered name, a spec, a callable or None, got {type(init).__name__}")
