"""Augmentation for dataset fits: no held-out leakage, determinism, and training with it."""

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError
from neuralfields.training import augment_batch, augmentation


@pytest.mark.parametrize("seed", range(5))
def test_held_out_values_never_reach_the_augmented_images(seed):
    """Images that are 0 on training pixels and 1 on held-out pixels: after flips, rotations and
    crops every augmented pixel is exactly 0 (no held-out value reached any pixel), and most pixels
    remain trainable."""
    masks = nf.grid.holdout_masks(4, (24, 24), 0.1, seed=seed)
    images = masks[:, None].float()
    aug = augmentation((24, 24), rotation=30.0, crop_scale=(0.6, 1.0), jitter=0.0)
    out, trainable = augment_batch(aug, images, masks, seed=seed)
    assert out.shape == images.shape and trainable.shape == masks.shape
    assert float(out.abs().max()) == 0.0
    assert 0.5 < float(trainable.float().mean()) < 0.95


def test_photometric_only_keeps_positions():
    masks = nf.grid.holdout_masks(2, (16, 16), 0.1, seed=0)
    aug = augmentation((16, 16), flip=False, rotation=0.0, crop_scale=None, jitter=0.2)
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    out, trainable = augment_batch(aug, images, masks, seed=1)
    assert torch.equal(trainable, ~masks)
    assert not torch.allclose(out, images)  # the colours did change


def test_deterministic_and_leaves_global_rng_alone():
    masks = nf.grid.holdout_masks(2, (16, 16), 0.1, seed=0)
    images = torch.rand(2, 1, 16, 16)
    aug = augmentation((16, 16))
    torch.manual_seed(123)
    a = augment_batch(aug, images, masks, seed=7)
    after = torch.rand(1)
    torch.manual_seed(123)
    b = augment_batch(aug, images, masks, seed=7)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(after, torch.rand(1))
    assert not torch.equal(a[0], augment_batch(aug, images, masks, seed=8)[0])


def test_fit_dataset_with_augmentation():
    images = torch.stack([nf.data.load_image(n, size=16, channels=1) for n in ("camera", "moon", "coins")])
    cond = nf.BinaryCode(3)
    make = lambda: nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, 32, seed=0), nf.BinaryCode(3))  # noqa: E731
    aug = augmentation((16, 16), rotation=10.0)
    a = nf.fit_dataset(make(), images, steps=20, augment=aug, progress=False)
    b = nf.fit_dataset(make(), images, steps=20, augment=aug, progress=False)
    plain = nf.fit_dataset(make(), images, steps=20, progress=False)
    assert a.history.loss == b.history.loss  # the same seed, the same augmentations
    assert a.history.loss != plain.history.loss
    assert a.psnr > nf.psnr(images.mean((2, 3), keepdim=True).expand_as(images), images)


def test_empty_augmentation_is_an_error():
    with pytest.raises(ConfigError, match="does nothing"):
        augmentation((8, 8), flip=False, rotation=0, crop_scale=None, jitter=0)
