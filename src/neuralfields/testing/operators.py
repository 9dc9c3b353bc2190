"""The contract of kind ``"operator"``: what every :class:`~neuralfields.inverse.Operator` does.

Images are ``(B, C, H, W)`` of the operator's :meth:`~neuralfields.inverse.Operator.example_image_size`.

======================  ===========================================================================
``base``                derives from ``Operator``
``config``              JSON config; ``create(**config)`` rebuilds it
``adjointness``         :meth:`~neuralfields.inverse.Operator.adjointness_test` below 1e-10 in float64,
                        for two batch / channel layouts
``linearity``           ``A(a x + b z) = a A x + b A z``
``shapes``              ``A x`` is 4-D with the batch and channels of ``x``; ``A^T (A x)`` has ``x``'s shape;
                        dtypes are kept
``batched``             ``A x`` of image ``b`` in a batch equals ``A`` of image ``b`` alone
``gradients``           ``A x`` is differentiable in ``x`` (finite gradient of ``x``'s shape)
``measure``             ``measure`` is seeded (same seed, same noise; another seed, other noise) and
                        ``measure(x)`` without noise is ``A x``; negative ``sigma`` raises ``ConfigError``,
                        NaN images ``InvalidDataError``
``bad_input``           integer images raise ``DTypeError``, images without a batch dimension ``ShapeError``
                        (both for ``A`` and ``A^T``)
``compile``             ``torch.compile(operator)`` gives the eager values
``save_load``           :func:`neuralfields.save` / :func:`neuralfields.load` round trip, identical outputs
======================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError, DTypeError, InvalidDataError, ShapeError
from ._common import (
    Suite,
    assert_close,
    assert_finite,
    check_base,
    check_config,
    compiled,
    expect_raises,
    save_load,
    uniform,
)

__all__ = ["check_operator", "OPERATOR_SUITE", "ADJOINTNESS_TOLERANCE"]

ADJOINTNESS_TOLERANCE = 1e-10
"""The largest relative adjointness error (float64) the contract accepts."""

MakeOperator = Callable[[], Any]


def _images(op: Any, batch: int = 2, channels: int = 3, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> Tensor:
    h, w = op.example_image_size()
    return uniform((batch, channels, h, w), low=0.0, high=1.0, seed=seed, dtype=dtype)


def _base(make: MakeOperator) -> None:
    check_base(make(), "operator")


def _config(make: MakeOperator) -> None:
    check_config(make(), "operator")


def _adjointness(make: MakeOperator) -> None:
    op = make()
    h, w = op.example_image_size()
    for shape in ((2, 3, h, w), (1, 1, h, w)):
        err = op.adjointness_test(shape, seed=sum(shape))
        assert err < ADJOINTNESS_TOLERANCE, (
            f"<A x, y> != <x, A^T y> for images {shape}: relative error {err:.3g} "
            f"(tolerance {ADJOINTNESS_TOLERANCE}); adjoint() is not the adjoint of forward()"
        )


def _linearity(make: MakeOperator) -> None:
    op = make()
    x, z = _images(op, seed=1, dtype=torch.float64), _images(op, seed=2, dtype=torch.float64)
    with torch.no_grad():
        lhs = op(0.7 * x - 1.3 * z)
        rhs = 0.7 * op(x) - 1.3 * op(z)
    assert_close(lhs, rhs, "A(a x + b z) vs a A x + b A z (float64)", atol=1e-12, rtol=1e-10)


def _shapes(make: MakeOperator) -> None:
    op = make()
    x = _images(op, 2, 3)
    with torch.no_grad():
        y = op(x)
        back = op.adjoint(y)
    assert isinstance(y, Tensor) and y.dim() == 4, f"A x must be a 4-D tensor, got {getattr(y, 'shape', y)}"
    assert tuple(y.shape[:2]) == (2, 3), f"A x must keep the batch and channels (2, 3), got {tuple(y.shape)}"
    assert tuple(back.shape) == tuple(x.shape), f"A^T (A x) must have x's shape {tuple(x.shape)}, got {tuple(back.shape)}"
    assert y.dtype == x.dtype and back.dtype == x.dtype, f"float32 in gave {y.dtype} / {back.dtype} out"
    assert_finite(y, "A x")


def _batched(make: MakeOperator) -> None:
    op = make()
    x = _images(op, 3, 2, seed=3)
    with torch.no_grad():
        y = op(x)
        for b in range(3):
            assert_close(y[b : b + 1], op(x[b : b + 1]), f"A x of image {b} in a batch vs alone")


def _gradients(make: MakeOperator) -> None:
    op = make()
    x = _images(op, seed=4).requires_grad_(True)
    (g,) = torch.autograd.grad(op(x).square().sum(), x)
    assert tuple(g.shape) == tuple(x.shape), "the gradient must have the images' shape"
    assert_finite(g, "the gradient")


def _measure(make: MakeOperator) -> None:
    op = make()
    x = _images(op, seed=5)
    a, b = op.measure(x, sigma=0.1, seed=3), op.measure(x, sigma=0.1, seed=3)
    assert torch.equal(a, b), "measure(x, sigma, seed) must give the same noise for the same seed"
    assert not torch.equal(a, op.measure(x, sigma=0.1, seed=4)), "another seed must give other noise"
    with torch.no_grad():
        assert_close(op.measure(x), op(x), "measure(x) without noise vs A x", atol=0, rtol=0)
    expect_raises(ConfigError, "measure with sigma=-0.1", lambda: op.measure(x, sigma=-0.1))
    expect_raises(InvalidDataError, "measure of NaN images", lambda: op.measure(torch.full_like(x, float("nan")), sigma=0.1))


def _bad_input(make: MakeOperator) -> None:
    op = make()
    x = _images(op)
    with torch.no_grad():
        y = op(x)
    expect_raises(DTypeError, "integer images", lambda: op((x * 255).long()))
    expect_raises(ShapeError, "images without a batch dimension (C, H, W)", lambda: op(x[0]))
    expect_raises(DTypeError, "the adjoint of integer measurements", lambda: op.adjoint((y * 255).long()))
    expect_raises(ShapeError, "the adjoint of measurements without a batch dimension", lambda: op.adjoint(y[0]))


def _compile(make: MakeOperator) -> None:
    op = make()
    x = _images(op, seed=6)
    with torch.no_grad():
        assert_close(compiled(op, fullgraph=False)(x), op(x), "torch.compile(operator) vs eager")


def _save_load(make: MakeOperator) -> None:
    op = make()
    back = save_load(op)
    x = _images(op, seed=7)
    with torch.no_grad():
        assert_close(back(x), op(x), "A x after save/load", atol=0, rtol=0)
        assert_close(back.adjoint(op(x)), op.adjoint(op(x)), "A^T y after save/load", atol=0, rtol=0)


OPERATOR_SUITE = Suite(
    "operator",
    {
        "base": _base,
        "config": _config,
        "adjointness": _adjointness,
        "linearity": _linearity,
        "shapes": _shapes,
        "batched": _batched,
        "gradients": _gradients,
        "measure": _measure,
        "bad_input": _bad_input,
        "compile": _compile,
        "save_load": _save_load,
    },
)
"""The checks of kind ``"operator"``, in order (see the module docs)."""


def check_operator(
    make: MakeOperator, *, only: Iterable[str] | None = None, skip: Iterable[str] = (), compile: bool = True
) -> None:
    """Run the operator contract on operators built by ``make`` (called once per check).

    Args:
        make: builds a small operator.
        only: run only these checks.
        skip: checks to leave out.
        compile: ``False`` leaves out the ``torch.compile`` check.

    Raises:
        ContractFailure: a check failed.

    Example:
        >>> from neuralfields.inverse import Downsample
        >>> from neuralfields.testing import check_operator
        >>> check_operator(lambda: Downsample(2), compile=False)
    """
    skip = tuple(skip) + (() if compile else ("compile",))
    OPERATOR_SUITE.run(make, only=only, skip=skip)
