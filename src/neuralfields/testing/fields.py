"""The contract of kind ``"field"``: what every :class:`~neuralfields.Field` does.

======================  ===========================================================================
``base``                derives from :class:`~neuralfields.Field`; positive ``in_features`` / ``out_features``
``config``              JSON config without execution-only arguments; ``create(**config)`` rebuilds it; a seed fixes it
``shapes``              ``(N, d) -> (N, out)`` and ``(B, N, d) -> (B, N, out)``, finite, input dtype kept
``bad_input``           integer or non-tensor coordinates raise ``DTypeError``; a wrong last dimension ``ShapeError``
``gradients``           every parameter gets a finite, non-zero gradient
``batched``             ``forward_batched`` of ``batch_parameters`` equals per-item evaluation through ``unbatch``
``float64``             float64 in, float64 out; ``torch.autograd.gradcheck`` with respect to the coordinates
``compile``             ``torch.compile(field, fullgraph=True)`` gives the eager values
``save_load``           :func:`neuralfields.save` / :func:`neuralfields.load` round trip, identical outputs
======================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from ..errors import DTypeError, ShapeError
from ..fields.base import Field
from ._common import (
    Suite,
    assert_close,
    assert_finite,
    check_base,
    check_config,
    compiled,
    expect_raises,
    generator,
    parameter_grads,
    save_load,
    uniform,
)

__all__ = ["check_field", "FIELD_SUITE"]

MakeField = Callable[[], Field]


def _coords(f: Field, *lead: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return uniform((*lead, f.in_features), seed=seed, dtype=dtype)


def _base(make: MakeField) -> None:
    f = make()
    check_base(f, "field")
    for name in ("in_features", "out_features"):
        value = getattr(f, name, None)
        assert isinstance(value, int) and value > 0, f"{name} must be a positive int, got {value!r}"


def _config(make: MakeField) -> None:
    check_config(make(), "field")


def _shapes(make: MakeField) -> None:
    f = make().eval()
    with torch.no_grad():
        y = f(_coords(f, 7))
        assert tuple(y.shape) == (7, f.out_features), f"(7, {f.in_features}) mapped to {tuple(y.shape)}"
        z = f(_coords(f, 3, 5, seed=1))
        assert tuple(z.shape) == (3, 5, f.out_features), f"(3, 5, {f.in_features}) mapped to {tuple(z.shape)}"
    assert y.dtype == torch.float32, f"float32 coordinates gave {y.dtype} values"
    assert_finite(y, "the output")
    assert_finite(z, "the output")


def _bad_input(make: MakeField) -> None:
    f = make()
    x = _coords(f, 4)
    expect_raises(DTypeError, "integer coordinates", lambda: f(x.long()))
    expect_raises(DTypeError, "coordinates that are not a tensor", lambda: f(x.tolist()))
    wrong = torch.cat([x, x[:, :1]], dim=1)
    expect_raises(ShapeError, f"coordinates (4, {f.in_features + 1})", lambda: f(wrong))


def _gradients(make: MakeField) -> None:
    f = make()
    loss = f(_coords(f, 16)).square().sum()
    parameter_grads(loss, f, nonzero=True)


def _batched(make: MakeField) -> None:
    f = make()
    params = f.batch_parameters(3)
    gen = generator(0)
    with torch.no_grad():
        for p in params.values():
            if p.is_floating_point():
                p.add_(0.05 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    coords = _coords(f, 3, 7, seed=2)
    out = f.forward_batched(params, coords)
    assert tuple(out.shape) == (3, 7, f.out_features), f"forward_batched gave {tuple(out.shape)}"
    for b in range(3):
        member = f.unbatch(params, b)
        assert isinstance(member, Field), f"unbatch must return a Field, got {type(member).__name__}"
        with torch.no_grad():
            assert_close(out[b].detach(), member(coords[b]), f"batched member {b} vs unbatch({b})")


def _float64(make: MakeField) -> None:
    f = make().double()
    x = _coords(f, 4, dtype=torch.float64).requires_grad_(True)
    y = f(x)
    assert y.dtype == torch.float64, f"a float64 field on float64 coordinates gave {y.dtype}"
    ok = torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=False)
    assert ok, "torch.autograd.gradcheck with respect to the coordinates failed (float64)"


def _compile(make: MakeField) -> None:
    f = make().eval()
    x = _coords(f, 32)
    with torch.no_grad():
        expected = f(x)
        got = compiled(f)(x)
    assert_close(got, expected, "torch.compile(fullgraph=True) vs eager")


def _save_load(make: MakeField) -> None:
    f = make().eval()
    g = save_load(f).eval()
    x = _coords(f, 20)
    with torch.no_grad():
        assert_close(g(x), f(x), "outputs after save/load", atol=1e-6, rtol=0)


FIELD_SUITE = Suite(
    "field",
    {
        "base": _base,
        "config": _config,
        "shapes": _shapes,
        "bad_input": _bad_input,
        "gradients": _gradients,
        "batched": _batched,
        "float64": _float64,
        "compile": _compile,
        "save_load": _save_load,
    },
)
"""The checks of kind ``"field"``, in order (see the module docs)."""


def check_field(
    make: MakeField,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    compile: bool = True,
) -> None:
    """Run the field contract on fields built by ``make`` (called once per check, for a fresh field).

    Args:
        make: builds a small field, e.g. ``lambda: MyField(hidden_features=8, seed=0)``.
        only: run only these checks (names as in the module docs).
        skip: checks to leave out (e.g. ``("config", "save_load")`` for an unregistered class).
        compile: ``False`` leaves out the ``torch.compile`` check.

    Raises:
        ContractFailure: a check failed (an ``AssertionError`` naming the check and the reason).

    Example:
        >>> import neuralfields as nf
        >>> from neuralfields.testing import check_field
        >>> check_field(lambda: nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0), compile=False)
    """
    skip = tuple(skip) + (() if compile else ("compile",))
    FIELD_SUITE.run(make, only=only, skip=skip)
