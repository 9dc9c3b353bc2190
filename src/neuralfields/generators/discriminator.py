"""The critic of adversarial training: a small convolutional network on rendered images."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_float_tensor, check_positive_int, check_seed
from ..errors import ShapeError

__all__ = ["Discriminator"]


class Discriminator(nn.Module):
    """Images ``(B, C, H, W)`` on the fields' [-1, 1] scale -> one logit each ``(B,)`` (real: high).

    A 3x3 convolution of ``width`` channels, then ``blocks`` stride-2 convolutions that double the
    channels, leaky ReLUs, an average pool to 4x4, a 3x3 convolution and a linear layer: any image size of
    at least 4x4. With ``minibatch_std`` the last convolution also sees how much the batch's features vary
    (their standard deviation over the batch, averaged, as one more channel), so a generator whose samples
    all look alike is told apart from real data: the usual remedy for mode collapse (as in StyleGAN). The
    logits then depend on the whole batch.

    Args:
        channels: image channels.
        width: channels of the first convolution.
        blocks: stride-2 blocks.
        minibatch_std: append the batch's feature spread to every image's features.
        seed: seed of the initialisation (an int leaves the global RNG untouched).

    Example:
        >>> d = Discriminator(1, width=8, seed=0)
        >>> d(torch.zeros(5, 1, 16, 16)).shape
        torch.Size([5])
    """

    def __init__(self, channels: int = 1, width: int = 32, blocks: int = 2, minibatch_std: bool = True,
                 seed: int | None = None) -> None:  # fmt: skip
        super().__init__()
        self.minibatch_std = bool(minibatch_std)
        self.channels = check_positive_int("channels", channels)
        width, blocks = check_positive_int("width", width), check_positive_int("blocks", blocks)
        with torch.random.fork_rng(devices=[], enabled=check_seed(seed, allow_none=True) is not None):
            if seed is not None:
                torch.manual_seed(seed)
            layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2)]
            for i in range(blocks):
                layers += [nn.Conv2d(width << i, width << (i + 1), 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            top = width << blocks
            self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4))
            self.head = nn.Sequential(nn.Conv2d(top + self.minibatch_std, top, 3, padding=1), nn.LeakyReLU(0.2), nn.Flatten(),
                                      nn.Linear(top * 16, 1))  # fmt: skip

    def forward(self, images: Tensor) -> Tensor:
        """Logits ``(B,)`` of images ``(B, C, H, W)`` on the [-1, 1] scale."""
        x: Any = check_float_tensor("images", images)
        if x.dim() != 4 or x.shape[1] != self.channels or min(x.shape[-2:]) < 4:
            raise ShapeError(f"the discriminator takes images (B, {self.channels}, H, W) with H, W >= 4, got {tuple(x.shape)}")
        feats = self.features(x)  # (B, top, 4, 4)
        if self.minibatch_std:  # one more channel: the batch's spread, the same for every image
            spread = feats.std(dim=0, unbiased=False).mean() if feats.shape[0] > 1 else feats.new_zeros(())
            feats = torch.cat([feats, spread.expand(feats.shape[0], 1, *feats.shape[2:])], dim=1)
        return self.head(feats).squeeze(1)
