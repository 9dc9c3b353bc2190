"""The TensorBoard callback: the engine's callbacks serve a real tool."""

import pytest

import neuralfields as nf
from neuralfields.training.tensorboard import TensorBoardLogger

pytest.importorskip("tensorboard")


def _scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_a_fit_is_logged(tmp_path):
    log = TensorBoardLogger(tmp_path, prefix="fit/")
    res = nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), nf.data.load_image("synthetic", size=8), steps=4,
                 holdout=0.2, eval_every=2, callbacks=[log], progress=False)  # fmt: skip
    log.close()
    scalars = _scalars(tmp_path)
    assert [s for s, _ in scalars["fit/loss"]] == [1, 2, 3, 4]
    assert [v for _, v in scalars["fit/loss"]] == pytest.approx(res.history.loss)
    assert [s for s, _ in scalars["fit/val_psnr"]] == res.history.val_step
    assert [v for _, v in scalars["fit/val_psnr"]] == pytest.approx(res.history.val_psnr)


def test_per_item_values_are_summarised(tmp_path):
    log = TensorBoardLogger(tmp_path, every=2)
    res = nf.fit_many(nf.Siren(2, 1, hidden_features=8, seed=0), nf.data.load_dataset("shapes", n=3, size=8), steps=4,
                      callbacks=[log], progress=False)  # fmt: skip
    log.close()
    scalars = _scalars(tmp_path)
    assert [s for s, _ in scalars["psnr/min"]] == [2, 4]
    assert scalars["psnr/min"][-1][1] == pytest.approx(min(res.history.items["psnr"][-1]))
    assert scalars["psnr/max"][-1][1] == pytest.approx(max(res.history.items["psnr"][-1]))
