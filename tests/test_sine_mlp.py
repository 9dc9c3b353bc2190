"""The hand-written SIREN training step (kernels.sine_mlp_mse_grad), its dispatch (training.accumulate_mse_grad,
register_mse_step) and the chunked step of fit (training.mse_backward): same loss and gradients as autograd,
to rounding."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.errors import ConfigError, ShapeError
from neuralfields.kernels import sine_mlp_mse_grad
from neuralfields.training import accumulate_mse_grad, mse_backward, register_mse_step


def autograd_sse(field, x, y, denominator, params=None):
    """The reference: autograd through the field's forward pass."""
    pred = field(x) if params is None else field.forward_batched(params, x)
    sse = ((pred - y) ** 2).flatten(int(params is not None)).sum(-1)
    (sse.sum() / denominator).backward()
    return sse.detach()


def make_mlp(widths, omegas, batch=None, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    lead = () if batch is None else (batch,)
    weights, biases = [], []
    for a, b in zip(widths[:-1], widths[1:]):
        bound = math.sqrt(6 / a) / 30
        weights.append(((torch.rand(*lead, b, a, generator=gen, dtype=dtype) * 2 - 1) * bound).requires_grad_())
        biases.append(((torch.rand(*lead, b, generator=gen, dtype=dtype) * 2 - 1) / math.sqrt(a)).requires_grad_())
    return weights, biases


def autograd_reference(x, y, weights, biases, omegas, denominator):
    """(sse, grads) of the same MLP through autograd."""
    h = x
    for w, b, omega in zip(weights, biases, omegas):
        z = h @ w.transpose(-1, -2) + b.unsqueeze(-2)
        h = z if omega is None else torch.sin(omega * z)
    sse = ((h - y) ** 2).flatten(x.dim() - 2).sum(-1)
    grads = torch.autograd.grad(sse.sum() / denominator, [*weights, *biases])
    return sse.detach(), grads


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 40),
    in_features=st.integers(1, 3),
    hidden=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    out_features=st.integers(1, 5),
    outermost_linear=st.booleans(),
    omega=st.floats(1.0, 40.0),
    batch=st.one_of(st.none(), st.integers(1, 3)),
    seed=st.integers(0, 1000),
)
def test_gradients_equal_autograd(n, in_features, hidden, out_features, outermost_linear, omega, batch, seed):
    """Invariant: for any widths, depth, output channels, omega_0, a linear or a sine output layer, and
    with or without a batch of independent networks, the hand-written step returns the same sum of
    squared errors and accumulates the same gradients as autograd (float64, to rounding)."""
    widths = [in_features, *hidden, out_features]
    omegas = [omega] * (len(widths) - 2) + [None if outermost_linear else omega]
    weights, biases = make_mlp(widths, omegas, batch, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    lead = () if batch is None else (batch,)
    x = torch.rand(*lead, n, in_features, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.rand(*lead, n, out_features, generator=gen, dtype=torch.float64) * 2 - 1
    ref_sse, ref_grads = autograd_reference(x, y, weights, biases, omegas, 7.0)
    sse = sine_mlp_mse_grad(x, y, weights, biases, omegas, 7.0)
    assert sse.shape == ref_sse.shape
    torch.testing.assert_close(sse, ref_sse, rtol=1e-10, atol=1e-12)
    for p, g in zip([*weights, *biases], ref_grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-9, atol=1e-12)


def test_gradients_accumulate_and_frozen_parameters_are_left_alone():
    widths, omegas = [2, 8, 8, 1], [30.0, 30.0, None]
    weights, biases = make_mlp(widths, omegas)
    biases[1].requires_grad_(False)
    x, y = torch.rand(20, 2, dtype=torch.float64), torch.rand(20, 1, dtype=torch.float64)
    sine_mlp_mse_grad(x, y, weights, biases, omegas, 20.0)
    first = [w.grad.clone() for w in weights]
    sine_mlp_mse_grad(x, y, weights, biases, omegas, 20.0)
    for w, g in zip(weights, first):
        torch.testing.assert_close(w.grad, 2 * g)  # added, not overwritten
    assert biases[1].grad is None


def test_float32_matches_autograd_on_a_siren():
    f = nf.Siren(2, 3, hidden_features=64, hidden_layers=3, seed=0)
    g = nf.Siren(2, 3, hidden_features=64, hidden_layers=3, seed=0)
    x, y = torch.rand(500, 2) * 2 - 1, torch.rand(500, 3)
    sse = accumulate_mse_grad(f, x, y, 1500.0)  # the hand-written step (eager backend on the CPU)
    ref = autograd_sse(g, x, y, 1500.0)  # the autograd default
    torch.testing.assert_close(sse, ref, rtol=1e-5, atol=1e-5)
    for (name, p), q in zip(f.named_parameters(), g.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_batched_siren_step_equals_autograd_through_forward_batched():
    f = nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0)
    params = f.batch_parameters(3)
    ref_params = f.batch_parameters(3)
    x = (torch.rand(40, 2) * 2 - 1).expand(3, -1, -1)
    y = torch.rand(3, 40, 1)
    sse = accumulate_mse_grad(f, x, y, 40.0, params=params)
    ref = autograd_sse(f, x, y, 40.0, params=ref_params)
    assert sse.shape == (3,)
    torch.testing.assert_close(sse, ref, rtol=1e-5, atol=1e-6)
    for name in params:
        torch.testing.assert_close(params[name].grad, ref_params[name].grad, rtol=1e-4, atol=1e-6, msg=name)


def test_bottleneck_and_fused_backend_give_the_same_gradients():
    x, y = torch.rand(64, 2) * 2 - 1, torch.rand(64, 1)
    grads = []
    for field in (
        nf.BottleneckSiren(2, 1, hidden_features=32, seed=0),
        nf.BottleneckSiren(2, 1, hidden_features=32, seed=0, backend="fused"),  # autograd through the op
    ):
        accumulate_mse_grad(field, x, y, 64.0)
        grads.append([p.grad for p in field.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_hooks_fall_back_to_autograd():
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    calls = []
    f.register_forward_hook(lambda *args: calls.append(1))
    accumulate_mse_grad(f, torch.rand(10, 2), torch.rand(10, 1), 10.0)
    assert calls == [1]  # the module was called, so its hook saw the step
    assert f.layers[0].weight.grad is not None


def test_chunked_step_equals_the_whole_batch():
    """Invariant: the gradient of a mean over all points does not depend on how the points are chunked."""
    x = torch.rand(1000, 2, dtype=torch.float64) * 2 - 1
    y = torch.rand(1000, 2, dtype=torch.float64)
    results = []
    for chunk in (None, 1000, 300, 7):
        f = nf.Siren(2, 2, hidden_features=16, hidden_layers=2, seed=0).double()
        loss = mse_backward(f, x, y, chunk_size=chunk)
        results.append((loss, [p.grad.clone() for p in f.parameters()]))
    with torch.no_grad():
        expected = float(((f(x) - y) ** 2).mean())
    for loss, grads in results:
        assert loss == pytest.approx(expected, rel=1e-12)
        for a, b in zip(grads, results[0][1]):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)


def test_step_with_a_compiled_style_forward_uses_autograd():
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    x, y = torch.rand(30, 2), torch.rand(30, 1)
    seen = []

    def forward(c):
        seen.append(c.shape[0])
        return f(c)

    loss = mse_backward(f, x, y, forward=forward)
    assert seen == [30] and loss > 0 and f.layers[0].weight.grad is not None


@pytest.mark.parametrize("chunk", [0, -3, 2.5, True, "big"])
def test_bad_chunk_size(chunk):
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    with pytest.raises(ConfigError, match="chunk_size"):
        mse_backward(f, torch.rand(10, 2), torch.rand(10, 1), chunk_size=chunk)


def test_mismatched_shapes_are_clear_errors():
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    with pytest.raises(ShapeError, match="same N"):
        mse_backward(f, torch.rand(10, 2), torch.rand(9, 1))
    with pytest.raises(ShapeError, match="channels"):
        mse_backward(f, torch.rand(10, 2), torch.rand(10, 3))
    with pytest.raises(ShapeError, match="in_features"):
        accumulate_mse_grad(f, torch.rand(10, 3), torch.rand(10, 1), 10.0)
    with pytest.raises(ShapeError, match="shape of the field's output"):  # no silent broadcasting
        accumulate_mse_grad(f, torch.rand(10, 2), torch.rand(1, 1), 10.0)


def test_a_family_registers_its_own_step_and_may_defer():
    class Custom(nf.Siren):
        pass

    seen = []

    @register_mse_step(Custom)
    def step(field, coords, targets, denominator, params):
        seen.append(coords.shape[0])
        return None if coords.shape[0] > 5 else torch.tensor(123.0)

    f = Custom(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    assert float(accumulate_mse_grad(f, torch.rand(4, 2), torch.rand(4, 1), 4.0)) == 123.0  # the family's step
    g = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    x, y = torch.rand(10, 2), torch.rand(10, 1)
    got = accumulate_mse_grad(f, x, y, 10.0)  # deferred: autograd
    torch.testing.assert_close(got, autograd_sse(g, x, y, 10.0))
    assert seen == [4, 10]
