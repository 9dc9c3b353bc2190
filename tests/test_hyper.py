"""HyperSiren: a hypernetwork that emits SIREN weights from an image."""

import math

import pytest
import torch

import neuralfields as nf
from neuralfields.conditioning.hyper import ENCODERS, HEADS, HyperSiren
from neuralfields.training import HyperFitResult, fit_hyper
from neuralfields.errors import ConfigError, DTypeError, IndexOutOfRangeError, InvalidDataError, ShapeError
from neuralfields.fields.render import to_unit

SIZE = 16
SMALL = {"image_size": (SIZE, SIZE), "channels": 1, "hidden_features": 16, "latent_dim": 16, "encoder_width": 16}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def images():
    return nf.data.load_dataset("shapes", n=32, size=SIZE)


def _model(**kw):
    return HyperSiren(**{**SMALL, "seed": 0, **kw})


@pytest.mark.parametrize("head", HEADS)
def test_emitted_parameters_match_target(head, images):
    m = _model(head=head)
    params = m.weights(m.encode(images[:3]))
    expected = m.target.batch_parameters(3)
    assert list(params) == list(expected)
    for name, p in expected.items():
        assert params[name].shape == p.shape, name


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("head", HEADS)
def test_batched_output_equals_each_exported_siren(encoder, head, images):
    m = _model(head=head, encoder=encoder)
    x = images[:3]
    with torch.no_grad():
        out = m(x)
    assert out.shape == x.shape
    for i in range(3):
        siren = m.export(x, index=i)
        assert isinstance(siren, nf.Siren) and siren.config["hidden_features"] == 16
        assert torch.allclose(nf.render(siren, (SIZE, SIZE)), out[i], atol=1e-5)
        coords = nf.grid.make_grid((SIZE, SIZE)).reshape(-1, 2)
        raw = m.decode(m.encode(x), clamp=False)[i].detach()
        assert torch.allclose(to_unit(siren(coords)).T.reshape(1, SIZE, SIZE), raw, atol=1e-5)


def test_export_from_latent_save_load_and_fine_tune(images, tmp_path):
    m = _model(head="lowrank")
    z = m.encode(images[:2]).detach()
    siren = m.export(z, index=-1)
    assert torch.allclose(nf.render(siren, (24, 24)), m.decode(z, (24, 24))[1].detach(), atol=1e-5)
    loaded = nf.load(nf.save(siren, tmp_path / "item.safetensors"))
    assert torch.equal(nf.render(loaded, (SIZE, SIZE)), nf.render(siren, (SIZE, SIZE)))
    before = nf.psnr(nf.render(loaded, (SIZE, SIZE)), images[1])
    res = nf.fit(loaded, images[1], steps=5, progress=False)
    assert len(res.history.psnr) == 5 and math.isfinite(res.psnr)
    assert nf.psnr(nf.render(loaded, (SIZE, SIZE)), images[1]) > before


@pytest.mark.parametrize("kw", [{"head": "full"}, {"head": "film", "latent": "sigmoid"}, {"head": "lowrank", "encoder": "set", "rank": 2}])
def test_save_load_round_trip(kw, images, tmp_path):
    m = _model(**kw)
    loaded = nf.load(nf.save(m, tmp_path / "hyper.safetensors"))
    assert isinstance(loaded, HyperSiren) and loaded.config == m.config
    with torch.no_grad():
        assert torch.equal(loaded(images[:4]), m(images[:4]))
    rebuilt = nf.create("model", "hyper-siren", **m.config)
    assert rebuilt.config == m.config
    assert "hyper-siren" in nf.available("model")
    # files of earlier versions name it under the kind "conditioning": an alias keeps them loading
    assert isinstance(nf.create("conditioning", "hyper-siren", **m.config), HyperSiren)


def test_seed_is_deterministic_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b = _model(seed=3), _model(seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    assert not torch.equal(_model(seed=4).encoder.out.weight, a.encoder.out.weight)


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("head", HEADS)
def test_gradient_reaches_every_encoder_parameter(encoder, head, images):
    m = _model(head=head, encoder=encoder)
    x = images[:4]
    loss = torch.mean((m(x, clamp=False) - x) ** 2)
    loss.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        if name.startswith("encoder."):
            assert bool(p.grad.abs().sum() > 0), name


@pytest.mark.parametrize("head", HEADS)
def test_init_is_reference_siren_plus_small_perturbation(head, images):
    m = _model(head=head, hidden_layers=3)
    params = m.weights(m.encode(images[:8]))
    n_layers = len(m.target.layers)
    for i, layer in enumerate(m.target.layers):
        n = layer.in_features
        bound = 1.0 / n if i == 0 else math.sqrt(6.0 / n) / 30.0
        assert float(layer.weight.detach().abs().max()) <= bound  # the shared base is the reference init
        delta = (params[f"layers.{i}.weight"] - layer.weight).detach()
        assert bool(torch.isfinite(delta).all())
        assert float(delta.abs().max()) < 0.05 * bound, (i, float(delta.abs().max()) / bound)
        bias_delta = (params[f"layers.{i}.bias"] - layer.bias).detach()
        assert float(bias_delta.abs().max()) < 0.05 / math.sqrt(n)
        if head == "film" and i == n_layers - 1:  # the linear output layer is shared
            assert float(delta.abs().max()) == 0.0
    # the perturbation depends on the item
    w = params["layers.1.weight"].detach()
    assert float((w[0] - w[1]).abs().max()) > 0
    out = m(images[:8]).detach()
    assert bool(torch.isfinite(out).all()) and float(out.std()) > 0


def test_training_improves_test_psnr_conv(images):
    m = _model(head="full")
    res = fit_hyper(m, images[:24], steps=60, batch_size=24, test_images=images[24:], eval_every=20, progress=False)
    assert isinstance(res, HyperFitResult)
    assert res.steps == 60 and len(res.train_loss) == 60 and len(res.train_psnr) == 60
    assert res.test_step == [0, 20, 40, 60] and res.test_psnr_final == res.test_psnr[-1]
    assert res.test_psnr_final > res.test_psnr[0] + 1.0
    assert res.time_per_step > 0


def test_training_improves_test_psnr_set_encoder_with_context(images):
    m = _model(head="film", encoder="set")
    train, test = images[:24], images[24:]
    res = fit_hyper(m, train, steps=60, batch_size=24, lr=3e-3, context_fraction=0.25, test_images=test, progress=False)
    assert res.test_psnr_final > res.test_psnr[0] + 1.0
    # it reads the context: better than the best context-free guess, the training set's mean image
    # (measured: 17.2 dB against 16.1 dB)
    mean_image = train.mean(0, keepdim=True).expand_as(test)
    assert res.test_psnr_final > nf.psnr(mean_image, test) + 0.5


def test_fit_hyper_latent_loss_and_checks(images):
    m = _model(latent="sigmoid")
    res = fit_hyper(
        m, images[:8], steps=3, batch_size=4, latent_loss=nf.priors.moment_matching_loss, moment_weight=0.1, progress=False
    )
    assert res.test_psnr_final is None and all(math.isfinite(v) for v in res.train_loss)
    # 9 images in batches of 4: the epoch's last batch of one image is replaced by the next (moments need two codes)
    res = fit_hyper(
        m, images[:9], steps=4, batch_size=4, latent_loss=nf.priors.moment_matching_loss, moment_weight=0.1, progress=False
    )
    assert res.steps == 4 and all(math.isfinite(v) for v in res.history.metrics["latent_loss"])
    with pytest.raises(ConfigError, match="latent_loss"):
        fit_hyper(m, images[:8], steps=1, moment_weight=0.1, progress=False)
    with pytest.raises(ConfigError, match="encoder='set'"):
        fit_hyper(m, images[:8], steps=1, context_fraction=0.5, progress=False)
    with pytest.raises(ShapeError):
        fit_hyper(m, images[:8, :, :8, :8], steps=1, progress=False)


def test_decode_any_resolution_and_sample(images):
    for latent in ("free", "sigmoid"):
        m = _model(latent=latent)
        z = m.encode(images[:2])
        if latent == "sigmoid":
            assert bool(((z > 0) & (z < 1)).all())
        assert m.decode(z, (32, 32)).shape == (2, 1, 32, 32)
        assert m.decode(z, (32, 32), chunk_size=100).shape == (2, 1, 32, 32)
        s = m.sample(5, seed=1)
        assert s.shape == (5, 1, SIZE, SIZE) and float(s.min()) >= 0 and float(s.max()) <= 1
        assert torch.equal(s, m.sample(5, seed=1))
        assert m.sample(2, seed=0, shape=(8, 12)).shape == (2, 1, 8, 12)


def test_set_encoder_context(images):
    m = _model(encoder="set")
    x = images[:3]
    coords, values = m.context_from_images(x, 0.25, seed=0)
    assert coords.shape == (3, 64, 2) and values.shape == (3, 64, 1)
    c2, v2 = m.context_from_images(x, 0.25, seed=0)
    assert torch.equal(coords, c2) and torch.equal(values, v2)
    assert m.context_from_images(x, 1e-6, seed=0)[0].shape == (3, 1, 2)  # at least one pixel
    # the values are the image's pixels at those coordinates
    grid = nf.grid.make_grid((SIZE, SIZE)).reshape(-1, 2)
    flat = x.reshape(3, 1, -1).transpose(1, 2)
    for b in range(3):
        idx = torch.cdist(coords[b], grid).argmin(1)
        assert torch.equal(values[b], flat[b, idx])
    z = m.encode_context(coords, values)
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(z, m.encode_context(coords[:, perm], values[:, perm]), atol=1e-6)
    # all pixels as context == encode(images), at any image size
    full = m.context_from_images(x, 1.0, seed=0)
    assert torch.allclose(m.encode_context(*full), m.encode(x), atol=1e-5)
    assert m(images[:2, :, :8, :8]).shape == (2, 1, 8, 8)


def test_float64(images):
    m = _model(head="film").double()
    out = m(images[:2].double())
    assert out.dtype == torch.float64
    assert torch.allclose(out.float(), _model(head="film")(images[:2]), atol=1e-4)


def test_bad_inputs(images):
    m = _model()
    with pytest.raises(ShapeError, match=r"\(16, 16\)"):
        m.encode(images[:2, :, :8, :8])
    with pytest.raises(ShapeError, match="channels"):
        m.encode(images[:2].expand(-1, 3, -1, -1))
    with pytest.raises(ShapeError, match="batch dimension"):
        m.encode(images[0])
    with pytest.raises(DTypeError, match="floating point"):
        m.encode((images[:2] * 255).to(torch.uint8))
    with pytest.raises(ConfigError, match="encoder='set'"):
        m.encode_context(torch.zeros(1, 4, 2), torch.zeros(1, 4, 1))
    with pytest.raises(ShapeError):
        m.weights(torch.zeros(2, 5))
    with pytest.raises(IndexOutOfRangeError):
        m.export(images[:2], index=2)
    s = _model(encoder="set")
    with pytest.raises(InvalidDataError, match="empty"):
        s.encode_context(torch.zeros(2, 0, 2), torch.zeros(2, 0, 1))
    with pytest.raises(ShapeError):
        s.encode_context(torch.zeros(2, 4, 2), torch.zeros(2, 5, 1))
    with pytest.raises(ConfigError, match="fraction"):
        s.context_from_images(images[:2], 0.0)
    for kw, options in [({"head": "ful"}, "'full'"), ({"encoder": "cnn"}, "'set'"), ({"latent": "tanh"}, "'sigmoid'")]:
        with pytest.raises(ConfigError, match=options):
            _model(**kw)
    with pytest.raises(ConfigError, match="Did you mean 'full'"):
        _model(head="ful")
    with pytest.raises(ConfigError):
        _model(image_size=(16,))
    with pytest.raises(ConfigError):
        _model(rank=0)


def test_heads_are_a_registry_kind(images, isolated_registry):
    from neuralfields.conditioning.hyper_heads import HyperHead

    assert set(HEADS) <= set(nf.available("hyper-head"))
    m = _model(head="lowrank")
    for head in HEADS:
        cls = isolated_registry.get("hyper-head", head)
        assert issubclass(cls, HyperHead)
        built = cls(m.target, 16, 0.01, 2)
        HyperHead.check_output(built(torch.zeros(3, 16), m.target), m.target, 3)

    @nf.register("hyper-head", "test-shift")
    class ShiftHead(HyperHead):
        """Only the last layer's bias depends on the latent."""

        def __init__(self, target, latent_dim, init_scale, rank, **options):
            super().__init__(target, latent_dim, init_scale, rank, **options)
            self.last = target.layout[-1]
            self.linear = torch.nn.Linear(latent_dim, self.last.out_features)

        def forward(self, z, target):
            b = z.shape[0]
            out = {k: p.expand(b, *p.shape) for k, p in target.named_parameters()}
            out[self.last.bias] = out[self.last.bias] + self.linear(z)
            return out

    plugin = _model(head="test-shift")
    assert isinstance(plugin.head, ShiftHead) and plugin(images[:2]).shape == (2, 1, SIZE, SIZE)
    HyperHead.check_output(plugin.weights(plugin.encode(images[:2])), plugin.target, 2)
    res = fit_hyper(plugin, images[:8], steps=2, batch_size=4, progress=False)
    assert res.steps == 2
    with pytest.raises(ConfigError, match="'test-shift'"):
        _model(head="test-shif")
    with pytest.raises(nf.errors.ShapeError, match="missing"):
        HyperHead.check_output({}, plugin.target, 2)
    with pytest.raises(ConfigError, match="no options"):
        ShiftHead(plugin.target, 4, 0.01, 1, colour="red")


def test_heads_read_the_public_layout():
    import inspect

    import neuralfields.conditioning.hyper_heads as heads

    source = inspect.getsource(heads)
    assert "_is_sine" not in source and 'f"layers.' not in source


def test_fit_hyper_history_and_generator(images):
    m = _model(head="film", encoder="set")
    state = torch.get_rng_state()
    res = fit_hyper(m, images[:8], steps=4, batch_size=4, context_fraction=0.5, test_images=images[8:12],
                    eval_every=2, schedule="cosine", progress=False)  # fmt: skip
    assert torch.equal(torch.get_rng_state(), state)  # contexts come from the run's own generator
    h = res.history
    assert isinstance(h, nf.History) and h.step == [1, 2, 3, 4] and h.val_step == [0, 2, 4]
    assert res.train_loss == h.loss and res.train_psnr == h.psnr and res.test_psnr == h.val_psnr
    assert res.test_psnr_final == h.val_psnr[-1] and res.time_per_step > 0 and not res.stopped_early
    # a callback that stops between evaluations still gets the final test PSNR
    stopped = fit_hyper(_model(), images[:8], steps=6, batch_size=4, test_images=images[8:12], eval_every=4,
                        callbacks=[lambda info: info.step == 3], progress=False)  # fmt: skip
    assert stopped.stopped_early and stopped.steps == 3 and stopped.test_step == [0, 3]
