"""The contracts of kinds ``"conditioning"`` and ``"model"``.

Conditioning (a :class:`~neuralfields.conditioning.Conditioning`):

======================  ===========================================================================
``base``                derives from ``Conditioning``; ``num_items >= 1``; adds channels or codes
``config``              JSON config; ``create(**config)`` rebuilds it
``shapes``              ``features (B, extra_features)``; ``codes (B, latent_dim)``, or ``None`` without codes
``index_errors``        out-of-range indices raise ``IndexOutOfRangeError``, float ones ``DTypeError``,
                        2-D ones ``ShapeError``
``conditioned``         inside a :class:`~neuralfields.ConditionedField`: shapes, and gradients reach its parameters
``save_load``           alone and inside a ``ConditionedField``: identical features, codes and outputs
======================  ===========================================================================

Model (a composite :class:`~neuralfields.conditioning.Model`, called with its
:meth:`~neuralfields.conditioning.Model.example_inputs`):

======================  ===========================================================================
``base``                derives from ``Model``; ``example_inputs`` implemented
``config``              JSON config (nested models as nested specs); ``create(**config)`` rebuilds it
``shapes``              a finite floating-point tensor whose leading dimension is the batch
``batched``             item ``b`` of a batch equals the model on item ``b`` alone
``gradients``           every parameter gets a finite gradient
``float64``             float64 parameters and inputs give float64 outputs
``bad_input``           integer inputs raise ``DTypeError``; a wrong last dimension ``ShapeError``
``save_load``           :func:`neuralfields.save` / :func:`neuralfields.load` round trip, identical outputs
======================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ..conditioning.base import Conditioning, Model
from ..conditioning.conditioned import ConditionedField
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError
from ..fields.siren import Siren
from ._common import (
    Suite,
    assert_close,
    assert_finite,
    check_base,
    check_config,
    expect_raises,
    parameter_grads,
    save_load,
    uniform,
)

__all__ = ["check_conditioning", "check_model", "CONDITIONING_SUITE", "MODEL_SUITE"]


# ---- conditioning -----------------------------------------------------------------------------


def _items(c: Conditioning) -> Tensor:
    return torch.arange(min(c.num_items, 3))


def _wrap(c: Conditioning) -> ConditionedField:
    return ConditionedField(Siren(2 + c.extra_features, 2, hidden_features=8, hidden_layers=2, seed=0), c)


def _c_base(make: Callable[[], Conditioning]) -> None:
    c = make()
    check_base(c, "conditioning")
    assert isinstance(c.num_items, int) and c.num_items >= 1, f"num_items must be an int >= 1, got {c.num_items!r}"
    for name in ("extra_features", "latent_dim"):
        value = getattr(c, name)
        assert isinstance(value, int) and value >= 0, f"{name} must be an int >= 0, got {value!r}"
    assert c.extra_features + c.latent_dim > 0, "a conditioning must add input channels or codes (or both)"


def _c_config(make: Callable[[], Conditioning]) -> None:
    check_config(make(), "conditioning")


def _c_shapes(make: Callable[[], Conditioning]) -> None:
    c = make()
    idx = _items(c)
    features = c.features(idx)
    assert isinstance(features, Tensor) and features.is_floating_point(), "features must be a float tensor"
    assert tuple(features.shape) == (len(idx), c.extra_features), (
        f"features of {len(idx)} items must be ({len(idx)}, {c.extra_features}), got {tuple(features.shape)}"
    )
    codes = c.codes(idx)
    if c.latent_dim == 0:
        assert codes is None, "a conditioning without codes (latent_dim=0) must return codes None"
    else:
        assert isinstance(codes, Tensor) and tuple(codes.shape) == (len(idx), c.latent_dim), (
            f"codes of {len(idx)} items must be ({len(idx)}, {c.latent_dim}), got {getattr(codes, 'shape', codes)}"
        )
        assert_finite(codes, "codes")
    assert_finite(features, "features")
    one = c.check_index(0)
    assert one.dtype == torch.long and tuple(one.shape) == (1,), "check_index(0) must give a long tensor (1,)"


def _c_index_errors(make: Callable[[], Conditioning]) -> None:
    c = make()
    n = c.num_items
    expect_raises(IndexOutOfRangeError, f"index {n} of {n} items", lambda: c.check_index(n))
    expect_raises(IndexOutOfRangeError, "index -1", lambda: c.check_index(torch.tensor([-1])))
    expect_raises(DTypeError, "float indices", lambda: c.check_index(torch.tensor([0.5])))
    expect_raises(ShapeError, "indices (1, 1)", lambda: c.check_index(torch.zeros(1, 1, dtype=torch.long)))


def _c_conditioned(make: Callable[[], Conditioning]) -> None:
    c = make()
    f = _wrap(c)
    idx = _items(c)
    out = f(uniform((len(idx), 5, 2)), idx)
    assert tuple(out.shape) == (len(idx), 5, 2), f"the conditioned field gave {tuple(out.shape)}"
    assert_finite(out, "the conditioned field's output")
    parameter_grads(out.square().sum(), c, nonzero=False)


def _c_save_load(make: Callable[[], Conditioning]) -> None:
    c = make()
    if any(p.is_floating_point() for p in c.parameters()):
        with torch.no_grad():  # "trained" parameters must survive, not only the initial ones
            for p in c.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1), dtype=p.dtype))
    idx = _items(c)
    back = save_load(c)
    assert_close(back.features(idx), c.features(idx), "features after save/load", atol=0, rtol=0)
    codes, back_codes = c.codes(idx), back.codes(idx)
    if codes is not None:
        assert back_codes is not None, "codes disappeared in the save/load round trip"
        assert_close(back_codes, codes, "codes after save/load", atol=0, rtol=0)
    f = _wrap(c)
    g = save_load(f)
    x = uniform((len(idx), 5, 2))
    with torch.no_grad():
        assert_close(g(x, idx), f(x, idx), "the conditioned field's output after save/load", atol=1e-6, rtol=0)


CONDITIONING_SUITE = Suite(
    "conditioning",
    {
        "base": _c_base,
        "config": _c_config,
        "shapes": _c_shapes,
        "index_errors": _c_index_errors,
        "conditioned": _c_conditioned,
        "save_load": _c_save_load,
    },
)
"""The checks of kind ``"conditioning"``, in order (see the module docs)."""


def check_conditioning(
    make: Callable[[], Conditioning], *, only: Iterable[str] | None = None, skip: Iterable[str] = ()
) -> None:
    """Run the conditioning contract on conditionings built by ``make`` (called once per check).

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.testing import check_conditioning
        >>> check_conditioning(lambda: nf.BinaryCode(6))
    """
    CONDITIONING_SUITE.run(make, only=only, skip=skip)


# ---- model ------------------------------------------------------------------------------------


def _inputs(m: Model, batch: int = 2, seed: int = 0) -> tuple[Any, ...]:
    inputs = m.example_inputs(batch, seed=seed)
    assert isinstance(inputs, tuple), f"example_inputs must return a tuple, got {type(inputs).__name__}"
    return inputs


def _cast(inputs: tuple[Any, ...], dtype: torch.dtype) -> tuple[Any, ...]:
    return tuple(x.to(dtype) if isinstance(x, Tensor) and x.is_floating_point() else x for x in inputs)


def _first_float(inputs: tuple[Any, ...]) -> int:
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.is_floating_point():
            return i
    raise AssertionError("example_inputs must contain a floating-point tensor")


def _replace(inputs: tuple[Any, ...], i: int, value: Any) -> tuple[Any, ...]:
    return (*inputs[:i], value, *inputs[i + 1 :])


def _m_base(make: Callable[[], Model]) -> None:
    m = make()
    check_base(m, "model")
    _inputs(m)


def _m_config(make: Callable[[], Model]) -> None:
    check_config(make(), "model")


def _m_shapes(make: Callable[[], Model]) -> None:
    m = make().eval()
    with torch.no_grad():
        out = m(*_inputs(m, 3))
    assert isinstance(out, Tensor) and out.is_floating_point(), f"the output must be a float tensor, got {type(out)}"
    assert out.shape[0] == 3, f"3 items gave an output of shape {tuple(out.shape)} (leading dimension != 3)"
    assert_finite(out, "the output")


def _m_batched(make: Callable[[], Model]) -> None:
    m = make().eval()
    inputs = _inputs(m, 3, seed=1)
    with torch.no_grad():
        out = m(*inputs)
        for b in range(3):
            one = tuple(x[b : b + 1] if isinstance(x, Tensor) else x for x in inputs)
            assert_close(out[b : b + 1], m(*one), f"item {b} of a batch vs alone")


def _m_gradients(make: Callable[[], Model]) -> None:
    m = make()
    out = m(*_inputs(m, 2))
    parameter_grads(out.square().sum(), m, nonzero=False)


def _m_float64(make: Callable[[], Model]) -> None:
    m = make().double().eval()
    with torch.no_grad():
        out = m(*_cast(_inputs(m, 2), torch.float64))
    assert out.dtype == torch.float64, f"a float64 model on float64 inputs gave {out.dtype}"
    assert_finite(out, "the float64 output")


def _m_bad_input(make: Callable[[], Model]) -> None:
    m = make()
    inputs = _inputs(m, 2)
    i = _first_float(inputs)
    x = inputs[i]
    expect_raises(DTypeError, f"integer input {i}", lambda: m(*_replace(inputs, i, x.long())))
    wider = torch.cat([x, x[..., :1]], dim=-1)
    expect_raises(ShapeError, f"input {i} with one more entry in its last dimension", lambda: m(*_replace(inputs, i, wider)))


def _m_save_load(make: Callable[[], Model]) -> None:
    m = make().eval()
    back = save_load(m).eval()
    inputs = _inputs(m, 2, seed=2)
    with torch.no_grad():
        assert_close(back(*inputs), m(*inputs), "outputs after save/load", atol=1e-6, rtol=0)


MODEL_SUITE = Suite(
    "model",
    {
        "base": _m_base,
        "config": _m_config,
        "shapes": _m_shapes,
        "batched": _m_batched,
        "gradients": _m_gradients,
        "float64": _m_float64,
        "bad_input": _m_bad_input,
        "save_load": _m_save_load,
    },
)
"""The checks of kind ``"model"``, in order (see the module docs)."""


def check_model(make: Callable[[], Model], *, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> None:
    """Run the model contract on models built by ``make`` (called once per check).

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.testing import check_model
        >>> check_model(lambda: nf.ConditionedField(nf.Siren(3, 1, hidden_features=8, seed=0), nf.IndexCoordinate(4)))
    """
    MODEL_SUITE.run(make, only=only, skip=skip)
