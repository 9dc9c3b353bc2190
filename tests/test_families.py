"""The field families beyond SIREN: reference initialisations pinned, bad settings refused, and every
family fits, renders and saves through the public API (the contract suite runs in test_contracts.py)."""

import math

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, ShapeError
from neuralfields.fields import Finer, FourierFeatures, Gauss, HashGrid, Wire

pytestmark = pytest.mark.usefixtures("one_thread")

FAMILIES = ["siren", "gauss", "finer", "wire", "fourier-features", "hash-grid"]


def _near_bound(t, bound):
    """Uniform(-bound, bound) draws: inside the bound and reaching close to it."""
    m = float(t.detach().abs().max())
    return m <= bound + 1e-7 and m > 0.9 * bound


def test_reference_initialisations_are_pinned():
    g = Gauss(2, 1, hidden_features=64, hidden_layers=2, seed=0)
    for layer in g.layers:
        assert _near_bound(layer.weight, 1 / math.sqrt(layer.in_features))
    assert _near_bound(g.layers[1].bias, 1 / 8) and float(g.layers[2].bias.detach().abs().max()) <= 1 / 8
    f = Finer(2, 1, hidden_features=64, hidden_layers=2, seed=0)
    assert _near_bound(f.layers[0].weight, 1 / 2) and _near_bound(f.layers[0].bias, 20.0)
    assert _near_bound(f.layers[1].weight, math.sqrt(6 / 64) / 30) and _near_bound(f.layers[1].bias, 1 / 8)
    w = Wire(2, 1, hidden_features=64, hidden_layers=2, seed=0)
    assert _near_bound(w.layers[0].weight, 1 / math.sqrt(2))
    assert _near_bound(w.layers[1].weight_im, 1 / 8) and w.layers[2].bias_im is None
    ff = FourierFeatures(2, 1, num_frequencies=256, sigma=10.0, seed=0)
    assert abs(float(ff.frequencies.std()) - 10.0) < 1.0 and not any(n == "frequencies" for n, _ in ff.named_parameters())
    h = HashGrid(2, 1, levels=4, table_size=2**10, seed=0)
    assert _near_bound(h.table, 1e-4)
    assert h.resolutions == [16, 50, 161, 512]  # floor(16 b^l), b = 32^(1/3)


def test_weight_scaling_scales_every_family_but_the_output_layer():
    for cls in (Gauss, Finer):
        ref = cls(2, 1, hidden_features=32, seed=0)
        scaled = nf.training.WeightScalingInit(alpha=2.0, seed=0)(cls(2, 1, hidden_features=32, seed=5))
        torch.testing.assert_close(scaled.layers[1].weight, 2.0 * ref.layers[1].weight)
        torch.testing.assert_close(scaled.layers[-1].weight, ref.layers[-1].weight)


def test_bad_settings_are_clear_errors():
    for make, match in [
        (lambda: Gauss(scale=0.0), "scale"),
        (lambda: Finer(first_omega_0=-1.0), "first_omega_0"),
        (lambda: Wire(scale=0.0), "scale"),
        (lambda: FourierFeatures(sigma=0.0), "sigma"),
        (lambda: HashGrid(table_size=1000), "power of two"),
        (lambda: HashGrid(in_features=8), "up to 7"),
        (lambda: HashGrid(base_resolution=64, max_resolution=32), "max_resolution"),
    ]:
        with pytest.raises(ConfigError, match=match):
            make()
    with pytest.raises(ShapeError):
        Gauss(3, 1, hidden_features=8)(torch.zeros(4, 2))
    with pytest.raises(ShapeError, match="dimensions|in_features|channels"):
        nf.fit(HashGrid(3, 1, levels=2, table_size=64, seed=0), nf.data.load_image("synthetic", size=8), steps=1, progress=False)


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_fits_renders_and_saves(name, tmp_path):
    img = nf.data.load_image("camera", size=24)
    make = lambda: nf.create("field", name, in_features=2, out_features=1, hidden_features=32, hidden_layers=2, seed=0)  # noqa: E731
    field = make()
    res = nf.fit(field, img, steps=60, lr=1e-2 if name == "hash-grid" else None, progress=False)
    assert res.psnr > res.history.psnr[0] + 3, (name, res.history.psnr[0], res.psnr)
    big = nf.render(field, (48, 48))
    assert big.shape == (1, 48, 48) and bool(torch.isfinite(big).all())
    loaded = nf.load(nf.save(field, tmp_path / f"{name}.safetensors"))
    assert torch.equal(nf.render(loaded, (24, 24)), nf.render(field, (24, 24)))
    many = nf.fit_many(make(), torch.stack([img, 1 - img]), steps=10, progress=False)
    assert len(many) == 2 and all(math.isfinite(p) for p in many.psnr)
