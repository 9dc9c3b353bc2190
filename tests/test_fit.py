"""fit: images and (coords, values) pairs, batching, held-out pixels, callbacks, checkpoints, errors."""

import math

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import CheckpointError, ConfigError, DTypeError, InvalidDataError, ShapeError
from neuralfields.training import lr_at


@pytest.fixture(scope="module")
def image():
    return nf.data.load_image("camera", size=24)


def mean_image_psnr(img):
    """PSNR of the best constant image: any fit that learned something beats it."""
    return nf.psnr(img.mean((1, 2), keepdim=True).expand_as(img), img)


def small(out_features=1, seed=0, **kw):
    return nf.Siren(2, out_features, hidden_features=kw.pop("hidden_features", 32), hidden_layers=2, seed=seed, **kw)


def test_fit_image_improves_and_records_history(image):
    f = small()
    res = nf.fit(f, image, steps=60, progress=False)
    h = res.history
    assert res.field is f and res.steps == 60 and not res.stopped_early
    assert h.step == list(range(1, 61))
    assert len(h.loss) == len(h.psnr) == len(h.time) == 60
    assert all(t > 0 for t in h.time) and res.seconds == pytest.approx(sum(h.time))
    assert res.psnr > mean_image_psnr(image) + 8 and res.psnr > h.psnr[0] + 8
    # the reported PSNR is the PSNR of the rendered image on the [0, 1] scale
    assert res.psnr == pytest.approx(nf.psnr(nf.render(f, image.shape[1:], clamp=False), image), abs=1e-3)
    assert res.val_psnr is None and h.val_step == []


def test_psnr_matches_loss(image):
    res = nf.fit(small(), image, steps=5, batch_size=None, progress=False)
    for loss, p in zip(res.history.loss, res.history.psnr):
        # loss is the MSE on [-1, 1]; PSNR is on [0, 1], where the error is half as large
        assert p == pytest.approx(10 * math.log10(1 / (loss / 4)))


def test_full_batch_and_random_batches_differ_and_both_learn(image):
    a = nf.fit(small(), image, steps=40, batch_size=None, progress=False)
    b = nf.fit(small(), image, steps=40, batch_size=64, progress=False)
    assert a.psnr > mean_image_psnr(image) + 2 and b.psnr > mean_image_psnr(image) + 2
    assert a.history.loss != b.history.loss


def test_same_seed_same_result(image):
    r1 = nf.fit(small(), image, steps=15, batch_size=100, seed=3, progress=False)
    r2 = nf.fit(small(), image, steps=15, batch_size=100, seed=3, progress=False)
    assert r1.history.loss == r2.history.loss
    assert all(torch.equal(p, q) for p, q in zip(r1.field.parameters(), r2.field.parameters()))


def test_colour_image():
    img = nf.data.load_image("astronaut", size=16)
    res = nf.fit(small(out_features=3), img, steps=60, progress=False)
    assert img.shape[0] == 3 and res.psnr > mean_image_psnr(img) + 5


def test_holdout_validation(image):
    f = small()
    res = nf.fit(f, image, steps=40, holdout=0.1, eval_every=10, progress=False)
    assert res.history.val_step == [10, 20, 30, 40]
    assert len(res.history.val_psnr) == 4 and res.val_psnr is not None
    assert res.val_psnr == pytest.approx(res.history.val_psnr[-1])
    # the held-out pixels are exactly the mask's pixels, and they are not trained on
    mask = nf.grid.holdout_mask((image[0].numel(),), 0.1, seed=0).reshape(image.shape[1:])
    recon = nf.render(f, image.shape[1:], clamp=False)
    assert res.val_psnr == pytest.approx(nf.psnr(recon[:, mask], image[:, mask]), abs=1e-3)
    assert res.psnr == pytest.approx(nf.psnr(recon[:, ~mask], image[:, ~mask]), abs=1e-3)
    assert res.psnr > res.val_psnr  # generalising to unseen pixels is harder than fitting seen ones


def test_coords_values_pair_1d_audio_like():
    t = torch.linspace(-1, 1, 400)[:, None]
    y = 0.5 * torch.sin(9 * t) + 0.2 * torch.sin(31 * t)
    f = nf.Siren(1, 1, hidden_features=32, hidden_layers=2, seed=0)
    res = nf.fit(f, (t, y), steps=150, progress=False)
    assert res.psnr > 30
    with torch.no_grad():
        assert torch.mean((f(t) - y) ** 2) < 1e-3


def test_3d_volume():
    vol = torch.rand(1, 6, 7, 8, generator=torch.Generator().manual_seed(0))
    f = nf.Siren(3, 1, hidden_features=32, hidden_layers=2, seed=0)
    res = nf.fit(f, vol, steps=30, progress=False)
    assert res.psnr > res.history.psnr[0]
    assert nf.render(f, (6, 7, 8)).shape == (1, 6, 7, 8)


def test_callbacks_snapshots_and_stop(image):
    snaps = nf.Snapshots(every=10, at=[3], shape=(12, 12))
    seen = []
    nf.fit(small(), image, steps=50, callbacks=[snaps, lambda info: seen.append(info.step), nf.StopAtPSNR(1e9)], progress=False)
    assert sorted(snaps.images) == [3, 10, 20, 30, 40, 50]
    assert snaps.images[10].shape == (1, 12, 12)
    assert seen == list(range(1, 51))
    stop = nf.fit(small(), image, steps=200, callbacks=[nf.StopAtPSNR(22.0)], progress=False)
    assert stop.stopped_early and stop.steps < 200 and stop.history.psnr[-1] >= 22.0
    assert stop.history.psnr[-2] < 22.0


def test_cosine_schedule():
    assert lr_at(0, 100, 1e-3, "cosine", 0.01) == pytest.approx(1e-3)
    assert lr_at(99, 100, 1e-3, "cosine", 0.01) == pytest.approx(1e-5)
    assert lr_at(50, 100, 1e-3, "constant", 0.01) == 1e-3
    lrs = [lr_at(s, 100, 1e-3, "cosine", 0.01) for s in range(100)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


@pytest.mark.parametrize("batch_size", [None, 50])
def test_resumed_fit_equals_uninterrupted(image, tmp_path, batch_size):
    """Interrupting after 12 of 30 steps and resuming from the checkpoint gives bit-identical weights."""
    ckpt = tmp_path / "run.safetensors"
    full = nf.fit(small(seed=1), image, steps=30, batch_size=batch_size, holdout=0.1, progress=False)

    first = nf.fit(
        small(seed=1), image, steps=30, batch_size=batch_size, holdout=0.1, checkpoint=ckpt,
        callbacks=[lambda info: info.step == 12], progress=False,
    )  # fmt: skip
    assert first.stopped_early and first.steps == 12
    fresh = small(seed=99)  # different init: everything must come from the checkpoint
    resumed = nf.fit(fresh, image, steps=30, batch_size=batch_size, holdout=0.1, resume=ckpt, progress=False)
    assert resumed.steps == 30
    for p, q in zip(full.field.parameters(), fresh.parameters()):
        assert torch.equal(p, q)
    assert resumed.history.loss == full.history.loss
    assert resumed.history.step == list(range(1, 31))
    assert resumed.history.val_psnr == pytest.approx(full.history.val_psnr)
    # the checkpoint's model (at step 12) is an ordinary model file too
    loaded = nf.load(ckpt)
    assert all(torch.equal(p, q) for p, q in zip(loaded.parameters(), first.field.parameters()))


def test_periodic_checkpoints_and_resume_true(image, tmp_path):
    ckpt = tmp_path / "ck.safetensors"
    nf.fit(small(), image, steps=10, checkpoint=ckpt, checkpoint_every=4, callbacks=[lambda i: i.step == 6], progress=False)
    from neuralfields.training import load_checkpoint

    assert load_checkpoint(ckpt).step == 6
    res = nf.fit(small(), image, steps=10, checkpoint=ckpt, resume=True, progress=False)
    assert res.steps == 10 and len(res.history) == 10
    # resume=True without a checkpoint file starts from scratch
    res2 = nf.fit(small(), image, steps=3, checkpoint=tmp_path / "new.safetensors", resume=True, progress=False)
    assert res2.history.step == [1, 2, 3]


def test_resume_errors(image, tmp_path):
    ckpt = tmp_path / "ck.safetensors"
    nf.fit(small(), image, steps=3, checkpoint=ckpt, progress=False)
    with pytest.raises(CheckpointError, match="settings differ.*lr"):
        nf.fit(small(), image, steps=3, lr=1e-2, resume=ckpt, progress=False)
    with pytest.raises(CheckpointError, match="does not match this run"):
        nf.fit(small(hidden_features=16), image, steps=3, resume=ckpt, progress=False)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        nf.fit(small(), image, steps=3, resume=tmp_path / "missing.safetensors", progress=False)
    model_file = nf.save(small(), tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        nf.fit(small(), image, steps=3, resume=model_file, progress=False)
    with pytest.raises(ConfigError, match="resume=True needs checkpoint"):
        nf.fit(small(), image, steps=3, resume=True, progress=False)


@pytest.mark.parametrize(
    "signal, error, match",
    [
        (torch.rand(1, 8, 8).double().long(), DTypeError, "floating"),
        (torch.rand(8), ShapeError, r"\(C, \*spatial\)"),
        (torch.rand(1, 8, 8) * 255, InvalidDataError, r"\[0, 1\].*255"),
        (torch.full((1, 8, 8), float("nan")), InvalidDataError, "NaN"),
        (torch.rand(3, 8, 8), ShapeError, "3 channels.*out_features=1"),
        (torch.rand(1, 4, 4, 4), ShapeError, "3-D coordinates.*in_features=2"),
        ((torch.rand(10, 2), torch.rand(9, 1)), ShapeError, "same N"),
        ((torch.rand(0, 2), torch.rand(0, 1)), InvalidDataError, "no samples"),
        ("camera", DTypeError, "tensor"),
    ],
)
def test_bad_signals(signal, error, match):
    with pytest.raises(error, match=match):
        nf.fit(small(), signal, steps=1, progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": -1}, "steps"),
        ({"lr": 0}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"schedule": "linear"}, "schedule"),
        ({"holdout": 1.0}, r"\[0, 1\)"),
        ({"eval_every": 0}, "eval_every"),
    ],
)
def test_bad_settings(image, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        nf.fit(small(), image, **{"steps": 1, "progress": False, **kwargs})


def test_divergence_is_reported(image):
    f = small()
    with pytest.raises(nf.NonFiniteLossError, match=r"at step (\d+).*Lower the learning rate") as info:
        nf.fit(f, image, steps=50, lr=1e30, batch_size=None, progress=False)
    assert isinstance(info.value, InvalidDataError) and info.value.step >= 1
    assert f"at step {info.value.step};" in str(info.value)
    # the update of the diverging step was not made: the weights are finite
    assert all(bool(torch.isfinite(p).all()) for p in f.parameters())


def test_not_a_field(image):
    with pytest.raises(DTypeError, match="Field"):
        nf.fit(torch.nn.Linear(2, 1), image, steps=1, progress=False)


def test_results_are_valid_json_with_infinite_psnr():
    """A perfect fit has PSNR inf; summaries and histories write it as null and read it back as inf."""
    import json

    from neuralfields._json import finite
    from neuralfields.training import FitResult, History

    assert finite({"a": [1.0, float("inf"), (float("nan"),)], "b": "x"}) == {"a": [1.0, None, [None]], "b": "x"}
    h = History(step=[1], loss=[0.0], psnr=[math.inf], time=[0.1])
    text = json.dumps(FitResult(small(), h, math.inf, math.inf, 1).summary(), allow_nan=False)
    assert json.loads(text)["psnr"] is None and json.loads(text)["val_psnr"] is None
    assert History.from_dict(json.loads(json.dumps(h.as_dict(), allow_nan=False))).psnr == [math.inf]


def test_compiled_fit_follows_the_eager_fit():
    img = nf.data.load_image("synthetic", size=16)
    kwargs = dict(steps=5, batch_size=None, progress=False)
    eager = nf.fit(nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0), img, **kwargs)
    compiled = nf.fit(nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0), img, compile=True, **kwargs)
    assert compiled.history.loss == pytest.approx(eager.history.loss, rel=1e-4)
    assert compiled.psnr == pytest.approx(eager.psnr, abs=1e-3)
