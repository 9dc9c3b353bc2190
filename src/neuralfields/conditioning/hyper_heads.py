"""The heads of a :class:`~neuralfields.HyperSiren`: latent codes -> the weights of a SIREN per item.

A head is a registry kind (``"hyper-head"``): subclass :class:`HyperHead`, implement :meth:`HyperHead.forward`
and register it with ``@neuralfields.register("hyper-head", name)``; ``HyperSiren(head=name)`` then uses it.
Every head emits the same dict, name -> ``(B, *shape)`` with the names and shapes of
``target.batch_parameters(B)``, which :meth:`~neuralfields.Siren.forward_batched` evaluates. Heads read the
target's parameters through its public layout (:attr:`~neuralfields.Siren.layout`).

Built-in heads (:data:`HEADS`): ``"full"`` (:class:`FullHead`), ``"lowrank"`` (:class:`LowRankHead`) and
``"film"`` (:class:`FilmHead`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from .._registry import register
from ..errors import ConfigError, ShapeError
from ..fields.siren import Siren

__all__ = ["HEADS", "HyperHead", "FullHead", "LowRankHead", "FilmHead"]

HEADS = ("full", "lowrank", "film")
"""The built-in heads of a :class:`~neuralfields.HyperSiren` (plugins register more under ``"hyper-head"``)."""


def _small_linear(n_in: int, n_out: int, scale: float, bias: bool = True) -> nn.Linear:
    """A linear layer with PyTorch's default weights times ``scale`` and a zero bias."""
    layer = nn.Linear(n_in, n_out, bias=bias)
    with torch.no_grad():
        layer.weight.mul_(scale)
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


class HyperHead(nn.Module):
    """Base class of the heads: latent codes ``(B, latent_dim)`` -> per-item parameters of ``target``.

    The target SIREN's own parameters are the shared base every head builds on (they train with the
    hypernetwork); the head's latent-dependent part should start small (``init_scale`` times PyTorch's
    default init), so that at step 0 every item's network is a valid reference-init SIREN.

    Args:
        target: the template SIREN whose parameters the head emits (read its :attr:`~neuralfields.Siren.layout`).
        latent_dim: size of the latent codes.
        init_scale: initial scale of the latent-dependent part, relative to PyTorch's default init.
        rank: a rank for heads that use one (others ignore it).
        **options: head-specific options; the base class accepts none.

    Raises:
        ConfigError: an option the head does not know.

    Example:
        A head that ignores the codes (every item gets the target's own weights), and a built-in one:

        >>> class SharedHead(HyperHead):
        ...     def forward(self, z, target):
        ...         return {name: p.expand(z.shape[0], *p.shape) for name, p in target.named_parameters()}
        >>> target = Siren(2, 1, 8, hidden_layers=1, seed=0)
        >>> params = SharedHead(target, latent_dim=4, init_scale=0.1, rank=1)(torch.zeros(3, 4), target)
        >>> HyperHead.check_output(params, target, batch=3)  # the names and shapes of target.batch_parameters(3)
        >>> target.forward_batched(params, torch.zeros(3, 5, 2)).shape
        torch.Size([3, 5, 1])
        >>> isinstance(FullHead(target, latent_dim=4, init_scale=0.1, rank=1), HyperHead)
        True
    """

    def __init__(self, target: Siren, latent_dim: int, init_scale: float, rank: int, **options: Any) -> None:
        super().__init__()
        if options:
            raise ConfigError(f"the {type(self).__name__} head takes no options, got {sorted(options)}")
        self.latent_dim, self.init_scale, self.rank = latent_dim, init_scale, rank

    def forward(self, z: Tensor, target: Siren) -> dict[str, Tensor]:
        """Per-item parameters: ``z (B, latent_dim)`` -> dict name -> ``(B, *shape)``, exactly the names and
        shapes of ``target.batch_parameters(B)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(z, target)")

    @staticmethod
    def check_output(params: Mapping[str, Tensor], target: Siren, batch: int) -> None:
        """Raise a :class:`~neuralfields.errors.ShapeError` unless ``params`` has exactly the names and
        shapes of ``target.batch_parameters(batch)`` (what a head must emit)."""
        expected = {name: (batch, *p.shape) for name, p in target.named_parameters()}
        got = {name: tuple(t.shape) for name, t in params.items()}
        if got != expected:
            missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
            wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
            raise ShapeError(
                f"a head must emit the names and shapes of target.batch_parameters({batch}); "
                f"missing {missing}, unexpected {extra}, wrong shapes {[(k, got[k], expected[k]) for k in wrong]}"
            )


@register("hyper-head", "full")
class FullHead(HyperHead):
    """Every parameter from the latent: ``p = base_p + bound_p * (H z)_p``.

    ``bound_p`` is the reference init's bound of that parameter, so the head works in units of each layer's
    init scale; ``H`` (no bias: the shared part is the base) starts at ``init_scale`` times PyTorch's default.

    Example:
        >>> target = Siren(2, 1, 8, hidden_layers=1, seed=0)
        >>> params = FullHead(target, latent_dim=4, init_scale=0.01, rank=1)(torch.zeros(3, 4), target)
        >>> params["layers.0.weight"].shape, bool(torch.equal(params["layers.0.weight"][0], target.layers[0].weight))
        (torch.Size([3, 8, 2]), True)
    """

    def __init__(self, target: Siren, latent_dim: int, init_scale: float, rank: int, **options: Any) -> None:
        super().__init__(target, latent_dim, init_scale, rank, **options)
        bounds: list[Tensor] = []
        self._shapes: list[tuple[str, tuple[int, ...]]] = []
        for layer in target.layout:
            for name, shape, bound in (
                (layer.weight, (layer.out_features, layer.in_features), layer.weight_bound),
                (layer.bias, (layer.out_features,), layer.bias_bound),
            ):
                self._shapes.append((name, shape))
                bounds.append(torch.full((math.prod(shape),), bound))
        self.register_buffer("bounds", torch.cat(bounds), persistent=False)
        self.linear = _small_linear(latent_dim, self.bounds.numel(), init_scale, bias=False)

    def forward(self, z: Tensor, target: Siren) -> dict[str, Tensor]:
        delta = self.linear(z) * self.bounds
        base = dict(target.named_parameters())
        out, start = {}, 0
        for name, shape in self._shapes:
            n = math.prod(shape)
            out[name] = base[name] + delta[:, start : start + n].reshape(-1, *shape)
            start += n
        return out


@register("hyper-head", "lowrank", example={"rank": 2})
class LowRankHead(HyperHead):
    """Shared weights times a per-item rank-``r`` factor, ``W = W0 * (1 + u v^T)``; ``b = b0 + bound * shift``.

    ``u`` and the bias shift start at ``init_scale`` times PyTorch's default init, ``v`` at the default
    (as in LoRA: the product starts small while both factors still get gradients).
    """

    def __init__(self, target: Siren, latent_dim: int, init_scale: float, rank: int, **options: Any) -> None:
        super().__init__(target, latent_dim, init_scale, rank, **options)
        layout = target.layout
        self._dims = [(layer.out_features, layer.in_features) for layer in layout]
        self.u = _small_linear(latent_dim, rank * sum(o for o, _ in self._dims), init_scale)
        self.v = nn.Linear(latent_dim, rank * sum(i for _, i in self._dims))
        self.shift = _small_linear(latent_dim, sum(o for o, _ in self._dims), init_scale)
        bias_bounds = [torch.full((layer.out_features,), layer.bias_bound) for layer in layout]
        self.register_buffer("bias_bounds", torch.cat(bias_bounds), persistent=False)

    def forward(self, z: Tensor, target: Siren) -> dict[str, Tensor]:
        b, r = z.shape[0], self.rank
        u_all, v_all, shift_all = self.u(z), self.v(z), self.shift(z) * self.bias_bounds
        base = dict(target.named_parameters())
        out: dict[str, Tensor] = {}
        su = sv = so = 0
        for layer, (o, n) in zip(target.layout, self._dims):
            u = u_all[:, su : su + o * r].reshape(b, o, r)
            v = v_all[:, sv : sv + n * r].reshape(b, n, r)
            out[layer.weight] = base[layer.weight] * (1.0 + torch.bmm(u, v.transpose(1, 2)))
            out[layer.bias] = base[layer.bias] + shift_all[:, so : so + o]
            su, sv, so = su + o * r, sv + n * r, so + o
        return out


@register("hyper-head", "film")
class FilmHead(HyperHead):
    """A shared SIREN with per-item FiLM of every sine layer, folded into the weights:
    ``scale * (W x + b) + shift = (scale * W) x + (scale * b + shift)``. The head starts at ``init_scale``
    times PyTorch's default with a zero bias, so ``scale ~ 1`` and ``shift ~ 0``; a linear output layer
    is shared.

    Args:
        film_scale: emit a scale as well as a shift (else only a shift).
    """

    def __init__(
        self, target: Siren, latent_dim: int, init_scale: float, rank: int, film_scale: bool = True, **options: Any
    ) -> None:
        super().__init__(target, latent_dim, init_scale, rank, **options)
        self.film_scale = film_scale
        self._widths = [layer.out_features for layer in target.layout if layer.sine]
        per = 2 if film_scale else 1
        self.linear = _small_linear(latent_dim, per * sum(self._widths), init_scale)

    def forward(self, z: Tensor, target: Siren) -> dict[str, Tensor]:
        b = z.shape[0]
        mods = self.linear(z)
        base = dict(target.named_parameters())
        out: dict[str, Tensor] = {}
        start = 0
        for layer in target.layout:
            w, bias = base[layer.weight], base[layer.bias]
            if not layer.sine:
                out[layer.weight] = w.expand(b, *w.shape)
                out[layer.bias] = bias.expand(b, *bias.shape)
                continue
            o = layer.out_features
            if self.film_scale:
                scale = 1.0 + mods[:, start : start + o]
                start += o
            else:
                scale = torch.ones(b, o, dtype=z.dtype, device=z.device)
            shift = mods[:, start : start + o]
            start += o
            out[layer.weight] = scale[:, :, None] * w
            out[layer.bias] = scale * bias + shift
        return out
