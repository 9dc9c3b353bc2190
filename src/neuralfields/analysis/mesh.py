"""Surfaces of 3-D fields: marching cubes (scikit-image) on a render, and mesh files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .._files import atomic_write
from ..errors import ConfigError, InvalidDataError, OptionalDependencyError, ShapeError
from ..fields.base import Field
from ..fields.render import render

__all__ = ["Mesh", "extract_mesh"]


@dataclass
class Mesh:
    """A triangle mesh.

    Attributes:
        vertices: ``(V, 3)`` float positions, in the field's coordinates ([-1, 1]^3).
        faces: ``(F, 3)`` int64 vertex indices of each triangle.
        normals: ``(V, 3)`` unit normals at the vertices (pointing towards larger values), or ``None``.

    Example:
        >>> import torch
        >>> triangle = Mesh(torch.eye(3), torch.tensor([[0, 1, 2]]))
        >>> triangle.vertices.shape, triangle.faces.tolist()
        (torch.Size([3, 3]), [[0, 1, 2]])
    """

    vertices: Tensor
    faces: Tensor
    normals: Tensor | None = None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a Wavefront ``.obj`` or an ASCII ``.ply`` file (by the suffix), atomically.

        Example:
            >>> import os, tempfile, torch
            >>> m = Mesh(torch.eye(3), torch.tensor([[0, 1, 2]]))
            >>> p = m.save(os.path.join(tempfile.mkdtemp(), "t.obj"))
            >>> p.read_text().splitlines()[-1]
            'f 1 2 3'
        """
        path = Path(path)
        suffix = path.suffix.lower()
        v = self.vertices.detach().cpu().tolist()
        f = self.faces.detach().cpu().tolist()
        if suffix == ".obj":
            lines = ["# written by neuralfields"] + [f"v {a:.6f} {b:.6f} {c:.6f}" for a, b, c in v]
            if self.normals is not None:
                lines += [f"vn {a:.6f} {b:.6f} {c:.6f}" for a, b, c in self.normals.detach().cpu().tolist()]
            lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in f]
        elif suffix == ".ply":
            lines = ["ply", "format ascii 1.0", f"element vertex {len(v)}", "property float x", "property float y",
                     "property float z", f"element face {len(f)}", "property list uchar int vertex_indices", "end_header"]  # fmt: skip
            lines += [f"{a:.6f} {b:.6f} {c:.6f}" for a, b, c in v] + [f"3 {a} {b} {c}" for a, b, c in f]
        else:
            raise ConfigError(f"a mesh is written as .obj or .ply, got {path.name!r}")
        atomic_write(path, ("\n".join(lines) + "\n").encode())
        return path


@torch.no_grad()
def extract_mesh(
    field: Field,
    resolution: int = 64,
    *,
    level: float = 0.0,
    value_range: tuple[float, float] | None = None,
    chunk_size: int = 65536,
) -> Mesh:
    """The surface where a 3-D field equals ``level``, by marching cubes on a render.

    Args:
        field: a field from 3-D coordinates to one channel (e.g. a signed distance fitted with
            :func:`~neuralfields.training.fit_sdf`, or a volume fitted with ``value_range``).
        resolution: grid points along each axis of [-1, 1]^3 (the pixel-centre grid of :func:`~neuralfields.render`).
        level: the value of the surface, on the field's scale: its raw output, or with ``value_range``
            the fitted signal's scale.
        value_range: the ``(low, high)`` the field was fitted with, if any (as in :func:`~neuralfields.render`).
        chunk_size: coordinates per forward pass.

    Returns:
        A :class:`Mesh` in the field's coordinates.

    Raises:
        OptionalDependencyError: scikit-image is not installed.
        InvalidDataError: the field's values never cross ``level`` on the grid.

    Example:
        >>> import torch, neuralfields as nf
        >>> class Ball(nf.Field):  # the signed distance to a sphere of radius 0.5
        ...     in_features, out_features = 3, 1
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.dummy = torch.nn.Parameter(torch.zeros(1))
        ...     def forward(self, x):
        ...         return x.norm(dim=-1, keepdim=True) - 0.5 + self.dummy
        >>> mesh = extract_mesh(Ball(), 32)
        >>> radius = mesh.vertices.norm(dim=1)
        >>> bool((radius - 0.5).abs().max() < 0.02)
        True
    """
    try:
        from skimage.measure import marching_cubes
    except ImportError as exc:
        raise OptionalDependencyError("extract_mesh needs scikit-image: pip install 'neuralfields[data]'") from exc
    if field.in_features != 3 or field.out_features != 1:
        raise ShapeError(f"extract_mesh needs a field from 3-D coordinates to 1 channel, got {field.in_features}-D to {field.out_features}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ConfigError(f"resolution must be an int of at least 2, got {resolution!r}")
    if value_range is None:
        volume = render(field, (resolution,) * 3, chunk_size=chunk_size, unit_range=False)[0]
    else:
        volume = render(field, (resolution,) * 3, chunk_size=chunk_size, value_range=value_range)[0]
    low, high = float(volume.min()), float(volume.max())
    if not low < level < high:
        raise InvalidDataError(f"the field never crosses level {level:g} on a {resolution}^3 grid (its values span {low:.4g} .. {high:.4g})")
    step = 2.0 / resolution
    verts, faces, normals, _ = marching_cubes(volume.double().cpu().numpy(), level=level, spacing=(step,) * 3)
    vertices = torch.from_numpy(verts.copy()).float() - 1.0 + step / 2
    # scikit-image's normals point towards smaller values; ours towards larger ones (outwards for a distance)
    return Mesh(vertices, torch.from_numpy(faces.copy()).long(), -torch.from_numpy(normals.copy()).float())
