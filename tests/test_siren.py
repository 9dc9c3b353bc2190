"""Siren: reference initialisation, batched evaluation, gradients, compile, errors."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.errors import ConfigError, DTypeError, ShapeError
from neuralfields.fields import Field


def test_layer_structure():
    f = nf.Siren(in_features=2, out_features=3, hidden_features=64, hidden_layers=3)
    shapes = [tuple(layer.weight.shape) for layer in f.layers]
    # hidden_layers counts sine layers; a linear output layer follows
    assert shapes == [(64, 2), (64, 64), (64, 64), (3, 64)]
    assert f.first_omega_0 == 30.0 and f.hidden_omega_0 == 30.0


@pytest.mark.parametrize("in_features", [1, 2, 3])
@pytest.mark.parametrize("w0", [30.0, 10.0])
def test_reference_init_distributions(in_features, w0):
    f = nf.Siren(in_features, 1, hidden_features=256, hidden_layers=3, first_omega_0=30.0, hidden_omega_0=w0, seed=0)
    f.requires_grad_(False)
    first = f.layers[0].weight
    bound = 1.0 / in_features
    assert float(first.abs().max()) <= bound
    assert float(first.abs().max()) > 0.95 * bound  # the bound is reached, not a narrower law
    for layer in list(f.layers)[1:]:
        w = layer.weight
        n = w.shape[1]
        bound = math.sqrt(6.0 / n) / w0
        assert float(w.abs().max()) <= bound * (1 + 1e-6)
        # U(-b, b) has variance b^2 / 3 = 2 / (n w0^2)
        assert float(w.var()) == pytest.approx(bound**2 / 3.0, rel=0.05 if w.numel() > 10000 else 0.35)
        assert float(w.mean()) == pytest.approx(0.0, abs=bound / math.sqrt(w.numel()) * 5)
    for layer in f.layers:
        b = 1.0 / math.sqrt(layer.in_features)
        assert float(layer.bias.abs().max()) <= b


def test_first_layer_variance():
    f = nf.Siren(2, 1, hidden_features=4096, hidden_layers=1, seed=1).requires_grad_(False)
    w = f.layers[0].weight  # 8192 draws from U(-1/2, 1/2)
    assert float(w.var()) == pytest.approx((0.5**2) / 3.0, rel=0.05)


def test_forward_is_sin_of_scaled_affine():
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=2, first_omega_0=20.0, hidden_omega_0=7.0, seed=0)
    x = torch.rand(5, 2) * 2 - 1
    h = torch.sin(20.0 * f.layers[0](x))
    h = torch.sin(7.0 * f.layers[1](h))
    expected = f.layers[2](h)  # linear last layer
    assert torch.allclose(f(x), expected)
    g = nf.Siren(2, 1, hidden_features=8, hidden_layers=2, outermost_linear=False, seed=0)
    assert bool((g(x).abs() <= 1).all())


def test_seed_reproducible():
    a, b = nf.Siren(2, 1, 32, seed=5), nf.Siren(2, 1, 32, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = nf.Siren(2, 1, 32, seed=6)
    assert not torch.equal(a.layers[1].weight, c.layers[1].weight)


def test_any_leading_dims():
    f = nf.Siren(3, 2, hidden_features=16, seed=0)
    x = torch.rand(4, 5, 6, 3)
    y = f(x)
    assert y.shape == (4, 5, 6, 2)
    assert torch.allclose(y.reshape(-1, 2), f(x.reshape(-1, 3)), atol=1e-6)


def _perturbed_batch(field, batch, seed=0):
    gen = torch.Generator().manual_seed(seed)
    params = field.batch_parameters(batch)
    with torch.no_grad():
        for p in params.values():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    return params


@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 20))
def test_batched_equals_per_item(batch, in_features, out_features, n):
    """forward_batched member b equals the plain forward of unbatch(params, b) on coords[b]."""
    f = nf.Siren(in_features, out_features, hidden_features=16, hidden_layers=2, seed=0)
    params = _perturbed_batch(f, batch)
    coords = torch.rand(batch, n, in_features, generator=torch.Generator().manual_seed(1)) * 2 - 1
    out = f.forward_batched(params, coords)
    assert out.shape == (batch, n, out_features)
    for b in range(batch):
        assert torch.allclose(out[b], f.unbatch(params, b)(coords[b]), atol=1e-5)
    # the explicit bmm path agrees with the generic vmap path of the base class
    assert torch.allclose(out, Field.forward_batched(f, params, coords), atol=1e-5)


def test_batch_parameters_are_independent_leaves():
    f = nf.Siren(2, 1, 16, seed=0)
    params = f.batch_parameters(3)
    assert all(p.is_leaf and p.requires_grad for p in params.values())
    coords = torch.rand(3, 10, 2)
    loss = f.forward_batched(params, coords)[1].sum()  # depends only on member 1
    loss.backward()
    for p in params.values():
        assert p.grad[1].abs().sum() > 0
        assert p.grad[0].abs().sum() == 0 and p.grad[2].abs().sum() == 0
    assert f.layers[0].weight.grad is None  # the field's own parameters are untouched


def test_batched_errors():
    f = nf.Siren(2, 1, 16, seed=0)
    params = f.batch_parameters(2)
    with pytest.raises(ShapeError, match=r"\(B, N, 2\)"):
        f.forward_batched(params, torch.rand(10, 2))
    with pytest.raises(ShapeError, match="batch of 3"):
        f.forward_batched(params, torch.rand(3, 10, 2))
    with pytest.raises(ShapeError, match="missing"):
        f.forward_batched({k: v for k, v in list(params.items())[1:]}, torch.rand(2, 10, 2))


def test_gradients_flow_to_every_parameter():
    f = nf.Siren(2, 3, 16, hidden_layers=3, seed=0)
    f(torch.rand(32, 2) * 2 - 1).square().mean().backward()
    for name, p in f.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_gradcheck_float64():
    f = nf.Siren(2, 2, hidden_features=6, hidden_layers=2, first_omega_0=3.0, hidden_omega_0=3.0, seed=0).double()
    x = (torch.rand(4, 2, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: f(c), (x,))
    params = f.batch_parameters(2)
    coords = torch.rand(2, 3, 2, dtype=torch.float64)
    w = params["layers.1.weight"]
    assert torch.autograd.gradcheck(lambda w_: f.forward_batched({**params, "layers.1.weight": w_}, coords), (w,))


def test_torch_compile_trains():
    f = nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0)
    x = torch.rand(64, 2) * 2 - 1
    compiled = torch.compile(f, fullgraph=True)
    assert torch.allclose(compiled(x), f(x), atol=1e-5)
    compiled(x).sum().backward()
    assert f.layers[0].weight.grad is not None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"in_features": 0}, "in_features"),
        ({"hidden_layers": 0}, "hidden_layers"),
        ({"hidden_features": 2.5}, "hidden_features"),
        ({"first_omega_0": -1.0}, "first_omega_0"),
        ({"hidden_omega_0": "30"}, "hidden_omega_0"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        nf.Siren(**kwargs)


def test_bad_coords():
    f = nf.Siren(2, 1, 16)
    with pytest.raises(ShapeError, match=r"\(\.\.\., 2\)"):
        f(torch.rand(10, 3))
    with pytest.raises(DTypeError, match="floating"):
        f(torch.zeros(10, 2, dtype=torch.long))
    with pytest.raises(DTypeError, match="torch.Tensor"):
        f([[0.0, 0.0]])


def test_activations_and_decode_from_split_the_forward_pass():
    f = nf.Siren(2, 3, hidden_features=16, hidden_layers=3, seed=0)
    x = torch.rand(7, 2) * 2 - 1
    for layer in (0, 1, 2, -1):
        h = f.activations(x, layer)
        assert h.shape == (7, 16) and bool((h.abs() <= 1).all())
        assert torch.allclose(f.decode_from(h, layer), f(x), atol=1e-6)
    with pytest.raises(ConfigError, match="layer"):
        f.activations(x, 3)  # the output layer is not a hidden layer
    with pytest.raises(ShapeError, match="16 channels"):
        f.decode_from(torch.rand(7, 5), 1)


def test_bottleneck_siren():
    f = nf.BottleneckSiren(2, 1, hidden_features=64, hidden_layers=5, bottleneck_factor=8, seed=0)
    assert f.sine_widths == [64, 64, 8, 64, 64] and f.bottleneck == 2
    assert [tuple(layer.weight.shape) for layer in f.layers][2:4] == [(8, 64), (64, 8)]
    # reference init uses each layer's own fan-in: the layer after the bottleneck has n = 8
    w = f.layers[3].weight.detach()
    assert float(w.abs().max()) <= math.sqrt(6 / 8) / 30 and float(w.abs().max()) > 0.9 * math.sqrt(6 / 8) / 30
    x = torch.rand(11, 2) * 2 - 1
    z = f.encode(x)
    assert z.shape == (11, 8)
    assert torch.allclose(f.decode(z), f(x), atol=1e-6)
    g = nf.create("field", "bottleneck-siren", **f.config)
    assert g.sine_widths == f.sine_widths
    assert nf.BottleneckSiren(hidden_features=4, bottleneck_factor=16).sine_widths[2] == 1
    with pytest.raises(ConfigError, match="at least 3 sine layers"):
        nf.BottleneckSiren(hidden_layers=2)
    with pytest.raises(ConfigError, match="bottleneck_factor"):
        nf.BottleneckSiren(bottleneck_factor=0)
