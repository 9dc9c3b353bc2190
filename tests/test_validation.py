"""Every numeric argument is checked with one vocabulary: bad values raise a NeuralFieldsError naming them."""

import math

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError


@pytest.mark.parametrize("seed", [2**70, -1, 1.5, "0", True])
def test_seeds_are_checked_everywhere(seed):
    image = nf.data.load_image("synthetic", size=8)
    makers = [
        lambda: nf.Siren(2, 1, 8, seed=seed),
        lambda: nf.Latent(3, 4, seed=seed),
        lambda: nf.priors.AutoEncoder((8, 8), seed=seed),
        lambda: nf.HyperSiren((8, 8), 1, seed=seed),
        lambda: nf.fit(nf.Siren(2, 1, 8, seed=0), image, steps=1, seed=seed, progress=False),
        lambda: nf.inverse.HoldoutStop(seed=seed),
    ]
    for make in makers:
        with pytest.raises(ConfigError, match="seed must be an int in \\[0, 2\\*\\*63\\)"):
            make()


@pytest.mark.parametrize(
    "kwargs, match",
    [({"lr": -1e-3}, "lr"), ({"lr": math.nan}, "lr"), ({"min_lr_ratio": -0.5}, "min_lr_ratio"),
     ({"min_lr_ratio": 2.0}, "min_lr_ratio"), ({"steps": -1}, "steps"), ({"schedule": "linear"}, "schedule"),
     ({"eval_every": 0}, "eval_every"), ({"batch_size": 0}, "batch_size")],
)  # fmt: skip
def test_fit_settings_are_checked(kwargs, match):
    """A negative min_lr_ratio used to become a negative learning rate, without a word."""
    with pytest.raises(ConfigError, match=match):
        nf.fit(nf.Siren(2, 1, 8, seed=0), nf.data.load_image("synthetic", size=8), **{"steps": 2, "progress": False, **kwargs})


def test_siren_sizes_are_checked():
    for bad in ({"hidden_features": 0}, {"hidden_layers": 1.5}, {"first_omega_0": math.inf}, {"hidden_omega_0": -3.0}):
        with pytest.raises(ConfigError):
            nf.Siren(2, 1, **bad)
    assert torch.isfinite(nf.Siren(2, 1, 4, hidden_layers=1, seed=0)(torch.zeros(1, 2))).all()


@pytest.mark.parametrize("kwargs", [{"items_per_step": 0}, {"pixels_per_item": 0}, {"items_per_step": 1.5}])
def test_fit_dataset_counts_are_not_replaced_by_defaults(kwargs):
    cond = nf.BinaryCode(3)
    field = nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, 8, seed=0), cond)
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        nf.fit_dataset(field, nf.data.load_dataset("shapes", n=3, size=8), steps=1, progress=False, **kwargs)
