"""Conditioning: index coordinate, binary code, latent codes, and the conditioned field."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.conditioning import ConditionedField, Latent
from neuralfields.errors import ConfigError, DTypeError, IndexOutOfRangeError, ShapeError


@given(st.integers(1, 300))
def test_index_coordinates_distinct_in_range_ordered(n):
    """Index coordinates are strictly increasing pixel centres in (-1, 1), one per item."""
    c = nf.IndexCoordinate(n).features(torch.arange(n))[:, 0]
    assert c.shape == (n,)
    assert bool((c > -1).all()) and bool((c < 1).all())
    assert bool((c.diff() > 0).all())
    assert torch.allclose(c, nf.grid.pixel_centers(n))


@given(st.integers(1, 12), st.data())
def test_binary_codes_unique_and_decode(bits, data):
    """For every N <= 2^bits, the N codes are distinct, in {-1, 1}, and decode back to their index."""
    n = data.draw(st.integers(1, 2**bits))
    code = nf.BinaryCode(n, bits=max(bits, max(1, math.ceil(math.log2(n)))))
    idx = torch.arange(n)
    feats = code.features(idx)
    assert feats.shape == (n, code.bits)
    assert set(feats.unique().tolist()) <= {-1.0, 1.0}
    assert len({tuple(r) for r in feats.tolist()}) == n
    assert torch.equal(code.decode(feats), idx)


def test_binary_default_bits():
    assert [nf.BinaryCode(n).bits for n in (1, 2, 3, 4, 5, 8, 9, 100, 1024)] == [1, 1, 2, 2, 3, 3, 4, 7, 10]
    with pytest.raises(ConfigError, match="at least 3 bits"):
        nf.BinaryCode(5, bits=2)


def _conditionings(n=6):
    return [
        nf.IndexCoordinate(n),
        nf.BinaryCode(n),
        Latent(n, dim=8, mode="concat", seed=0),
        Latent(n, dim=8, mode="film", seed=0),
        Latent(n, dim=8, mode="shift", seed=0),
    ]


def _field(cond, out=2):
    return ConditionedField(nf.Siren(2 + cond.extra_features, out, hidden_features=16, hidden_layers=2, seed=0), cond)


@pytest.mark.parametrize("cond", _conditionings(), ids=lambda c: f"{type(c).__name__}-{getattr(c, 'mode', '')}")
def test_batched_forward_equals_per_item(cond):
    f = _field(cond)
    x = torch.rand(4, 9, 2) * 2 - 1
    idx = torch.tensor([5, 0, 3, 3])
    y = f(x, idx)
    assert y.shape == (4, 9, 2)
    for b in range(4):
        assert torch.allclose(y[b], f(x[b], int(idx[b])), atol=1e-6)
    shared = f(x[0], idx)  # one grid for all items
    assert torch.allclose(shared[1], f(x[0], 0), atol=1e-6)
    assert not torch.allclose(y[0], f(x[0], 0))  # items are told apart


@pytest.mark.parametrize("cond", _conditionings(), ids=lambda c: f"{type(c).__name__}-{getattr(c, 'mode', '')}")
def test_save_load_round_trip(cond, tmp_path):
    f = _field(cond)
    if isinstance(cond, Latent):
        with torch.no_grad():
            cond.codes_table.normal_()  # "trained" codes must survive
    g = nf.load(nf.save(f, tmp_path / "c.safetensors"))
    assert type(g.conditioning) is type(cond) and g.config == f.config
    x, idx = torch.rand(3, 5, 2), torch.tensor([1, 2, 5])
    assert torch.equal(g(x, idx), f(x, idx))


@pytest.mark.parametrize("mode", ["concat", "film", "shift"])
def test_latent_codes_receive_gradients(mode):
    cond = Latent(4, dim=8, mode=mode, seed=0)
    f = _field(cond)
    f(torch.rand(2, 6, 2), torch.tensor([1, 3])).square().sum().backward()
    grad = cond.codes_table.grad
    assert grad is not None
    assert bool(grad[[1, 3]].abs().sum() > 0) and bool(grad[[0, 2]].abs().sum() == 0)


def test_item_view_renders():
    f = _field(nf.BinaryCode(4), out=3)
    img = nf.render(f.item(2), (5, 6))
    assert img.shape == (3, 5, 6)
    grid = nf.grid.make_grid((5, 6))
    assert torch.allclose(img, (f(grid, 2).permute(2, 0, 1) * 0.5 + 0.5).clamp(0, 1), atol=1e-6)


def test_bad_input():
    f = _field(nf.IndexCoordinate(3))
    with pytest.raises(IndexOutOfRangeError, match="index 3 is out of range.*3 items"):
        f(torch.rand(2, 2), 3)
    with pytest.raises(IndexOutOfRangeError, match="-1"):
        f(torch.rand(1, 2, 2), torch.tensor([-1]))
    with pytest.raises(IndexError):  # also a plain IndexError
        f.item(7)
    with pytest.raises(DTypeError, match="integer"):
        f(torch.rand(1, 2, 2), torch.tensor([0.5]))
    with pytest.raises(ShapeError, match="B = 2 items"):
        f(torch.rand(3, 4, 2), torch.tensor([0, 1]))
    with pytest.raises(ShapeError, match=r"\(\.\.\., 2\)"):
        f(torch.rand(4, 3), 0)
    with pytest.raises(ConfigError, match="in_features = coordinate dimension \\+ 3"):
        ConditionedField(nf.Siren(3, 1, 8), nf.BinaryCode(8))
    with pytest.raises(ConfigError, match="num_items"):
        nf.IndexCoordinate(0)
    with pytest.raises(ConfigError, match="latent mode"):
        Latent(3, mode="add")
    with pytest.raises(ConfigError, match="needs a Field and a Conditioning"):
        ConditionedField(nf.IndexCoordinate(3), nf.Siren(3, 1, 8))


def test_a_conditioned_field_is_a_model_and_its_items_are_fields():
    f = _field(Latent(4, dim=8, mode="film", seed=0))
    assert isinstance(f, nf.conditioning.Model) and not isinstance(f, nf.Field)
    assert nf.ConditionedField._nf_kind == "model"
    item = f.item(2)
    assert isinstance(item, nf.Field) and item.in_features == 2 and item.out_features == 2
    x = torch.rand(3, 4, 2)
    assert torch.equal(item(x), f(x, 2))
    with pytest.raises(ConfigError, match="index must be an int"):
        f.item(torch.tensor(1))


@pytest.mark.parametrize("cond", _conditionings(), ids=lambda c: f"{type(c).__name__}-{getattr(c, 'mode', '')}")
def test_items_save_and_load(cond, tmp_path):
    f = _field(cond)
    with torch.no_grad():
        for p in f.parameters():
            p.add_(0.1)  # trained weights must survive
    g = nf.load(nf.save(f.item(3), tmp_path / "item.safetensors"))
    assert type(g).__name__ == "ItemField" and g.index == 3 and g.config == f.item(3).config
    grid = nf.grid.make_grid((5, 6))
    assert torch.equal(nf.render(g, (5, 6)), nf.render(f.item(3), (5, 6)))
    assert torch.equal(g(grid), f(grid, 3))


def test_film_modulator_is_seeded_and_leaves_the_global_rng_alone():
    """The README's FiLM snippet builds the same model every time, whatever the global RNG state."""

    def build():
        cond = nf.Latent(num_items=16, dim=16, mode="film", seed=0)
        inner = nf.Siren(2 + cond.extra_features, 1, hidden_features=64, seed=0)
        state = torch.get_rng_state()
        field = nf.ConditionedField(inner, cond)
        assert torch.equal(torch.get_rng_state(), state)  # the modulator drew nothing from the global RNG
        return field

    torch.manual_seed(1)
    a = build()
    torch.manual_seed(2)
    torch.rand(7)
    b = build()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name
    w = a.modulator.weight.detach()
    assert float(w.abs().max()) <= 1 / 16**0.5 and float(w.std()) > 0.1  # PyTorch's default init range
    assert not torch.equal(w, _field(Latent(16, dim=16, mode="film", seed=1)).modulator.weight[: w.shape[0]])
    # without any seed the global RNG decides, as for every other initialisation
    torch.manual_seed(3)
    c = nf.ConditionedField(nf.Siren(2, 1, 8), nf.Latent(4, dim=4, mode="shift"))
    torch.manual_seed(3)
    d = nf.ConditionedField(nf.Siren(2, 1, 8), nf.Latent(4, dim=4, mode="shift"))
    assert torch.equal(c.modulator.weight, d.modulator.weight)


def test_missing_capabilities_are_named():
    class Plain(nf.Field):
        def __init__(self, in_features=2):
            super().__init__()
            self.in_features, self.out_features = in_features, 1
            self.linear = torch.nn.Linear(in_features, 1)

        def forward(self, coords):
            return self.linear(coords)

    assert isinstance(nf.Siren(), nf.conditioning.Modulatable) and not isinstance(Plain(), nf.conditioning.Modulatable)
    assert isinstance(Latent(2, 4), nf.conditioning.HasCodes) and not isinstance(nf.BinaryCode(2), nf.conditioning.HasCodes)
    with pytest.raises(ConfigError, match="Plain lacks the Modulatable capability.*'film' mode; use a Siren or mode='concat'"):
        ConditionedField(Plain(), Latent(3, dim=4, mode="film"))
    f = ConditionedField(Plain(3), nf.IndexCoordinate(3))
    with pytest.raises(ConfigError, match="lacks the Layered capability"):
        f.activations(torch.rand(2, 2), *f.inputs(torch.tensor([0])), layer=-1)


# ---- memorising a dataset ------------------------------------------------------------------------

NAMES = ("camera", "moon", "coins", "text", "brick", "page")


@pytest.fixture(scope="module")
def images():
    return torch.stack([nf.data.load_image(n, size=16, channels=1) for n in NAMES])


def _mean_image_psnr(images, masks):
    """Best constant-per-image prediction on the held-out pixels: any field that learned beats it."""
    errs = []
    for img, m in zip(images, masks):
        errs.append(((img[0][m] - img[0][~m].mean()) ** 2).mean())
    return nf.training.mse_to_psnr(float(torch.stack(errs).mean()))


@pytest.mark.parametrize("cond_name", ["index", "binary", "latent"])
def test_memorise_reaches_well_above_mean_image(images, cond_name):
    cond = nf.create("conditioning", cond_name, num_items=len(NAMES), **({"dim": 16, "seed": 0} if cond_name == "latent" else {}))
    f = ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=64, hidden_layers=3, seed=0), cond)
    res = nf.fit_dataset(f, images, steps=150, eval_every=50, progress=False)
    assert res.history.val_step == [50, 100, 150]
    assert len(res.item_psnr) == len(NAMES) == len(res.item_val_psnr)
    mean_psnr = nf.psnr(images.mean((2, 3), keepdim=True).expand_as(images), images)
    assert res.psnr > mean_psnr + 8, (res.psnr, mean_psnr)
    assert res.val_psnr > _mean_image_psnr(images, res.holdout) + 2
    # each image is rendered from its own item
    for i in (0, 3):
        assert nf.psnr(nf.render(f.item(i), (16, 16)), images[i]) > mean_psnr + 5


def test_holdout_is_fixed_and_never_trained(images):
    cond = nf.BinaryCode(len(NAMES))
    make = lambda: ConditionedField(nf.Siren(2 + cond.extra_features, 1, 16, seed=0), nf.BinaryCode(len(NAMES)))  # noqa: E731
    a = nf.fit_dataset(make(), images, steps=5, holdout=0.1, seed=3, progress=False)
    b = nf.fit_dataset(make(), images, steps=5, holdout=0.1, seed=3, progress=False)
    assert torch.equal(a.holdout, b.holdout) and a.history.loss == b.history.loss
    assert torch.equal(a.holdout, nf.grid.holdout_masks(len(NAMES), (16, 16), 0.1, seed=3))
    assert [int(m.sum()) for m in a.holdout] == [round(0.1 * 256)] * len(NAMES)
    # held-out pixels get no training signal: change them and training is unaffected
    poisoned = images.clone()
    poisoned[:, 0][a.holdout] = 1.0 - poisoned[:, 0][a.holdout]
    c = nf.fit_dataset(make(), poisoned, steps=5, holdout=0.1, seed=3, progress=False)
    assert c.history.loss == a.history.loss


def test_minibatches_snapshots_and_callbacks(images):
    cond = nf.Latent(len(NAMES), dim=8, mode="shift", seed=0)
    f = ConditionedField(nf.Siren(2, 1, 32, seed=0), cond)
    seen = []
    res = nf.fit_dataset(
        f, list(images), steps=12, items_per_step=4, pixels_per_item=50, snapshot_items=[0, 2], snapshot_steps=[6, 12],
        snapshot_shape=(8, 8), callbacks=[lambda info: seen.append(info.step) or info.step == 10], progress=False,
    )  # fmt: skip
    assert seen == list(range(1, 11)) and len(res.history) == 10
    assert sorted(res.snapshots) == [0, 2] and sorted(res.snapshots[0]) == [6]
    assert res.snapshots[2][6].shape == (1, 8, 8)


def test_fit_dataset_bad_input(images):
    f = ConditionedField(nf.Siren(3, 1, 16), nf.IndexCoordinate(3))
    with pytest.raises(ConfigError, match="6 images but .* 3 items"):
        nf.fit_dataset(f, images, steps=1, progress=False)
    with pytest.raises(nf.errors.InvalidDataError, match="empty"):
        nf.fit_dataset(f, [], steps=1, progress=False)
    with pytest.raises(ShapeError, match="same shape"):
        nf.fit_dataset(f, [images[0], images[1, :, :8]], steps=1, progress=False)
    with pytest.raises(ShapeError, match="out_features=3"):
        nf.fit_dataset(f, torch.rand(2, 3, 8, 8), steps=1, progress=False)
    with pytest.raises(DTypeError, match="ConditionedField"):
        nf.fit_dataset(nf.Siren(2, 1, 8), images, steps=1, progress=False)
