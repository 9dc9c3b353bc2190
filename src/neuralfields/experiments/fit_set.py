"""A dataset of fields: one field per image, fitted in batched groups (:func:`~neuralfields.fit_many`),
written as sharded ``.safetensors`` files plus an index, and read back lazily as a PyTorch ``Dataset``.

Layout of the output folder::

    index.json                       the run (settings, images, a fingerprint of the pixels) and, per
                                     finished group: its shard, its images, their final PSNR, the steps
    shards/group-00000.safetensors   the group's fitted weights, stacked: name -> (G, *shape)

A group's shard is written (atomically) before the index names it, and the index is rewritten
(atomically) after each group, so a run that is killed loses at most the group in flight: run the same
command again and it fits only the groups the index does not name. Each image belongs to exactly one
group, so no field is fitted twice or missing. A member's fit does not depend on the other members of its
group (Adam works element by element; every member sees the same coordinates), so the fields equal those
of a one-by-one :func:`~neuralfields.fit` with the same seed, up to rounding.

Under ``torchrun`` (a ``torch.distributed`` process group; see :func:`fit_set`) the groups still to fit are
dealt out to the ranks in rounds: each rank fits its group and writes its shard, the ranks exchange what
they finished, and rank 0 alone writes the index after every round. Each group is fitted by exactly one
rank, and the fields do not depend on the number of processes, so a run may be resumed with another.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .._checks import check_positive_int
from .._dist import all_gather_objects, barrier, rank_and_world
from .._progress import progress_bar
from ..errors import ConfigError, FileFormatError, InvalidDataError, ShapeError
from ..fields.base import Field
from ..fields.siren import Siren
from ..io import load_stacked, model_metadata, serialize
from ..training import fit_many
from ._report import write_json

__all__ = ["FitSetConfig", "fit_set", "FieldSet", "INDEX_FORMAT"]

INDEX_FORMAT = "neuralfields-field-set/1"
"""The ``format`` of a field set's ``index.json``."""

_ITEMS_KEY = "neuralfields_set.items"


@dataclass
class FitSetConfig:
    """Settings of :func:`fit_set`.

    Attributes:
        steps: steps of :func:`~neuralfields.fit_many` for every group.
        group_size: images fitted together (one batched computation, one shard).
        hidden_features, hidden_layers: the SIREN of every field.
        lr: learning rate (``None``: :func:`~neuralfields.fit`'s default recipe).
        seed: seed of the fields' initialisation (all start from the same weights) and of the batches.

    Example:
        >>> FitSetConfig.quick().steps, FitSetConfig().group_size
        (100, 64)
    """

    steps: int = 300
    group_size: int = 64
    hidden_features: int = 64
    hidden_layers: int = 3
    lr: float | None = None
    seed: int = 0

    @classmethod
    def quick(cls, **overrides: Any) -> FitSetConfig:
        """Fewer steps: a first look in seconds for a few hundred small images."""
        return cls(**{"steps": 100, **overrides})


def _check(images: Any, cfg: FitSetConfig) -> Tensor:
    for name in ("steps", "group_size", "hidden_features", "hidden_layers"):
        check_positive_int(name, getattr(cfg, name))
    if not isinstance(images, Tensor) or not images.is_floating_point():
        raise InvalidDataError(f"images must be a floating-point tensor (N, C, H, W), got {type(images).__name__}")
    if images.dim() != 4 or images.shape[0] < 1:
        raise ShapeError(f"images must have shape (N, C, H, W) with N >= 1, got {tuple(images.shape)}")
    if not bool(torch.isfinite(images).all()):
        raise InvalidDataError("images hold NaN or infinite values")
    return images.detach().float().cpu().contiguous()


def _fingerprint(images: Tensor) -> str:
    return hashlib.sha256(images.numpy().tobytes()).hexdigest()[:16]


def _read_index(folder: Path) -> dict[str, Any] | None:
    path = folder / "index.json"
    if not path.exists():
        return None
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path} is not a readable field-set index: {exc}") from None
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT:
        raise FileFormatError(f"{path} is not a field-set index (format {INDEX_FORMAT!r})")
    return index


def fit_set(
    images: Tensor,
    out: str | os.PathLike[str],
    config: FitSetConfig | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Fit one SIREN per image in groups and write them as shards plus ``index.json`` (see the module's
    description); a folder holding an unfinished run of the same settings and images is resumed.

    In a ``torch.distributed`` process group (e.g. started by ``neuralfields fit-set`` under ``torchrun``)
    every rank calls it with the same images and settings; the groups are shared out and rank 0 writes the
    index.

    Args:
        images: ``(N, C, H, W)`` in [0, 1].
        out: the output folder (created).
        config: the settings (default :class:`FitSetConfig`).
        data: where the images came from (recorded in the index).
        progress: a progress bar in fields per second.

    Returns:
        The index: ``{"format", "run", "groups": {group: {"shard", "items", "psnr", "steps"}}}`` plus
        ``"fitted_now"`` (fields fitted by this call) and ``"seconds"``.

    Raises:
        ConfigError: ``out`` holds the index of another run (other settings or other images): nothing there
            is touched.

    Example:
        >>> import tempfile, neuralfields as nf
        >>> imgs = nf.data.load_dataset("shapes", n=5, size=8)
        >>> idx = fit_set(imgs, tempfile.mkdtemp(), FitSetConfig(steps=5, group_size=2, hidden_features=8), progress=False)
        >>> sorted(idx["groups"]), idx["groups"]["2"]["items"], idx["fitted_now"]
        (['0', '1', '2'], [4], 5)
    """
    cfg = config if config is not None else FitSetConfig()
    images = _check(images, cfg)
    n, c, h, w = images.shape
    folder = Path(out)
    run = {"config": asdict(cfg), "images": [n, c, h, w], "fingerprint": _fingerprint(images), "data": dict(data or {})}
    rank, world = rank_and_world()
    index = _read_index(folder)
    barrier()  # every rank has read the index before rank 0 writes it again
    if index is not None and index.get("run") != json.loads(json.dumps(run)):
        raise ConfigError(
            f"{folder} holds the index of another run (other settings or other images); nothing was changed. "
            f"Use another output folder, or the settings and images of that run to resume it."
        )  # fmt: skip
    if index is None:
        index = {"format": INDEX_FORMAT, "run": run, "groups": {}}
    (folder / "shards").mkdir(parents=True, exist_ok=True)
    template = Siren(2, c, hidden_features=cfg.hidden_features, hidden_layers=cfg.hidden_layers, seed=cfg.seed)
    starts = range(0, n, cfg.group_size)
    todo = [g for g, s in enumerate(starts) if str(g) not in index["groups"] or not (folder / index["groups"][str(g)]["shard"]).exists()]
    done = n - sum(min(cfg.group_size, n - starts[g]) for g in todo)
    bar = progress_bar(progress and rank == 0, total=n, desc=f"fit-set ({world} processes)" if world > 1 else "fit-set",
                       initial=done, unit="field")  # fmt: skip
    began, fitted = time.perf_counter(), 0
    try:
        for round_start in range(0, len(todo), world):  # one group per rank and round
            mine = todo[round_start + rank] if round_start + rank < len(todo) else None
            entry = None if mine is None else (mine, _fit_group(template, images, starts[mine], cfg, mine, folder))
            for g, record in (e for e in all_gather_objects(entry) if e is not None):
                index["groups"][str(g)] = record
                fitted += len(record["items"])
            if rank == 0:  # after the shards: an index never names a missing shard
                write_json(folder / "index.json", index)
            if bar is not None:
                bar.update(fitted - bar.n + done)
                bar.set_postfix(fields_per_s=f"{fitted / (time.perf_counter() - began):.1f}")
    finally:
        if bar is not None:
            bar.close()
    if not todo and rank == 0:  # nothing to fit: make sure the index exists (a run of zero groups never happens: N >= 1)
        write_json(folder / "index.json", index)
    barrier()  # the index is complete before any rank returns
    return {**index, "fitted_now": fitted, "seconds": time.perf_counter() - began}


def _fit_group(template: Field, images: Tensor, start: int, cfg: FitSetConfig, g: int, folder: Path) -> dict[str, Any]:
    """Fit group ``g`` (images ``start`` to ``start + group_size``), write its shard, return its index record."""
    items = list(range(start, min(images.shape[0], start + cfg.group_size)))
    res = fit_many(template, images[items], steps=cfg.steps, lr=cfg.lr, seed=cfg.seed, progress=False)
    shard = f"shards/group-{g:05d}.safetensors"
    meta = {**model_metadata(template, "stacked"), _ITEMS_KEY: json.dumps(items)}
    serialize({k: v.detach() for k, v in res.params.items()}, meta, folder / shard)
    return {"shard": shard, "items": items, "psnr": res.psnr, "steps": res.steps}


class FieldSet(torch.utils.data.Dataset):
    """The fields a :func:`fit_set` run wrote, read lazily (one shard in memory at a time), in image order.

    Args:
        folder: the output folder of :func:`fit_set` (``neuralfields fit-set``).
        weights: items are the fields' flattened weights ``(P,)`` (for weight-space learning) instead of
            fields.

    Attributes:
        items: the image index of each field, ``(len,)`` (only finished groups count).
        psnr: the final PSNR of each field on its image.

    Example:
        >>> import tempfile, neuralfields as nf
        >>> imgs, out = nf.data.load_dataset("shapes", n=3, size=8), tempfile.mkdtemp()
        >>> _ = fit_set(imgs, out, FitSetConfig(steps=5, group_size=2, hidden_features=8), progress=False)
        >>> fields = FieldSet(out)
        >>> len(fields), type(fields[2]).__name__, FieldSet(out, weights=True)[0].shape
        (3, 'Siren', torch.Size([177]))
    """

    def __init__(self, folder: str | os.PathLike[str], *, weights: bool = False) -> None:
        self.folder, self.weights = Path(folder), bool(weights)
        index = _read_index(self.folder)
        if index is None:
            raise FileFormatError(f"{self.folder} holds no field set (no index.json): write one with fit_set / neuralfields fit-set")
        where = sorted((item, g["shard"], pos, psnr) for g in index["groups"].values()
                       for pos, (item, psnr) in enumerate(zip(g["items"], g["psnr"])))  # fmt: skip
        self.items = [w[0] for w in where]
        self.psnr = [float(w[3]) for w in where]
        self._where = [(w[1], w[2]) for w in where]
        self._cached: tuple[str, Field, dict[str, Tensor]] | None = None

    def __len__(self) -> int:
        return len(self._where)

    def _shard(self, shard: str) -> tuple[Field, dict[str, Tensor]]:
        if self._cached is None or self._cached[0] != shard:
            self._cached = (shard, *load_stacked(self.folder / shard))  # type: ignore[assignment]
        return self._cached[1], self._cached[2]

    def __getitem__(self, i: int) -> Any:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} fields")
        shard, pos = self._where[i % len(self)]
        template, params = self._shard(shard)
        if self.weights:
            return torch.cat([params[name][pos].flatten() for name, _ in template.named_parameters()])
        return template.unbatch(params, pos)
