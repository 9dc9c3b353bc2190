"""Initialisation strategies (kind "init") and init= on the fitting functions."""

import copy

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, UnknownNameError
from neuralfields.fields.siren import init_bounds
from neuralfields.training import PaperInit, PrefitInit, WeightScalingInit

IMAGE = nf.data.load_image("synthetic", size=12)


def test_paper_init_is_the_reference_draw():
    f = PaperInit(seed=5)(nf.Siren(2, 1, 32, hidden_layers=2, seed=0))
    ref = nf.Siren(2, 1, 32, hidden_layers=2, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(f.parameters(), ref.parameters()))


@pytest.mark.parametrize("alpha", [0.5, 2.5])
def test_weight_scaling_bounds_are_pinned(alpha):
    f = WeightScalingInit(alpha=alpha, seed=0)(nf.Siren(2, 3, 128, hidden_layers=3, seed=1))
    for layer, spec in zip(f.layers, f.layout):
        bound = init_bounds(spec.in_features, spec.omega_0, spec.index == 0)[0] * (1.0 if not spec.sine else alpha)
        w = layer.weight.abs().max().item()
        assert w <= bound * (1 + 1e-6) and w > 0.9 * bound, (spec.index, w, bound)  # U(-bound, bound), filled
        assert layer.bias.abs().max().item() <= init_bounds(spec.in_features, spec.omega_0, False)[1]
    ref = PaperInit(seed=0)(nf.Siren(2, 3, 128, hidden_layers=3, seed=1))
    torch.testing.assert_close(f.layers[1].weight, alpha * ref.layers[1].weight)  # the same draw, scaled
    torch.testing.assert_close(f.layers[-1].weight, ref.layers[-1].weight)  # the output layer is not scaled


def test_prefit_starts_where_a_fit_on_the_other_signal_ends():
    other = nf.data.load_image("camera", size=12)
    f = PrefitInit(other, steps=15, seed=2)(nf.Siren(2, 1, 16, seed=0))
    g = nf.Siren(2, 1, 16, seed=0)
    nf.fit(g, other, steps=15, seed=2, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(f.parameters(), g.parameters()))


@pytest.mark.parametrize("init", ["paper", {"name": "weight-scaling", "config": {"alpha": 2.0}}, PaperInit(seed=4)])
def test_the_fitting_functions_take_an_init(init):
    strategy = nf.training.resolve_init(init)
    start = strategy(nf.Siren(2, 1, 16, seed=9))
    f = nf.Siren(2, 1, 16, seed=9)
    by_hand = copy.deepcopy(start)
    a = nf.fit(f, IMAGE, steps=5, init=init, progress=False)
    b = nf.fit(by_hand, IMAGE, steps=5, progress=False)
    assert a.history.loss == b.history.loss
    template = nf.Siren(2, 1, 16, seed=9)
    many = nf.fit_many(template, torch.stack([IMAGE, IMAGE]), steps=5, init=init, progress=False)
    assert many.history.item(0).loss == pytest.approx(b.history.loss, rel=1e-4)
    assert torch.equal(template.layers[0].weight, nf.Siren(2, 1, 16, seed=9).layers[0].weight)  # left unchanged
    cond = nf.BinaryCode(2)
    cf = nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, 16, seed=9), cond)
    nf.fit_dataset(cf, torch.stack([IMAGE, IMAGE]), steps=1, init=init, progress=False)


def test_bad_inits_are_clear_errors():
    with pytest.raises(UnknownNameError, match="Did you mean 'paper'"):
        nf.fit(nf.Siren(2, 1, 8, seed=0), IMAGE, steps=1, init="papr", progress=False)
    with pytest.raises(ConfigError, match="alpha must be a positive number"):
        WeightScalingInit(alpha=-1)
    with pytest.raises(ConfigError, match="needs a field with reset_parameters"):
        PaperInit()(nf.create("field", "example-fourier", num_frequencies=4, hidden_features=8))
    with pytest.raises(ConfigError, match="init must be"):
        nf.fit(nf.Siren(2, 1, 8, seed=0), IMAGE, steps=1, init=3, progress=False)
