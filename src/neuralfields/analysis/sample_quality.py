"""How good are generated samples, without downloading anything: a small classifier trained on the data
set itself gives the features of a Fréchet distance (FID's recipe on a local network), the classes the
samples cover and how confidently they are recognised; nearest-neighbour distances to the training
images expose memorisation. :class:`SampleJudge` puts it together."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .._checks import check_positive_int, check_seed
from ..errors import InvalidDataError, ShapeError
from ..training.classifier import train_classifier

__all__ = ["FeatureNet", "frechet_distance", "nearest_distances", "class_coverage", "SampleQuality", "SampleJudge"]


class FeatureNet(nn.Module):
    """A small CNN classifier of images ``(B, C, H, W)`` in [0, 1]: features ``(B, 4 * width)`` and logits.

    Example:
        >>> net = FeatureNet(1, 10, width=8, seed=0)
        >>> x = torch.rand(3, 1, 16, 16)
        >>> net.features(x).shape, net(x).shape
        (torch.Size([3, 32]), torch.Size([3, 10]))
    """

    def __init__(self, channels: int, num_classes: int, width: int = 16, seed: int | None = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(check_seed(seed))
            self.body = nn.Sequential(
                nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
                nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            )  # fmt: skip
            self.classify = nn.Linear(4 * width, num_classes)

    def features(self, images: Tensor) -> Tensor:
        """Penultimate features ``(B, 4 * width)``."""
        return self.body(images)

    def forward(self, images: Tensor) -> Tensor:
        """Logits ``(B, num_classes)``."""
        return self.classify(self.body(images))


def frechet_distance(a: Tensor, b: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N, F)`` and ``(M, F)``.

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)``, in float64. It is biased upwards at
    small sample counts: compare values computed with equal counts.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(4000, 2, generator=g), torch.randn(4000, 2, generator=g)
        >>> round(frechet_distance(x, y), 2), round(frechet_distance(x, y + 3.0), 1)
        (0.0, 18.0)
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1] or min(a.shape[0], b.shape[0]) < 2:
        raise ShapeError(f"features must be (N, F) and (M, F) with N, M >= 2, got {tuple(a.shape)} and {tuple(b.shape)}")
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp_min(0.0).sqrt()) @ vecs.T
    middle = root_a @ cov_b @ root_a
    cross = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0.0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2.0 * cross)


def nearest_distances(samples: Tensor, reference: Tensor, chunk: int = 256) -> Tensor:
    """Each sample's root-mean-square pixel distance to its nearest reference image: ``(N,)``.

    Example:
        >>> ref = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
        >>> nearest_distances(torch.full((2, 1, 4, 4), 0.25), ref).tolist()
        [0.25, 0.25]
    """
    if samples.shape[1:] != reference.shape[1:]:
        raise ShapeError(f"samples {tuple(samples.shape[1:])} and reference images {tuple(reference.shape[1:])} differ in shape")
    ref = reference.reshape(reference.shape[0], -1).double()
    out = [torch.cdist(s.reshape(s.shape[0], -1).double(), ref).min(1).values for s in samples.split(chunk)]
    return torch.cat(out) / ref.shape[1] ** 0.5


def class_coverage(predicted: Tensor, num_classes: int) -> float:
    """Fraction of the classes that get at least half of their even share of the predictions.

    Example:
        >>> class_coverage(torch.tensor([0, 1, 2, 3]), 4), class_coverage(torch.tensor([0, 0, 0, 1]), 4)
        (1.0, 0.5)
    """
    counts = torch.bincount(predicted.reshape(-1).long(), minlength=num_classes).double()
    return float((counts >= 0.5 * counts.sum() / num_classes).double().mean())


@dataclass
class SampleQuality:
    """The judgement of a set of images (see :meth:`SampleJudge.judge`).

    Attributes:
        frechet: Fréchet distance of their features to the training images' (lower is better).
        coverage: fraction of the classes they cover (:func:`class_coverage`).
        confidence: mean top class probability: how clearly each looks like one class.
        nn_distance: mean RMS pixel distance to the nearest training image.
        count: how many images were judged.
        classes: how many were assigned to each class.

    Example:
        >>> q = SampleQuality(frechet=1.5, coverage=1.0, confidence=0.9, nn_distance=0.1, count=20, classes=[10, 10])
        >>> q.as_dict()["classes"], round(q.frechet, 1)
        ([10, 10], 1.5)
    """

    frechet: float
    coverage: float
    confidence: float
    nn_distance: float
    count: int
    classes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


class SampleJudge:
    """Judge generated images against a labelled data set, with a classifier trained on it here.

    A :class:`FeatureNet` is trained on the training images (``train``); :meth:`judge` compares a set of
    images with them. :attr:`real` judges held-out real images of the same set: the floor a perfect
    generator reaches at that count.

    Args:
        train: ``(N, C, H, W)`` training images in [0, 1] (the data the generators saw).
        labels: ``(N,)`` their classes.
        held_out: ``(M, C, H, W)`` real images no generator saw, and ``held_out_labels``.
        held_out_labels: ``(M,)``.
        steps: classifier training steps.
        seed: seed of the classifier.

    Attributes:
        accuracy: the classifier's accuracy on the held-out images.
        real: :class:`SampleQuality` of the held-out images.

    Example:
        >>> import neuralfields as nf
        >>> x = nf.data.load_dataset("digits", n=300, size=8)
        >>> y = nf.data.dataset_labels("digits", n=300)
        >>> judge = SampleJudge(x[:240], y[:240], x[240:], y[240:], steps=150)
        >>> judge.accuracy > 0.8, judge.real.count, judge.real.coverage >= 0.8
        (True, 60, True)
        >>> noise = judge.judge(torch.rand(60, 1, 8, 8))
        >>> noise.frechet > 3 * judge.real.frechet, noise.nn_distance > judge.real.nn_distance
        (True, True)
    """

    def __init__(self, train: Tensor, labels: Tensor, held_out: Tensor, held_out_labels: Tensor, *,
                 steps: int = 3000, seed: int = 0) -> None:  # fmt: skip
        if train.dim() != 4 or held_out.shape[1:] != train.shape[1:]:
            raise ShapeError(f"train and held-out images must be (N, C, H, W) of one shape, got {tuple(train.shape)} and {tuple(held_out.shape)}")
        if held_out.shape[0] < 2 or train.shape[0] < 2:
            raise InvalidDataError("the judge needs at least 2 training and 2 held-out images")
        self.num_classes = int(max(int(labels.max()), int(held_out_labels.max()))) + 1
        self.train_images = train
        self.net = FeatureNet(train.shape[1], self.num_classes, seed=seed).to(train.device, train.dtype)
        result = train_classifier(self.net, train, labels, steps=check_positive_int("steps", steps), seed=seed,
                                  test=(held_out, held_out_labels), progress=False)  # fmt: skip
        self.net.eval().requires_grad_(False)
        self.accuracy = result.history.val_metrics["accuracy"][-1]
        self.train_features = self.features(train)
        self.real = self.judge(held_out)

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        """Classifier features ``(N, F)`` of images in [0, 1]."""
        images = images.to(self.train_images.device, self.train_images.dtype)
        return torch.cat([self.net.features(x) for x in images.split(512)])

    @torch.no_grad()
    def judge(self, images: Tensor) -> SampleQuality:
        """Judge images ``(N, C, H, W)`` in [0, 1] of the training images' shape (N >= 2)."""
        if images.shape[1:] != self.train_images.shape[1:]:
            raise ShapeError(f"images of shape {tuple(images.shape[1:])} cannot be judged against {tuple(self.train_images.shape[1:])}")
        images = images.to(self.train_images.device, self.train_images.dtype).clamp(0.0, 1.0)
        features = self.features(images)  # the network's body once: its features give the logits too
        probs = self.net.classify(features).softmax(1)
        predicted = probs.argmax(1)
        return SampleQuality(
            frechet=frechet_distance(features, self.train_features),
            coverage=class_coverage(predicted, self.num_classes),
            confidence=float(probs.max(1).values.mean()),
            nn_distance=float(nearest_distances(images, self.train_images).mean()),
            count=int(images.shape[0]),
            classes=torch.bincount(predicted, minlength=self.num_classes).tolist(),
        )
