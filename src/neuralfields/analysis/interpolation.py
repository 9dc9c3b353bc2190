"""Interpolation between two items of a conditioned field, and how far it is from an alpha blend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..conditioning import ConditionedField
from ..errors import ConfigError
from ..fields.render import to_unit
from ..grid import make_grid
from .places import layer_of

__all__ = ["Interpolation", "interpolate", "blend_distance"]


@dataclass
class Interpolation:
    """Frames between two items.

    Attributes:
        alphas: ``(T,)`` from 0 (item ``a``) to 1 (item ``b``).
        frames: ``(T, C, H, W)`` in [0, 1] (clamped, for display).
        raw: the same frames before clamping (for measurements).
        place: where the interpolation happened.
        blend_distance: RMS difference (on the [0, 1] scale) between the frames and the alpha blends
            ``(1 - alpha) * frame_0 + alpha * frame_1`` of the end frames; 0 means "just blending".

    Example:
        >>> import neuralfields as nf
        >>> f = nf.ConditionedField(nf.Siren(4, 1, hidden_features=8, seed=0), nf.BinaryCode(4))
        >>> out = interpolate(f, 0, 1, shape=(8, 8), steps=3)
        >>> type(out).__name__, out.place, out.alphas.tolist(), tuple(out.raw.shape)
        ('Interpolation', 'conditioning', [0.0, 0.5, 1.0], (3, 1, 8, 8))
        >>> bool(torch.equal(out.frames, out.raw.clamp(0, 1))), out.blend_distance == blend_distance(out.raw, out.alphas)
        (True, True)
    """

    alphas: Tensor
    frames: Tensor
    raw: Tensor
    place: str
    blend_distance: float


def blend_distance(frames: Tensor, alphas: Tensor) -> float:
    """RMS difference between frames ``(T, ...)`` and the alpha blends of their first and last frame.

    Example:
        >>> alphas = torch.linspace(0, 1, 5)
        >>> frames = alphas.reshape(5, 1, 1, 1).expand(5, 1, 4, 4).clone()  # from black to white: a blend
        >>> blend_distance(frames, alphas)
        0.0
        >>> frames[2] = 0.0  # the middle frame is 0.5 off the blend everywhere: sqrt(0.5**2 / 5)
        >>> round(blend_distance(frames, alphas), 4)
        0.2236
    """
    a = alphas.to(frames).reshape(-1, *([1] * (frames.dim() - 1)))
    blend = (1 - a) * frames[0] + a * frames[-1]
    return float(torch.sqrt(torch.mean((frames.double() - blend.double()) ** 2)))


@torch.no_grad()
def interpolate(
    field: ConditionedField, a: int, b: int, *, place: str = "conditioning", shape: Sequence[int] = (64, 64), steps: int = 8
) -> Interpolation:
    """Interpolate linearly between items ``a`` and ``b`` at ``place`` and render the frames.

    At an input place the conditioning's inputs (extra channels and codes) are interpolated; at a layer
    place the activations of that layer are, at every pixel (with the codes of any later modulations).
    Interpolating the last hidden layer of a field with a linear output layer is exactly an alpha blend
    of the two images, which :attr:`Interpolation.blend_distance` measures.

    Args:
        field: a conditioned field with 2-D coordinates.
        a, b: the two items.
        place: see :data:`~neuralfields.analysis.PLACES`.
        shape: render size ``(H, W)``.
        steps: number of frames including both ends (at least 2).

    Example:
        >>> import neuralfields as nf
        >>> f = nf.ConditionedField(nf.Siren(4, 1, hidden_features=16, seed=0), nf.BinaryCode(4))
        >>> out = interpolate(f, 0, 3, place="last_hidden", shape=(8, 8), steps=5)
        >>> out.frames.shape, out.blend_distance < 1e-6
        (torch.Size([5, 1, 8, 8]), True)
    """
    layer = layer_of(field, place)
    if not isinstance(steps, int) or steps < 2:
        raise ConfigError(f"steps must be an int >= 2, got {steps!r}")
    device = next(field.parameters()).device
    alphas = torch.linspace(0.0, 1.0, steps, device=device)
    features, codes = field.inputs(torch.tensor([a, b]), device=device)
    coords = make_grid(tuple(shape), device=device).reshape(-1, field.in_features)
    w = alphas[:, None]

    def mix(x: Tensor | None) -> Tensor | None:
        return None if x is None else (1 - w) * x[0] + w * x[1]

    if layer is None:
        out = field.forward_inputs(coords, mix(features), mix(codes))  # type: ignore[arg-type]
    else:
        h = field.activations(coords, features, codes, layer)  # (2, P, width)
        hw = alphas[:, None, None]
        out = field.decode_from((1 - hw) * h[0] + hw * h[1], mix(codes), layer)
    raw = to_unit(out).transpose(1, 2).reshape(steps, field.out_features, *shape).cpu()
    return Interpolation(alphas.cpu(), raw.clamp(0, 1), raw, place, blend_distance(raw, alphas.cpu()))
