"""Everyday surprises, each pinned: what used to happen silently now either works as documented or says why."""

import json

import numpy as np
import pytest
import torch

import neuralfields as nf
from neuralfields.cli import main
from neuralfields.errors import InvalidDataError, ShapeError


def test_nan_weights_do_not_render_a_black_image(tmp_path, capsys):
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    with torch.no_grad():
        f.layers[-1].weight.fill_(float("nan"))
    with pytest.raises(InvalidDataError, match="NaN or infinite"):
        nf.render(f, (8, 8))
    path = nf.save(f, tmp_path / "nan.safetensors")
    assert main(["render", str(path), "--size", "8", "--out", str(tmp_path / "x.png")]) == 1
    assert "NaN or infinite" in capsys.readouterr().err and not (tmp_path / "x.png").exists()


def test_fit_hyper_refuses_nan_and_out_of_range_images():
    m = nf.HyperSiren((8, 8), 1, latent_dim=4, hidden_features=8, encoder_width=4, seed=0)
    x = nf.data.load_dataset("shapes", n=4, size=8)
    for bad, why in ((x.clone().index_fill_(0, torch.tensor([1]), float("nan")), "NaN"), (x * 255, r"\[0, 1\]")):
        with pytest.raises(InvalidDataError, match=why):
            nf.fit_hyper(m, bad, steps=2, progress=False)
        with pytest.raises(InvalidDataError, match=why):
            nf.fit_hyper(m, x, steps=2, test_images=bad, progress=False)


@pytest.mark.parametrize("args", [["memorize", "shapes", "--n", "0"], ["fit", "synthetic", "--steps", "0"],
                                  ["train-prior", "--steps", "-3"], ["fit", "synthetic", "--seed", "-1"]])  # fmt: skip
def test_the_cli_refuses_zero_counts_instead_of_using_defaults(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main([*args, "--out", str(tmp_path / "o")])
    assert info.value.code == 2 and "expected" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_fit_prints_the_held_out_psnr(tmp_path, capsys):
    assert main(["fit", "synthetic", "--size", "12", "--steps", "5", "--hidden-features", "8", "--hidden-layers", "1",
                 "--holdout", "0.2", "--out", str(tmp_path / "r"), "--no-progress"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert f"held-out {metrics['val_psnr']:.2f} dB" in out


def test_rgba_images_keep_their_alpha_channel(tmp_path):
    from PIL import Image

    rgba = np.zeros((6, 5, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 128
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    img = nf.data.load_image(tmp_path / "a.png")
    assert img.shape == (4, 6, 5) and float(img[3].mean()) == pytest.approx(128 / 255)
    assert nf.data.load_image(tmp_path / "a.png", channels=3).shape == (3, 6, 5)  # converting drops alpha
    assert nf.data.load_image(tmp_path / "a.png", channels=1).shape == (1, 6, 5)


def test_an_hwc_image_gets_the_right_advice():
    hwc = torch.rand(32, 32, 3)
    with pytest.raises(ShapeError, match=r"looks like \(H, W, C\).*permute\(2, 0, 1\)"):
        nf.fit(nf.Siren(2, 3, 8, seed=0), hwc, steps=1, progress=False)


def test_pair_occupancy_is_a_fraction_when_latents_saturate():
    z = torch.cat([torch.ones(500, 2), torch.rand(500, 2, generator=torch.Generator().manual_seed(0))]).float()
    assert 0 < nf.priors.pair_occupancy(z) <= 1.0
    assert nf.priors.pair_occupancy(torch.ones(10, 2)) == pytest.approx(1 / 100)  # one cell: the last


def test_plots_cap_the_psnr(tmp_path):
    pytest.importorskip("matplotlib")
    from neuralfields.plots import PSNR_CAP, _capped, plot_history

    h = nf.History(step=[1, 2], loss=[1e-3, 1e-16], psnr=[36.0, 166.0], time=[0.1, 0.1])
    assert plot_history(h, tmp_path / "c.png").exists()
    assert _capped(h.psnr, PSNR_CAP) == [36.0, 100.0]


def test_absurd_image_sizes_are_refused_before_allocating():
    image = nf.data.load_image("synthetic", size=8)
    for make in (lambda: nf.data.resize(image, (10**6, 10**6)), lambda: nf.data.load_image("synthetic", size=10**6),
                 lambda: nf.data.load_image("camera", size=(10**6, 10**5))):  # fmt: skip
        with pytest.raises(nf.errors.ConfigError, match="more than the"):
            make()
