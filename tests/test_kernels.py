"""The fused sine layer: op registration (opcheck), gradients, equality with the eager composite,
torch.compile, saved-activation memory, input validation; Triton CUDA path (skipped without CUDA)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralfields.errors import ConfigError, DeviceError, DTypeError, NeuralFieldsError, ShapeError
from neuralfields.kernels import PRECISIONS, TRITON_AVAILABLE, sine_layer, sine_layer_batched
from neuralfields.kernels import _triton

needs_triton_cuda = pytest.mark.skipif(
    not torch.cuda.is_available() or not TRITON_AVAILABLE, reason="needs a CUDA device and Triton"
)


def composite(x, weight, bias, omega_0):
    """The eager reference: what Siren computes per sine layer."""
    return torch.sin(omega_0 * F.linear(x, weight, bias))


def composite_batched(x, weight, bias, omega_0):
    z = torch.bmm(x, weight.transpose(1, 2))
    if bias is not None:
        z = z + bias.unsqueeze(1)
    return torch.sin(omega_0 * z)


def make(shape_x, shape_w, shape_b, dtype=torch.float32, requires_grad=False, seed=0, device="cpu"):
    """Coordinates-like x in [-1, 1], SIREN-like weights (omega_0 * z of order one)."""
    gen = torch.Generator().manual_seed(seed)
    n = shape_w[-1]
    x = torch.rand(shape_x, generator=gen, dtype=torch.float64) * 2 - 1
    w = (torch.rand(shape_w, generator=gen, dtype=torch.float64) * 2 - 1) * math.sqrt(6 / n) / 30
    b = None if shape_b is None else (torch.rand(shape_b, generator=gen, dtype=torch.float64) * 2 - 1) / math.sqrt(n)
    out = [t if t is None else t.to(device=device, dtype=dtype).requires_grad_(requires_grad) for t in (x, w, b)]
    return tuple(out)


# ---- registration ----------------------------------------------------------------------------


@pytest.mark.parametrize("batched", [False, True], ids=["shared", "batched"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("requires_grad", [False, True], ids=["nograd", "grad"])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_opcheck(batched, dtype, requires_grad, with_bias):
    if batched:
        op = torch.ops.neuralfields.sine_layer_batched.default
        x, w, b = make((2, 7, 3), (2, 5, 3), (2, 5) if with_bias else None, dtype, requires_grad)
    else:
        op = torch.ops.neuralfields.sine_layer.default
        x, w, b = make((7, 3), (5, 3), (5,) if with_bias else None, dtype, requires_grad)
    torch.library.opcheck(op, (x, w, b, 30.0))


@pytest.mark.parametrize("mask", [[True, True, True], [False, True, True], [True, False, False]])
def test_opcheck_backward(mask):
    x, w, b = make((2, 6, 3), (2, 4, 3), (2, 4), torch.float64)
    grad = torch.randn(2, 6, 4, dtype=torch.float64)
    torch.library.opcheck(torch.ops.neuralfields.sine_layer_backward.default, (grad, x, w, b, 30.0, mask))
    x, w, b = make((6, 3), (4, 3), (4,), torch.float32)
    torch.library.opcheck(torch.ops.neuralfields.sine_layer_backward.default, (grad[0].float(), x, w, b, 30.0, mask))


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_gradcheck_float64(with_bias):
    x, w, b = make((2, 5, 3), (4, 3), (4,) if with_bias else None, torch.float64, requires_grad=True, seed=1)
    inputs = (x, w) if b is None else (x, w, b)
    assert torch.autograd.gradcheck(lambda *t: sine_layer(*t[:2], t[2] if len(t) > 2 else None, omega_0=30.0), inputs)
    x, w, b = make((2, 5, 3), (2, 4, 3), (2, 4) if with_bias else None, torch.float64, requires_grad=True, seed=2)
    inputs = (x, w) if b is None else (x, w, b)
    fn = lambda *t: sine_layer_batched(*t[:2], t[2] if len(t) > 2 else None, omega_0=30.0)  # noqa: E731
    assert torch.autograd.gradcheck(fn, inputs)


# ---- equality with the eager composite ---------------------------------------------------------


def assert_grads_close(out, ref, inputs, dtype):
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(out.shape, generator=gen, dtype=out.dtype)
    live = [t for t in inputs if t is not None and t.requires_grad]
    got = torch.autograd.grad(out, live, g)
    want = torch.autograd.grad(ref, live, g)
    tol = {"rtol": 1e-9, "atol": 1e-9} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-4}
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **tol)


@settings(max_examples=20, deadline=None)
@given(
    lead=st.lists(st.integers(0, 5), min_size=0, max_size=2),
    in_features=st.integers(1, 9),
    out_features=st.integers(1, 9),
    with_bias=st.booleans(),
    omega_0=st.floats(0.5, 30.0),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_matches_composite(lead, in_features, out_features, with_bias, omega_0, dtype, seed):
    x, w, b = make(
        (*lead, in_features), (out_features, in_features), (out_features,) if with_bias else None, dtype, True, seed
    )
    out = sine_layer(x, w, b, omega_0)
    ref = composite(x, w, b, omega_0)
    assert out.shape == ref.shape == (*lead, out_features)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-5}
    torch.testing.assert_close(out, ref, **tol)
    if out.numel():
        assert_grads_close(out, ref, (x, w, b), dtype)


@settings(max_examples=20, deadline=None)
@given(
    batch=st.integers(1, 3),
    n=st.integers(1, 12),
    in_features=st.integers(1, 9),
    out_features=st.integers(1, 9),
    with_bias=st.booleans(),
    omega_0=st.floats(0.5, 30.0),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**16),
)
def test_batched_matches_composite(batch, n, in_features, out_features, with_bias, omega_0, dtype, seed):
    shape_b = (batch, out_features) if with_bias else None
    x, w, b = make((batch, n, in_features), (batch, out_features, in_features), shape_b, dtype, True, seed)
    out = sine_layer_batched(x, w, b, omega_0)
    ref = composite_batched(x, w, b, omega_0)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-5}
    torch.testing.assert_close(out, ref, **tol)
    assert_grads_close(out, ref, (x, w, b), dtype)


def test_non_contiguous_inputs():
    x, w, b = make((9, 6), (4, 5), (4,), torch.float64, requires_grad=False)
    xt = x.t().contiguous().t()[:, :5].requires_grad_()  # strided view
    wt = w.t().contiguous().t().requires_grad_()  # transposed layout
    out = sine_layer(xt, wt, b, 30.0)
    ref = composite(xt, wt, b, 30.0)
    torch.testing.assert_close(out, ref)
    g = torch.ones_like(out)  # expanded-like gradient is fine too
    got = torch.autograd.grad(out, (xt, wt), g.expand_as(out))
    want = torch.autograd.grad(ref, (xt, wt), g)
    for a, c in zip(got, want):
        torch.testing.assert_close(a, c)


def test_only_requested_gradients():
    x, w, b = make((8, 3), (4, 3), (4,), torch.float64)
    w.requires_grad_()
    out = sine_layer(x, w, b, 30.0)
    (gw,) = torch.autograd.grad(out.sum(), (w,))
    (ref,) = torch.autograd.grad(composite(x, w, b, 30.0).sum(), (w,))
    torch.testing.assert_close(gw, ref)
    b.requires_grad_()
    w.requires_grad_(False)
    out = sine_layer(x, w, b, 30.0)
    out.sum().backward()
    assert x.grad is None and w.grad is None and b.grad is not None
    with torch.no_grad():
        assert sine_layer(x, w, b, 30.0).grad_fn is None


def test_vector_input_and_empty_batch():
    x, w, b = make((3,), (4, 3), (4,), torch.float64)
    torch.testing.assert_close(sine_layer(x, w, b, 30.0), composite(x, w, b, 30.0))
    assert sine_layer(torch.zeros(0, 3, dtype=torch.float64), w, b).shape == (0, 4)


# ---- torch.vmap -----------------------------------------------------------------------------------


def test_vmap_forward_and_gradients_through_it():
    x, w, b = make((4, 6, 3), (4, 5, 3), (4, 5), torch.float64, seed=3)
    expected = torch.stack([composite(x[i], w[i], b[i], 30.0) for i in range(4)])
    # parameters batched (one network per item), and shared parameters with batched inputs
    out = torch.vmap(lambda xi, wi, bi: sine_layer(xi, wi, bi, 30.0))(x, w, b)
    torch.testing.assert_close(out, expected)
    out = torch.vmap(lambda xi: sine_layer(xi, w[0], b[0], 30.0))(x)
    torch.testing.assert_close(out, composite(x, w[0], b[0], 30.0))
    # nested: vmap over the batched op
    xb, wb, bb = x.unsqueeze(1).expand(4, 2, 6, 3), w.unsqueeze(1).expand(4, 2, 5, 3), b.unsqueeze(1).expand(4, 2, 5)
    out = torch.vmap(lambda xi, wi, bi: sine_layer_batched(xi, wi, bi, 30.0))(xb, wb, bb)
    torch.testing.assert_close(out, expected.unsqueeze(1).expand(4, 2, 6, 5))
    # autograd through the vmapped forward (how Field.forward_batched trains)
    w.requires_grad_()
    (got,) = torch.autograd.grad(torch.vmap(lambda xi, wi: sine_layer(xi, wi, None, 30.0))(x, w).sum(), (w,))
    (want,) = torch.autograd.grad(composite_batched(x, w, None, 30.0).sum(), (w,))
    torch.testing.assert_close(got, want)


# ---- torch.compile ------------------------------------------------------------------------------


def test_compile_fullgraph_matches_eager():
    torch.manual_seed(0)
    widths = [2, 16, 16, 16, 1]
    params = []
    for a, c in zip(widths[:-1], widths[1:]):
        bound = 1 / a if a == 2 else math.sqrt(6 / a) / 30
        params += [torch.empty(c, a).uniform_(-bound, bound).requires_grad_(), torch.zeros(c).requires_grad_()]

    def siren(x, w1, b1, w2, b2, w3, b3, w4, b4, wb):
        h = sine_layer(x, w1, b1, 30.0)
        h = sine_layer(h, w2, b2, 30.0)
        h = sine_layer(h, w3, b3, 30.0)
        hb = sine_layer_batched(h.unsqueeze(0).expand(2, -1, -1), wb, None, 30.0)  # one net per item
        return F.linear(h, w4, b4), hb

    wb = (torch.rand(2, 16, 16) * 2 - 1).mul_(math.sqrt(6 / 16) / 30).requires_grad_()
    x = torch.rand(32, 2) * 2 - 1
    compiled = torch.compile(siren, fullgraph=True, dynamic=False)
    results = []
    for fn in (siren, compiled):
        out, hb = fn(x, *params, wb)
        loss = out.square().mean() + hb.square().mean()
        results.append((out, hb, torch.autograd.grad(loss, [*params, wb])))
    (o1, h1, g1), (o2, h2, g2) = results
    torch.testing.assert_close(o2, o1, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h2, h1, rtol=1e-5, atol=1e-5)
    for a, c in zip(g2, g1):
        torch.testing.assert_close(a, c, rtol=1e-4, atol=1e-5)


# ---- saved activations --------------------------------------------------------------------------


def saved_bytes(fn):
    """Bytes of the distinct storages autograd saves for backward while running ``fn``."""
    storages = {}

    def pack(t):
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return sum(storages.values()), out


def test_saves_fewer_activations_than_composite():
    torch.manual_seed(0)
    n, width = 4096, 64
    x = torch.rand(n, 2) * 2 - 1
    layers = [(torch.randn(width, 2) * 0.5, torch.randn(width)), (torch.randn(width, width) * 0.02, torch.randn(width))]
    layers += [(torch.randn(width, width) * 0.02, torch.randn(width))]
    for w, b in layers:
        w.requires_grad_()
        b.requires_grad_()

    def run(layer):
        h = x
        for w, b in layers:
            h = layer(h, w, b, 30.0)
        return h.sum()

    fused, out_fused = saved_bytes(lambda: run(sine_layer))
    eager, out_eager = saved_bytes(lambda: run(composite))
    torch.testing.assert_close(out_fused, out_eager, rtol=1e-4, atol=1e-2)
    activation = n * width * 4
    # composite: per layer its input and the (N, width) pre-activation; fused: only the inputs
    assert eager - fused > 2.99 * activation  # the three pre-activations (less the small biases)
    assert fused < 0.6 * eager

    # one layer saves exactly its inputs
    w, b = layers[1]
    h = torch.rand(n, width)
    one, _ = saved_bytes(lambda: sine_layer(h, w, b, 30.0))
    assert one == h.nbytes + w.nbytes + b.nbytes


# ---- bad input ----------------------------------------------------------------------------------

X, W, B = torch.zeros(5, 3), torch.zeros(4, 3), torch.zeros(4)
XB, WB, BB = torch.zeros(2, 5, 3), torch.zeros(2, 4, 3), torch.zeros(2, 4)

BAD_CALLS = {
    "integer x": (lambda: sine_layer(X.long(), W, B), DTypeError, "floating-point"),
    "not a tensor": (lambda: sine_layer([[0.0, 0.0, 0.0]], W, B), DTypeError, "torch.Tensor"),
    "dtype mismatch": (lambda: sine_layer(X.double(), W, B), DTypeError, "x.dtype"),
    "bias dtype": (lambda: sine_layer(X, W, B.double()), DTypeError, "bias"),
    "in_features": (lambda: sine_layer(torch.zeros(5, 2), W, B), ShapeError, "in_features=3"),
    "weight rank": (lambda: sine_layer(X, WB, B), ShapeError, "sine_layer_batched"),
    "bias shape": (lambda: sine_layer(X, W, torch.zeros(3)), ShapeError, "(4,)"),
    "scalar x": (lambda: sine_layer(torch.tensor(1.0), W, B), ShapeError, "in_features"),
    "device": (lambda: sine_layer(X.to("meta"), W, B), DeviceError, "device"),
    "omega tensor": (lambda: sine_layer(X, W, B, torch.tensor(30.0)), ConfigError, "omega_0"),
    "omega nan": (lambda: sine_layer(X, W, B, float("nan")), ConfigError, "omega_0"),
    "omega bool": (lambda: sine_layer(X, W, B, True), ConfigError, "omega_0"),
    "precision": (lambda: sine_layer(X, W, B, precision="fp32"), ConfigError, "'float32'"),
    "batched x rank": (lambda: sine_layer_batched(X, WB, BB), ShapeError, "(B, N, in_features)"),
    "batched batch size": (lambda: sine_layer_batched(torch.zeros(3, 5, 3), WB, BB), ShapeError, "(2, N, 3)"),
    "batched weight rank": (lambda: sine_layer_batched(XB, W, B), ShapeError, "(B, out_features"),
    "batched bias": (lambda: sine_layer_batched(XB, WB, B), ShapeError, "(2, 4)"),
    "batched device": (lambda: sine_layer_batched(XB, WB.to("meta"), BB), DeviceError, "device"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_input(case):
    call, error, fragment = BAD_CALLS[case]
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, NeuralFieldsError)
    assert fragment in str(info.value)


def test_errors_are_builtin_subclasses():
    with pytest.raises(ValueError):
        sine_layer(torch.zeros(5, 2), W, B)
    with pytest.raises(TypeError):
        sine_layer(X.int(), W, B)


def test_precision_is_accepted_on_cpu():
    x, w, b = make((6, 3), (4, 3), (4,))
    for precision in PRECISIONS:
        torch.testing.assert_close(sine_layer(x, w, b, 30.0, precision=precision), composite(x, w, b, 30.0))


def test_triton_module_imports_without_triton():
    assert isinstance(TRITON_AVAILABLE, bool)
    assert TRITON_AVAILABLE == _triton.TRITON_AVAILABLE
    if not TRITON_AVAILABLE:
        with pytest.raises(NeuralFieldsError, match="Triton"):
            _triton.sine_layer_triton(*make((1, 4, 3), (1, 2, 3), None), 30.0)


# ---- Triton CUDA path (skipped without CUDA and Triton) -------------------------------------------

# Tolerances of the precisions on SIREN-like layers (|omega_0 z| of order one): max abs error of the
# output, relative (Frobenius) error of the gradients. See neuralfields.kernels._triton.
CUDA_TOL = {"float32": (1e-4, 1e-4), "tf32x3": (1e-4, 1e-4), "tf32": (2e-2, 2e-2), "bf16": (1e-1, 1e-1)}


def rel_err(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30))


@pytest.mark.cuda
@needs_triton_cuda
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("shape", [(1000, 37, 19), (4096, 256, 256), (20000, 64, 128)])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "nobias"])
def test_cuda_matches_float64_reference(precision, shape, with_bias):
    n, in_f, out_f = shape
    x, w, b = make((n, in_f), (out_f, in_f), (out_f,) if with_bias else None, torch.float32, True, device="cuda")
    out = sine_layer(x, w, b, 30.0, precision=precision)
    ref_inputs = [t if t is None else t.detach().double().requires_grad_() for t in (x, w, b)]
    ref = composite(*ref_inputs, 30.0)
    fwd_tol, grad_tol = CUDA_TOL[precision]
    assert float((out.double() - ref).abs().max()) < fwd_tol
    g = torch.randn_like(out)
    live = [t for t in (x, w, b) if t is not None]
    got = torch.autograd.grad(out, live, g)
    want = torch.autograd.grad(ref, [t for t in ref_inputs if t is not None], g.double())
    for a, c in zip(got, want):
        assert rel_err(a, c) < grad_tol


@pytest.mark.cuda
@needs_triton_cuda
@pytest.mark.parametrize("precision", PRECISIONS)
def test_cuda_batched_and_first_layer(precision):
    x, w, b = make((3, 5000, 64), (3, 32, 64), (3, 32), torch.float32, True, device="cuda")
    out = sine_layer_batched(x, w, b, 30.0, precision=precision)
    ref = composite_batched(x.double(), w.double(), b.double(), 30.0)
    assert float((out.double() - ref).abs().max()) < CUDA_TOL[precision][0]
    out.sum().backward()
    assert x.grad.shape == x.shape and w.grad.shape == w.shape and b.grad.shape == b.shape
    # first SIREN layer: 2 inputs (K smaller than a block), float32 keeps it exact
    coords = torch.rand(777, 2, device="cuda") * 2 - 1
    w1 = (torch.rand(48, 2, device="cuda") - 0.5).requires_grad_()
    out = sine_layer(coords, w1, None, 30.0)
    torch.testing.assert_close(out, composite(coords, w1, None, 30.0), rtol=0, atol=1e-4)


@pytest.mark.cuda
@needs_triton_cuda
def test_cuda_split_k_weight_gradient():
    # 2**16 points: dW = g^T x reduces over the points and is split across programs
    x, w, b = make((2**16, 256), (256, 256), (256,), torch.float32, True, device="cuda")
    out = sine_layer(x, w, b, 30.0)
    (gw,) = torch.autograd.grad(out.sum(), (w,))
    xd, wd, bd = (t.detach().double().requires_grad_() for t in (x, w, b))
    (ref,) = torch.autograd.grad(composite(xd, wd, bd, 30.0).sum(), (wd,))
    assert rel_err(gw, ref) < 1e-5


@pytest.mark.cuda
@needs_triton_cuda
def test_cuda_opcheck_and_fallbacks():
    x, w, b = make((1, 300, 24), (1, 40, 24), (1, 40), torch.float32, True, device="cuda")
    torch.library.opcheck(torch.ops.neuralfields.sine_layer_triton.default, (x, w, b, 30.0, "float32"))
    # float64 on CUDA takes the composite operator
    x64, w64, b64 = make((300, 24), (40, 24), (40,), torch.float64, device="cuda")
    torch.testing.assert_close(sine_layer(x64, w64, b64, 30.0), composite(x64, w64, b64, 30.0))


@pytest.mark.cuda
@needs_triton_cuda
def test_cuda_compile_fullgraph():
    x, w, b = make((4096, 64), (64, 64), (64,), torch.float32, True, device="cuda")

    def f(x, w, b):
        return sine_layer(sine_layer(x, w, b, 30.0), w, b, 30.0).square().mean()

    compiled = torch.compile(f, fullgraph=True)
    loss_c = compiled(x, w, b)
    grads_c = torch.autograd.grad(loss_c, (x, w, b))
    loss_e = f(x, w, b)
    grads_e = torch.autograd.grad(loss_e, (x, w, b))
    torch.testing.assert_close(loss_c, loss_e, rtol=1e-5, atol=1e-5)
    for a, c in zip(grads_c, grads_e):
        assert rel_err(a, c) < 1e-5
