"""The shared-model trainers on small data, run in one process by the tests and in two gloo processes under
``torchrun`` (``python -m torch.distributed.run --standalone --nproc-per-node 2 tests/ddp_worker.py OUT``),
which then writes rank 0's results and whether every rank ended with the same parameters to OUT."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

import neuralfields as nf
from neuralfields._dist import all_gather_objects, end_group, init_from_env, rank_and_world
from neuralfields.priors import moment_matching_loss

STEPS = 16


def _conditioned_field() -> nf.ConditionedField:
    cond = nf.BinaryCode(6)
    return nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=16, hidden_layers=2, seed=0), cond)


def _fit_dataset(**kwargs):
    images = nf.data.load_dataset("shapes", n=6, size=8)
    field = _conditioned_field()
    # 5 of 6 images per step: the processes' parts differ in size (3 and 2), and the epoch's last batch is 1
    settings = {"steps": STEPS, "items_per_step": 5, "pixels_per_item": 24, "holdout": 0.25, "eval_every": 8, **kwargs}
    res = nf.fit_dataset(field, images, progress=False, **settings)
    return field, res


def _stop_at(step: int):
    return lambda info: info.step >= step


def train_all(folder: Path) -> dict[str, dict]:
    """Train each trainer once (and fit_dataset stopped half-way and resumed); their states and histories."""
    out = {}
    field, res = _fit_dataset()
    out["fit_dataset"] = {"state": field.state_dict(), "loss": res.history.loss, "val_psnr": res.history.val_psnr}

    ckpt = folder / "fit_dataset.ckpt"
    _fit_dataset(checkpoint=ckpt, callbacks=[_stop_at(STEPS // 2)])
    field, res = _fit_dataset(checkpoint=ckpt, resume=True)
    out["fit_dataset_resumed"] = {"state": field.state_dict(), "loss": res.history.loss, "val_psnr": res.history.val_psnr}

    field, res = _fit_dataset(data_parallel=False)  # each process on its own: no exchange at all
    out["fit_dataset_independent"] = {"state": field.state_dict(), "loss": res.history.loss}
    try:  # the processes disagree on a setting: every one of them is told, none waits for ever
        _fit_dataset(items_per_step=4 + rank_and_world()[0])
        out["mismatch"] = "no error"
    except nf.errors.ConfigError as exc:
        out["mismatch"] = str(exc)

    images = nf.data.load_dataset("digits", n=24, size=8)
    ae = nf.priors.AutoEncoder((8, 8), latent_dim=2, width=4, seed=0)
    res = nf.training.train_autoencoder(ae, images[:20], steps=STEPS, batch_size=7, moment_weight=0.1,
                                        test_images=images[20:], progress=False)  # fmt: skip
    out["autoencoder"] = {"state": ae.state_dict(), "loss": res.history.loss, "moment_loss": res.moment_loss}

    hyper = nf.HyperSiren((8, 8), 1, latent_dim=3, hidden_features=8, encoder="set", encoder_width=8, latent="sigmoid", seed=0)
    res = nf.training.fit_hyper(hyper, images[:21], steps=STEPS, batch_size=5, context_fraction=0.5,
                                latent_loss=moment_matching_loss, moment_weight=0.1, test_images=images[21:], progress=False)  # fmt: skip
    out["hyper"] = {"state": hyper.state_dict(), "loss": res.history.loss, "psnr": res.history.psnr}
    return out


def main(folder: str) -> None:
    started = init_from_env()
    folder_path = Path(folder)
    result = train_all(folder_path)
    states = all_gather_objects({name: r["state"] for name, r in result.items() if isinstance(r, dict)})
    same = all(torch.equal(a[n][k], b[n][k]) for a in states for b in states for n in a for k in a[n])
    rank, world = rank_and_world()
    if rank == 0:
        torch.save({"result": result, "same_on_every_rank": same, "world": world}, folder_path / "ddp.pt")
    end_group(started)


if __name__ == "__main__":
    main(sys.argv[1])
