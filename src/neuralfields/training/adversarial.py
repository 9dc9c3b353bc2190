"""Adversarial training of a :class:`~neuralfields.generators.FieldGenerator`: :func:`train_field_generator`,
an adapter on the engine (:mod:`neuralfields._loop`).

The recipe: the non-saturating logistic loss, an R1 penalty on the discriminator's gradient at real
images, Adam with ``betas=(0, 0.99)``, a minibatch-deviation channel in the discriminator against mode
collapse, and an exponential moving average (EMA) of the generator's weights, which is the generator one
samples from. Each step updates the discriminator first (its optimiser belongs to the task and is
checkpointed with it), then the generator against the updated discriminator (the engine's optimiser):
alternating updates, the usual scheme. How the recipe was found is on the docs' "Generators of fields"
page.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_positive_float, check_positive_int, check_seed
from .._loop import run
from .._task import StepInfo, StepOutput, Task
from ..errors import ConfigError, DTypeError, InvalidDataError, ShapeError
from ..fields.render import from_unit
from ..generators import Discriminator, FieldGenerator
from ..grid import RandomBatches
from ._inputs import stack_images
from .history import TrainResult

__all__ = ["train_field_generator", "FieldGeneratorResult"]

Metric = Callable[[FieldGenerator], Mapping[str, float]]


@dataclass
class FieldGeneratorResult(TrainResult):
    """What :func:`train_field_generator` returns.

    Attributes:
        history: per step the generator's loss (``loss``) and in ``metrics``: ``d_loss`` (the
            discriminator's logistic loss), ``r1`` (the penalty before its weight), ``d_real`` and
            ``d_fake`` (the mean logits); the ``metric``'s values at evaluations (``val_metrics``).
        generator: the EMA of the generator's weights (a copy): the one to sample from.
        discriminator: the trained discriminator.
        stopped_early: a callback stopped the run before ``steps``.

    Example:
        >>> import neuralfields as nf
        >>> g = nf.generators.FieldGenerator((8, 8), noise_dim=4, latent_dim=4, hidden_features=8, seed=0)
        >>> res = train_field_generator(g, nf.data.load_dataset("digits", n=16, size=8), steps=3, batch_size=8,
        ...                             progress=False)
        >>> res.steps, sorted(res.history.metrics), res.generator.sample(2).shape
        (3, ['d_fake', 'd_loss', 'd_real', 'r1'], torch.Size([2, 1, 8, 8]))
    """

    generator: Any = None
    discriminator: Any = None


def _blend(ema: nn.Module, model: nn.Module, decay: float) -> None:
    with torch.no_grad():
        for e, p in zip(ema.parameters(), model.parameters()):
            e.lerp_(p, 1.0 - decay)


class _AdversarialTask(Task):
    """Per step: a discriminator update (its own Adam, in this task), then the generator's gradients
    against the updated discriminator (the engine's optimiser updates the generator); the EMA folded in
    lazily."""

    def __init__(self, generator: FieldGenerator, discriminator: Discriminator, images: Tensor, batch_size: int,
                 settings: dict[str, Any], metric: Metric | None) -> None:  # fmt: skip
        self.model = nn.ModuleDict({"generator": generator, "discriminator": discriminator})
        self.generator, self.discriminator = generator, discriminator
        self.real = from_unit(images)  # the fields' [-1, 1] scale
        self.batches = RandomBatches(images.shape[0], batch_size, seed=settings["seed"])
        self.r1_weight, self.ema_decay, self.ratio = settings["r1_weight"], settings["ema_decay"], settings["discriminator_lr_ratio"]
        self.metric = metric
        self.d_opt = torch.optim.Adam(discriminator.parameters(), betas=tuple(settings["betas"]))
        self.gen = torch.Generator().manual_seed(settings["seed"] + 1)  # the noise (checkpointed)
        self.ema = copy.deepcopy(generator).requires_grad_(False)
        self.folded = 0  # updates folded into the EMA
        self.pending = 0  # updates the generator will have had once the engine has made this step's

    def parameters(self) -> list[Tensor]:
        return list(self.generator.parameters())

    def fold(self, updates: int) -> None:
        """Fold the weights after ``updates`` updates into the EMA (once; ramped up over the first steps)."""
        if self.folded < updates:
            _blend(self.ema, self.generator, min(self.ema_decay, (1.0 + updates) / (10.0 + updates)))
            self.folded = updates

    def _noise(self, n: int) -> Tensor:
        noise = torch.randn(n, self.generator.noise_dim, generator=self.gen, dtype=self.real.dtype)
        return noise.to(self.real.device)

    def step(self, step: int, lr: float) -> StepOutput:
        self.fold(step)
        g, d = self.generator, self.discriminator
        idx = self.batches.batch(step)
        if len(idx) < 2:  # the short last batch of an epoch: the minibatch deviation needs two images
            idx = self.batches.batch(step + 1)
        real = self.real[idx.to(self.real.device)].requires_grad_(self.r1_weight > 0)
        with torch.no_grad():
            fake = g.field_values(g.map(self._noise(real.shape[0])))
        d_real, d_fake = d(real), d(fake)
        d_loss = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        r1 = real.new_zeros(())
        if self.r1_weight > 0:
            (slope,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            r1 = slope.square().sum(dim=(1, 2, 3)).mean()
        metrics = {"d_loss": float(d_loss.detach()), "r1": float(r1.detach()),
                   "d_real": float(d_real.detach().mean()), "d_fake": float(d_fake.detach().mean())}  # fmt: skip
        bad = next((v for v in metrics.values() if not math.isfinite(v)), None)
        if bad is not None:  # the engine raises; neither network is updated
            return StepOutput(bad, metrics=metrics)
        for group in self.d_opt.param_groups:
            group["lr"] = lr * self.ratio
        self.d_opt.zero_grad(set_to_none=True)
        (d_loss + 0.5 * self.r1_weight * r1).backward()
        self.d_opt.step()
        g_loss = F.softplus(-d(g.field_values(g.map(self._noise(real.shape[0]))))).mean()  # non-saturating
        params = [p for p in g.parameters() if p.requires_grad]
        for p, grad in zip(params, torch.autograd.grad(g_loss, params, allow_unused=True)):
            p.grad = grad
        self.pending = step + 1
        return StepOutput(float(g_loss.detach()), metrics=metrics)

    def evaluate(self) -> dict[str, float]:
        if self.metric is None:
            return {}
        self.fold(self.pending)  # the engine evaluates after its update: the EMA the run would return now
        with torch.no_grad():
            return {k: float(v) for k, v in self.metric(self.ema).items()}

    def finish(self, done: int) -> None:
        self.fold(done)

    def state_dict(self) -> dict[str, Tensor]:
        ema = {f"task/ema/{k}": v for k, v in self.ema.state_dict().items()}
        opt = {f"task/d_opt/{i}/{k}": v for i, st in self.d_opt.state_dict()["state"].items() for k, v in st.items()}
        return {**self.model.state_dict(), **ema, **opt, "task/rng": self.gen.get_state()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        if "task/rng" not in state:
            raise KeyError("the checkpoint has no 'task/rng' (the noise's random state)")
        self.ema.load_state_dict({k.removeprefix("task/ema/"): v for k, v in state.items() if k.startswith("task/ema/")})
        opt: dict[int, dict[str, Tensor]] = {}
        for key, value in state.items():
            if key.startswith("task/d_opt/"):
                index, name = key.removeprefix("task/d_opt/").split("/", 1)
                opt.setdefault(int(index), {})[name] = value
        self.d_opt.load_state_dict({"state": opt, "param_groups": self.d_opt.state_dict()["param_groups"]})
        self.gen.set_state(state["task/rng"].to(torch.uint8).cpu())

    def extra_state(self) -> dict[str, Any]:
        return {"folded": self.folded}

    def load_extra_state(self, extra: dict[str, Any]) -> None:
        self.folded = int(extra.get("folded", 0))


def train_field_generator(
    generator: FieldGenerator,
    images: Tensor,
    *,
    steps: int = 2000,
    batch_size: int = 64,
    lr: float = 1e-3,
    discriminator_lr_ratio: float = 1.0,
    r1_weight: float = 1.0,
    ema_decay: float = 0.995,
    betas: tuple[float, float] = (0.0, 0.99),
    discriminator: Discriminator | None = None,
    seed: int = 0,
    metric: Metric | None = None,
    eval_every: int | None = None,
    callbacks: Iterable[Callable[[StepInfo], bool | None]] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | os.PathLike[str] = False,
    progress: bool = True,
) -> FieldGeneratorResult:
    """Train a field generator (in place) against a discriminator on images, with Adam ``betas=(0, 0.99)``.

    Each step draws a batch of real images and two batches of noise vectors of that size (one for each
    network's update), renders the fakes at the images' size, and updates the discriminator on
    ``softplus(D(fake)) + softplus(-D(real)) + r1_weight / 2 * |grad D(real)|^2``, then the generator on
    ``softplus(-D(fake))`` against the updated discriminator.

    Args:
        generator: the generator; its ``image_size`` and ``channels`` must be the images'.
        images: ``(N, C, H, W)`` in [0, 1], ``N >= 2``.
        steps: updates.
        batch_size: real images (and samples) per step.
        lr: the generator's learning rate (constant).
        discriminator_lr_ratio: the discriminator's learning rate over the generator's.
        r1_weight: weight of the R1 penalty (0 turns it off).
        ema_decay: decay of the EMA of the generator's weights (ramped up as ``(1 + t) / (10 + t)``).
        betas: Adam's betas for both networks.
        discriminator: the critic; default ``Discriminator(C, width=32, seed=seed)``.
        seed: seed of the batch order and the noise (the global RNG is not used).
        metric: evaluated on the EMA generator before training, every ``eval_every`` steps and at the end,
            ``generator -> {name: value}`` (e.g. a Fréchet distance, see :mod:`neuralfields.analysis`).
        eval_every: steps between evaluations (default: only before and after training).
        callbacks, checkpoint, checkpoint_every, resume, progress: as in :func:`~neuralfields.fit` (the
            run continues bit-identically on the CPU after a resume).

    Returns:
        A :class:`FieldGeneratorResult`; ``result.generator`` is the EMA generator.

    Raises:
        ShapeError: images of another size or channel count than the generator's.
        InvalidDataError: fewer than two images.
        NonFiniteLossError: a loss became NaN or infinite (lower ``lr``); for a non-finite generator
            loss the discriminator's update of that step was already made.

    Example:
        >>> import neuralfields as nf
        >>> g = nf.generators.FieldGenerator((8, 8), noise_dim=4, latent_dim=4, hidden_features=8, seed=0)
        >>> images = nf.data.load_dataset("digits", n=32, size=8)
        >>> res = train_field_generator(g, images, steps=4, batch_size=16, metric=lambda gen: {"mean": float(gen.sample(8).mean())},
        ...                             eval_every=2, progress=False)
        >>> res.history.val_step, len(res.history.val_metrics["mean"]), res.generator.sample(3, shape=(32, 32)).shape
        ([0, 2, 4], 3, torch.Size([3, 1, 32, 32]))
    """
    if not isinstance(generator, FieldGenerator):
        raise DTypeError(f"train_field_generator needs a FieldGenerator, got {type(generator).__name__}")
    data = stack_images(images)
    if tuple(data.shape[1:]) != (generator.channels, *generator.image_size):
        raise ShapeError(
            f"the generator renders {(generator.channels, *generator.image_size)} images; the data are "
            f"{tuple(data.shape[1:])}: build it with image_size={tuple(data.shape[-2:])}, channels={data.shape[1]}"
        )
    if data.shape[0] < 2:
        raise InvalidDataError(f"adversarial training needs at least 2 images, got {data.shape[0]}")
    batch_size, seed = check_positive_int("batch_size", batch_size), check_seed(seed)
    ratio = check_positive_float("discriminator_lr_ratio", discriminator_lr_ratio)
    betas = tuple(betas) if isinstance(betas, (tuple, list)) else betas
    if not isinstance(betas, tuple) or len(betas) != 2 or not all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in betas):
        raise ConfigError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if isinstance(r1_weight, bool) or not isinstance(r1_weight, (int, float)) or not r1_weight >= 0:
        raise ConfigError(f"r1_weight must be a number >= 0, got {r1_weight!r}")
    if isinstance(ema_decay, bool) or not isinstance(ema_decay, (int, float)) or not 0.0 <= ema_decay < 1.0:
        raise ConfigError(f"ema_decay must be in [0, 1), got {ema_decay!r}")
    ref = generator._ref()
    if discriminator is None:
        discriminator = Discriminator(generator.channels, width=32, seed=seed)
    discriminator.to(ref.device, ref.dtype)
    settings = {"batch_size": batch_size, "discriminator_lr_ratio": ratio, "r1_weight": float(r1_weight),
                "ema_decay": float(ema_decay), "betas": [float(b) for b in betas], "seed": seed, "images": list(data.shape)}  # fmt: skip
    task = _AdversarialTask(generator, discriminator, data.to(ref.device, ref.dtype), min(batch_size, data.shape[0]), settings, metric)
    out = run(
        task, steps=check_positive_int("steps", steps), lr=lr, optimizer=lambda params, rate: torch.optim.Adam(params, lr=rate, betas=tuple(betas)),
        eval_every=eval_every, eval_at_start=metric is not None, callbacks=callbacks, checkpoint=checkpoint,
        checkpoint_every=checkpoint_every, resume=resume, settings=settings, progress=progress, desc="train_field_generator",
        unit="step",
    )  # fmt: skip
    return FieldGeneratorResult(out.history, out.stopped_early, generator=task.ema, discriminator=discriminator)
