"""Generate new images as fields and measure them: one report folder (``neuralfields generate``).

Side by side on one image set: an adversarially trained :class:`~neuralfields.generators.FieldGenerator`,
a :class:`~neuralfields.HyperSiren` sampled from uniform codes (:meth:`~neuralfields.HyperSiren.sample`),
and the same HyperSiren decoding codes drawn from priors fitted to its training codes (kind
``"code-prior"``). A classifier trained on the set judges every method on the same held-out count
(:class:`~neuralfields.analysis.SampleJudge`)."""

from __future__ import annotations

import inspect
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._checks import check_positive_int
from .._json import finite
from .._registry import available, create, get
from ..analysis import SampleJudge
from ..conditioning import HyperSiren
from ..data import resize
from ..errors import ConfigError, InvalidDataError, UnknownNameError
from ..generators import FieldGenerator
from ..io import save
from ..priors import moment_matching_loss
from ..training import fit_code_prior, fit_hyper, train_field_generator
from ._generate_report import write_figures
from ._report import write_json
from .priors import split_indices

__all__ = ["GenerateConfig", "generate"]


@dataclass
class GenerateConfig:
    """Settings of :func:`generate`.

    Attributes:
        size: image size (images are resized to ``size x size`` if they differ).
        n: use the first ``n`` images (``None``: all).
        test_fraction: images held out of every training: the judge's real reference.
        noise_dim: the adversarial generator's noise size.
        latent_dim: the size of its codes (the head's input).
        head: its registered hyper-head (``"lowrank"``: factorised multiplicative modulation).
        rank: the rank of the ``"lowrank"`` head.
        hidden_features: width of every emitted SIREN's sine layers.
        hidden_layers: number of their sine layers.
        gan_steps: adversarial training steps.
        gan_lr: the generator's learning rate (the discriminator's the same).
        r1_weight: weight of the R1 penalty.
        batch_size: images per step of every training.
        hyper_latent_dim: the HyperSiren's code size.
        hyper_head: its head.
        hyper_steps: its training steps (:func:`~neuralfields.training.fit_hyper`, codes moment-matched
            to ``U[0, 1]^d`` with weight ``moment_weight``).
        moment_weight: that weight.
        priors: the code priors to fit (registered ``"code-prior"`` names).
        prior_steps: likelihood steps of a trainable prior (the flow).
        judge_steps: training steps of the judge's classifier.
        evaluations: Fréchet distances measured during adversarial training (for the curve).
        seed: seed of the split, the models, the batches and the samples.

    Example:
        >>> GenerateConfig.quick().gan_steps, GenerateConfig().gan_steps
        (1500, 4000)
    """

    size: int = 16
    n: int | None = None
    test_fraction: float = 0.2
    noise_dim: int = 32
    latent_dim: int = 64
    head: str = "lowrank"
    rank: int = 4
    hidden_features: int = 32
    hidden_layers: int = 3
    gan_steps: int = 4000
    gan_lr: float = 1e-3
    r1_weight: float = 1.0
    batch_size: int = 64
    hyper_latent_dim: int = 16
    hyper_head: str = "film"
    hyper_steps: int = 3000
    moment_weight: float = 0.1
    priors: tuple[str, ...] = ("gaussian", "gmm", "flow")
    prior_steps: int = 2000
    judge_steps: int = 3000
    evaluations: int = 10
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> GenerateConfig:
        """A preset for 2 CPU cores (measured: 1 min 42 s on the 1,797 digits)."""
        return cls(**{"gan_steps": 1500, "hyper_steps": 1000, "prior_steps": 600, "judge_steps": 1500, "evaluations": 5, **overrides})

    def check(self) -> None:
        """Raise a :class:`~neuralfields.errors.ConfigError` (or ``UnknownNameError``) naming the first bad setting."""
        for name in ("size", "noise_dim", "latent_dim", "rank", "hidden_features", "hidden_layers", "gan_steps",
                     "batch_size", "hyper_latent_dim", "hyper_steps", "prior_steps", "judge_steps", "evaluations"):  # fmt: skip
            check_positive_int(name, getattr(self, name))
        if self.n is not None:
            check_positive_int("n", self.n)
        for head in (self.head, self.hyper_head):
            if head not in available("hyper-head"):
                raise UnknownNameError("head", str(head), available("hyper-head"))
        priors = (self.priors,) if isinstance(self.priors, str) else tuple(self.priors)
        for name in priors:
            if name not in available("code-prior"):
                raise UnknownNameError("code prior", str(name), available("code-prior"))
        for name in ("gan_lr", "r1_weight", "moment_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (name == "gan_lr" and value == 0):
                raise ConfigError(f"{name} must be {'positive' if name == 'gan_lr' else '>= 0'}, got {value!r}")
        if not isinstance(self.test_fraction, (int, float)) or not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction!r}")


def _timed_samples(draw: Any, n: int) -> tuple[Tensor, float]:
    """``draw(n)`` and its wall time per sample."""
    start = time.perf_counter()
    with torch.no_grad():
        images = draw(n)
    return images, (time.perf_counter() - start) / n


def generate(
    images: Tensor,
    labels: Tensor,
    out: str | os.PathLike[str],
    config: GenerateConfig | None = None,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Train the generators on a labelled image set, judge their samples, and write a report folder.

    1. A fixed train / test split; the judge (:class:`~neuralfields.analysis.SampleJudge`) trains its
       classifier on the training images and judges the held-out ones (``real``: the floor).
    2. **Adversarial**: a :class:`~neuralfields.generators.FieldGenerator` trained with
       :func:`~neuralfields.training.train_field_generator` (its EMA is sampled), with the Fréchet distance
       measured ``evaluations`` times along the way.
    3. **HyperSiren**: trained with :func:`~neuralfields.training.fit_hyper` (sigmoid codes, moment-matched);
       ``hyper.sample`` draws uniform codes, ``hyper.reconstruct`` encodes and decodes the held-out images
       (what its decoder can do at best), and each code prior of ``config.priors`` is fitted to the training
       images' codes (:func:`~neuralfields.training.fit_code_prior`) and sampled.
    4. Every method draws as many samples as there are held-out images (the Fréchet distance depends on
       the count), judged for Fréchet distance, class coverage, confidence and nearest-neighbour distance
       to the training images, with its parameters, training time and time per sample.

    The report: ``samples.png`` (rows: methods, at the training size), ``samples_4x.png`` (the same fields
    at four times the size), ``interpolation.png`` (the adversarial generator along spherical paths in noise
    space, at twice the size), ``curves.png`` (the adversarial losses), ``frechet.png`` (the Fréchet
    distance over adversarial training, the other methods' as lines), ``generator.safetensors``,
    ``hyper.safetensors`` and ``metrics.json``.

    Args:
        images: ``(N, C, H, W)`` in [0, 1].
        labels: ``(N,)`` class indices (the judge's classes).
        out: report folder (created).
        config: settings (default :class:`GenerateConfig`).
        progress: progress bars.

    Returns:
        The metrics (also in ``metrics.json``): ``table`` maps each method to its judgement.

    Example:
        A run shrunk to seconds (60 digits of 8x8, a few steps each; the numbers mean nothing):

        >>> import neuralfields as nf, tempfile
        >>> images, labels = nf.data.load_dataset("digits", n=60, size=8), nf.data.dataset_labels("digits", n=60)
        >>> cfg = GenerateConfig(size=8, noise_dim=4, latent_dim=4, hidden_features=8, hidden_layers=1, gan_steps=2,
        ...                      hyper_latent_dim=3, hyper_steps=2, prior_steps=2, judge_steps=10, evaluations=1)
        >>> m = generate(images, labels, tempfile.mkdtemp(), cfg, progress=False)
        >>> list(m["table"])[:3], m["judge"]["count"]
        (['real (held-out)', 'adversarial', 'hyper.sample'], 12)
    """
    cfg = config or GenerateConfig()
    cfg.check()
    if not isinstance(images, Tensor) or images.dim() != 4 or not images.is_floating_point():
        raise InvalidDataError(f"images must be a float tensor (N, C, H, W), got {getattr(images, 'shape', type(images))}")
    if not isinstance(labels, Tensor) or labels.shape != images.shape[:1]:
        raise InvalidDataError(f"generate needs one class label per image: {images.shape[0]} images, labels {getattr(labels, 'shape', labels)}")
    images, labels = images.detach().cpu(), labels.long().cpu()
    if cfg.n is not None:
        images, labels = images[: cfg.n], labels[: cfg.n]
    if images.shape[0] < 4:
        raise InvalidDataError(f"generating needs at least 4 images (train and held-out), got {images.shape[0]}")
    if tuple(images.shape[-2:]) != (cfg.size, cfg.size):
        images = torch.stack([resize(im, cfg.size) for im in images])
    n, c, h, w = images.shape
    train_idx, test_idx = split_indices(n, cfg.test_fraction, cfg.seed)
    if test_idx.numel() < 2:
        raise InvalidDataError(f"{n} images with test_fraction {cfg.test_fraction} leave fewer than 2 held-out images")
    train, test = images[train_idx], images[test_idx]
    count = int(test.shape[0])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    judge = SampleJudge(train, labels[train_idx], test, labels[test_idx], steps=cfg.judge_steps, seed=cfg.seed)
    table: dict[str, dict[str, Any]] = {"real (held-out)": {**judge.real.as_dict(), "parameters": None}}
    shown: dict[str, Tensor] = {"real (held-out)": test[:8]}
    big: dict[str, Tensor] = {}

    # adversarial
    gen = FieldGenerator((h, w), c, noise_dim=cfg.noise_dim, latent_dim=cfg.latent_dim, head=cfg.head, rank=cfg.rank,
                         hidden_features=cfg.hidden_features, hidden_layers=cfg.hidden_layers, seed=cfg.seed)  # fmt: skip
    start = time.perf_counter()
    gan = train_field_generator(
        gen, train, steps=cfg.gan_steps, batch_size=cfg.batch_size, lr=cfg.gan_lr, r1_weight=cfg.r1_weight, seed=cfg.seed,
        metric=lambda g: {"frechet": judge.judge(g.sample(count, seed=cfg.seed + 7)).frechet},
        eval_every=max(1, cfg.gan_steps // cfg.evaluations), progress=progress,
    )  # fmt: skip
    gan_seconds = time.perf_counter() - start
    ema = gan.generator.eval()
    save(ema, out / "generator.safetensors")
    noise = ema.noise(count, seed=cfg.seed + 1)
    drawn, per_sample = _timed_samples(lambda k: ema.generate(noise[:k]), count)
    table["adversarial"] = {**judge.judge(drawn).as_dict(), "parameters": sum(p.numel() for p in ema.parameters()),
                            "train_seconds": gan_seconds, "seconds_per_sample": per_sample}  # fmt: skip
    with torch.no_grad():  # the first 8 samples again, at 4 times the size
        shown["adversarial"], big["adversarial"] = drawn[:8], ema.generate(noise[:8], (4 * h, 4 * w))

    # HyperSiren, its uniform samples, its reconstructions and the code priors
    hyper = HyperSiren((h, w), c, latent_dim=cfg.hyper_latent_dim, head=cfg.hyper_head, rank=cfg.rank,
                       hidden_features=cfg.hidden_features, hidden_layers=cfg.hidden_layers, latent="sigmoid", seed=cfg.seed)  # fmt: skip
    start = time.perf_counter()
    fit_hyper(hyper, train, steps=cfg.hyper_steps, batch_size=cfg.batch_size, latent_loss=moment_matching_loss,
              moment_weight=cfg.moment_weight, seed=cfg.seed, progress=progress)  # fmt: skip
    hyper_seconds = time.perf_counter() - start
    hyper.eval()
    save(hyper, out / "hyper.safetensors")
    decoder = sum(p.numel() for p in (*hyper.target.parameters(), *hyper.head.parameters()))
    drawn, per_sample = _timed_samples(lambda k: hyper.sample(k, seed=cfg.seed + 1), count)
    table["hyper.sample"] = {**judge.judge(drawn).as_dict(), "parameters": decoder, "train_seconds": hyper_seconds,
                             "seconds_per_sample": per_sample}  # fmt: skip
    shown["hyper.sample"], big["hyper.sample"] = drawn[:8], hyper.sample(count, seed=cfg.seed + 1, shape=(4 * h, 4 * w))[:8]
    with torch.no_grad():
        codes = torch.cat([hyper.encode(x) for x in train.split(256)])
        recon = hyper(test)
    table["hyper.reconstruct"] = {**judge.judge(recon).as_dict(), "parameters": sum(p.numel() for p in hyper.parameters()),
                                  "train_seconds": hyper_seconds, "seconds_per_sample": None}  # fmt: skip
    shown["hyper.reconstruct"] = recon[:8]
    priors = (cfg.priors,) if isinstance(cfg.priors, str) else tuple(cfg.priors)
    for name in priors:
        seeded = "seed" in inspect.signature(get("code-prior", name)).parameters
        prior = create("code-prior", name, dim=cfg.hyper_latent_dim, **({"seed": cfg.seed} if seeded else {}))
        start = time.perf_counter()
        fitted = fit_code_prior(prior, codes, steps=cfg.prior_steps, batch_size=256, seed=cfg.seed, progress=progress)
        seconds = time.perf_counter() - start
        key = f"prior: {name}"
        drawn, per_sample = _timed_samples(lambda k: hyper.decode(prior.sample(k, seed=cfg.seed + 1)), count)
        table[key] = {**judge.judge(drawn).as_dict(), "parameters": decoder + sum(t.numel() for t in prior.state_dict().values()),
                      "train_seconds": hyper_seconds + seconds, "seconds_per_sample": per_sample, "code_nll": fitted.nll}  # fmt: skip
        with torch.no_grad():  # the same codes again (the same seed), the first 8 at 4 times the size
            shown[key], big[key] = drawn[:8], hyper.decode(prior.sample(count, seed=cfg.seed + 1)[:8], (4 * h, 4 * w))

    write_figures(out, ema, gan.history, shown, big, table, (h, w), cfg.seed)
    metrics = finite({
        "config": asdict(cfg), "images": [n, c, h, w], "split": {"train": train_idx.tolist(), "test": test_idx.tolist()},
        "judge": {"accuracy": judge.accuracy, "classes": judge.num_classes, "count": count}, "table": table,
        "frechet_curve": {"step": gan.history.val_step, "frechet": gan.history.val_metrics.get("frechet", [])},
    })  # fmt: skip
    write_json(out / "metrics.json", metrics)
    return metrics
