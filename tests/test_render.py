"""render: any resolution, chunking, value range, memory."""

import subprocess
import sys
import textwrap

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, ShapeError


def test_render_matches_direct_evaluation_on_the_grid():
    f = nf.Siren(2, 3, 16, seed=0)
    img = nf.render(f, (7, 9), clamp=False)
    direct = f(nf.grid.make_grid((7, 9))).permute(2, 0, 1) * 0.5 + 0.5
    assert img.shape == (3, 7, 9)
    assert torch.allclose(img, direct, atol=1e-6)


@pytest.mark.parametrize("chunk", [1, 7, 100, 10_000])
def test_chunking_does_not_change_the_result(chunk):
    f = nf.Siren(2, 1, 16, seed=0)
    assert torch.allclose(nf.render(f, (13, 11), chunk_size=chunk), nf.render(f, (13, 11)), atol=1e-6)


def test_range_options():
    f = nf.Siren(2, 1, 16, seed=0)
    with torch.no_grad():
        f.layers[-1].bias.fill_(5.0)  # outputs far above 1
    assert float(nf.render(f, (4, 4)).max()) == 1.0
    assert float(nf.render(f, (4, 4), clamp=False).max()) > 2.0
    raw = nf.render(f, (4, 4), unit_range=False)
    assert torch.allclose(raw, f(nf.grid.make_grid((4, 4))).permute(2, 0, 1))


def test_render_at_higher_resolution_covers_the_same_square():
    """A fitted field rendered 4x finer and average-pooled is close to the training-resolution render."""
    img = nf.data.load_image("camera", size=16)
    f = nf.Siren(2, 1, 32, hidden_layers=2, seed=0)
    nf.fit(f, img, steps=60, progress=False)
    lo = nf.render(f, (16, 16))
    hi = nf.render(f, (64, 64))
    pooled = torch.nn.functional.avg_pool2d(hi[None], 4)[0]
    assert nf.psnr(pooled, lo) > 20


def test_1d_and_3d_and_dtype():
    assert nf.render(nf.Siren(1, 2, 8), (50,)).shape == (2, 50)
    assert nf.render(nf.Siren(3, 1, 8), (3, 4, 5)).shape == (1, 3, 4, 5)
    assert nf.render(nf.Siren(2, 1, 8).double(), (3, 3)).dtype == torch.float64


def test_render_errors():
    f = nf.Siren(2, 1, 8)
    with pytest.raises(ShapeError, match="2 entries"):
        nf.render(f, (4, 4, 4))
    with pytest.raises(ShapeError):
        nf.render(f, (4, 0))
    with pytest.raises(ConfigError, match="chunk_size"):
        nf.render(f, (4, 4), chunk_size=0)


def test_4096_render_memory_is_bounded(tmp_path):
    """A 4096x4096 render needs its output plus one chunk, not the whole grid's activations.

    Runs in a fresh process and compares peak RSS growth with the output size (64 MiB) and with what
    evaluating all 16.8M coordinates at once would need (over 1 GiB of activations at width 16).
    """
    script = textwrap.dedent(
        """
        import resource, torch, neuralfields as nf
        torch.set_num_threads(2)
        f = nf.Siren(2, 1, hidden_features=16, hidden_layers=1, seed=0)
        nf.render(f, (64, 64))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        img = nf.render(f, (4096, 4096))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert img.shape == (1, 4096, 4096)
        print((after - before) / 1024)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300)
    grown_mib = float(out.stdout.strip())
    assert grown_mib < 64 + 256, f"peak memory grew by {grown_mib:.0f} MiB"


def test_huge_renders_are_refused_at_once():
    import time

    f = nf.Siren(2, 1, hidden_features=8, seed=0)
    for shape in ((100_000, 100_000), (2**31, 2**31)):
        t0 = time.perf_counter()
        with pytest.raises(nf.errors.ConfigError, match="GiB.*render_to_file"):
            nf.render(f, shape)
        assert time.perf_counter() - t0 < 1.0
    assert nf.render(f, (4, 4), max_bytes=64).shape == (1, 4, 4)  # 16 float32 values: 64 bytes
    with pytest.raises(nf.errors.ConfigError):
        nf.render(f, (4, 5), max_bytes=64)


def test_render_to_file_matches_render(tmp_path):
    import numpy as np

    from neuralfields.fields import render_to_file

    f = nf.Siren(2, 3, hidden_features=16, seed=0)
    png = render_to_file(f, (37, 23), tmp_path / "r.png", chunk_size=100, progress=False)  # bands of 4 rows
    ref = nf.render(f, (37, 23))
    assert float((nf.data.load_image(png) - ref).abs().max()) <= 0.5 / 255 + 1e-6
    npy = render_to_file(f, (37, 23), tmp_path / "r.npy", chunk_size=100, progress=False)
    arr = np.load(npy, mmap_mode="r")
    assert arr.shape == (3, 37, 23)
    torch.testing.assert_close(torch.from_numpy(np.array(arr)), nf.render(f, (37, 23), clamp=False), rtol=0, atol=1e-6)
    vol = nf.Siren(3, 1, hidden_features=8, seed=0)
    assert np.load(render_to_file(vol, (4, 5, 6), tmp_path / "v.npy", progress=False)).shape == (1, 4, 5, 6)
    with pytest.raises(nf.errors.ConfigError, match="a PNG holds a 2-D field"):
        render_to_file(vol, (4, 5, 6), tmp_path / "v.png", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.npy", "r.png", "v.npy"]  # no temporaries left
