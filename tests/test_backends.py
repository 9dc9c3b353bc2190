"""Siren backends: "eager", "fused" and "auto" give the same values and gradients; auto's choice."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.errors import ConfigError
from neuralfields.fields import BACKENDS, resolve_backend


def _pair(seed, **cfg):
    eager = nf.Siren(seed=seed, backend="eager", **cfg)
    fused = nf.Siren(seed=seed, backend="fused", **cfg)
    return eager, fused


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 48), st.integers(1, 3), st.integers(1, 70),
    st.booleans(), st.integers(0, 10_000),
)  # fmt: skip
def test_fused_equals_eager(d_in, d_out, width, layers, n, outermost_linear, seed):
    """For random shapes, the fused backend's outputs and parameter/coordinate gradients equal eager's."""
    eager, fused = _pair(seed, in_features=d_in, out_features=d_out, hidden_features=width, hidden_layers=layers,
                         outermost_linear=outermost_linear)  # fmt: skip
    x = (torch.rand(n, d_in, generator=torch.Generator().manual_seed(seed)) * 2 - 1).requires_grad_(True)
    ye, yf = eager(x), fused(x)
    assert torch.allclose(ye, yf, atol=2e-5, rtol=1e-4)
    ge = torch.autograd.grad(ye.square().sum(), [x, *eager.parameters()])
    gf = torch.autograd.grad(yf.square().sum(), [x, *fused.parameters()])
    for a, b in zip(ge, gf):
        assert torch.allclose(a, b, atol=1e-3, rtol=1e-3)


def test_forward_batched_fused_equals_eager():
    eager, fused = _pair(0, hidden_features=32, hidden_layers=3, out_features=2)
    pe, pf = eager.batch_parameters(4), fused.batch_parameters(4)
    with torch.no_grad():
        for k in pf:
            pf[k].add_(0.01 * torch.randn_like(pf[k]))
            pe[k].copy_(pf[k])
    coords = torch.rand(4, 50, 2) * 2 - 1
    ye, yf = eager.forward_batched(pe, coords), fused.forward_batched(pf, coords)
    assert torch.allclose(ye, yf, atol=2e-5)
    ge = torch.autograd.grad(ye.sum(), list(pe.values()))
    gf = torch.autograd.grad(yf.sum(), list(pf.values()))
    assert all(torch.allclose(a, b, atol=1e-3, rtol=1e-3) for a, b in zip(ge, gf))


def test_float64_gradcheck_through_fused_siren():
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=2, seed=0, backend="fused").double()
    x = torch.rand(5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: f(t), (x,))


def test_modulated_layers_still_work_with_the_fused_backend():
    eager, fused = _pair(1, hidden_features=16, hidden_layers=2)
    mods = [(torch.full((16,), 1.1), None), (None, torch.full((16,), 0.2))]
    x = torch.rand(7, 2)
    assert torch.allclose(eager(x, mods), fused(x, mods), atol=1e-5)


def test_auto_backend_and_config():
    cpu = torch.zeros(1, 2)
    assert resolve_backend("auto", cpu) == "eager" and resolve_backend("fused", cpu) == "fused"
    assert BACKENDS == ("auto", "eager", "fused")
    f = nf.Siren(hidden_features=8, backend="eager", seed=0)
    assert "backend" not in f.config  # an execution choice, not part of the field's identity
    assert nf.create("field", "siren", **f.config).backend == "auto"
    assert nf.create("field", "siren", **f.config, backend="fused").backend == "fused"
    assert nf.Siren(hidden_features=8).backend == "auto"
    with pytest.raises(ConfigError, match="backend"):
        nf.Siren(backend="triton")


def test_backend_is_not_saved(tmp_path):
    f = nf.Siren(hidden_features=8, backend="fused", seed=0)
    path = nf.save(f, tmp_path / "f.safetensors")
    g = nf.load(path)
    assert g.backend == "auto" and "backend" not in nf.io.read_metadata(path)["neuralfields.config"]
    x = torch.rand(5, 2)
    assert torch.allclose(f(x), g(x), atol=1e-5)


def test_fused_backend_compiles_fullgraph():
    f = nf.Siren(2, 1, hidden_features=16, hidden_layers=3, seed=0, backend="fused")
    x = torch.rand(64, 2)
    step = torch.compile(lambda t: f(t).square().mean(), fullgraph=True)
    loss = step(x)
    loss.backward()
    ref = nf.Siren(2, 1, hidden_features=16, hidden_layers=3, seed=0, backend="eager")
    ref(x).square().mean().backward()
    assert torch.allclose(loss, ref(x).square().mean(), atol=1e-5)
    for a, b in zip(f.parameters(), ref.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-4, rtol=1e-3)
