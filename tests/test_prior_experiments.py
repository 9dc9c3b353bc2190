"""Latent inspection, the train-prior and restore reports and their commands."""

import json
import warnings

import pytest
import torch

import neuralfields as nf
from neuralfields.cli import main
from neuralfields.errors import ConfigError, EdgeOfGridWarning, InvalidDataError, ShapeError
from neuralfields.experiments import RestoreConfig, TrainPriorConfig, load_priors, restore, train_prior
from neuralfields.experiments.priors import split_indices
from neuralfields.priors import AutoEncoder, ood_probes, probe_report

PRIOR_REPORT = {"plain.safetensors", "moment-matched.safetensors", "loss.png", "latents_plain.png",
                "latents_moment-matched.png", "probes.png", "reconstructions.png", "metrics.json"}  # fmt: skip
RESTORE_REPORT = {"restorations.png", "psnr_curves.png", "lambda_selection.png", "metrics.json"}


@pytest.fixture(scope="module")
def digits():
    return nf.data.load_dataset("digits", n=160, size=8)


@pytest.fixture(scope="module")
def prior_report(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("priors")
    labels = nf.data.dataset_labels("digits", n=160)
    cfg = TrainPriorConfig(latent_dim=4, width=8, steps=150, batch_size=64, test_fraction=0.25)
    return out, train_prior(digits, out, cfg, labels=labels)


def test_ood_probes():
    images = torch.rand(3, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    probes = ood_probes(images, seed=1)
    assert set(probes) == {"in-distribution", "constant", "constant+noise", "negative", "flipped", "other-domain"}
    assert all(p.shape == (2, 8, 8) and float(p.min()) >= 0 and float(p.max()) <= 1 for p in probes.values())
    assert torch.equal(probes["negative"], 1 - images[0])
    assert torch.equal(probes["flipped"], images[0].flip(-2))
    assert bool((probes["constant"] == probes["constant"][0, 0, 0]).all()) and float(probes["constant+noise"].std()) > 0.05
    assert torch.equal(ood_probes(images, seed=1)["constant+noise"], probes["constant+noise"])
    other = torch.zeros(2, 8, 8)
    assert torch.equal(ood_probes(images, other=other)["other-domain"], other)
    with pytest.raises(ShapeError, match="other-domain"):
        ood_probes(images, other=torch.zeros(1, 8, 8))


def test_probe_report_distances():
    ae = AutoEncoder((8, 8), latent_dim=3, seed=0)
    train = torch.rand(10, 1, 8, 8)
    report = probe_report(ae, {"a train image": train[0], "constant": torch.zeros(1, 8, 8)}, train)
    assert [r.name for r in report] == ["a train image", "constant"]
    assert report[0].nearest_distance == pytest.approx(0.0, abs=1e-6)  # it is one of the training latents
    assert report[0].distance_percentile == 0.0
    assert report[1].energy == pytest.approx(float(ae.energy(torch.zeros(1, 1, 8, 8)).detach()), rel=1e-5)
    assert set(report[1].row()) == {"probe", "energy", "reconstruction_psnr", "nearest_distance", "distance_percentile", "latent"}


def test_split_indices():
    train, test = split_indices(50, 0.2, seed=3)
    assert len(test) == 10 and len(train) == 40 and set(train.tolist()).isdisjoint(test.tolist())
    assert torch.equal(split_indices(50, 0.2, seed=3)[1], test)
    with pytest.raises(ConfigError):
        split_indices(50, 1.5)
    with pytest.raises(InvalidDataError):
        split_indices(2, 0.5)


def test_train_prior_report(prior_report):
    out, m = prior_report
    assert {p.name for p in out.iterdir()} == PRIOR_REPORT
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(m))
    assert set(m["split"]["train"]).isdisjoint(m["split"]["test"]) and len(m["split"]["test"]) == 40
    for name in ("plain", "moment-matched"):
        res = m["models"][name]
        assert 0 <= res["test"]["ks_mean"] <= 1 and 0 < res["test"]["pair_occupancy"] <= 1
        assert [p["probe"] for p in res["probes"]][0] == "in-distribution"
        assert len(res["test"]["moments"]["variance"]) == 4
    assert m["models"]["moment-matched"]["moment_weight"] == 0.1 and m["models"]["plain"]["moment_weight"] == 0.0
    priors, heldout = load_priors(out)
    assert set(priors) == {"plain", "moment-matched"} and heldout.tolist() == m["split"]["test"]
    assert isinstance(priors["plain"], AutoEncoder)


def test_restore_report(tmp_path, prior_report, digits):
    folder, m_prior = prior_report
    priors, heldout = load_priors(folder)
    cfg = RestoreConfig(task="inpaint", sigma=0.02, iterations=60, snapshots=(20, 60), test=6,
                        lams={"plain": (1.0, 10.0, 100.0)}, methods=("plain", "tv", "field"))  # fmt: skip
    with pytest.warns(EdgeOfGridWarning):  # 60 iterations and a 3-point grid: some choice lands at an edge
        m = restore(digits, tmp_path, cfg, priors=priors, heldout=heldout, progress=False)
    assert {p.name for p in tmp_path.iterdir()} == RESTORE_REPORT
    assert m["images"]["test"] == 6
    assert set(m["methods"]) == {"plain", "tv", "field"}
    plain, tv, fld = m["methods"]["plain"], m["methods"]["tv"], m["methods"]["field"]
    assert set(plain["lam_psnr_by_grid_weight"]) == {"1.0", "10.0", "100.0"} and len(plain["lam"]) == 6
    assert all(1.0 <= v <= 100.0 for v in plain["lam"]) and plain["lam_rule"] == "discrepancy"
    assert plain["best_grid_lam_psnr"] == max(plain["lam_psnr_by_grid_weight"].values())
    assert len(tv["lam_psnr_by_grid_weight"]) == 9 and fld["lam"] is None  # tv: its default grid; field: no prior
    assert set(plain["psnr_at"]) == {"20", "60"}
    assert plain["psnr_at"]["60"] > m["corrupted_psnr"]  # the learned prior fills the hidden quarter
    assert plain["early_stop"]["rule"] == "budget" and plain["early_stop"]["mean_iteration"] == 60
    best = plain["best_iteration_in_hindsight"]
    assert 0 <= best["iteration"] <= 60 and best["psnr"] >= plain["psnr_early_stop"] - 1e-6


def test_restore_bad_input(tmp_path, digits):
    with pytest.raises(ConfigError, match="task"):
        restore(digits, tmp_path, RestoreConfig(task="deblur"))
    with pytest.raises(ConfigError, match="no prior given"):
        restore(digits, tmp_path, RestoreConfig(methods=("plain",)))
    with pytest.raises(ConfigError, match="no prior files"):
        load_priors(tmp_path)


def test_commands(tmp_path, capsys):
    assert main(["train-prior", "shapes", "--n", "48", "--size", "8", "--steps", "40", "--width", "4",
                 "--latent-dim", "2", "--out", str(tmp_path / "p")]) == 0  # fmt: skip
    assert "moment-matched" in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "p").iterdir()} == PRIOR_REPORT | {"run.json"}  # the command records its run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EdgeOfGridWarning)  # a 30-iteration solve may choose an edge weight
        code = main(["restore", "shapes", "--task", "superres", "--n", "48", "--size", "8", "--priors", str(tmp_path / "p"),
                     "--iterations", "30", "--snapshots", "10,30", "--test", "4", "--methods", "plain,tv",
                     "--out", str(tmp_path / "r"), "--no-progress"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "superres (sigma 0.01)" in out and "plain" in out and "@30" in out and "best iteration in hindsight" in out
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert set(m["methods"]) == {"plain", "tv"} and m["config"]["task"] == "superres"
    assert main(["restore", "shapes", "--task", "denoise", "--n", "20", "--size", "8", "--priors", str(tmp_path / "p"),
                 "--out", str(tmp_path / "r2")]) == 1  # fmt: skip
    assert "same --n" in capsys.readouterr().err
