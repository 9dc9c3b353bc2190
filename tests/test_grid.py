"""Property tests of the grid and sampling invariants (neuralfields.grid)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from neuralfields import grid
from neuralfields.errors import ConfigError, DTypeError, ShapeError

shapes = st.lists(st.integers(1, 12), min_size=1, max_size=4).map(tuple)
shapes2d = st.tuples(st.integers(1, 40), st.integers(1, 40))


@given(shapes)
def test_grid_size_and_range(shape):
    """A grid of shape S has shape (*S, len(S)) and every coordinate lies strictly inside (-1, 1)."""
    g = grid.make_grid(shape)
    assert g.shape == (*shape, len(shape))
    assert bool((g > -1).all()) and bool((g < 1).all())


@given(st.integers(1, 200))
def test_grid_is_symmetric(n):
    """Pixel centres are symmetric about 0: centre i is minus centre n-1-i."""
    c = grid.pixel_centers(n, dtype=torch.float64)
    assert torch.allclose(c, -c.flip(0), atol=1e-12)


@given(st.integers(1, 200))
def test_pixel_centre_spacing(n):
    """Centres are 2/n apart and the first sits half a pixel (1/n) from -1."""
    c = grid.pixel_centers(n, dtype=torch.float64)
    assert math.isclose(float(c[0]), -1 + 1 / n, abs_tol=1e-12)
    if n > 1:
        assert torch.allclose(c.diff(), torch.full((n - 1,), 2 / n, dtype=torch.float64), atol=1e-12)


@given(shapes2d, st.integers(1, 5))
def test_average_pooling_fine_grid_gives_coarse_grid(shape, k):
    """Average-pooling a k-times finer grid by k gives the coarse grid (pixel centres nest)."""
    h, w = shape
    coarse = grid.make_grid((h, w), dtype=torch.float64)
    fine = grid.make_grid((h * k, w * k), dtype=torch.float64)
    pooled = F.avg_pool2d(fine.permute(2, 0, 1)[None], k)[0].permute(1, 2, 0)
    assert torch.allclose(pooled, coarse, atol=1e-12)


@given(shapes, st.integers(1, 4))
def test_signal_samples_round_trip(shape, channels):
    """signal -> (coords, values) -> signal is the identity, for any shape and channel count."""
    signal = torch.rand(channels, *shape, generator=torch.Generator().manual_seed(0))
    coords, values = grid.signal_to_samples(signal)
    assert coords.shape == (math.prod(shape), len(shape))
    assert values.shape == (math.prod(shape), channels)
    assert torch.equal(grid.samples_to_signal(values, shape), signal)


@given(shapes)
def test_coords_match_pixels(shape):
    """signal_to_samples pairs each value with its pixel's grid coordinate (row-major order)."""
    signal = torch.arange(math.prod(shape), dtype=torch.float32).reshape(1, *shape)
    coords, values = grid.signal_to_samples(signal)
    flat_grid = grid.make_grid(shape).reshape(-1, len(shape))
    assert torch.equal(coords, flat_grid)
    assert torch.equal(values[:, 0], torch.arange(math.prod(shape), dtype=torch.float32))


@given(shapes, st.data())
def test_grid_coords_equals_indexed_grid(shape, data):
    """grid_coords(shape, idx) equals make_grid(shape) flattened and indexed by idx."""
    n = math.prod(shape)
    idx = torch.tensor(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=30)))
    assert torch.allclose(grid.grid_coords(shape, idx), grid.make_grid(shape).reshape(-1, len(shape))[idx])


@given(shapes2d, st.floats(0.0, 0.99), st.integers(0, 2**31))
def test_holdout_fraction_exact_and_deterministic(shape, fraction, seed):
    """A held-out mask holds out exactly round(fraction * N) pixels, and the same seed gives the same mask."""
    m = grid.holdout_mask(shape, fraction, seed=seed)
    assert m.shape == shape and m.dtype == torch.bool
    assert int(m.sum()) == round(fraction * math.prod(shape))
    assert torch.equal(m, grid.holdout_mask(shape, fraction, seed=seed))


@given(st.integers(1, 6), shapes2d, st.floats(0.01, 0.5), st.integers(0, 1000))
def test_per_item_masks(num_items, shape, fraction, seed):
    """Per-item masks: each has the asked fraction, is disjoint from its training pixels, and item i's
    mask depends only on (seed, i), not on how many items there are."""
    masks = grid.holdout_masks(num_items, shape, fraction, seed=seed)
    assert masks.shape == (num_items, *shape)
    k = round(fraction * math.prod(shape))
    for i in range(num_items):
        held = masks[i]
        train = ~held
        assert int(held.sum()) == k
        assert not bool((held & train).any()) and bool((held | train).all())
        assert torch.equal(held, grid.holdout_masks(i + 1, shape, fraction, seed=seed)[i])


def test_masks_differ_between_items_and_seeds():
    masks = grid.holdout_masks(3, (32, 32), 0.1, seed=0)
    assert not torch.equal(masks[0], masks[1])
    assert not torch.equal(masks[0], grid.holdout_masks(1, (32, 32), 0.1, seed=1)[0])


@given(st.integers(1, 500), st.integers(1, 128), st.integers(0, 2**31), st.integers(0, 3))
def test_random_batches_cover_every_pixel_once_per_epoch(n, batch_size, seed, epoch):
    """Random batches without replacement: within each epoch every index appears exactly once."""
    sampler = grid.RandomBatches(n, batch_size, seed=seed)
    batches = list(sampler.epoch(epoch))
    assert len(batches) == -(-n // min(batch_size, n))
    assert all(len(b) <= batch_size for b in batches)
    assert torch.equal(torch.sort(torch.cat(batches)).values, torch.arange(n))


def test_random_batches_are_a_function_of_seed_and_step():
    a, b = grid.RandomBatches(100, 16, seed=3), grid.RandomBatches(100, 16, seed=3)
    for step in [0, 5, 6, 7, 13, 40]:
        assert torch.equal(a.batch(step), b.batch(step))
    # epochs are shuffled differently
    assert not torch.equal(a.permutation(0), a.permutation(1))
    assert not torch.equal(a.permutation(0), grid.RandomBatches(100, 16, seed=4).permutation(0))


@pytest.mark.parametrize("bad", [(), (0, 3), (2, -1), (2.5, 3), "ab", None, (True, 2)])
def test_bad_shapes(bad):
    with pytest.raises(ShapeError, match="shape"):
        grid.make_grid(bad)


def test_bad_inputs():
    with pytest.raises(DTypeError, match="floating"):
        grid.signal_to_samples(torch.zeros(1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ShapeError, match=r"\(C, \*spatial\)"):
        grid.signal_to_samples(torch.zeros(5))
    with pytest.raises(ShapeError, match="pixels"):
        grid.samples_to_signal(torch.zeros(10, 1), (3, 3))
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        grid.holdout_mask((4, 4), 1.5)
    with pytest.raises(ConfigError, match="batch_size"):
        grid.RandomBatches(10, 0)
    with pytest.raises(DTypeError, match="floating"):
        grid.make_grid((2, 2), dtype=torch.int64)
