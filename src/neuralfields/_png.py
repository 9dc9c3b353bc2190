"""A streaming 8-bit PNG writer (a low module): rows go in as they are computed, so an image larger than
memory can be written (``neuralfields.fields.render_to_file``). No optional dependency."""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

from .errors import ShapeError

__all__ = ["PNGWriter", "png_chunk"]

_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha, RGB, RGBA)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


class PNGWriter:
    """Write an 8-bit PNG of ``height x width`` pixels and ``channels`` channels, rows first to last.

    Example:
        >>> import io
        >>> buf = io.BytesIO()
        >>> png = PNGWriter(buf, width=4, height=2, channels=1)
        >>> png.write_rows(np.zeros((2, 4, 1), dtype=np.uint8))
        >>> png.close()
        >>> buf.getvalue()[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """

    def __init__(self, fh: BinaryIO, width: int, height: int, channels: int) -> None:
        if channels not in _COLOR_TYPES:
            raise ShapeError(f"a PNG holds 1 to 4 channels, got {channels}")
        self.fh, self.width, self.height, self.channels = fh, width, height, channels
        self.rows = 0
        self._z = zlib.compressobj(6)
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.write(png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)))

    def write_rows(self, rows: np.ndarray) -> None:
        """Append rows ``(r, width, channels)`` of uint8."""
        if rows.dtype != np.uint8 or rows.ndim != 3 or rows.shape[1:] != (self.width, self.channels):
            raise ShapeError(f"rows must be uint8 (r, {self.width}, {self.channels}), got {rows.dtype} {rows.shape}")
        if self.rows + rows.shape[0] > self.height:
            raise ShapeError(f"the PNG has {self.height} rows; {self.rows + rows.shape[0]} were written")
        flat = rows.reshape(rows.shape[0], -1)
        raw = np.concatenate([np.zeros((flat.shape[0], 1), dtype=np.uint8), flat], axis=1).tobytes()  # filter 0
        data = self._z.compress(raw)
        if data:
            self.fh.write(png_chunk(b"IDAT", data))
        self.rows += rows.shape[0]

    def close(self) -> None:
        """Finish the image (every row must have been written)."""
        if self.rows != self.height:
            raise ShapeError(f"the PNG has {self.height} rows; only {self.rows} were written")
        self.fh.write(png_chunk(b"IDAT", self._z.flush()))
        self.fh.write(png_chunk(b"IEND", b""))
