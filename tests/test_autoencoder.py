"""The autoencoder prior: shapes, energy, training, moment matching, save/load, errors."""

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, ShapeError
from neuralfields.priors import AutoEncoder, ks_uniform, pair_occupancy
from neuralfields.training import train_autoencoder


@pytest.fixture(scope="module")
def digits():
    return nf.data.load_dataset("digits", n=512, size=8)


def test_shapes_and_ranges():
    ae = AutoEncoder((8, 12), channels=3, latent_dim=4, seed=0)
    x = torch.rand(5, 3, 8, 12)
    z = ae.encode(x)
    assert z.shape == (5, 4) and bool((z >= 0).all()) and bool((z <= 1).all())
    y = ae(x)
    assert y.shape == x.shape and bool((y >= 0).all()) and bool((y <= 1).all())
    assert torch.allclose(ae.energy(x), (y - x).flatten(1).norm(dim=1))


def test_energy_is_differentiable_in_x():
    ae = AutoEncoder((8, 8), latent_dim=2, temperature=0.5, seed=0)
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    ae = ae.double()
    assert torch.autograd.gradcheck(lambda t: ae.energy(t), (x,))


def test_training_and_moment_matching_cover_the_latent_space(digits):
    plain = AutoEncoder((8, 8), latent_dim=2, seed=0)
    h = train_autoencoder(plain, digits, steps=600)
    assert h.loss[-1] < 0.5 * h.loss[0]
    matched = AutoEncoder((8, 8), latent_dim=2, seed=0)
    hm = train_autoencoder(matched, digits, steps=600, moment_weight=0.1)
    assert hm.loss[-1] < 0.5 * hm.loss[0]  # it still reconstructs
    zp, zm = plain.encode(digits).detach(), matched.encode(digits).detach()
    assert float(ks_uniform(zm).max()) < float(ks_uniform(zp).max())
    assert pair_occupancy(zm) > pair_occupancy(zp)


def test_save_load(tmp_path):
    ae = AutoEncoder((8, 8), latent_dim=3, seed=1)
    back = nf.load(nf.save(ae, tmp_path / "ae.safetensors"))
    x = torch.rand(4, 1, 8, 8)
    assert "autoencoder" in nf.available("prior")
    assert torch.equal(back(x), ae(x)) and back.config == ae.config


def test_errors():
    with pytest.raises(ConfigError, match="divisible by 4"):
        AutoEncoder((6, 8))
    ae = AutoEncoder((8, 8))
    with pytest.raises(ShapeError, match=r"\(B, 1, 8, 8\)"):
        ae(torch.rand(2, 1, 16, 16))
    with pytest.raises(ShapeError, match="latents"):
        ae.decode(torch.rand(2, 3))
    with pytest.raises(ConfigError, match="temperature"):
        AutoEncoder((8, 8), temperature=0)


def test_seed_leaves_the_global_rng_alone_and_keeps_the_weights():
    state = torch.get_rng_state()
    ae = AutoEncoder((8, 8), latent_dim=3, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    # the weights are those of earlier versions, which seeded the global RNG and built the layers from it
    torch.manual_seed(0)
    reference = AutoEncoder((8, 8), latent_dim=3)
    torch.set_rng_state(state)
    for (name, p), q in zip(ae.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(p, q), name


def test_train_autoencoder_result_and_evaluation(digits):
    ae = AutoEncoder((8, 8), latent_dim=2, width=4, seed=0)
    res = train_autoencoder(ae, digits[:64], steps=6, batch_size=16, test_images=digits[64:80], eval_every=3,
                            schedule="cosine", progress=False)  # fmt: skip
    h = res.history
    assert isinstance(h, nf.History) and res.steps == 6 and not res.stopped_early
    assert res.loss == h.loss and len(res.loss) == 6 and res.time == h.time
    assert res.moment_loss == [0.0] * 6 == h.metrics["moment_loss"]
    assert h.val_step == [0, 3, 6] and len(h.val_psnr) == 3 and len(h.psnr) == 6
    with pytest.raises(ConfigError, match="moment_weight"):
        train_autoencoder(ae, digits, steps=1, moment_weight=-1.0, progress=False)
    with pytest.raises(ShapeError):
        train_autoencoder(ae, digits, steps=1, test_images=digits[:, :, :4], progress=False)
    with pytest.raises(nf.errors.DTypeError, match="AutoEncoder"):
        train_autoencoder(torch.nn.Linear(2, 2), digits, steps=1, progress=False)
