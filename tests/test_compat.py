"""Files written by earlier versions still load and render identically (fixtures in tests/fixtures/)."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import neuralfields as nf

FOLDERS = sorted(p for p in (Path(__file__).parent / "fixtures").iterdir() if p.is_dir())


def grid8():
    return nf.grid.make_grid((8, 8)).reshape(-1, 2)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_old_files_load_and_render_identically(folder):
    expected = load_file(folder / "expected.safetensors")
    images = load_file(folder / "hyper_inputs.safetensors")["images"]
    outputs = {
        "siren": lambda m: nf.render(m, (8, 8), clamp=False),
        "conditioned_latent": lambda m: m(grid8(), torch.arange(3)),
        "hyper_siren": lambda m: m(images, clamp=False),
        "autoencoder": lambda m: m(images),
        "checkpoint": lambda m: nf.render(m, (8, 8), clamp=False),
    }
    for name, run in outputs.items():
        model = nf.load(folder / f"{name}.safetensors")
        with torch.no_grad():
            got = run(model)
        torch.testing.assert_close(got, expected[name], rtol=0, atol=1e-6, msg=f"{folder.name}/{name}")


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_old_checkpoints_resume(folder):
    """A checkpoint of an earlier version's fit (3 of 3 steps, synthetic 8x8) resumes with today's engine."""
    field = nf.Siren(2, 1, hidden_features=8, hidden_layers=2, seed=99)
    res = nf.fit(field, nf.data.load_image("synthetic", size=8), steps=3, resume=folder / "checkpoint.safetensors", progress=False)
    assert res.steps == 3 and len(res.history) == 3
    expected = load_file(folder / "expected.safetensors")["checkpoint"]
    torch.testing.assert_close(nf.render(field, (8, 8), clamp=False), expected, rtol=0, atol=1e-6)
