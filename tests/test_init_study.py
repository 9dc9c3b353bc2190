"""The initialisation study: triples, curve figures (capped AUC, crossover, steps to a level), the report."""

import importlib
import json
import math

import pytest
import torch

import neuralfields as nf
from neuralfields.analysis import capped_auc, crossover_step, make_triples, steps_to
from neuralfields.cli import main
from neuralfields.errors import ConfigError, InvalidDataError
from neuralfields.experiments import InitStudyConfig, init_study

study_module = importlib.import_module("neuralfields.experiments.init_study")  # the module, not the function

pytestmark = pytest.mark.usefixtures("one_thread")


def test_triples_are_distinct_respect_the_class_rule_and_follow_the_seed():
    labels = torch.arange(60) % 6
    triples = make_triples(labels, 12, seed=3)
    flat = [i for t in triples for i in t]
    assert len(triples) == 12 and len(set(flat)) == 36
    for a, b, c in triples:
        assert labels[a] == labels[b] and labels[a] != labels[c]
    assert make_triples(labels, 12, seed=3) == triples
    assert make_triples(labels, 12, seed=4) != triples


def test_bad_class_layouts_give_clear_errors():
    with pytest.raises(InvalidDataError, match="at least two classes"):
        make_triples([0, 0, 0, 0], 1)
    with pytest.raises(InvalidDataError, match="class 2 has a single image"):
        make_triples([0, 0, 1, 1, 2], 1)
    with pytest.raises(InvalidDataError, match="too few images for 2 triples"):
        make_triples([0, 0, 1, 1], 2)


def test_capped_auc_is_exact_and_applies_the_cap():
    assert capped_auc([10.0, 20.0, 30.0]) == 20.0  # (15 + 25) / 2
    assert capped_auc([10.0, 20.0, 70.0], cap=60.0) == 27.5  # 70 counts as 60
    assert capped_auc([50.0, math.inf], cap=60.0) == 55.0
    assert capped_auc([42.0]) == 42.0
    with pytest.raises(InvalidDataError, match="NaN"):
        capped_auc([1.0, math.nan])
    with pytest.raises(InvalidDataError, match="empty"):
        capped_auc([])


def test_crossover_and_steps_to():
    random = [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    assert crossover_step([12.0, 14.0, 16.0, 18.0, 20.0, 22.0], random) == 3  # below from step 3 on
    assert crossover_step([1.0, 2.0, 20.0, 10.0, 30.0, 40.0], random) == 4  # above for good from step 4
    assert crossover_step([12.0, 14.0, 16.0, 21.0, 26.0, 31.0], random) is None  # stays above
    assert crossover_step(random, random) is None
    with pytest.raises(InvalidDataError, match="6 steps and the reference 2"):
        crossover_step(random, [1.0, 2.0])
    assert steps_to(random, 15.0) == 2 and steps_to(random, 31.0) is None


@pytest.fixture(scope="module")
def digits():
    return nf.data.load_dataset("digits", n=60, size=16), nf.data.dataset_labels("digits", n=60)


def test_the_study_writes_its_report_and_keeps_triple_images_out_of_meta_learning(digits, tmp_path, monkeypatch):
    images, labels = digits
    seen = {}
    real_meta, real_encoder = study_module.meta_learn, study_module.train_shared_encoder

    def meta_spy(field, signals, **kw):
        seen["meta"] = signals
        return real_meta(field, signals, **kw)

    def encoder_spy(field, signals, **kw):
        seen["encoder"] = signals
        return real_encoder(field, signals, **kw)

    monkeypatch.setattr(study_module, "meta_learn", meta_spy)
    monkeypatch.setattr(study_module, "train_shared_encoder", encoder_spy)
    cfg = InitStudyConfig.quick(layers=(2,), widths=(8, 16), triples=3, steps=12, meta_steps=3, encoder_steps=3,
                                encoder_signals=4)  # fmt: skip
    m = init_study(images, labels, tmp_path, cfg, progress=False)
    for name in ("curves.png", "auc.png", "metrics.json", "run.json"):
        assert (tmp_path / name).stat().st_size > 0
    triple_images = images[[i for t in m["triples"] for i in t]]
    for key in ("meta", "encoder"):
        used = seen[key]
        assert not any(torch.equal(u, t) for u in used for t in triple_images), key
    assert [g["width"] for g in m["grid"]] == [8, 16]  # ordered by parameter count
    point = m["grid"][0]
    assert list(point["strategies"]) == list(study_module.STRATEGIES)
    for name, s in point["strategies"].items():
        assert len(s["auc"]) == 3 and len(s["mean_curve"]) == 13  # before each step, and after the last
        # the AUC is linear in the capped curve: the triples' mean AUC is the AUC of their mean curve
        assert sum(s["auc"]) / 3 == pytest.approx(capped_auc(s["mean_curve"], 60.0), abs=1e-2)
        assert (s["preparation_seconds"] > 0) == (name in ("prefit-same", "prefit-other", "meta", "shared-encoder"))
    paper = point["strategies"]["paper"]
    assert paper["crossover_step"] is None
    assert paper["psnr_at_step"]["0"]["mean"] == pytest.approx(paper["mean_curve"][0], abs=1e-3)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["triples"] == [list(t) for t in m["triples"]]


def test_study_settings_are_checked(digits, tmp_path):
    images, labels = digits
    with pytest.raises(ConfigError, match="unknown protocol"):
        init_study(images, labels, tmp_path, InitStudyConfig(protocol="fast"))
    with pytest.raises(ConfigError, match="unknown strategies"):
        init_study(images, labels, tmp_path, InitStudyConfig(strategies=("paper", "magic")))
    with pytest.raises(InvalidDataError, match="labels"):
        init_study(images, labels[:5], tmp_path, InitStudyConfig())
    assert InitStudyConfig(protocol="prefit-study").recipe() == {"lr": 1e-4, "schedule": "constant", "min_lr_ratio": 1.0,
                                                                 "batch_size": None, "steps": 2000}  # fmt: skip


def test_the_command_runs_and_reruns_from_its_record(tmp_path, capsys):
    args = ["init-study", "digits", "--n", "40", "--size", "12", "--triples", "2", "--layers", "2", "--widths", "8",
            "--steps", "6", "--strategies", "paper,prefit-same,prefit-other", "--no-progress"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "2x8" in out and "pre-fit" in out
    assert main(["init-study", "--config", str(tmp_path / "a" / "run.json"), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a["grid"][0]["strategies"]["prefit-same"]["auc"] == b["grid"][0]["strategies"]["prefit-same"]["auc"]
    assert main(["init-study", "shapes", "--out", str(tmp_path / "c"), "--no-progress"]) == 1
    assert "has no classes" in capsys.readouterr().err


def test_triples_are_found_where_a_greedy_draw_would_fail_and_ties_do_not_cross():
    for seed in range(20):  # a pair from class 1 first leaves no C for the second triple: drawn again
        assert len(make_triples([0, 0, 0, 0, 1, 1], 2, seed=seed)) == 2
    assert crossover_step([1.0, -1.0, -1.0, 0.0], [0.0] * 4) == 1  # a tie at the end (a cap) is skipped
    assert crossover_step([1.0, 0.0, -1.0], [0.0] * 3) == 2  # the tie before the crossing is not the crossing
