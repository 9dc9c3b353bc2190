"""Restoration on real images: patch priors at any size, the automatic prior weight (lam="auto"), and the
training-health flags and plateau stop of the quick presets."""

import json
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.errors import ConfigError, EdgeOfGridWarning, ShapeError
from neuralfields.inverse import Denoise, Mask, lam_grid, lam_sweep, solve
from neuralfields.priors import AutoEncoder, PatchAutoEncoder, extract_patches, patch_positions
from neuralfields.training import StopAtPlateau, training_health


@pytest.fixture(scope="module")
def patch_prior():
    return PatchAutoEncoder(patch_size=8, stride=4, latent_dim=4, width=4, seed=0).eval()


def test_patch_energy_is_the_sum_of_patch_energies_one_by_one(patch_prior):
    x = torch.rand(2, 1, 20, 13, generator=torch.Generator().manual_seed(0))
    patches = extract_patches(x, 8, 4)  # (B, P, C, 8, 8)
    assert patches.shape == (2, len(patch_positions(20, 8, 4)) * len(patch_positions(13, 8, 4)), 1, 8, 8)
    with torch.no_grad():
        # one by one through the autoencoder's own (convolutional) energy, not the batched matrix form
        one_by_one = torch.stack([torch.stack([AutoEncoder.energy(patch_prior, p[None])[0] for p in img]) for img in patches])
        batched = patch_prior.energy(x)
        per_patch = patch_prior.patch_energies(x)
    torch.testing.assert_close(per_patch, one_by_one, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(batched, one_by_one.sum(1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(batched / patches.shape[1], one_by_one.mean(1), rtol=1e-5, atol=1e-6)


def test_patches_cover_every_pixel_once_or_more():
    for length, patch, stride in [(8, 8, 4), (13, 8, 4), (20, 8, 3), (64, 8, 8)]:
        starts = patch_positions(length, patch, stride)
        covered = torch.zeros(length, dtype=torch.bool)
        for s in starts:
            covered[s : s + patch] = True
        assert bool(covered.all()) and starts[-1] == length - patch


@pytest.mark.parametrize("size", [(8, 8), (8, 13), (31, 9), (64, 64)])
def test_patch_prior_takes_any_size_at_least_one_patch(patch_prior, size):
    x = torch.rand(3, 1, *size, requires_grad=True)
    e = patch_prior.energy(x)
    assert e.shape == (3,) and bool(torch.isfinite(e).all())
    e.sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0


def test_patch_prior_rejects_bad_images_clearly(patch_prior):
    with pytest.raises(ShapeError, match="at least that large"):
        patch_prior.energy(torch.rand(1, 1, 7, 30))
    with pytest.raises(ShapeError, match="channel"):
        patch_prior.energy(torch.rand(1, 3, 16, 16))  # trained on grey patches
    with pytest.raises(ConfigError, match="divisible by 4"):
        PatchAutoEncoder(patch_size=6)
    with pytest.raises(ConfigError, match="stride"):
        PatchAutoEncoder(patch_size=8, stride=9)


def test_patch_prior_saves_loads_and_solves(tmp_path, patch_prior):
    path = nf.save(patch_prior, tmp_path / "p.safetensors")
    back = nf.load(path)
    assert isinstance(back, PatchAutoEncoder) and back.stride == 4
    x = torch.rand(1, 1, 12, 12)
    torch.testing.assert_close(back.energy(x), patch_prior.energy(x))
    y = Denoise().measure(nf.data.load_dataset("shapes", n=1, size=12), sigma=0.1, seed=0)
    sol = solve(y, "denoise", path, sigma=0.1, lam=1.0, steps=5, progress=False)
    assert sol.x.shape == y.shape


def test_tiny_denoising_with_auto_lam_beats_the_noisy_input():
    clean = nf.data.load_dataset("shapes", n=2, size=24, seed=3)
    y = Denoise().measure(clean, sigma=0.1, seed=0)
    sol = solve(y, "denoise", "tv", sigma=0.1, steps=150, reference=clean, progress=False)
    assert sol.sweep is not None and sol.sweep.criterion == "sure" and sol.lam.shape == (2,)
    torch.testing.assert_close(sol.lam, sol.sweep.chosen.double(), rtol=1e-6, atol=0)  # applied in float32
    noisy = nf.inverse.per_image_psnr(y.clamp(0, 1), clean)
    assert all(p > float(n) + 2.0 for p, n in zip(sol.psnr, noisy)), (sol.psnr, noisy.tolist())


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), sigmas=st.sampled_from([(0.03, 0.1), (0.05, 0.15), (0.1, 0.3)]))
def test_auto_lam_weighs_the_prior_more_for_a_noisier_input(seed, sigmas):
    # the data term is ||y - x||^2 / (2 sigma^2), so the prior's weight relative to it is lam * sigma^2
    clean = nf.data.load_dataset("shapes", n=1, size=16, seed=seed)
    strength = []
    for sigma in sigmas:
        y = Denoise().measure(clean, sigma=sigma, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EdgeOfGridWarning)
            sweep = lam_sweep(y, Denoise(), nf.priors.TotalVariation(), sigma=sigma, lams=lam_grid(0.01, 1e4, 13),
                              steps=120, seed=seed, progress=False)  # fmt: skip
        strength.append(float(sweep.chosen[0]) * sigma**2)
    assert strength[1] > strength[0], strength


def test_the_sweep_warns_when_its_choice_is_at_the_edge():
    clean = nf.data.load_dataset("shapes", n=2, size=16)
    y = Denoise().measure(clean, sigma=0.2, seed=0)
    with pytest.warns(EdgeOfGridWarning, match="edge of the grid") as caught:
        sweep = lam_sweep(y, Denoise(), nf.priors.TotalVariation(), sigma=0.2, lams=[1e-6, 1e-5, 1e-4],
                          steps=60, reference=clean, progress=False)  # fmt: skip
    assert caught[0].filename == __file__  # it points at the caller's line, not inside the library
    assert bool(sweep.at_edge.all()) and torch.allclose(sweep.chosen, torch.full((2,), 1e-4, dtype=sweep.chosen.dtype))
    assert sweep.scores.shape == (3, 2) and sweep.psnr.shape == (3, 2)
    assert sweep.best_in_hindsight().shape == (2,) and bool((sweep.lost_db() >= 0).all())


@pytest.mark.parametrize("criterion", ["sure", "discrepancy", "holdout"])
def test_every_criterion_lands_inside_a_wide_grid(criterion):
    clean = nf.data.load_dataset("shapes", n=2, size=24, seed=1)
    y = Denoise().measure(clean, sigma=0.1, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EdgeOfGridWarning)
        sweep = lam_sweep(y, Denoise(), nf.priors.TotalVariation(), sigma=0.1, criterion=criterion,
                          lams=lam_grid(1e-3, 1e5, 9), steps=150, reference=clean, progress=False)  # fmt: skip
    assert sweep.criterion == criterion and not bool(sweep.at_edge.any())
    assert bool((sweep.chosen > 1e-3).all()) and bool((sweep.chosen < 1e5).all())


def test_lam_is_checked():
    clean = nf.data.load_dataset("shapes", n=3, size=8)
    y = Denoise().measure(clean, sigma=0.1, seed=0)
    for bad in (-1.0, float("nan"), "bogus", True, [1.0, 2.0], [[1.0]]):
        with pytest.raises(ConfigError, match="lam"):
            solve(y, "denoise", "tv", sigma=0.1, lam=bad, steps=2, progress=False)
    sol = solve(y, "denoise", "tv", sigma=0.1, lam=[0.0, 1.0, 10.0], steps=2, progress=False)
    assert sol.lam.tolist() == [0.0, 1.0, 10.0] and sol.sweep is None
    with pytest.raises(ConfigError, match="sure"):
        lam_sweep(y, Mask((8, 8)), nf.priors.TotalVariation(), sigma=0.1, criterion="sure", progress=False)
    with pytest.raises(ConfigError, match="criterion"):
        lam_sweep(y, Denoise(), nf.priors.TotalVariation(), sigma=0.1, criterion="gcv", progress=False)
    with pytest.raises(ConfigError, match="at least 3"):
        lam_sweep(y, Denoise(), nf.priors.TotalVariation(), sigma=0.1, lams=[1.0, 2.0], progress=False)


def test_training_health_flags_both_ways():
    falling = [1.0 / (1 + 0.05 * t) for t in range(300)]
    flat = [0.1] * 300
    assert training_health(falling)["undertrained"] is True
    assert training_health(flat)["undertrained"] is False
    assert training_health(flat[:10])["undertrained"] is None  # too short to tell
    assert training_health(flat, 30.0, 26.5)["overfitting"] is True
    assert training_health(flat, 30.0, 28.0)["overfitting"] is False
    assert training_health(flat)["overfitting"] is None and training_health(flat)["caveats"] == []


def test_stop_at_plateau_stops_on_a_flat_loss_only_after_min_steps():
    class Info:
        def __init__(self, step, loss):
            self.step, self.loss = step, loss

    stop = StopAtPlateau(window=10, min_steps=50)
    first = next(s for s in range(1, 200) if stop(Info(s, 1.0)))
    assert first == 50 and stop.stopped_at == 50
    falling = StopAtPlateau(window=10)
    assert not any(falling(Info(s, 1.0 / s)) for s in range(1, 200))
    again = next(s for s in range(1, 200) if stop(Info(s, 1.0)))  # a second run with the same callback
    assert again == 50 and stop.stopped_at == 50
    with pytest.raises(ConfigError):
        StopAtPlateau(window=1)


def test_train_prior_trains_patch_priors_with_health(tmp_path):
    from neuralfields.experiments.priors import TrainPriorConfig, load_priors, train_prior

    patches = nf.data.load_dataset("shapes", n=24, size=8)
    cfg = TrainPriorConfig(latent_dim=2, width=4, steps=40, batch_size=8, patch=True, plateau_window=5)
    m = train_prior(patches, tmp_path, cfg, progress=False)
    priors, _ = load_priors(tmp_path)
    assert all(isinstance(p, PatchAutoEncoder) for p in priors.values())
    assert priors["plain"].energy(torch.rand(1, 1, 30, 17)).shape == (1,)  # any size
    for res in m["models"].values():
        assert set(res["health"]) >= {"undertrained", "overfitting", "caveats"} and 20 <= res["steps"] <= 40


def test_cli_prints_a_warning_as_one_line(monkeypatch, tmp_path, capsys):
    import neuralfields.cli as cli

    def warns(args):
        warnings.warn("the chosen weight lies at the edge of the grid", EdgeOfGridWarning, stacklevel=2)
        return 0

    monkeypatch.setattr(cli, "_cmd_restore", warns)
    with warnings.catch_warnings():
        warnings.simplefilter("always", EdgeOfGridWarning)
        assert cli.main(["restore", "--task", "denoise", "--out", str(tmp_path / "r")]) == 0
    assert capsys.readouterr().err == "neuralfields restore: warning: the chosen weight lies at the edge of the grid\n"


def test_training_health_leaves_a_model_past_enough_db_alone():
    falling = [1.0 / (1 + 0.05 * t) for t in range(300)]
    assert training_health(falling, train_psnr=49.0)["undertrained"] is True
    assert training_health(falling, train_psnr=55.0)["undertrained"] is False


def test_fit_report_flags_an_undertrained_field(tmp_path, capsys):
    from neuralfields.cli import main

    assert main(["fit", "camera", "--size", "16", "--steps", "40", "--hidden-features", "64", "--hidden-layers", "2",
                 "--out", str(tmp_path / "f"), "--no-progress"]) == 0  # fmt: skip (its loss falls ~14% in the last tenth)
    health = json.loads((tmp_path / "f" / "metrics.json").read_text())["health"]
    assert health["undertrained"] is True and health["caveats"]
    assert f"caveat: {health['caveats'][0]}" in capsys.readouterr().out


def test_patch_prior_keeps_its_matrices_only_during_a_solve():
    from neuralfields.inverse._resolve import _frozen

    prior = PatchAutoEncoder(8, latent_dim=4, width=4, seed=0).eval()
    x = torch.rand(2, 1, 16, 12, generator=torch.Generator().manual_seed(0))
    with _frozen(prior):
        prior.energy(x)
        assert prior._chains is not None  # built once for the whole solve
    assert prior._chains is None
    before = prior.energy(x)
    with torch.no_grad():
        prior.decoder[-1].bias.data.add_(0.5)  # changes that do not bump a version counter count too
    assert not torch.allclose(prior.energy(x), before)
    prior.energy(x).sum().backward()  # and outside a solve the energy has weight gradients
    assert prior.decoder[-1].bias.grad is not None


def test_lam_sweep_takes_names_like_solve():
    clean = nf.data.load_dataset("shapes", n=1, size=16)
    y = Denoise().measure(clean, sigma=0.1, seed=0)
    sweep = lam_sweep(y, "denoise", "tv", sigma=0.1, solver="map", lams=lam_grid(0.1, 1000.0, 5), steps=20, warn=False,
                      progress=False)  # fmt: skip
    assert sweep.criterion == "sure" and sweep.chosen.shape == (1,)
    with pytest.raises(ConfigError, match="needs a prior"):
        lam_sweep(y, "denoise", None, sigma=0.1, progress=False)
