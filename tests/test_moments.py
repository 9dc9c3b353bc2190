"""Latent moment matching and latent-space coverage (neuralfields.priors)."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from neuralfields.errors import ConfigError, ShapeError
from neuralfields.priors import (
    MOMENTS,
    UNIFORM_MOMENTS,
    ks_uniform,
    latent_moments,
    moment_matching_loss,
    pair_occupancy,
)

ALL = {k: 1.0 for k in MOMENTS}


@given(st.integers(1, 6), st.integers(0, 10_000))
def test_near_zero_on_large_uniform_samples(d, seed):
    """On 50,000 uniform samples every moment is near its target, so the loss (all four moments) is
    near zero, the KS distance is small and the pair grid is fully occupied."""
    z = torch.rand(50_000, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    assert float(moment_matching_loss(z, ALL)) < 1e-3
    assert float(ks_uniform(z).max()) < 0.02
    assert pair_occupancy(z, bins=10) == 1.0


@given(st.integers(1, 6), st.floats(0.0, 1.0), st.floats(0.0, 0.01), st.integers(0, 10_000))
def test_large_on_collapsed_samples(d, centre, spread, seed):
    """Latents collapsed near one point have (almost) no variance: the default loss (relative errors)
    is close to 1, far above what uniform samples give, and the coverage measures say so."""
    gen = torch.Generator().manual_seed(seed)
    z = (centre + spread * torch.rand(2_000, d, generator=gen, dtype=torch.float64)).clamp(0, 1)
    assert float(moment_matching_loss(z)) > 0.5
    assert float(ks_uniform(z).min()) > 0.45
    if d >= 2:
        assert pair_occupancy(z, bins=10) <= 4 / 100


def test_moments_of_known_distributions():
    z = torch.tensor([[0.0], [1.0]] * 500, dtype=torch.float64)  # two points: mean 1/2, var 1/4, kurtosis 1
    m = latent_moments(z)
    assert float(m["mean"]) == pytest.approx(0.5) and float(m["variance"]) == pytest.approx(0.25)
    assert float(m["skewness"]) == pytest.approx(0.0) and float(m["kurtosis"]) == pytest.approx(1.0)
    assert set(UNIFORM_MOMENTS) == set(MOMENTS)


def test_differentiable_and_pulls_towards_uniform():
    z0 = torch.rand(512, 3, generator=torch.Generator().manual_seed(0)) * 0.2 + 0.4  # too narrow
    logits = torch.logit(z0).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=0.2)
    first = float(moment_matching_loss(torch.sigmoid(logits)).detach())
    for _ in range(300):
        loss = moment_matching_loss(torch.sigmoid(logits))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.15 * first
    assert float(ks_uniform(torch.sigmoid(logits)).max()) < float(ks_uniform(z0).min())


def test_errors():
    with pytest.raises(ConfigError, match="unknown moments"):
        moment_matching_loss(torch.rand(10, 2), {"median": 1.0})
    with pytest.raises(ConfigError, match="no target"):
        moment_matching_loss(torch.rand(10, 2), {"mean": 1.0}, target={"variance": 0.1})
    with pytest.raises(ShapeError, match=r"\(B, D\)"):
        latent_moments(torch.rand(10))
    with pytest.raises(ShapeError, match="at least 2"):
        latent_moments(torch.rand(1, 3))
