"""Similarity matrices between embeddings, and choosing the most (dis)similar pairs."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ConfigError, ShapeError

__all__ = ["METRICS", "similarity_matrix", "select_pairs"]

METRICS = ("cosine", "euclidean", "dot")
"""Similarity measures: larger always means more similar."""


def similarity_matrix(embeddings: Tensor, metric: str = "cosine") -> Tensor:
    """Pairwise similarity of ``N`` embeddings.

    Args:
        embeddings: ``(N, D)``.
        metric: ``"cosine"`` (diagonal 1), ``"euclidean"`` (minus the distance; diagonal 0) or ``"dot"``
            (diagonal ``|x|^2``).

    Returns:
        Symmetric ``(N, N)`` matrix, computed in float64.

    Example:
        >>> similarity_matrix(torch.tensor([[1.0, 0.0], [0.0, 2.0]]), "dot")
        tensor([[1., 0.],
                [0., 4.]], dtype=torch.float64)
    """
    if metric not in METRICS:
        raise ConfigError(f"unknown similarity metric {metric!r}; use one of {METRICS}")
    if not isinstance(embeddings, Tensor) or embeddings.dim() != 2:
        raise ShapeError(f"embeddings must be a tensor (N, D), got {getattr(embeddings, 'shape', type(embeddings))}")
    x = embeddings.detach().double()
    if metric == "dot":
        sim = x @ x.T
    elif metric == "cosine":
        unit = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        sim = (unit @ unit.T).clamp(-1.0, 1.0)
        sim.fill_diagonal_(1.0)
    else:
        sim = -torch.cdist(x, x)
        sim.fill_diagonal_(0.0)
    return (sim + sim.T) / 2  # exactly symmetric


def select_pairs(
    similarity: Tensor, k: int, *, most: str = "similar", unique: bool = False
) -> list[tuple[int, int, float]]:
    """The ``k`` most similar (or dissimilar) pairs ``i < j`` of a similarity matrix.

    Args:
        similarity: symmetric ``(N, N)`` matrix (larger = more similar); the diagonal is ignored.
        k: number of pairs (fewer are returned when fewer exist).
        most: ``"similar"`` or ``"dissimilar"``.
        unique: suppression: each item appears in at most one pair (greedy, best pair first).

    Returns:
        ``[(i, j, similarity), ...]`` best first.

    Example:
        >>> s = similarity_matrix(torch.tensor([[0.0], [0.1], [0.2], [5.0]]), "euclidean")
        >>> [(i, j) for i, j, _ in select_pairs(s, 2)]
        [(0, 1), (1, 2)]
        >>> [(i, j) for i, j, _ in select_pairs(s, 2, unique=True)]
        [(0, 1), (2, 3)]
    """
    if most not in ("similar", "dissimilar"):
        raise ConfigError(f"most must be 'similar' or 'dissimilar', got {most!r}")
    if similarity.dim() != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ShapeError(f"similarity must be a square matrix, got {tuple(similarity.shape)}")
    if not isinstance(k, int) or k < 0:
        raise ConfigError(f"k must be a non-negative int, got {k!r}")
    n = similarity.shape[0]
    i, j = torch.triu_indices(n, n, offset=1)
    values = similarity[i, j].double()
    order = torch.argsort(values, descending=most == "similar", stable=True)
    pairs: list[tuple[int, int, float]] = []
    used: set[int] = set()
    for o in order.tolist():
        if len(pairs) == k:
            break
        a, b = int(i[o]), int(j[o])
        if unique and (a in used or b in used):
            continue
        pairs.append((a, b, float(values[o])))
        used.update((a, b))
    return pairs
