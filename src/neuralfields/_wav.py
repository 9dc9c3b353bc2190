"""WAV files in and out with the standard library's :mod:`wave` (a low helper of :mod:`neuralfields.data`):
PCM audio as ``(channels, samples)`` float tensors in [-1, 1]."""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .errors import ConfigError, DTypeError, FileFormatError, InvalidDataError, ShapeError

__all__ = ["load_audio", "save_audio"]

_INT_TYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


def load_audio(path: str | os.PathLike[str]) -> tuple[Tensor, int]:
    """Read a PCM WAV file.

    Returns:
        ``(audio (channels, samples) float32 in [-1, 1], sample_rate)``.

    Raises:
        FileFormatError: not a readable PCM WAV file (8, 16, 24 or 32 bits), or empty.

    Example:
        >>> import math, os, tempfile
        >>> t = torch.linspace(0, 1, 8000)
        >>> path = save_audio(torch.sin(2 * math.pi * 440 * t)[None] * 0.5, os.path.join(tempfile.mkdtemp(), "a.wav"), 8000)
        >>> audio, rate = load_audio(path)
        >>> tuple(audio.shape), rate
        ((1, 8000), 8000)
    """
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate, frames = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
            raw = f.readframes(frames)
    except FileNotFoundError:
        raise FileFormatError(f"no audio file at {path}") from None
    except (wave.Error, EOFError, OSError) as exc:
        raise FileFormatError(f"{path} is not a PCM WAV file the standard library reads: {exc}") from None
    if frames == 0 or not raw:
        raise FileFormatError(f"{path} holds no audio samples")
    if width == 3:  # 24-bit: widen to 32 bits
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        data = (b[:, 0].astype(np.int32) << 8 | b[:, 1].astype(np.int32) << 16 | b[:, 2].astype(np.int32) << 24) >> 8
        scale = 2.0**23
    elif width in _INT_TYPES:
        data = np.frombuffer(raw, dtype=_INT_TYPES[width]).astype(np.float64)
        data, scale = (data - 128.0, 128.0) if width == 1 else (data, 2.0 ** (8 * width - 1))
    else:
        raise FileFormatError(f"{path} has {8 * width}-bit samples; 8, 16, 24 and 32-bit PCM are supported")
    audio = torch.from_numpy(np.asarray(data, dtype=np.float64).reshape(-1, channels).T / scale).float()
    return audio.clamp(-1.0, 1.0).contiguous(), rate


def save_audio(audio: Tensor, path: str | os.PathLike[str], sample_rate: int) -> Path:
    """Write ``audio (channels, samples)`` in [-1, 1] as a 16-bit PCM WAV file (``x * 32768``, rounded; values
    outside the 16-bit range are clipped), the scale :func:`load_audio` reads back.

    Raises:
        DTypeError / ShapeError / InvalidDataError: not a finite float tensor ``(channels, samples)``.
        ConfigError: a sample rate that is not a positive int.
        OutputError: ``path`` cannot be written.

    Example:
        >>> import os, tempfile
        >>> path = save_audio(torch.tensor([[0.0, 0.5, -0.5, 1.0]]), os.path.join(tempfile.mkdtemp(), "a.wav"), 16000)
        >>> audio, rate = load_audio(path)
        >>> audio.tolist(), rate  # 1.0 is clipped to the largest 16-bit sample, 32767 / 32768
        ([[0.0, 0.5, -0.5, 0.999969482421875]], 16000)
    """
    from ._files import atomic_write

    if not isinstance(audio, Tensor) or not audio.is_floating_point():
        raise DTypeError(f"audio must be a float tensor (channels, samples) in [-1, 1], got {getattr(audio, 'dtype', type(audio))}")
    if audio.dim() != 2 or audio.shape[1] == 0:
        raise ShapeError(f"audio must be (channels, samples), got {tuple(audio.shape)}")
    if not bool(torch.isfinite(audio).all()):
        raise InvalidDataError("audio contains NaN or infinite values")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
        raise ConfigError(f"sample_rate must be a positive int, got {sample_rate!r}")
    pcm = (audio.detach().cpu().double() * 32768.0).round().clamp(-32768, 32767).to(torch.int16).T.contiguous().numpy()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as f:
        f.setnchannels(audio.shape[0])
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())
    return atomic_write(path, buf.getvalue())
