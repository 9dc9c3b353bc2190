"""Image arrays and files: numpy arrays and image files to tensors, tensors to 8-bit arrays and PNG files.
Re-exported by :mod:`neuralfields.data`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .errors import DTypeError, FileFormatError, OptionalDependencyError, ShapeError

__all__ = ["to_uint8", "save_image"]


def _from_array(arr: np.ndarray) -> Tensor:
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    else:
        arr = arr.astype(np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ShapeError(f"expected a 2-D grey or 3-D colour image, got an array of shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).clamp(0.0, 1.0)


def _load_file(path: Path) -> Tensor:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise OptionalDependencyError("Pillow", "data", "loading image files") from None
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("P", "CMYK", "YCbCr", "LAB", "HSV", "1"):
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.uint16 if im.mode.startswith("I;16") else np.int32)
                arr = arr.astype(np.float32) / (65535.0 if arr.max() > 255 else 255.0)
            else:
                arr = np.asarray(im)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise FileFormatError(f"cannot read {path} as an image: {exc}") from None
    return _from_array(arr)


def to_uint8(image: Tensor) -> np.ndarray:
    """``(C, H, W)`` in [0, 1] -> ``(H, W)`` or ``(H, W, C)`` uint8 array (values are clamped).

    Example:
        >>> to_uint8(torch.tensor([[[-1.0, 0.5, 1.0, 2.0]]]))
        array([[  0, 128, 255, 255]], dtype=uint8)
        >>> to_uint8(torch.rand(3, 4, 5)).shape
        (4, 5, 3)
    """
    if not isinstance(image, Tensor) or not image.is_floating_point():
        raise DTypeError("to_uint8 expects a floating-point tensor (C, H, W) in [0, 1]")
    if image.dim() != 3 or image.shape[0] not in (1, 2, 3, 4):
        raise ShapeError(f"to_uint8 expects (C, H, W) with C in (1, 2, 3, 4), got {tuple(image.shape)}")
    arr = (image.detach().float().cpu().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def save_image(image: Tensor, path: str | os.PathLike[str]) -> Path:
    """Write an image ``(C, H, W)`` in [0, 1] as an 8-bit PNG (grey, grey + alpha, RGB or RGBA).

    Needs no optional dependency. The file is written atomically.

    Example:
        >>> import os, tempfile
        >>> from neuralfields.data import load_image, synthetic_image
        >>> img = synthetic_image(16, channels=3)
        >>> path = save_image(img, os.path.join(tempfile.mkdtemp(), "img.png"))
        >>> path.read_bytes()[1:4]  # the PNG signature
        b'PNG'
        >>> back = load_image(path)  # reading needs Pillow (neuralfields[data])
        >>> back.shape, float((back - img).abs().max()) <= 0.5 / 255 + 1e-6  # 8 bits: off by half a level at most
        (torch.Size([3, 16, 16]), True)
    """
    from ._files import atomic_stream
    from ._png import PNGWriter

    arr = to_uint8(image)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    h, w, c = arr.shape
    with atomic_stream(path) as fh:
        png = PNGWriter(fh, w, h, c)
        png.write_rows(arr)
        png.close()
    return Path(path)
