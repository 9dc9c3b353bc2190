"""Conditioning: index coordinate, binary code, latent codes, and the conditioned field."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.conditioning import ConditionedField, Latent
from neuralfields.errors import ConfigError, DTypeError, IndexOutOfRangeError, ShapeError


@given(st.integers(1, 300))
def test_index_coordinates_distinct_in_range_ordered(n):
    """Index coordinates are strictly increasing pixel centres in (-1, 1), one per item."""
    c = nf.IndexCoordinate(n).features(torch.arange(n))[:, 0]
    assert c.shape == (n,)
    assert bool((c > -1).all()) and bool((c < 1).all())
    assert bool((c.diff() > 0).all())
    assert torch.allclose(c, nf.grid.pixel_centers(n))


@given(st.integers(1, 12), st.data())
def test_binary_codes_unique_and_decode(bits, data):
    """For every N <= 2^bits, the N codes are distinct, in {-1, 1}, and decode back to their index."""
    n = data.draw(st.integers(1, 2**bits))
    code = nf.BinaryCode(n, bits=max(bits, max(1, math.ceil(math.log2(n)))))
    idx = torch.arange(n)
    feats = code.features(idx)
    assert feats.shape == (n, code.bits)
    assert set(feats.unique().tolist()) <= {-1.0, 1.0}
    assert len({tuple(r) for r in feats.tolist()}) == n
    assert torch.equal(code.decode(feats), idx)


def test_binary_default_bits():
    assert [nf.BinaryCode(n).bits for n in (1, 2, 3, 4, 5, 8, 9, 100, 1024)] == [1, 1, 2, 2, 3, 3, 4, 7, 10]
    with pytest.raises(ConfigError, match="at least 3 bits"):
        nf.BinaryCode(5, bits=2)


def _conditionings(n=6):
    return [
        nf.IndexCoordinate(n),
        nf.BinaryCode(n),
        Latent(n, dim=8, mode="concat", seed=0),
        Latent(n, dim=8, mode="film", seed=0),
        Latent(n, dim=8, mode="shift", seed=0),
    ]


def _field(cond, out=2):
    return ConditionedField(nf.Siren(2 + cond.extra_features, out, hidden_features=16, hidden_layers=2, seed=0), cond)


@pytest.mark.parametrize("cond", _conditionings(), ids=lambda c: f"{type(c).__name__}-{getattr(c, 'mode', '')}")
def test_batched_forward_equals_per_item(cond):
    f = _field(cond)
    x = torch.rand(4, 9, 2) * 2 - 1
    idx = torch.tensor([5, 0, 3, 3])
    y = f(x, idx)
    assert y.shape == (4, 9, 2)
    for b in range(4):
        assert torch.allclose(y[b], f(x[b], int(idx[b])), atol=1e-6)
    shared = f(x[0], idx)  # one grid for all items
    assert torch.allclose(shared[1], f(x[0], 0), atol=1e-6)
    assert not torch.allclose(y[0], f(x[0], 0))  # items are told apart


@pytest.mark.parametrize("cond", _conditionings(), ids=lambda c: f"{type(c).__name__}-{getattr(c, 'mode', '')}")
def test_save_load_round_trip(cond, tmp_path):
    f = _field(cond)
    if isinstance(cond, Latent):
        with torch.no_grad():
            cond.codes_table.normal_()  # "trained" codes must survive
    g = nf.load(nf.save(f, tmp_path / "c.safetensors"))
    assert type(g.conditioning) is type(cond) and g.config == f.config
    x, idx = torch.rand(3, 5, 2), torch.tensor([1, 2, 5])
    assert torch.equal(g(x, idx), f(x, idx))


@pytest.mark.parametrize("mode", ["concat", "film", "shift"])
def test_latent_codes_receive_gradients(mode):
    cond = Latent(4, dim=8, mode=mode, seed=0)
    f = _field(cond)
    f(torch.rand(2, 6, 2), torch.tensor([1, 3])).square().sum().backward()
    grad = cond.codes_table.grad
    assert grad is not None
    assert bool(grad[[1, 3]].abs().sum() > 0) and bool(grad[[0, 2]].abs().sum() == 0)


def test_item_view_renders():
    f = _field(nf.BinaryCode(4), out=3)
    img = nf.render(f.item(2), (5, 6))
    assert img.shape == (3, 5, 6)
    grid = nf.grid.make_grid((5, 6))
    assert torch.allclose(img, (f(grid, 2).permute(2, 0, 1) * 0.5 + 0.5).clamp(0, 1), atol=1e-6)


def test_bad_input():
    f = _field(nf.IndexCoordinate(3))
    with pytest.raises(IndexOutOfRangeError, match="index 3 is out of range.*3 items"):
        f(torch.rand(2, 2), 3)
    with pytest.raises(IndexOutOfRangeError, match="-1"):
        f(torch.rand(1, 2, 2), torch.tensor([-1]))
    with pytest.raises(IndexError):  # also a plain IndexError
        f.item(7)
    with pytest.raises(DTypeError, match="integer"):
        f(torch.rand(1, 2, 2), torch.tensor([0.5]))
    with pytest.raises(ShapeError, match="B = 2 items"):
        f(torch.rand(3, 4, 2), torch.tensor([0, 1]))
    with pytest.raises(ShapeError, match=r"\(\.\.\., 2\)"):
        f(torch.rand(4, 3), 0)
    with pytest.raises(ConfigError, match="in_features = coordinate dimension \\+ 3"):
        ConditionedField(nf.Siren(3, 1, 8), nf.BinaryCode(8))
    with pytest.raises(ConfigError, match="num_items"):
        nf.IndexCoordinate(0)
    with pytest.raises(ConfigError, match="latent mode"):
        Latent(3, mode="add")
    with pytest.raises(ConfigError, match="batched"):
        f.forward_batched({}, torch.rand(1, 2, 2))
