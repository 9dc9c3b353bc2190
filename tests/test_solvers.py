"""Inverse-problem solvers: restoration improves PSNR, early stopping stops, the TV prior, errors."""

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, DTypeError, InvalidDataError, ShapeError
from neuralfields.inverse import (
    Denoise,
    Discrepancy,
    Downsample,
    FieldSolver,
    HoldoutStop,
    MAPSolver,
    Mask,
    initial_guess,
    solve,
)
from neuralfields.priors import TotalVariation, total_variation


@pytest.fixture(scope="module")
def shapes():
    return nf.data.load_dataset("shapes", n=4, size=16)


def _psnr(a, b):
    return nf.psnr(a, b)


def test_solvers_and_priors_are_registered():
    assert {"map", "field"} <= set(nf.available("solver"))
    assert {"autoencoder", "tv"} <= set(nf.available("prior"))
    assert isinstance(nf.create("solver", "map", lr=0.1), MAPSolver)


def test_tv_prior():
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: total_variation(t), (x,))
    flat = torch.full((1, 1, 8, 8), 0.3)
    assert float(TotalVariation().energy(flat)) == pytest.approx(0.0, abs=1e-6)
    step = torch.zeros(1, 1, 8, 8)
    step[..., 4:] = 1.0
    # one unit jump per row, eight rows
    assert float(total_variation(step, eps=0.0)) == pytest.approx(8.0)
    assert float(TotalVariation(temperature=2.0).energy(step)) < float(TotalVariation().energy(step))
    back = nf.create("prior", "tv", **TotalVariation(eps=0.01, isotropic=False).config)
    assert back.config == {"eps": 0.01, "isotropic": False, "temperature": 1.0}


@pytest.mark.parametrize("solver", ["map", "field"])
def test_tiny_denoising_improves_psnr(shapes, solver):
    y = Denoise().measure(shapes, sigma=0.2, seed=0)
    kwargs = dict(sigma=0.2, steps=300, reference=shapes, progress=False)
    if solver == "map":
        sol = solve(y, "denoise", "tv", lam=0.5, **kwargs)
    else:
        sol = solve(y, Denoise(), None, solver=FieldSolver(lr=2e-3), stop="holdout", **kwargs)
    noisy = _psnr(y.clamp(0, 1), shapes)
    assert sol.x.shape == shapes.shape
    assert float(sol.x.min()) >= 0 and float(sol.x.max()) <= 1
    assert _psnr(sol.x, shapes) > noisy + 1.0
    assert sol.psnr is not None and len(sol.psnr) == 4
    if solver == "map":  # the budget rule keeps the last iterate: the curve ends at the result
        assert sol.history.val_psnr[-1] == pytest.approx(sum(sol.psnr) / 4)
    else:  # the hold-out rule keeps the best iterate it saw
        assert sol.stopped_at.max() < sol.iterations


def test_tiny_inpainting_improves_psnr(shapes):
    op = Mask((16, 16), kind="quarter")
    y = op.measure(shapes, sigma=0.02, seed=0)
    sol = solve(y, op, "tv", sigma=0.02, lam=0.05, steps=300, reference=shapes, progress=False)
    assert _psnr(sol.x, shapes) > _psnr(y, shapes) + 1.0


def test_autoencoder_prior_restores(tmp_path):
    digits = nf.data.load_dataset("digits", n=300, size=8)
    ae = nf.priors.AutoEncoder((8, 8), latent_dim=4, width=8, seed=0)
    nf.train_autoencoder(ae, digits[:256], steps=300, progress=False)
    ae.zero_grad(set_to_none=True)
    clean = digits[256:]
    y = Denoise().measure(clean, sigma=0.5, seed=0)
    sol = solve(y, Denoise(), ae, sigma=0.5, lam=10.0, steps=300, reference=clean, progress=False)
    assert _psnr(sol.x, clean) > _psnr(y.clamp(0, 1), clean) + 1.0
    from_file = solve(y, Denoise(), nf.save(ae, tmp_path / "ae.safetensors"), sigma=0.5, lam=10.0,
                      steps=300, reference=clean, progress=False)  # fmt: skip
    assert torch.allclose(from_file.x, sol.x, atol=1e-6)
    # the caller's prior is left as it was: trainable, in training mode, without gradients
    assert all(p.requires_grad and p.grad is None for p in ae.parameters()) and ae.training


def test_snapshots_and_history(shapes):
    y = Denoise().measure(shapes, sigma=0.1, seed=0)
    sol = solve(y, "denoise", "tv", sigma=0.1, steps=50, snapshots=(0, 10, 50), eval_every=5, progress=False)
    assert sorted(sol.snapshots) == [0, 10, 50] and sol.iterations == 50
    # one record per iteration k (as step k + 1): the objective of iterate k, its terms, per image
    assert sol.history.step == list(range(1, 51)) and len(sol.history.loss) == 50
    assert set(sol.history.metrics) == {"data", "prior"} and len(sol.history.items["loss"][0]) == 4
    assert sol.history.val_step == [] and sol.history.val_psnr == []  # no reference given
    with_ref = solve(y, "denoise", "tv", sigma=0.1, steps=50, eval_every=5, reference=shapes, progress=False)
    assert with_ref.history.val_step == list(range(0, 51, 5))
    assert torch.equal(sol.snapshots[50], sol.x)  # the budget rule keeps the last iterate
    assert torch.equal(sol.stopped_at, torch.full((4,), 50))
    # the flat start: each image's mean value everywhere
    assert float(sol.snapshots[0].std(dim=(1, 2, 3)).max()) < 1e-6


def test_discrepancy_principle_stops_at_the_noise_level(shapes):
    sigma = 0.1
    y = Denoise().measure(shapes, sigma=sigma, seed=0)
    sol = solve(y, "denoise", None, sigma=sigma, steps=2000, stop="discrepancy", progress=False)
    assert bool(sol.stopped.all()) and sol.iterations < 2000
    # the kept iterate is the first whose residual is down to m * sigma^2
    residual = ((sol.x - y) ** 2).flatten(1).sum(1)
    m = shapes[0].numel()
    assert bool((residual <= 1.05 * m * sigma**2).all())
    # and stopping there beats fitting the noise to the end
    full = solve(y, "denoise", None, sigma=sigma, steps=2000, progress=False)
    assert _psnr(sol.x, shapes) > _psnr(full.x, shapes)


def test_holdout_rule_stops_and_keeps_the_best_iterate(shapes):
    y = Denoise().measure(shapes, sigma=0.2, seed=0)
    rule = HoldoutStop(fraction=0.2, patience=30)
    sol = solve(y, "denoise", None, solver=FieldSolver(lr=5e-3), sigma=0.2, steps=3000, stop=rule,
                snapshots=(), reference=shapes, progress=False)  # fmt: skip
    assert bool(sol.stopped.all()) and sol.iterations < 3000
    assert bool((sol.stopped_at <= sol.iterations - 30).all())
    w = rule.start(y, torch.ones_like(y, dtype=torch.bool), 0.2)
    assert float((1 - w).flatten(1).sum(1).float().mean()) == pytest.approx(0.2 * 256, abs=1)


def test_snapshots_run_past_early_stops(shapes):
    y = Denoise().measure(shapes, sigma=0.1, seed=0)
    sol = solve(y, "denoise", None, sigma=0.1, steps=400, snapshots=(400,), stop=Discrepancy(), progress=False)
    assert sol.iterations == 400 and 400 in sol.snapshots and bool((sol.stopped_at < 400).all())


def test_initial_guess():
    y = torch.rand(2, 1, 4, 4)
    assert torch.allclose(initial_guess(y, Downsample(2)), y.repeat_interleave(2, 2).repeat_interleave(2, 3))
    op = Mask((4, 4), kind="quarter")
    x0 = initial_guess(op(y), op)
    assert torch.allclose(x0[..., :2, :], y[..., :2, :])
    assert torch.allclose(x0[..., 2:, 2:], op(y).flatten(1).mean(1).view(2, 1, 1, 1).expand(2, 1, 2, 2))
    with pytest.raises(ConfigError, match="initial guess"):
        initial_guess(y, Denoise(), kind="zeros")


def test_superresolution_runs(shapes):
    op = Downsample(2)
    y = op.measure(shapes, sigma=0.01, seed=0)
    sol = solve(y, op, "tv", sigma=0.01, lam=0.01, steps=200, reference=shapes, progress=False)
    bicubic_free = torch.nn.functional.interpolate(y, scale_factor=2, mode="nearest")
    assert sol.x.shape == shapes.shape and _psnr(sol.x, shapes) > _psnr(bicubic_free, shapes)


def test_bad_input(shapes):
    y = Denoise().measure(shapes, sigma=0.1, seed=0)
    with pytest.raises(ConfigError, match="sigma"):
        solve(y, "denoise", "tv", sigma=0.0)
    with pytest.raises(ConfigError, match="sigma"):
        solve(y, "denoise", "tv", sigma=-1.0)
    nan = y.clone()
    nan[0, 0, 3, 3] = float("nan")
    with pytest.raises(InvalidDataError, match="NaN"):
        solve(nan, "denoise", "tv", sigma=0.1)
    with pytest.raises(ShapeError, match="mask is 8x8"):
        solve(y, Mask((8, 8)), "tv", sigma=0.1)
    with pytest.raises(ShapeError, match=r"\(B, C, H, W\)"):
        solve(y[0], "denoise", "tv", sigma=0.1)
    with pytest.raises(DTypeError):
        solve(y.long(), "denoise", "tv", sigma=0.1)
    with pytest.raises(ConfigError, match="lam"):
        solve(y, "denoise", "tv", sigma=0.1, lam=-1.0)
    with pytest.raises(nf.errors.UnknownNameError, match="prior"):
        solve(y, "denoise", "nonexistent-prior", sigma=0.1)
    with pytest.raises(ConfigError, match="stopping rule"):
        solve(y, "denoise", "tv", sigma=0.1, stop="sometime")
    with pytest.raises(DTypeError, match="energy"):
        solve(y, "denoise", torch.nn.Linear(2, 2), sigma=0.1)
    with pytest.raises(ShapeError, match="reference"):
        solve(y, "denoise", "tv", sigma=0.1, reference=shapes[:, :, :8])


def test_stopping_rules_are_a_registry_kind(shapes, isolated_registry):
    from neuralfields.inverse import STOPPING_RULES, StoppingRule, stopping_rule

    assert {"budget", "discrepancy", "holdout"} <= set(nf.available("stopping"))
    assert STOPPING_RULES["holdout"] is HoldoutStop and "discrepancy" in STOPPING_RULES
    with pytest.raises(TypeError):
        STOPPING_RULES["mine"] = HoldoutStop  # read-only
    rule = HoldoutStop(fraction=0.3, patience=7, seed=2)
    assert nf.create("stopping", "holdout", **rule.config).config == rule.config
    assert stopping_rule({"name": "discrepancy", "config": {"tau": 2.0}}).tau == 2.0
    assert stopping_rule(None).name == "budget" and stopping_rule(rule) is rule
    with pytest.raises(ConfigError, match="Did you mean 'holdout'"):
        stopping_rule("holdot")

    @nf.register("stopping", "test-after")
    class After(StoppingRule):
        """Stop every image at iteration ``n``, keeping that iterate."""

        name = "test-after"

        def __init__(self, n=5):
            self.n = n

        @property
        def config(self):
            return {"n": self.n}

        def observe(self, iteration, residual, heldout):
            at = torch.full_like(residual, float(iteration)) >= self.n
            return torch.ones_like(at), at

    assert STOPPING_RULES["test-after"] is After
    y = Denoise().measure(shapes, sigma=0.1, seed=0)
    sol = solve(y, "denoise", "tv", sigma=0.1, steps=50, stop={"name": "test-after", "config": {"n": 7}},
                progress=False)  # fmt: skip
    assert sol.iterations == 7 and sol.rule == "test-after" and bool(sol.stopped.all()) and sol.stopped_early
    assert torch.equal(sol.stopped_at, torch.full((4,), 7))


def test_steps_and_eval_every_have_their_earlier_names(shapes):
    y = Denoise().measure(shapes, sigma=0.1, seed=0)
    a = solve(y, "denoise", "tv", sigma=0.1, lam=1.0, steps=12, eval_every=4, reference=shapes, progress=False)
    b = solve(y, "denoise", "tv", sigma=0.1, lam=1.0, iterations=12, record_every=4, reference=shapes, progress=False)
    assert a.iterations == b.iterations == 12 and torch.equal(a.x, b.x)
    assert a.history.val_step == b.history.val_step == [0, 4, 8, 12]
    with pytest.raises(ConfigError, match="give steps or iterations"):
        solve(y, "denoise", "tv", sigma=0.1, steps=12, iterations=10, progress=False)
