"""fit_many: B fields in one batched computation equal B separate fits; splitting; errors."""

import copy

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, DTypeError, InvalidDataError, ShapeError


@pytest.fixture(scope="module")
def images():
    return nf.data.load_dataset("shapes", n=3, size=12)


@pytest.mark.parametrize("backend", ["eager", "fused"])
@pytest.mark.parametrize("batch_size, holdout", [(None, 0.0), (50, 0.0), (40, 0.2)])
def test_fit_many_equals_separate_fits(images, backend, batch_size, holdout):
    template = nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=3, backend=backend)
    kwargs = dict(steps=25, lr=1e-3, batch_size=batch_size, holdout=holdout, eval_every=5, seed=7, progress=False)
    many = nf.fit_many(template, images, **kwargs)
    assert (many.val_psnr is None) == (holdout == 0.0)
    assert many.history.val_step == ([5, 10, 15, 20, 25] if holdout else [])
    for i in range(3):
        alone = nf.fit(copy.deepcopy(template), images[i], **kwargs)
        assert many.histories[i].loss == pytest.approx(alone.history.loss, rel=1e-4, abs=1e-7)
        assert many.psnr[i] == pytest.approx(alone.psnr, abs=1e-3)
        if holdout:  # the same held-out samples as fit with this seed
            assert many.val_psnr[i] == pytest.approx(alone.val_psnr, abs=1e-3)
        for a, b in zip(many.field(i).parameters(), alone.field.parameters()):
            assert torch.allclose(a, b, atol=1e-5)


def test_result_splits_into_ordinary_fields(images, tmp_path):
    template = nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0)
    before = [p.clone() for p in template.parameters()]
    res = nf.fit_many(template, list(images), steps=40, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, template.parameters()))  # the template is untouched
    fields = res.fields()
    assert len(fields) == len(res) == 3 and all(isinstance(f, nf.Siren) for f in fields)
    for f, img, p in zip(fields, images, res.psnr):
        assert nf.psnr(nf.render(f, (12, 12)), img) == pytest.approx(p, abs=0.05)
        assert p > res.histories[0].psnr[0]
    back = nf.load(nf.save(fields[1], tmp_path / "one.safetensors"))
    assert torch.equal(back(torch.zeros(1, 2)), fields[1](torch.zeros(1, 2)))
    assert res.field(-1).config == template.config
    with pytest.raises(IndexError):
        res.field(3)


def test_fit_many_bad_input(images):
    f = nf.Siren(2, 1, hidden_features=8)
    with pytest.raises(ShapeError, match="one shape"):
        nf.fit_many(f, [images[0], images[1, :, :8]], steps=1, progress=False)
    with pytest.raises(InvalidDataError, match="no signals"):
        nf.fit_many(f, [], steps=1, progress=False)
    with pytest.raises(DTypeError):
        nf.fit_many(f, (images * 255).to(torch.uint8), steps=1, progress=False)
    with pytest.raises(ShapeError, match="channels"):
        nf.fit_many(f, torch.rand(2, 3, 8, 8), steps=1, progress=False)
    with pytest.raises(ConfigError, match="schedule"):
        nf.fit_many(f, images, steps=1, schedule="linear", progress=False)
    with pytest.raises(DTypeError, match="Field"):
        nf.fit_many(torch.nn.Linear(2, 1), images, steps=1, progress=False)
