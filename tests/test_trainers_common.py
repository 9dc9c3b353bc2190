"""The same engine behaviour for every trainer and solver: callbacks stop it, a diverging loss raises
NonFiniteLossError naming the step, checkpoints resume bit-identically on the CPU, and progress is shown.

Each entry of TRAINERS builds a fresh model (its initial weights from ``seed``) and runs one trainer on
tiny data; ``state`` returns every tensor that must match after a resume.
"""

import io
import sys

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import CheckpointError


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_thread):
    yield


IMAGE = nf.data.load_image("synthetic", size=12)
IMAGES = nf.data.load_dataset("shapes", n=3, size=8)


def _fit(seed, **kw):
    f = nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=seed)
    res = nf.fit(f, IMAGE, batch_size=50, holdout=0.1, eval_every=3, **kw)
    return res, dict(f.state_dict())


def _fit_many(seed, **kw):
    res = nf.fit_many(nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=seed), IMAGES, batch_size=40, holdout=0.1,
                      eval_every=3, **kw)  # fmt: skip
    return res, dict(res.params)


def _fit_dataset(seed, **kw):
    cond = nf.BinaryCode(3)
    f = nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=16, hidden_layers=2, seed=seed), cond)
    res = nf.fit_dataset(f, IMAGES, items_per_step=2, pixels_per_item=20, eval_every=3, **kw)
    return res, dict(f.state_dict())


def _fit_dataset_film(seed, **kw):
    cond = nf.Latent(3, dim=4, mode="film", seed=seed)
    f = nf.ConditionedField(nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=seed), cond)
    res = nf.fit_dataset(f, IMAGES, items_per_step=2, pixels_per_item=20, eval_every=3, **kw)
    return res, dict(f.state_dict())


TRAINERS = {
    "fit": _fit,
    "fit_many": _fit_many,
    "fit_dataset": _fit_dataset,
    "fit_dataset_film": _fit_dataset_film,
}


def _steps_done(res):
    return res.steps if hasattr(res, "steps") else len(res.history)


@pytest.mark.parametrize("name", TRAINERS)
def test_a_callback_stops_the_run(name):
    seen = []

    def stop_at_4(info):
        seen.append(info.step)
        assert info.history.step[-1] == info.step and info.total == 10
        return info.step == 4

    res, _ = TRAINERS[name](0, steps=10, callbacks=[stop_at_4], progress=False)
    assert seen == [1, 2, 3, 4]
    assert _steps_done(res) == 4 and res.stopped_early and len(res.history) == 4


@pytest.mark.parametrize("name", TRAINERS)
def test_a_diverging_loss_names_its_step(name):
    with pytest.raises(nf.NonFiniteLossError) as info:
        TRAINERS[name](0, steps=30, lr=1e30, progress=False)
    assert info.value.step >= 1 and f"at step {info.value.step};" in str(info.value)


@pytest.mark.parametrize("name", TRAINERS)
def test_resume_is_bit_identical(name, tmp_path):
    ckpt = tmp_path / "ckpt.safetensors"
    full, full_state = TRAINERS[name](0, steps=9, progress=False)
    first, _ = TRAINERS[name](0, steps=9, checkpoint=ckpt, callbacks=[lambda info: info.step == 4], progress=False)
    assert first.stopped_early
    resumed, state = TRAINERS[name](7, steps=9, resume=ckpt, progress=False)  # another init: all from the file
    assert _steps_done(resumed) == 9
    assert state.keys() == full_state.keys()
    for key in state:
        assert torch.equal(state[key], full_state[key]), key
    assert resumed.history.loss == full.history.loss
    assert resumed.history.val_psnr == full.history.val_psnr


@pytest.mark.parametrize("name", TRAINERS)
def test_resume_with_other_settings_is_refused(name, tmp_path):
    ckpt = tmp_path / "ckpt.safetensors"
    TRAINERS[name](0, steps=3, checkpoint=ckpt, progress=False)
    with pytest.raises(CheckpointError, match="settings differ.*lr"):
        TRAINERS[name](0, steps=3, lr=0.5, resume=ckpt, progress=False)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("name", TRAINERS)
def test_progress_bar_on_a_terminal(name, monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    TRAINERS[name](0, steps=3, progress=True)
    assert "3/3" in term.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    TRAINERS[name](0, steps=3, progress=False)
    assert quiet.getvalue() == ""


def test_losses_default_to_the_fast_mse_step_and_take_any_callable():
    """The fast path (default "mse") and autograd through a callable MSE train alike, for all three."""
    import torch.nn.functional as F

    for name in ("fit", "fit_many", "fit_dataset"):
        fast, fast_state = TRAINERS[name](0, steps=6, progress=False)
        slow, slow_state = TRAINERS[name](0, steps=6, loss=F.mse_loss, progress=False)
        assert fast.history.loss == pytest.approx(slow.history.loss, rel=1e-4), name
        assert fast.history.psnr and not slow.history.psnr  # PSNR is recorded for the built-in MSE only
        for key in fast_state:
            torch.testing.assert_close(fast_state[key], slow_state[key], rtol=1e-3, atol=1e-5, msg=f"{name} {key}")
    l1, _ = TRAINERS["fit"](0, steps=3, loss="l1", progress=False)
    assert len(l1.history.loss) == 3
    with pytest.raises(nf.errors.ConfigError, match="unknown loss 'l3'"):
        TRAINERS["fit_many"](0, steps=1, loss="l3", progress=False)
