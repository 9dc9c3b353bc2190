"""Shared models trained data-parallel by the engine: 2 gloo processes under torchrun train like one process."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import neuralfields._dist as dist_module
from neuralfields._data_parallel import reduce_step
from neuralfields._task import StepOutput
from neuralfields.errors import ConfigError

from .ddp_worker import train_all

WORKER = Path(__file__).with_name("ddp_worker.py")


def _two_processes(folder: Path, timeout: int = 300) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(WORKER), str(folder)]
    done = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return torch.load(folder / "ddp.pt", weights_only=False)


def test_two_processes_train_each_shared_model_like_one_process(tmp_path):
    (tmp_path / "two").mkdir()
    (tmp_path / "one").mkdir()
    two = _two_processes(tmp_path / "two")
    one = train_all(tmp_path / "one")
    assert two["world"] == 2 and two["same_on_every_rank"]
    assert set(two["result"]) == {"fit_dataset", "fit_dataset_resumed", "fit_dataset_independent", "mismatch", "autoencoder", "hyper"}
    # data_parallel=False: each process trains on its own, exactly as one process does
    for key, value in one["fit_dataset_independent"]["state"].items():
        assert torch.equal(two["result"]["fit_dataset_independent"]["state"][key], value)
    assert "rank 1 runs other settings than rank 0" in two["result"]["mismatch"]
    assert one["mismatch"] == "no error"
    for name, ref in one.items():
        if name in ("fit_dataset_independent", "mismatch"):
            continue
        got = two["result"][name]
        for key, value in ref["state"].items():
            # the same global batch: equal up to the order of the float sums (Adam amplifies it a little)
            torch.testing.assert_close(got["state"][key], value, rtol=1e-3, atol=2e-4, msg=f"{name}: {key}")
        assert len(got["loss"]) == len(ref["loss"])
        assert got["loss"] == pytest.approx(ref["loss"], rel=1e-4, abs=1e-6), name
    # the moment-matching term is of the whole batch's latents, not of each process's part
    assert two["result"]["autoencoder"]["moment_loss"] == pytest.approx(one["autoencoder"]["moment_loss"], rel=1e-3)
    assert two["result"]["hyper"]["psnr"] == pytest.approx(one["hyper"]["psnr"], abs=1e-4)
    # stopped half-way, written by rank 0 and resumed by both processes: the run that was not stopped
    for key, value in two["result"]["fit_dataset"]["state"].items():
        torch.testing.assert_close(two["result"]["fit_dataset_resumed"]["state"][key], value, rtol=0, atol=0)
    assert (tmp_path / "two" / "fit_dataset.ckpt").exists()


@pytest.mark.parametrize("world", [1, 2, 3, 5])
@pytest.mark.parametrize("n", [1, 4, 7])
def test_shards_cover_the_batch_once_in_rank_order(monkeypatch, world, n):
    parts = []
    for rank in range(world):
        monkeypatch.setattr(dist_module, "rank_and_world", lambda rank=rank: (rank, world))
        parts.append(list(range(n))[dist_module.shard(n)])
    assert [i for part in parts for i in part] == list(range(n))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_combined_report_is_the_whole_batch(monkeypatch):
    from neuralfields._data_parallel import _combined

    def report(share, mse, items):
        psnr = -10 * math.log10(mse) if share else None  # a process with no part of the batch reports nothing
        return {"share": share, "loss": mse, "psnr": psnr, "metrics": {"m": mse}, "items": {"loss": items}, "stop": False}

    out = _combined([report(0.75, 0.01, [1.0, 2.0, 3.0]), report(0.25, 0.05, [4.0]), report(0.0, float("nan"), [])])
    assert out.loss == pytest.approx(0.75 * 0.01 + 0.25 * 0.05)
    assert out.psnr == pytest.approx(-10 * math.log10(0.02))  # the PSNR of the mean squared error, not the mean PSNR
    assert out.metrics == {"m": pytest.approx(0.02)} and out.items == {"loss": [1.0, 2.0, 3.0, 4.0]}


def test_a_step_without_a_share_or_with_shares_not_adding_up_is_an_error():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ConfigError, match="must return a share"):
        reduce_step([w], StepOutput(1.0), "demo")
    with pytest.raises(ConfigError, match="add up to 0.5"):
        reduce_step([w], StepOutput(1.0, share=0.5), "demo")
    w.grad = torch.ones(2)
    out = reduce_step([w], StepOutput(1.0, psnr=20.0, share=1.0), "demo")  # one process: its own step
    assert out.loss == 1.0 and out.psnr == pytest.approx(20.0) and w.grad.tolist() == [1.0, 1.0]


def test_memorize_under_torchrun_writes_one_report_equal_to_one_process(tmp_path):
    from neuralfields.cli import main

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "neuralfields.cli",
           "memorize", "shapes", "--num-images", "6", "--size", "16", "--steps", "40", "--no-progress", "--out", "two"]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.count("memorising 6 images") == 1  # rank 0 alone prints
    assert main(["memorize", "shapes", "--n", "6", "--size", "16", "--steps", "40", "--no-progress", "--out", str(tmp_path / "one")]) == 0
    one, two = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("one", "two"))
    assert two["steps"] == one["steps"] == 40
    assert two["psnr"] == pytest.approx(one["psnr"], abs=1e-3) and two["val_psnr"] == pytest.approx(one["val_psnr"], abs=1e-3)


def test_a_one_process_command_under_torchrun_is_refused(tmp_path, monkeypatch, capsys):
    from neuralfields.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["fit", "synthetic", "--size", "8", "--steps", "2", "--out", str(tmp_path / "f")]) == 1
    assert "fit runs in one process; under torchrun use fit-set or one of memorize" in capsys.readouterr().err
    assert not (tmp_path / "f" / "metrics.json").exists()
