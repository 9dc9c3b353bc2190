"""Similarity matrices and pair selection (neuralfields.analysis)."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from neuralfields.analysis import METRICS, select_pairs, similarity_matrix
from neuralfields.errors import ConfigError, ShapeError

embeddings = st.tuples(st.integers(1, 12), st.integers(1, 6), st.integers(0, 10_000)).map(
    lambda t: torch.randn(t[0], t[1], generator=torch.Generator().manual_seed(t[2]))
)


@given(embeddings, st.sampled_from(METRICS))
def test_symmetric_with_the_right_diagonal(x, metric):
    """Similarity matrices are symmetric; the diagonal is 1 (cosine), 0 (euclidean) or |x|^2 (dot),
    and no pair is more similar than an item with itself (cosine, euclidean)."""
    s = similarity_matrix(x, metric)
    assert s.shape == (len(x), len(x))
    assert torch.equal(s, s.T)
    diag = {"cosine": torch.ones(len(x)), "euclidean": torch.zeros(len(x)), "dot": (x.double() ** 2).sum(1)}[metric]
    assert torch.allclose(s.diagonal(), diag.double(), atol=1e-9)
    if metric != "dot":
        assert bool((s <= s.diagonal()[:, None] + 1e-9).all())


def test_known_values():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    cos = similarity_matrix(x, "cosine")
    assert cos[0, 1] == pytest.approx(0.0) and cos[0, 2] == pytest.approx(1.0)
    assert similarity_matrix(x, "euclidean")[1, 2] == pytest.approx(-(5**0.5))
    assert similarity_matrix(x, "dot")[0, 2] == pytest.approx(2.0)


@given(embeddings, st.integers(0, 20), st.sampled_from(["similar", "dissimilar"]), st.sampled_from(METRICS))
def test_pair_selection(x, k, most, metric):
    """Pairs are i < j, sorted best first, at most k; with suppression no item repeats, and each chosen
    pair is the best one among the items still free."""
    s = similarity_matrix(x, metric)
    n = len(x)
    pairs = select_pairs(s, k, most=most)
    assert len(pairs) == min(k, n * (n - 1) // 2)
    assert all(i < j for i, j, _ in pairs)
    vals = [v for _, _, v in pairs]
    assert vals == sorted(vals, reverse=most == "similar")
    unique = select_pairs(s, k, most=most, unique=True)
    items = [i for p in unique for i in p[:2]]
    assert len(items) == len(set(items))
    assert len(unique) == min(k, n // 2)
    used: set[int] = set()
    for i, j, v in unique:
        free = [s[a, b].item() for a in range(n) for b in range(a + 1, n) if a not in used and b not in used]
        best = max(free) if most == "similar" else min(free)
        assert v == pytest.approx(best)
        used.update((i, j))


def test_errors():
    with pytest.raises(ConfigError, match="metric"):
        similarity_matrix(torch.rand(3, 2), "manhattan")
    with pytest.raises(ShapeError, match=r"\(N, D\)"):
        similarity_matrix(torch.rand(3), "dot")
    with pytest.raises(ShapeError, match="square"):
        select_pairs(torch.rand(3, 4), 1)
    with pytest.raises(ConfigError, match="dissimilar"):
        select_pairs(torch.rand(3, 3), 1, most="closest")
