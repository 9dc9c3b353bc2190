"""Item embeddings and interpolation at each place (neuralfields.analysis)."""

import pytest
import torch

import neuralfields as nf
from neuralfields.analysis import PLACES, interpolate, item_embeddings
from neuralfields.conditioning import ConditionedField, Latent
from neuralfields.errors import ConfigError


def _bottleneck_field(cond):
    inner = nf.BottleneckSiren(2 + cond.extra_features, 1, hidden_features=32, hidden_layers=5, bottleneck_factor=4, seed=0)
    return ConditionedField(inner, cond)


FIELDS = {
    "index": lambda: _bottleneck_field(nf.IndexCoordinate(4)),
    "binary": lambda: _bottleneck_field(nf.BinaryCode(4)),
    "latent-concat": lambda: _bottleneck_field(Latent(4, dim=8, mode="concat", init_std=1.0, seed=0)),
    "latent-film": lambda: _bottleneck_field(Latent(4, dim=8, mode="film", init_std=1.0, seed=0)),
}


def _places(field):
    return [p for p in PLACES if p != "latent" or isinstance(field.conditioning, Latent)]


@pytest.mark.parametrize("name", FIELDS)
def test_interpolation_ends_are_the_items(name):
    f = FIELDS[name]()
    for place in _places(f):
        out = interpolate(f, 1, 3, place=place, shape=(6, 7), steps=5)
        assert out.frames.shape == (5, 1, 6, 7) and out.alphas.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
        for end, item in ((0, 1), (-1, 3)):
            expected = nf.render(f.item(item), (6, 7), clamp=False)
            assert torch.allclose(out.raw[end], expected, atol=1e-5), (place, end)


@pytest.mark.parametrize("name", FIELDS)
def test_last_hidden_interpolation_is_a_blend(name):
    """With a linear output layer, interpolating the last hidden layer is exactly alpha blending."""
    f = FIELDS[name]()
    assert interpolate(f, 0, 2, place="last_hidden", shape=(8, 8)).blend_distance < 1e-5
    # the other places are not blends: the measure can tell them apart
    assert interpolate(f, 0, 2, place="bottleneck", shape=(8, 8)).blend_distance > 1e-3
    assert interpolate(f, 0, 2, place="conditioning", shape=(8, 8)).blend_distance > 1e-3


def test_embeddings_at_each_place():
    f = FIELDS["latent-film"]()
    cond = f.conditioning
    assert torch.equal(item_embeddings(f, place="latent"), cond.codes_table.detach())
    assert item_embeddings(f, [0, 2], place="conditioning").shape == (2, 8)
    assert item_embeddings(f, place="bottleneck", shape=(4, 4)).shape == (4, 16 * 8)
    last = item_embeddings(f, [1], place="last_hidden", shape=(4, 4))
    assert last.shape == (1, 16 * 32)
    grid = nf.grid.make_grid((4, 4)).reshape(-1, 2)
    feats, codes = f.inputs(torch.tensor([1]))
    assert torch.allclose(last.reshape(16, 32), f.activations(grid, feats, codes, -1)[0])
    emb = item_embeddings(FIELDS["binary"](), place="conditioning")
    assert torch.equal(emb, nf.BinaryCode(4).features(torch.arange(4)))


def test_place_errors():
    plain = ConditionedField(nf.Siren(3, 1, 8), nf.IndexCoordinate(3))
    with pytest.raises(ConfigError, match="BottleneckSiren"):
        interpolate(plain, 0, 1, place="bottleneck")
    with pytest.raises(ConfigError, match="Latent"):
        item_embeddings(plain, place="latent")
    with pytest.raises(ConfigError, match="unknown place"):
        item_embeddings(plain, place="middle")
    with pytest.raises(ConfigError, match="steps"):
        interpolate(plain, 0, 1, steps=1)
    with pytest.raises(nf.errors.IndexOutOfRangeError):
        interpolate(plain, 0, 5)
