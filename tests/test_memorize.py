"""The memorisation experiment and its command: a complete, honest report folder."""

import json

import pytest
import torch

import neuralfields as nf
from neuralfields.cli import main
from neuralfields.errors import ConfigError, InvalidDataError, UnknownNameError
from neuralfields.experiments import MemorizeConfig, memorize

REPORT = {"field.safetensors", "curves.png", "snapshots.png", "upsampling.png", "pairs_similar.png",
          "pairs_dissimilar.png", "interpolation.png", "metrics.json"}  # fmt: skip


@pytest.mark.parametrize("conditioning, bottleneck", [("binary", None), ("latent", 2)])
def test_memorize_writes_the_report(tmp_path, conditioning, bottleneck):
    images = nf.data.load_dataset("shapes", n=6, size=16)
    cfg = MemorizeConfig(conditioning=conditioning, bottleneck=bottleneck, steps=60, pixels_per_item=None,
                         latent_dim=8, pairs=2, interp_steps=4, snapshot_items=2)  # fmt: skip
    m = memorize(images, tmp_path, cfg, progress=False)
    assert {p.name for p in tmp_path.iterdir()} == REPORT
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(json.dumps(m))
    assert m["images"] == [6, 1, 16, 16] and m["trained_at"] == [8, 8]
    assert m["psnr"] > m["mean_image_psnr"] + 3 and m["val_psnr"] is not None
    assert set(m["upsampling"]["mean"]) == {"field_psnr", "field_ssim", "bicubic_psnr", "bicubic_ssim"}
    places = set(m["interpolation"]["blend_distance"])
    expected = {"conditioning", "last_hidden"} | ({"latent", "bottleneck"} if conditioning == "latent" else set())
    assert places == expected
    assert m["interpolation"]["blend_distance"]["last_hidden"] < 1e-4  # linear output layer: a blend
    used = [i for p in m["pairs"]["similar"] for i in p["items"]]
    assert len(used) == len(set(used)) == 4
    field = nf.load(tmp_path / "field.safetensors")
    assert isinstance(field, nf.ConditionedField) and field.num_items == 6


def test_memorize_bad_input(tmp_path):
    with pytest.raises(InvalidDataError, match="at least two images"):
        memorize(torch.rand(1, 1, 8, 8), tmp_path, MemorizeConfig(steps=1), progress=False)
    with pytest.raises(ConfigError, match="factor"):
        memorize(torch.rand(3, 1, 9, 9), tmp_path, MemorizeConfig(steps=1, factor=2), progress=False)
    with pytest.raises(UnknownNameError, match="conditioning 'bianry'"):
        memorize(torch.rand(3, 1, 8, 8), tmp_path, MemorizeConfig(steps=1, conditioning="bianry"), progress=False)


def test_memorize_command(tmp_path, capsys):
    folder = tmp_path / "imgs"
    for i, img in enumerate(nf.data.load_dataset("shapes", n=4, size=12)):
        nf.data.save_image(img, folder / f"{i}.png")
    rc = main(["memorize", str(folder), "--out", str(tmp_path / "r"), "--conditioning", "index", "--size", "8",
               "--steps", "20", "--no-progress"])  # fmt: skip
    assert rc == 0
    assert {p.name for p in (tmp_path / "r").iterdir()} == REPORT | {"run.json"}
    assert "held-out" in capsys.readouterr().out
    assert main(["memorize", "nope", "--out", str(tmp_path / "x"), "--steps", "1"]) == 1
    assert "unknown image set 'nope'" in capsys.readouterr().err


def test_load_dataset():
    assert nf.data.load_dataset("digits", n=5, size=8).shape == (5, 1, 8, 8)
    crops = nf.data.load_dataset("crops", n=20, size=16, seed=1)
    assert crops.shape == (20, 1, 16, 16) and torch.equal(crops, nf.data.load_dataset("crops", n=20, size=16, seed=1))
    assert len({tuple(c.flatten()[:20].tolist()) for c in crops}) == 20  # distinct crops
    assert nf.data.load_dataset("shapes", n=3, size=(8, 12), channels=3).shape == (3, 3, 8, 12)
    with pytest.raises(UnknownNameError, match="Did you mean 'digits'"):
        nf.data.load_dataset("digit")


def test_memorize_neither_reads_nor_changes_the_global_rng(tmp_path):
    images = nf.data.load_dataset("shapes", n=3, size=8)
    losses = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        state = torch.get_rng_state()
        cfg = MemorizeConfig(steps=5, conditioning="latent", latent_mode="film", latent_dim=4, factor=1, pairs=1)
        m = memorize(images, tmp_path / str(global_seed), cfg, progress=False)
        assert torch.equal(torch.get_rng_state(), state)
        losses.append(m["history"]["loss"])
    assert losses[0] == losses[1]
