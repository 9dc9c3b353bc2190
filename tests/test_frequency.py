"""Frequency choice: the spectrum rule, its property (more high-frequency content, a higher setting), errors."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.analysis import frequency_candidates, grid_search, radial_spectrum, spectrum_distance
from neuralfields.errors import ConfigError, ShapeError

pytestmark = pytest.mark.usefixtures("one_thread")


def _sines(freqs, n=1024, dims=1):
    """A signal (1, n[, n]) in [0, 1]: a sum of sines with these cycle counts over [-1, 1] along every axis."""
    t = torch.linspace(-1, 1, n)
    grids = torch.meshgrid(*([t] * dims), indexing="ij")
    y = sum(torch.sin(math.pi * f * sum(grids) + i) for i, f in enumerate(freqs)) / len(freqs)
    return (y * 0.5 + 0.5)[None]


def test_radial_spectrum_is_a_distribution_that_moves_with_frequency():
    low, high = radial_spectrum(_sines([4])), radial_spectrum(_sines([200]))
    assert float(low.sum()) == pytest.approx(1.0) and float(high.sum()) == pytest.approx(1.0)
    assert int(low.argmax()) < int(high.argmax())
    assert torch.allclose(radial_spectrum(torch.full((1, 16, 16), 0.3)), torch.full((64,), 1 / 64, dtype=torch.float64))
    assert spectrum_distance(low, low) == 0.0 and spectrum_distance(low, high) > 0.1
    with pytest.raises(ShapeError):
        radial_spectrum(torch.zeros(16))


@settings(max_examples=6, deadline=None)
@given(st.integers(1, 8), st.integers(3, 5), st.sampled_from(["siren", "gauss", "fourier-features"]))
def test_more_high_frequency_content_gets_a_higher_setting(base, octaves, family):
    low, high = _sines([base]), _sines([base * 2**octaves])
    a = nf.suggest_frequency(low, family, hidden_features=16, hidden_layers=2, seeds=1)
    b = nf.suggest_frequency(high, family, hidden_features=16, hidden_layers=2, seeds=1)
    assert b.value > a.value, (family, base, octaves, a.value, b.value)


def test_a_two_dimensional_signal_and_the_choice_builds_a_field():
    choice = nf.suggest_frequency(_sines([24], n=48, dims=2), hidden_features=16, seeds=1)
    assert choice.parameter == "first_omega_0" and choice.value == choice.candidates[choice.distances.index(min(choice.distances))]
    field = nf.create("field", "siren", hidden_features=16, seed=0, **choice.config)
    assert field.first_omega_0 == choice.value
    assert frequency_candidates("siren", (48, 48))[-1] <= math.pi * 48 / 2


def test_grid_search_fits_each_value():
    out = grid_search(_sines([8], n=64), values=[2.0, 30.0], steps=40, hidden_features=16, hidden_layers=2)
    assert out["parameter"] == "first_omega_0" and len(out["psnr"]) == 2
    assert out["best"] == [2.0, 30.0][out["psnr"].index(max(out["psnr"]))]


def test_bad_input_is_refused():
    with pytest.raises(ConfigError, match="declares no frequency parameter"):
        nf.suggest_frequency(_sines([4]), "hash-grid")
    with pytest.raises(ConfigError, match="positive"):
        nf.suggest_frequency(_sines([4]), candidates=[10.0, 0.0])
    with pytest.raises(ConfigError, match="first_omega_0"):
        nf.Siren(first_omega_0=0.0)
