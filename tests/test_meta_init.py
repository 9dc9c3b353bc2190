"""Meta-learned and shared-encoder starting points: the gradients, the files, and fits that start from them."""

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, FileFormatError, InvalidDataError
from neuralfields.training import MetaInit, SharedEncoderInit, meta_learn, start_from, train_shared_encoder
from neuralfields.training.meta import adapt
from neuralfields.training.meta import member_mse as _mse

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def shapes():
    return nf.data.load_dataset("shapes", n=40, size=12, seed=3)


def _tiny_problem():
    field = nf.Siren(1, 1, hidden_features=3, hidden_layers=1, first_omega_0=3.0, hidden_omega_0=3.0, seed=0).double()
    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)[None, :, None].expand(2, -1, -1)
    y = torch.rand(2, 7, 1, generator=gen, dtype=torch.float64) * 2 - 1
    return field, x, y


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.3), ("adam", 0.05)])
def test_maml_second_order_gradient_matches_a_finite_difference(optimizer, lr):
    """d/dtheta of the loss after two inner steps, through the steps, against central differences."""
    field, x, y = _tiny_problem()
    names = [k for k, _ in field.named_parameters()]

    def outer(theta, differentiable):
        start = {k: theta[k].unsqueeze(0).expand(2, *theta[k].shape) for k in names}
        phi = adapt(field, start, x, y, steps=2, optimizer=optimizer, lr=lr, differentiable=differentiable)
        return _mse(field, phi, x, y).mean()

    theta = {k: p.detach().clone().requires_grad_(True) for k, p in field.named_parameters()}
    outer(theta, True).backward()
    eps = 1e-6
    for k in names:
        for idx in range(theta[k].numel()):
            plus = {n: t.detach().clone() for n, t in theta.items()}
            minus = {n: t.detach().clone() for n, t in theta.items()}
            plus[k].view(-1)[idx] += eps
            minus[k].view(-1)[idx] -= eps
            fd = (outer(plus, False) - outer(minus, False)) / (2 * eps)
            assert abs(float(theta[k].grad.view(-1)[idx]) - float(fd)) < 1e-6 * max(1.0, abs(float(fd))), (k, idx)


def test_first_order_maml_drops_the_second_order_term():
    """FOMAML's gradient is the gradient at the adapted weights: not the MAML gradient on this problem."""
    field, x, y = _tiny_problem()
    theta = {k: p.detach().clone().requires_grad_(True) for k, p in field.named_parameters()}
    start = {k: v.unsqueeze(0).expand(2, *v.shape) for k, v in theta.items()}
    _mse(field, adapt(field, start, x, y, steps=2, lr=0.3, differentiable=True), x, y).mean().backward()
    phi = {k: v.requires_grad_(True) for k, v in adapt(field, start, x, y, steps=2, lr=0.3).items()}
    first = torch.autograd.grad(_mse(field, phi, x, y).mean(), list(phi.values()))
    gap = max(float((theta[k].grad - g.sum(0)).abs().max()) for k, g in zip(theta, first))
    assert gap > 1e-4


def test_adapt_with_zero_learning_rate_is_the_identity_and_sgd_follows_the_gradient():
    field, x, y = _tiny_problem()
    start = {k: p.detach().unsqueeze(0).repeat(2, *([1] * p.dim())) for k, p in field.named_parameters()}
    one = adapt(field, start, x, y, steps=1, lr=0.1)
    grads = torch.func.grad(lambda p: _mse(field, p, x, y).sum())(start)
    for k in start:
        torch.testing.assert_close(one[k], start[k] - 0.1 * grads[k])
    with pytest.raises(ConfigError, match="inner optimizer"):
        adapt(field, start, x, y, steps=1, optimizer="rmsprop")


@pytest.mark.parametrize("algorithm", ["reptile", "fomaml", "maml"])
def test_a_meta_learned_file_starts_fits_lower_on_held_out_images(algorithm, shapes, tmp_path):
    """Learned on 32 images, saved, loaded: the first step's loss on 8 others is lower than from the paper init."""
    train, held_out = shapes[:32], shapes[32:]
    field = nf.Siren(2, 1, hidden_features=24, hidden_layers=2, seed=0)
    res = meta_learn(field, train, algorithm=algorithm, steps=40, lr=1e-3, meta_batch=4, inner_steps=3, progress=False)
    path = res.save(tmp_path / f"{algorithm}.safetensors")
    assert nf.io.read_metadata(path)["init"] == f"meta/{algorithm}"
    torch.testing.assert_close(dict(nf.load(path).named_parameters()), dict(res.field.named_parameters()))

    def first_loss(init):
        fits = nf.fit_many(nf.Siren(2, 1, hidden_features=24, hidden_layers=2, seed=1), held_out, steps=1, init=init,
                           progress=False)  # fmt: skip
        return fits.history.loss[0]

    assert first_loss(str(path)) < 0.7 * first_loss("paper")
    assert first_loss({"name": "meta", "config": {"path": str(path)}}) == first_loss(str(path))


def test_meta_learn_leaves_its_field_alone_and_refuses_bad_settings(shapes):
    field = nf.Siren(2, 1, hidden_features=8, seed=0)
    before = {k: v.clone() for k, v in field.state_dict().items()}
    meta_learn(field, shapes[:4], steps=2, meta_batch=2, progress=False)
    for k, v in field.state_dict().items():
        assert torch.equal(v, before[k])
    with pytest.raises(ConfigError, match="algorithm 'mamal'"):
        meta_learn(field, shapes[:4], algorithm="mamal", progress=False)
    with pytest.raises(InvalidDataError, match="meta_batch 5 is more than the 4"):
        meta_learn(field, shapes[:4], meta_batch=5, progress=False)
    with pytest.raises(ConfigError, match="inner_steps"):
        meta_learn(field, shapes[:4], inner_steps=0, progress=False)
    with pytest.raises(InvalidDataError, match="shape"):
        meta_learn(field, shapes[:4], val_signals=nf.data.load_dataset("shapes", n=2, size=8), progress=False)


def test_an_init_file_for_another_architecture_is_refused(shapes, tmp_path):
    path = nf.save(nf.Siren(2, 1, hidden_features=16, seed=0), tmp_path / "wide.safetensors")
    with pytest.raises(ConfigError, match="another architecture"):
        nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), shapes[0], steps=1, init=str(path), progress=False)
    with pytest.raises(ConfigError, match="another architecture"):  # same shapes, other frequencies
        start_from(nf.Siren(2, 1, hidden_features=16, first_omega_0=10.0, seed=0), path)
    with pytest.raises(FileFormatError):
        MetaInit(tmp_path / "missing.safetensors")(nf.Siren(2, 1, hidden_features=16, seed=0))
    with pytest.raises(ConfigError, match="not both"):
        MetaInit(path, steps=3)


class _NoLayers(nf.Field):
    in_features, out_features = 2, 1

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, coords):
        return self.linear(coords)


def test_shared_encoder_transfers_its_layers_and_keeps_the_fields_head(shapes, tmp_path):
    template = nf.Siren(2, 1, hidden_features=16, hidden_layers=3, seed=0)
    res = train_shared_encoder(template, shapes[:6], steps=60, batch_size=None, progress=False)
    assert res.shared == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert res.history.psnr[-1] > res.history.psnr[0] + 3
    assert res.heads["layers.3.weight"].shape == (6, 1, 16)
    path = res.save(tmp_path / "encoder.safetensors")
    target = nf.Siren(2, 1, hidden_features=16, hidden_layers=3, seed=7)
    own_head = target.layers[2].weight.clone()
    SharedEncoderInit(path)(target)
    assert torch.equal(target.layers[0].weight, res.field.layers[0].weight)
    assert not torch.equal(target.layers[0].weight, template.layers[0].weight)
    assert torch.equal(target.layers[2].weight, own_head)  # the head is the field's own
    with pytest.raises(ConfigError, match="at least the output layer"):
        train_shared_encoder(template, shapes[:2], shared_layers=4, progress=False)
    with pytest.raises(ConfigError, match="'layers' list"):
        train_shared_encoder(_NoLayers(), shapes[:2], progress=False)


def test_fit_many_starts_each_member_from_its_own_field(shapes):
    starts = [nf.Siren(2, 1, hidden_features=8, seed=s) for s in range(3)]
    res = nf.fit_many(starts, shapes[:3], steps=5, progress=False)
    assert torch.equal(starts[0].layers[0].weight, nf.Siren(2, 1, hidden_features=8, seed=0).layers[0].weight)
    for i, start in enumerate(starts):
        alone = nf.fit(start, shapes[i], steps=5, progress=False)
        assert abs(res.psnr[i] - alone.psnr) < 1e-3
    with pytest.raises(InvalidDataError, match="3 starting fields for 2 signals"):
        nf.fit_many(starts, shapes[:2], steps=1, progress=False)
    with pytest.raises(InvalidDataError, match="one architecture"):
        nf.fit_many([starts[0], nf.Siren(2, 1, hidden_features=4, seed=0)], shapes[:2], steps=1, progress=False)


def test_second_order_maml_with_adam_stays_finite_where_gradients_are_zero():
    """Unvisited hash-grid rows have exactly zero gradients: sqrt's derivative there must not give NaN."""
    images = nf.data.load_dataset("shapes", n=6, size=8)
    field = nf.HashGrid(2, 1, levels=2, table_size=64, base_resolution=2, max_resolution=16, hidden_features=8,
                        hidden_layers=1, seed=0)  # fmt: skip
    res = meta_learn(field, images, algorithm="maml", inner_optimizer="adam", steps=3, meta_batch=2, inner_steps=2,
                     progress=False)  # fmt: skip
    assert all(torch.isfinite(p).all() for p in res.field.parameters())


def test_starting_points_carry_their_buffers_and_mismatched_starts_are_refused(tmp_path):
    start = nf.FourierFeatures(2, 1, num_frequencies=8, hidden_features=8, seed=0)
    target = nf.FourierFeatures(2, 1, num_frequencies=8, hidden_features=8, seed=5)
    start_from(target, nf.save(start, tmp_path / "ff.safetensors"))
    assert torch.equal(target.frequencies, start.frequencies)
    images = nf.data.load_dataset("shapes", n=2, size=8)
    with pytest.raises(InvalidDataError, match="one architecture"):
        nf.fit_many([nf.Siren(2, 1, 8, seed=0), nf.Siren(2, 1, 8, first_omega_0=60.0, seed=1)], images, steps=1, progress=False)
    with pytest.raises(InvalidDataError, match="buffers"):
        nf.fit_many([start, nf.FourierFeatures(2, 1, num_frequencies=8, hidden_features=8, seed=5)], images, steps=1,
                    progress=False)  # fmt: skip


def test_a_hash_grids_table_is_part_of_its_shared_encoder():
    grid = nf.HashGrid(2, 1, levels=2, table_size=64, hidden_features=8, hidden_layers=2, seed=0)
    assert nf.training.shared_encoder.shared_parameter_names(grid)[0] == "table"
