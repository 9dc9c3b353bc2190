"""The hyper-train report: HyperSiren heads, context pixels, latent space, one-shot vs fitting."""

import json
import math

import pytest
import torch

import neuralfields as nf
from neuralfields.cli import main
from neuralfields.conditioning import HEADS, HyperSiren
from neuralfields.errors import ConfigError, InvalidDataError, UnknownNameError
from neuralfields.experiments import HyperTrainConfig, hyper_train
from neuralfields.experiments.hyper import _set_psnr

REPORT = {"hyper.safetensors", "curves.png", "reconstructions.png", "context.png", "interpolation.png", "samples.png",
          "finetune.png", "metrics.json"}  # fmt: skip
TINY = {"n": 24, "size": 8, "steps": 20, "latent_dim": 8, "hidden_features": 16, "encoder_width": 8,
        "finetune_images": 2, "finetune_steps": 12, "n_samples": 4, "interp_steps": 4}  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("hyper")
    images = nf.data.load_dataset("shapes", n=30, size=12)  # cut to n=24 and resized to 8x8 by the config
    return out, hyper_train(images, out, HyperTrainConfig(**TINY), progress=False)


def test_report_files_and_metrics(report):
    out, m = report
    assert {p.name for p in out.iterdir()} == REPORT
    assert json.loads((out / "metrics.json").read_text()) == m
    assert m["images"] == [24, 1, 8, 8]
    train, test = m["split"]["train"], m["split"]["test"]
    assert set(train).isdisjoint(test) and sorted(train + test) == list(range(24)) and len(test) == 5
    assert m["config"]["heads"] == list(HEADS) and m["config"]["moment_weight"] == 0.1
    assert set(m["heads"]) == set(HEADS) and m["best_head"] in HEADS
    for r in m["heads"].values():
        assert r["parameters"] > r["head_parameters"] > 0 and r["seconds_per_step"] > 0
        assert math.isfinite(r["test_psnr"]) and math.isfinite(r["train_psnr"])
    assert m["heads"][m["best_head"]]["test_psnr"] == max(r["test_psnr"] for r in m["heads"].values())
    assert set(m["context"]) == {"0.1", "0.25", "1.0"} and all(math.isfinite(v) for v in m["context"].values())
    assert m["context_model"]["pixels"] == {"0.1": 6, "0.25": 16, "1.0": 64}
    assert [p["test_images"] for p in m["interpolation"]] == [[0, 1], [2, 3]]
    assert all(p["indices"][0] in test and p["blend_distance"] >= 0 for p in m["interpolation"])
    assert m["samples"] == {"n": 4, "shape": [16, 16], "latent": "sigmoid"}


def test_finetune_table(report):
    _, m = report
    t = m["finetune"]
    assert {"one_shot", "scratch", "finetune"} <= set(t) and t["steps"] == 12 and t["head"] == m["best_head"]
    assert t["images"] == m["split"]["test"][:2]
    for kind in ("one_shot", "scratch", "finetune"):
        assert math.isfinite(t[kind]["psnr"]) and t[kind]["seconds"] > 0
        assert len(t[kind]["per_image"]["psnr"]) == 2
    assert list(t["scratch"]["psnr_at"]) == list(t["finetune"]["psnr_at"]) == ["1", "3", "10", "12"]
    # fine-tuning starts from the one-shot guess (before clamping, so to a small tolerance)
    for start, one in zip(t["finetune"]["per_image"]["psnr_at_start"], t["one_shot"]["per_image"]["psnr"]):
        assert start == pytest.approx(one, abs=0.5)
    steps = t["scratch"]["per_image"]["steps_to_one_shot"]
    assert all(s is None or 0 <= s <= 12 for s in steps)


def test_saved_model_loads_and_reproduces(report, tmp_path):
    out, m = report
    model = nf.load(out / "hyper.safetensors")
    assert isinstance(model, HyperSiren) and model.head_name == m["best_head"] and model.encoder_name == "conv"
    images = nf.data.load_dataset("shapes", n=30, size=12)[:24]
    test = torch.stack([nf.data.resize(im, 8) for im in images])[m["split"]["test"]]
    assert _set_psnr(model, test, 32) == pytest.approx(m["heads"][m["best_head"]]["test_psnr"], abs=1e-4)
    again = nf.load(nf.save(model, tmp_path / "again.safetensors"))
    with torch.no_grad():
        assert torch.equal(again(test), model(test))
        assert torch.allclose(nf.render(model.export(test, index=1), (8, 8)), model(test)[1], atol=1e-5)


def test_quick_preset_and_bad_settings(tmp_path):
    q = HyperTrainConfig.quick(seed=3)
    assert q.seed == 3 and q.steps < HyperTrainConfig().steps and q.n == 400
    images = nf.data.load_dataset("shapes", n=12, size=8)
    cases = [({"heads": ("full", "fillm")}, UnknownNameError, "Did you mean 'film'"),
             ({"heads": ()}, ConfigError, "at least one head"),
             ({"context_fractions": (0.5, 1.5)}, ConfigError, "context_fractions"),
             ({"latent": "tanh"}, UnknownNameError, "'sigmoid'"),
             ({"interp_steps": 1}, ConfigError, "interp_steps"),
             ({"steps": 0}, ConfigError, "steps must be a positive int")]  # fmt: skip
    for kw, error, match in cases:
        with pytest.raises(error, match=match):
            hyper_train(images, tmp_path / "never", HyperTrainConfig(**{**TINY, **kw}), progress=False)
    assert not (tmp_path / "never").exists()
    with pytest.raises(InvalidDataError, match="at least 2"):
        hyper_train(images[:6], tmp_path / "few", HyperTrainConfig(**TINY), progress=False)


def test_command(tmp_path, capsys):
    code = main(["hyper-train", "shapes", "--n", "24", "--size", "8", "--steps", "20", "--finetune-steps", "10",
                 "--latent-dim", "8", "--heads", "film,lowrank", "--context-fractions", "0.5,1", "--out",
                 str(tmp_path / "h"), "--no-progress"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "film" in text and "lowrank" in text and "50% " in text and "one-shot" in text
    assert text.rstrip().endswith(f"wrote {tmp_path / 'h'}/")
    assert {p.name for p in (tmp_path / "h").iterdir()} == REPORT | {"run.json"}  # the command records its run
    m = json.loads((tmp_path / "h" / "metrics.json").read_text())
    assert set(m["heads"]) == {"film", "lowrank"} and set(m["context"]) == {"0.5", "1.0"}
    assert m["config"]["latent_dim"] == 8 and m["finetune"]["steps"] == 10


def test_command_errors(tmp_path, capsys):
    assert main(["hyper-train", "shapes", "--heads", "full,fillm", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuralfields hyper-train: error: unknown head 'fillm'. Did you mean 'film'?")
    assert "Traceback" not in err and not (tmp_path / "x").exists()
    assert main(["hyper-train", "shapes", "--context-fractions", "a,b", "--out", str(tmp_path / "x")]) == 1
    assert "--context-fractions" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["hyper-train", "--help"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("usage: neuralfields hyper-train")
