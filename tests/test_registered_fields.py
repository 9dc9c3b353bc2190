"""The same checks for every registered field, built-in or from a plugin (timm-style):
smoke, shapes, gradients, batched evaluation, float64, torch.compile."""

import pytest
import torch

import neuralfields as nf

from .helpers import small_field

FIELDS = nf.available("field")


@pytest.mark.parametrize("name", FIELDS)
def test_smoke_and_shapes(name):
    f = small_field(name)
    assert isinstance(f, nf.Field)
    assert isinstance(f.config, dict) and nf.create("field", name, **f.config).config == f.config
    x = torch.rand(3, 5, f.in_features) * 2 - 1
    y = f(x)
    assert y.shape == (3, 5, f.out_features) and bool(torch.isfinite(y).all())
    with pytest.raises(nf.errors.ShapeError):
        f(torch.rand(4, f.in_features + 1))


@pytest.mark.parametrize("name", FIELDS)
def test_gradients_reach_every_parameter(name):
    f = small_field(name)
    f(torch.rand(16, f.in_features) * 2 - 1).square().sum().backward()
    for pname, p in f.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), pname


@pytest.mark.parametrize("name", FIELDS)
def test_batched_evaluation_equals_per_item(name):
    f = small_field(name)
    params = f.batch_parameters(3)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in params.values():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    coords = torch.rand(3, 7, f.in_features, generator=gen) * 2 - 1
    out = f.forward_batched(params, coords)
    assert out.shape == (3, 7, f.out_features)
    for b in range(3):
        assert torch.allclose(out[b], f.unbatch(params, b)(coords[b]), atol=1e-5)


@pytest.mark.parametrize("name", FIELDS)
def test_float64(name):
    f = small_field(name).double()
    x = torch.rand(4, f.in_features, dtype=torch.float64, requires_grad=True)
    assert f(x).dtype == torch.float64
    assert torch.autograd.gradcheck(f, (x,), atol=1e-5)


@pytest.mark.parametrize("name", FIELDS)
def test_torch_compile(name):
    f = small_field(name)
    x = torch.rand(32, f.in_features) * 2 - 1
    compiled = torch.compile(f, fullgraph=True)
    assert torch.allclose(compiled(x), f(x), atol=1e-5)
