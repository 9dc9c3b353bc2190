"""PSNR and SSIM on the [0, 1] scale."""

import math

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ShapeError
from neuralfields.training import mse_to_psnr


def test_psnr_known_values():
    a = torch.zeros(1, 8, 8)
    assert nf.psnr(a + 0.1, a) == pytest.approx(20.0)
    assert nf.psnr(a + 0.01, a) == pytest.approx(40.0)
    assert nf.psnr(a, a) == math.inf
    assert mse_to_psnr(0.04, data_range=2.0) == pytest.approx(20.0)  # same error on a [-1, 1] scale


def test_ssim_identity_and_monotone_in_noise():
    img = nf.data.load_image("camera", size=64)
    gen = torch.Generator().manual_seed(0)
    assert nf.ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    noisy = [(img + s * torch.randn(img.shape, generator=gen)).clamp(0, 1) for s in (0.02, 0.1, 0.3)]
    values = [nf.ssim(n, img) for n in noisy]
    assert values[0] > values[1] > values[2] > 0
    batch = torch.stack([img, noisy[1]])
    assert nf.ssim(batch, torch.stack([img, img])) == pytest.approx((1.0 + values[1]) / 2, abs=1e-4)
    tiny = torch.rand(1, 5, 5)
    assert nf.ssim(tiny, tiny) == pytest.approx(1.0, abs=1e-6)  # window shrinks to fit


def test_metric_errors():
    with pytest.raises(ShapeError, match="differ"):
        nf.psnr(torch.zeros(1, 4, 4), torch.zeros(1, 4, 5))
    with pytest.raises(ShapeError, match=r"\(C, H, W\)"):
        nf.ssim(torch.zeros(16), torch.zeros(16))
