"""Generators of fields: the adversarial FieldGenerator, priors over codes, and the measures of samples."""

import pytest
import torch

import neuralfields as nf
from neuralfields.analysis import SampleJudge, frechet_distance
from neuralfields.conditioning import HyperHead
from neuralfields.errors import ConfigError, InvalidDataError, ShapeError
from neuralfields.generators import FieldGenerator, GaussianMixture
from neuralfields.training import fit_code_prior, train_field_generator

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"noise_dim": 8, "latent_dim": 8, "mapping_width": 16, "hidden_features": 16, "hidden_layers": 2, "seed": 0}


@pytest.fixture(scope="module")
def digits():
    images = nf.data.load_dataset("digits", n=400, size=8)
    return images, nf.data.dataset_labels("digits", n=400)


@pytest.mark.parametrize("head", ["lowrank", "film", "full"])
def test_generated_weights_have_the_targets_shapes_and_render_at_any_resolution(head):
    g = FieldGenerator((8, 8), 1, head=head, **SMALL)
    z = g.noise(3, seed=1)
    HyperHead.check_output(g.weights(g.map(z)), g.target, batch=3)
    for shape in [(8, 8), (5, 13), (64, 64)]:
        out = g.generate(z, shape).detach()
        assert out.shape == (3, 1, *shape) and 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    with torch.no_grad():
        assert not torch.allclose(g(z)[0], g(z)[1])  # different noise, different samples


def test_exported_sample_round_trips_through_a_file_and_renders_identically(tmp_path):
    g = FieldGenerator((8, 8), 1, **SMALL)
    z = g.noise(4, seed=2)
    siren = g.export(z, index=3)
    nf.save(siren, tmp_path / "sample.safetensors")
    back = nf.load(tmp_path / "sample.safetensors")
    assert type(back) is nf.Siren
    torch.testing.assert_close(nf.render(back, (32, 32)), g.generate(z, (32, 32))[3], atol=1e-5, rtol=0)


def test_bad_generator_input():
    with pytest.raises(ConfigError, match="unknown head .fancy.. Available: .film., .full., .lowrank."):
        FieldGenerator((8, 8), 1, head="fancy", **SMALL)
    g = FieldGenerator((8, 8), 1, **SMALL)
    with pytest.raises(ShapeError, match=r"\(B, 8\)"):
        g(torch.zeros(2, 9))
    with pytest.raises(ConfigError, match="n must be a positive int"):
        g.sample(0)


def test_tiny_adversarial_run_moves_the_frechet_distance_down(digits):
    images, labels = digits
    judge = SampleJudge(images[:320], labels[:320], images[320:], labels[320:], steps=300)
    seen = []

    def metric(generator):
        seen.append(judge.judge(generator.sample(80, seed=9)).frechet)
        return {"frechet": seen[-1]}

    g = FieldGenerator((8, 8), 1, **SMALL)
    res = train_field_generator(g, images[:320], steps=200, batch_size=32, metric=metric, eval_every=100, progress=False)
    assert res.history.val_step == [0, 100, 200] and res.history.val_metrics["frechet"] == seen
    assert seen[-1] < 0.5 * seen[0], seen  # measured: the untrained samples are far from the digits
    assert res.generator is not g and res.discriminator is not None
    assert sorted(res.history.metrics) == ["d_fake", "d_loss", "d_real", "r1"]


def test_adversarial_training_resumes_bit_identically(digits, tmp_path):
    images = digits[0][:64]
    whole = FieldGenerator((8, 8), 1, **SMALL)
    ref = train_field_generator(whole, images, steps=6, batch_size=16, progress=False)
    part = FieldGenerator((8, 8), 1, **SMALL)
    ckpt = tmp_path / "gan.ckpt"
    train_field_generator(part, images, steps=6, batch_size=16, checkpoint=ckpt, progress=False, callbacks=[lambda info: info.step >= 3])
    res = train_field_generator(part, images, steps=6, batch_size=16, checkpoint=ckpt, resume=True, progress=False)
    assert res.history.loss == ref.history.loss
    for a, b in zip(res.generator.state_dict().values(), ref.generator.state_dict().values()):
        assert torch.equal(a, b)  # the EMA too
    for a, b in zip(part.state_dict().values(), whole.state_dict().values()):
        assert torch.equal(a, b)


def test_bad_adversarial_input(digits):
    images = digits[0]
    g = FieldGenerator((8, 8), 1, **SMALL)
    with pytest.raises(InvalidDataError, match="at least 2 images"):
        train_field_generator(g, images[:1], steps=1, progress=False)
    with pytest.raises(ShapeError, match="image_size=\\(16, 16\\)"):
        train_field_generator(g, nf.data.load_dataset("digits", n=4, size=16), steps=1, progress=False)
    with pytest.raises(ConfigError, match="ema_decay"):
        train_field_generator(g, images[:4], steps=1, ema_decay=1.0, progress=False)


def test_code_prior_samples_of_a_hypersiren_decode_to_images(digits):
    images = digits[0][:64]
    model = nf.HyperSiren((8, 8), 1, latent_dim=4, hidden_features=8, encoder_width=8, latent="sigmoid", seed=0)
    nf.fit_hyper(model, images, steps=5, batch_size=16, progress=False)
    with torch.no_grad():
        codes = model.encode(images)
    prior = GaussianMixture(4, components=3, seed=0)
    fit_code_prior(prior, codes, progress=False)
    drawn = prior.sample(500, seed=0)
    assert torch.allclose(drawn.mean(0), codes.mean(0), atol=0.05 * float(codes.std(0).max()) + 1e-3)
    assert model.decode(drawn[:6], shape=(16, 16)).shape == (6, 1, 16, 16)
    with pytest.raises(InvalidDataError, match="at least 3 codes"):
        fit_code_prior(GaussianMixture(4, components=3), codes[:2], progress=False)


def test_frechet_distance_is_zero_for_equal_sets_and_grows_with_a_shift():
    x = torch.randn(500, 3, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(x, x + 1.0) == pytest.approx(3.0, rel=1e-6)
    with pytest.raises(ShapeError):
        frechet_distance(x, x[:, :2])


def test_generate_report_and_command(tmp_path, digits, capsys):
    import json

    from neuralfields.cli import main
    from neuralfields.experiments import GenerateConfig, generate

    images, labels = digits
    cfg = GenerateConfig(size=8, n=60, noise_dim=4, latent_dim=4, hidden_features=8, hidden_layers=1, gan_steps=4, batch_size=16,
                         hyper_latent_dim=3, hyper_steps=4, prior_steps=4, judge_steps=30, evaluations=2)  # fmt: skip
    m = generate(images, labels, tmp_path / "r", cfg, progress=False)
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "curves.png", "frechet.png", "generator.safetensors", "hyper.safetensors", "interpolation.png", "metrics.json",
        "samples.png", "samples_4x.png",
    ]  # fmt: skip
    assert list(m["table"]) == ["real (held-out)", "adversarial", "hyper.sample", "hyper.reconstruct", "prior: gaussian", "prior: gmm", "prior: flow"]
    assert all(row["count"] == 12 for row in m["table"].values())  # as many samples as held-out images
    assert m["frechet_curve"]["step"] == [0, 2, 4] and type(nf.load(tmp_path / "r" / "generator.safetensors")) is FieldGenerator
    with pytest.raises(InvalidDataError, match="one class label per image"):
        generate(images[:10], labels[:9], tmp_path / "bad", cfg, progress=False)
    with pytest.raises(nf.errors.UnknownNameError):
        generate(images, labels, tmp_path / "bad", GenerateConfig(priors=("gauss",)), progress=False)

    args = ["generate", "digits", "--n", "60", "--size", "8", "--gan-steps", "3", "--hyper-steps", "3", "--priors", "gaussian",
            "--quick", "--no-progress", "--out", str(tmp_path / "cli")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "judge: a classifier at" in out and "adversarial" in out and "prior: gaussian" in out
    assert json.loads((tmp_path / "cli" / "run.json").read_text())["command"] == "generate"
    assert main(["generate", "shapes", "--n", "8", "--size", "8", "--out", str(tmp_path / "x")]) == 1
    assert "shapes has no classes" in capsys.readouterr().err
