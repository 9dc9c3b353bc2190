"""Images in and out: sample images, image files, a synthetic image, PNG writing.

Images are float tensors ``(C, H, W)`` in [0, 1]. Nothing is downloaded: the sample images are
the ones scikit-image ships (install ``neuralfields[data]``); without it, a synthetic image stands in.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ._folders import list_images
from ._image_files import _from_array, _load_file, save_image, to_uint8
from ._synthetic import _check_image_size, _size, synthetic_image
from ._wav import load_audio, save_audio
from .errors import ConfigError, FileFormatError, OptionalDependencyError, ShapeError, UnknownNameError

__all__ = [
    "load_audio",
    "save_audio",
    "SAMPLES",
    "PATCH_SOURCES",
    "sample_names",
    "load_image",
    "synthetic_image",
    "resize",
    "to_uint8",
    "save_image",
    "DATASETS",
    "load_dataset",
    "dataset_labels",
]

SAMPLES: dict[str, str] = {
    "astronaut": "astronaut (colour, 512x512)",
    "brick": "brick texture (grey, 512x512)",
    "camera": "cameraman (grey, 512x512)",
    "cat": "Chelsea the cat (colour, 300x451)",
    "checkerboard": "checkerboard (grey, 200x200)",
    "chelsea": "Chelsea the cat (colour, 300x451)",
    "clock": "clock, motion-blurred (grey, 300x400)",
    "coffee": "coffee cup (colour, 400x600)",
    "coins": "coins (grey, 303x384)",
    "colorwheel": "colour wheel (colour, 370x371)",
    "grass": "grass texture (grey, 512x512)",
    "gravel": "gravel texture (grey, 512x512)",
    "horse": "horse silhouette (binary, 328x400)",
    "immunohistochemistry": "stained tissue (colour, 512x512)",
    "moon": "moon surface (grey, 512x512)",
    "page": "scanned page (grey, 191x384)",
    "rocket": "rocket launch (colour, 427x640)",
    "text": "text on a textured background (grey, 172x448)",
}
"""Bundled scikit-image samples (name -> description)."""

_SYNTHETIC = "synthetic"


def _has_skimage() -> bool:
    try:
        import skimage.data  # noqa: F401
    except ImportError:
        return False
    return True


def sample_names() -> list[str]:
    """Names :func:`load_image` accepts: the scikit-image samples (when installed) and ``"synthetic"``.

    Example:
        >>> names = sample_names()
        >>> "synthetic" in names, names == sorted(names), load_image(names[0], size=8).shape[1:]
        (True, True, torch.Size([8, 8]))
    """
    return sorted([*SAMPLES, _SYNTHETIC]) if _has_skimage() else [_SYNTHETIC]


def _load_sample(name: str) -> Tensor:
    import skimage.data

    loader: Callable[[], np.ndarray] = getattr(skimage.data, name)
    return _from_array(loader())


def resize(image: Tensor, size: int | Sequence[int]) -> Tensor:
    """Resize an image ``(C, H, W)`` (antialiased bilinear; area-like when shrinking).

    Returns:
        ``(C, *size)``, clamped to [0, 1].

    Example:
        >>> img = synthetic_image(32)
        >>> resize(img, 8).shape, resize(img, (16, 24)).shape
        (torch.Size([1, 8, 8]), torch.Size([1, 16, 24]))
        >>> resize(img, 32) is img  # already that size: returned as it is
        True
        >>> bool(torch.allclose(resize(img, 16).mean(), img.mean(), atol=1e-3))  # shrinking averages areas
        True
    """
    if image.dim() != 3:
        raise ShapeError(f"resize expects an image (C, H, W), got shape {tuple(image.shape)}")
    h, w = _size(size)
    if (h, w) == tuple(image.shape[1:]):
        return image
    _check_image_size(h, w, image.shape[0])
    out = F.interpolate(image[None], size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0]
    return out.clamp(0.0, 1.0)


def load_image(
    source: str | os.PathLike[str],
    *,
    size: int | Sequence[int] | None = None,
    channels: int | None = None,
) -> Tensor:
    """Load an image file or a bundled sample as a float tensor in [0, 1].

    Args:
        source: a path to a PNG/JPEG/... file, or a sample name (see :func:`sample_names`).
        size: resize to ``H`` (square) or ``(H, W)``; ``None`` keeps the original size.
        channels: 1 converts to grey (luma), 3 to colour; ``None`` keeps the image's own.

    Returns:
        ``(C, H, W)`` float32 tensor in [0, 1].

    Raises:
        UnknownNameError: ``source`` is neither an existing file nor a sample name.
        FileFormatError: the file is not a readable image.

    Example:
        >>> img = load_image("synthetic", size=48)
        >>> img.shape, bool(img.min() >= 0), bool(img.max() <= 1)
        (torch.Size([1, 48, 48]), True, True)
    """
    path = Path(source)
    name = str(source)
    if path.is_file():
        image = _load_file(path)
    elif name == _SYNTHETIC:
        image = synthetic_image(size if size is not None else 256, channels=channels or 1)
    elif name in SAMPLES:
        if _has_skimage():
            image = _load_sample(name)
        else:
            warnings.warn(
                f"scikit-image is not installed, so the sample {name!r} is replaced by the synthetic "
                f"image; install 'neuralfields[data]' for the real samples",
                stacklevel=2,
            )
            image = synthetic_image(size if size is not None else 256, channels=channels or 1)
    elif path.suffix or os.sep in name or path.parent != Path("."):
        raise FileFormatError(f"no such image file: {source}")
    else:
        raise UnknownNameError("sample image", name, sample_names(), hint="A path to an image file works too.")
    if channels is not None:
        image = _convert_channels(image, channels)
    if size is not None:
        image = resize(image, size)
    return image.contiguous()


def _convert_channels(image: Tensor, channels: int) -> Tensor:
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1, 3 or None, got {channels!r}")
    if image.shape[0] in (2, 4):  # grey or colour with alpha: converting drops the alpha channel
        image = image[:-1]
    c = image.shape[0]
    if c == channels:
        return image
    if channels == 1:
        weights = torch.tensor([0.2125, 0.7154, 0.0721], dtype=image.dtype)[:c]
        return (image * (weights / weights.sum())[:, None, None]).sum(0, keepdim=True)
    return image[:1].expand(3, -1, -1).clone()


# ---- image sets ------------------------------------------------------------------------------

DATASETS: dict[str, str] = {
    "crops": "random crops of the grey scikit-image samples (needs neuralfields[data])",
    "digits": "scikit-learn's handwritten digits, 8x8, 1,797 images (needs neuralfields[data])",
    "patches": "random patches of natural scikit-image samples at three scales, never camera, astronaut or coffee "
    "(the restoration test images; needs neuralfields[data])",
    "shapes": "synthetic discs, boxes and stripes (always available)",
}
"""Bundled image sets for :func:`load_dataset` (name -> description)."""

PATCH_SOURCES = ("chelsea", "coins", "moon", "rocket", "clock", "page", "text", "brick", "gravel", "grass", "immunohistochemistry")
"""The samples the ``"patches"`` set is cut from: natural images other than the restoration test images
(camera, astronaut, coffee)."""

_CROP_SOURCES = ("camera", "moon", "coins", "text", "brick", "grass", "gravel", "page", "clock", "astronaut", "coffee", "chelsea", "rocket")


def load_dataset(
    source: str | os.PathLike[str], *, n: int = 100, size: int | Sequence[int] = 32, channels: int = 1, seed: int = 0
) -> Tensor:
    """A set of same-size images ``(N, C, H, W)`` in [0, 1].

    Args:
        source: a folder of image files (sorted by name, the first ``n``), a folder with one subfolder of
            images per class (``root/class_name/*.png``: classes in sorted order, the first ``n`` images in
            all; :func:`dataset_labels` gives their classes), or a bundled set (see :data:`DATASETS`):
            ``"crops"``, ``"digits"``, ``"patches"``, ``"shapes"``.
        n: number of images (at most).
        size: ``H`` or ``(H, W)``; images are resized (crops are cut at that size from resized samples).
        channels: 1 or 3.
        seed: seed of the random crops / patches / shapes.

    Example:
        >>> load_dataset("shapes", n=4, size=16).shape
        torch.Size([4, 1, 16, 16])
    """
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be a positive int, got {n!r}")
    h, w = _size(size)
    path = Path(source)
    if path.is_dir():
        files = list_images(path)[0]
        return torch.stack([load_image(p, size=(h, w), channels=channels) for p in files[:n]])
    name = str(source)
    if name == "shapes":
        return _shapes(n, h, w, channels, seed)
    if name in ("crops", "digits", "patches"):
        if not _has_skimage():
            raise OptionalDependencyError("scikit-image / scikit-learn", "data", f"the {name!r} image set")
        if name == "patches":
            return _patches(n, h, w, channels, seed)
        return _digits(n, h, w, channels) if name == "digits" else _crops(n, h, w, channels, seed)
    raise UnknownNameError("image set", name, DATASETS, hint="A folder of image files works too.")


def dataset_labels(source: str | os.PathLike[str], *, n: int = 100) -> Tensor | None:
    """Class labels ``(N,)`` of the first ``n`` images of a bundled set, in :func:`load_dataset`'s order.

    ``"digits"``: the digit 0-9; ``"crops"``: the index of the sample image cut from; a folder of class
    folders: the class's index in sorted order; sets without classes (``"shapes"``, a flat folder) give
    ``None``.

    Example:
        >>> import os, tempfile
        >>> root = tempfile.mkdtemp()
        >>> for name, count in (("cats", 2), ("dogs", 1)):  # one folder per class
        ...     for i in range(count):
        ...         _ = save_image(synthetic_image(8), os.path.join(root, name, f"{i}.png"))
        >>> dataset_labels(root).tolist(), load_dataset(root, size=8).shape
        ([0, 0, 1], torch.Size([3, 1, 8, 8]))
        >>> dataset_labels("digits", n=5).tolist(), dataset_labels("shapes") is None
        ([0, 1, 2, 3, 4], True)
    """
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be a positive int, got {n!r}")
    if Path(source).is_dir():
        labels = list_images(Path(source))[1]
        return None if labels is None else torch.tensor(labels[:n], dtype=torch.long)
    name = str(source)
    if name == "digits":
        if not _has_skimage():
            raise OptionalDependencyError("scikit-learn", "data", "the digits' labels")
        from sklearn.datasets import load_digits

        return torch.from_numpy(load_digits().target[:n]).long()
    if name == "crops" and not Path(name).is_dir():
        return torch.arange(n) % len(_CROP_SOURCES)
    return None


def _digits(n: int, h: int, w: int, channels: int) -> Tensor:
    from sklearn.datasets import load_digits

    images = torch.from_numpy(load_digits().images[:n]).float()[:, None] / 16.0
    return torch.stack([_convert_channels(resize(im, (h, w)), channels) for im in images])


def _crops(n: int, h: int, w: int, channels: int, seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    sources = [load_image(s, channels=channels) for s in _CROP_SOURCES]
    sources = [resize(s, (max(4 * h, h + 1), max(4 * w, w + 1))) for s in sources]  # crops show a quarter
    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        y = int(torch.randint(0, src.shape[1] - h + 1, (1,), generator=gen))
        x = int(torch.randint(0, src.shape[2] - w + 1, (1,), generator=gen))
        out.append(src[:, y : y + h, x : x + w])
    return torch.stack(out).contiguous()


def _patches(n: int, h: int, w: int, channels: int, seed: int) -> Tensor:
    """``n`` random ``h x w`` patches of :data:`PATCH_SOURCES` at full, half and quarter resolution."""
    gen = torch.Generator().manual_seed(seed)
    sources = []
    for name in PATCH_SOURCES:
        image = load_image(name, channels=channels)
        for scale in (1, 2, 4):
            size = (image.shape[1] // scale, image.shape[2] // scale)
            if min(size[0] - h, size[1] - w) >= 0:
                sources.append(image if scale == 1 else resize(image, size))
    out = []
    for _ in range(n):
        src = sources[int(torch.randint(0, len(sources), (1,), generator=gen))]
        y = int(torch.randint(0, src.shape[1] - h + 1, (1,), generator=gen))
        x = int(torch.randint(0, src.shape[2] - w + 1, (1,), generator=gen))
        out.append(src[:, y : y + h, x : x + w])
    return torch.stack(out).contiguous()


def _shapes(n: int, h: int, w: int, channels: int, seed: int) -> Tensor:
    from .grid import make_grid

    gen = torch.Generator().manual_seed(seed)
    g = make_grid((h, w))
    y, x = g[..., 0], g[..., 1]
    out = []
    for _ in range(n):
        r = torch.rand(8, generator=gen)
        img = 0.2 + 0.3 * r[0] + 0.2 * (r[1] - 0.5) * x
        disc = (x - (r[2] - 0.5)) ** 2 + (y - (r[3] - 0.5)) ** 2 < (0.15 + 0.3 * r[4]) ** 2
        box = ((x + 0.5 - r[5]).abs() < 0.25) & ((y + 0.5 - r[6]).abs() < 0.2)
        img = img + 0.4 * disc.float() - 0.3 * box.float() + 0.1 * torch.sin((10 + 20 * r[7]) * (x + y))
        out.append(_convert_channels(img.clamp(0, 1)[None], channels))
    return torch.stack(out)
