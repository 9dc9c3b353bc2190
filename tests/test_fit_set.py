"""fit_set / neuralfields fit-set: every field exactly once, resumable after a kill, readable lazily."""

import importlib
import json

import pytest
import torch

import neuralfields as nf
from neuralfields.cli import main
from neuralfields.errors import ConfigError, FileFormatError, ShapeError
from neuralfields.experiments import FieldSet, FitSetConfig, fit_set

fit_set_module = importlib.import_module("neuralfields.experiments.fit_set")  # the module (the package exports the function)

CFG = FitSetConfig(steps=8, group_size=3, hidden_features=8, hidden_layers=1)


@pytest.fixture(scope="module")
def images():
    return nf.data.load_dataset("shapes", n=7, size=8)


def test_every_image_gets_exactly_one_field_equal_to_fitting_all_at_once(tmp_path, images):
    index = fit_set(images, tmp_path, CFG, progress=False)
    items = [i for g in index["groups"].values() for i in g["items"]]
    assert sorted(items) == list(range(7)) and len(items) == 7 and index["fitted_now"] == 7
    assert len(list((tmp_path / "shards").glob("*.safetensors"))) == 3
    fields = FieldSet(tmp_path)
    template = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    together = nf.fit_many(template, images, steps=8, seed=0, progress=False)  # one group of all 7
    for i in range(7):
        assert fields.items[i] == i
        for (name, p), q in zip(fields[i].named_parameters(), together.field(i).parameters()):
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4, msg=f"field {i}, {name}")
    assert fields.psnr == pytest.approx(together.psnr, abs=1e-3)
    flat = FieldSet(tmp_path, weights=True)
    assert flat[3].shape == (sum(p.numel() for p in template.parameters()),)
    with pytest.raises(IndexError):
        fields[7]


def test_a_killed_run_resumes_without_duplicates_or_gaps(tmp_path, images, monkeypatch):
    real, calls = fit_set_module.fit_many, []

    def dies_on_the_second_group(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed mid-run
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_set_module, "fit_many", dies_on_the_second_group)
    with pytest.raises(KeyboardInterrupt):
        fit_set(images, tmp_path, CFG, progress=False)
    first = json.loads((tmp_path / "index.json").read_text())
    assert list(first["groups"]) == ["0"]  # what finished is kept
    shard0 = (tmp_path / "shards" / "group-00000.safetensors").read_bytes()
    monkeypatch.setattr(fit_set_module, "fit_many", real)
    index = fit_set(images, tmp_path, CFG, progress=False)
    assert index["fitted_now"] == 4  # groups 1 and 2 only
    assert (tmp_path / "shards" / "group-00000.safetensors").read_bytes() == shard0
    assert sorted(i for g in index["groups"].values() for i in g["items"]) == list(range(7))
    fresh = fit_set(images, tmp_path / "fresh", CFG, progress=False)
    assert [g["psnr"] for g in index["groups"].values()] == [g["psnr"] for g in fresh["groups"].values()]


def test_another_runs_folder_is_refused_and_left_alone(tmp_path, images):
    fit_set(images, tmp_path, CFG, progress=False)
    before = (tmp_path / "index.json").read_bytes()
    with pytest.raises(ConfigError, match="another run"):
        fit_set(images, tmp_path, FitSetConfig(steps=9, group_size=3, hidden_features=8, hidden_layers=1), progress=False)
    with pytest.raises(ConfigError, match="another run"):
        fit_set(images.flip(-1), tmp_path, CFG, progress=False)  # other images
    assert (tmp_path / "index.json").read_bytes() == before


def test_bad_input(tmp_path, images):
    with pytest.raises(ShapeError):
        fit_set(images[0], tmp_path, CFG, progress=False)
    with pytest.raises(ConfigError):
        fit_set(images, tmp_path, FitSetConfig(group_size=0), progress=False)
    with pytest.raises(FileFormatError, match="no field set"):
        FieldSet(tmp_path / "nothing")


def test_fit_set_command(tmp_path, capsys):
    args = ["fit-set", "shapes", "--n", "5", "--size", "8", "--steps", "5", "--group-size", "2", "--hidden-features", "8",
            "--out", str(tmp_path / "s"), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert "5 fields (5 fitted now" in capsys.readouterr().out
    assert main(args) == 0 and "5 fields (0 fitted now" in capsys.readouterr().out  # a second run has nothing to do
    assert len(FieldSet(tmp_path / "s")) == 5
    assert json.loads((tmp_path / "s" / "run.json").read_text())["command"] == "fit-set"


def _torchrun(args, tmp_path, timeout=240):
    """``neuralfields ARGS`` on 2 CPU processes (gloo) under torchrun, bounded in time."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "neuralfields.cli", *args]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_two_processes_fit_every_field_once_and_equal_one_process(tmp_path, images, monkeypatch):
    from neuralfields.io import read_tensors

    # one process fits group 0 and is killed; two processes under torchrun finish the run
    real, calls = fit_set_module.fit_many, []

    def dies_on_the_second_group(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    data = {"data": "shapes", "n": 7, "size": 8, "seed": 0}
    monkeypatch.setattr(fit_set_module, "fit_many", dies_on_the_second_group)
    with pytest.raises(KeyboardInterrupt):
        fit_set(images, tmp_path / "two", CFG, data=data, progress=False)
    monkeypatch.setattr(fit_set_module, "fit_many", real)
    out = _torchrun(["fit-set", "shapes", "--num-images", "7", "--size", "8", "--steps", "8", "--group-size", "3",
                     "--hidden-features", "8", "--hidden-layers", "1", "--out", str(tmp_path / "two"), "--no-progress"], tmp_path)  # fmt: skip
    assert "on 2 processes" in out and "7 fields (4 fitted now" in out  # groups 1 and 2, one per rank
    one = fit_set(images, tmp_path / "one", CFG, data=data, progress=False)
    two = json.loads((tmp_path / "two" / "index.json").read_text())
    assert two["run"] == json.loads(json.dumps(one["run"])) and sorted(two["groups"]) == ["0", "1", "2"]
    for g in one["groups"]:
        assert two["groups"][g]["items"] == one["groups"][g]["items"]
        a, b = (read_tensors(tmp_path / d / one["groups"][g]["shard"]) for d in ("one", "two"))
        for name in a:
            torch.testing.assert_close(a[name], b[name], atol=1e-6, rtol=1e-5, msg=f"group {g}, {name}")


def test_an_unreadable_image_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    nf.data.save_image(nf.data.load_image("synthetic", size=8), folder / "good.png")
    (folder / "bad.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    assert main(["fit-set", str(folder), "--size", "8", "--steps", "2", "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "bad.png" in err and "error" in err
    assert not out.exists()


def test_a_shard_whose_config_does_not_match_its_weights_is_refused(tmp_path, images):
    from neuralfields.io import load_stacked, model_metadata, serialize

    fit_set(images, tmp_path, CFG, progress=False)
    template, state = load_stacked(tmp_path / "shards" / "group-00000.safetensors")
    assert type(template).__name__ == "Siren" and {v.shape[0] for v in state.values()} == {3}
    wider = nf.Siren(2, 1, hidden_features=4096, hidden_layers=1, seed=0)  # a config that claims far more
    serialize(state, model_metadata(wider, "stacked"), tmp_path / "shards" / "group-00000.safetensors")
    with pytest.raises(FileFormatError):
        FieldSet(tmp_path)[0]
    serialize(state, model_metadata(template), tmp_path / "plain.safetensors")  # a model file, not a stack
    with pytest.raises(FileFormatError, match="stacked"):
        load_stacked(tmp_path / "plain.safetensors")
