"""Forward operators (kind "operator"): adjointness for every registered operator (Operator.adjointness_test),
save/load, errors. The contract suite (tests/test_contracts.py) checks the rest of the kind's interface."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.errors import ConfigError, DTypeError, InvalidDataError, ShapeError
from neuralfields.inverse import Blur, Denoise, Downsample, Mask

# How to build each registered operator for an image of size (h, w); others use their defaults.
FACTORIES = {
    "mask": lambda h, w: Mask((h, w), kind="random", fraction=0.3, seed=1),
    "downsample": lambda h, w: Downsample(2),
    "blur": lambda h, w: Blur(5, 1.2),
}
OPERATORS = nf.available("operator")


def _build(name, h, w):
    return FACTORIES[name](h, w) if name in FACTORIES else nf.create("operator", name)


@pytest.mark.parametrize("name", OPERATORS)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(0, 1000))
def test_adjointness(name, b, c, h2, w2, seed):
    """<A x, y> = <x, A^T y> for random x and y of any (even) size, in float64."""
    h, w = 2 * h2, 2 * w2
    assert _build(name, h, w).adjointness_test((b, c, h, w), seed=seed) < 1e-10


def test_adjointness_test_finds_a_wrong_adjoint():
    class Wrong(Downsample):
        def adjoint(self, y):
            return F.interpolate(y, scale_factor=self.factor, mode="nearest")  # misses the 1 / factor**2

    assert Downsample(2).adjointness_test() < 1e-12
    assert Wrong(2).adjointness_test() > 0.5
    assert Wrong(2).adjointness_test((1, 1, 4, 4), seed=3, dtype=torch.float32) > 0.5
    assert Mask((4, 6)).adjointness_test() == pytest.approx(0.0, abs=1e-15)  # its own size by default
    with pytest.raises(ShapeError, match=r"\(H, W\) or \(B, C, H, W\)"):
        Denoise().adjointness_test((2, 4, 4))


def test_operators_do_what_they_say():
    x = torch.rand(1, 1, 8, 8)
    assert torch.equal(Denoise()(x), x)
    m = Mask((8, 8), kind="quarter")
    assert float(m(x)[..., 4:, 4:].abs().sum()) == 0 and torch.equal(m(x)[..., :4, :], x[..., :4, :])
    r = Mask((8, 8), kind="random", fraction=0.25, seed=3)
    assert int((r.mask == 0).sum()) == 16
    assert torch.allclose(Downsample(2)(x)[0, 0, 0, 0], x[0, 0, :2, :2].mean())
    blurred = Blur(5, 1.0)(torch.ones(1, 1, 9, 9))
    assert blurred[0, 0, 4, 4] == pytest.approx(1.0, abs=1e-5)  # a normalised kernel keeps flat regions
    assert float(blurred[0, 0, 0, 0]) < 0.8  # zero padding darkens the border


def test_measure_noise_is_seeded():
    x = torch.rand(1, 1, 8, 8)
    op = Denoise()
    a, b = op.measure(x, sigma=0.1, seed=4), op.measure(x, sigma=0.1, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, op.measure(x, sigma=0.1, seed=5))
    assert float((a - x).std()) == pytest.approx(0.1, rel=0.35)
    assert torch.equal(op.measure(x), x)


@pytest.mark.parametrize("name", OPERATORS)
def test_save_load(name, tmp_path):
    op = _build(name, 8, 8)
    back = nf.load(nf.save(op, tmp_path / "op.safetensors"))
    x = torch.rand(2, 3, 8, 8)
    assert type(back) is type(op) and torch.equal(back(x), op(x))


def test_operator_errors():
    with pytest.raises(ShapeError, match="mask is 8x8 but x is 6x6"):
        Mask((8, 8))(torch.rand(1, 1, 6, 6))
    with pytest.raises(ShapeError, match=r"\(B, C, H, W\)"):
        Denoise()(torch.rand(8, 8))
    with pytest.raises(DTypeError, match="floating"):
        Blur()(torch.zeros(1, 1, 4, 4, dtype=torch.long))
    with pytest.raises(ConfigError, match="sigma must be > 0"):
        Blur(5, 0.0)
    with pytest.raises(ConfigError, match="odd"):
        Blur(4)
    with pytest.raises(ConfigError, match="sigma must be a finite number >= 0"):
        Denoise().measure(torch.rand(1, 1, 4, 4), sigma=-0.1)
    with pytest.raises(InvalidDataError, match="NaN"):
        Denoise().measure(torch.full((1, 1, 4, 4), float("nan")), sigma=0.1)
    with pytest.raises(ShapeError, match="not divisible"):
        Downsample(3)(torch.rand(1, 1, 8, 8))
    with pytest.raises(ConfigError, match="mask kind"):
        Mask((4, 4), kind="half")
