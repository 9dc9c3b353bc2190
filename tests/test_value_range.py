"""Signals that are not images: value ranges other than [0, 1], fitted and rendered without clamping."""

import math

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, InvalidDataError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def sdf():
    """A sphere's signed distance on a 12^3 grid: values from about -0.45 to 1.2."""
    g = nf.grid.make_grid((12, 12, 12))
    return (g.norm(dim=-1) - 0.5)[None]


def test_a_volume_with_negative_values_fits_and_renders_unclamped(sdf):
    field = nf.Siren(3, 1, hidden_features=32, hidden_layers=2, first_omega_0=10.0, seed=0)
    res = nf.fit(field, sdf, steps=150, value_range=(-1.0, 1.5), progress=False)
    out = nf.render(field, (12, 12, 12), value_range=(-1.0, 1.5))
    assert res.psnr > 25 and float(out.min()) < -0.3  # the inside stays negative: nothing is clamped
    mse = float(((out - sdf) ** 2).mean())
    assert 10 * math.log10(2.5**2 / mse) == pytest.approx(res.psnr, abs=0.05)  # PSNR relative to the range
    clamped = nf.render(field, (12, 12, 12))  # the image convention: mapped to [0, 1] and clamped
    assert float(clamped.min()) >= 0.0


def test_pairs_and_batches_take_the_range_too(sdf):
    coords, values = nf.grid.signal_to_samples(sdf)
    a = nf.fit(nf.Siren(3, 1, 16, seed=0), (coords, values), steps=20, value_range=(-1.0, 1.5), progress=False)
    b = nf.fit(nf.Siren(3, 1, 16, seed=0), sdf, steps=20, value_range=(-1.0, 1.5), progress=False)
    assert a.psnr == pytest.approx(b.psnr, abs=1e-6)
    many = nf.fit_many(nf.Siren(3, 1, 16, seed=0), torch.stack([sdf, -sdf]), steps=5, value_range=(-1.5, 1.5), progress=False)
    assert len(many) == 2


def test_values_outside_the_range_and_bad_ranges_are_refused(sdf):
    with pytest.raises(InvalidDataError, match="image values must be in \\[0, 1\\].*value_range"):
        nf.fit(nf.Siren(3, 1, 16, seed=0), sdf, steps=1, progress=False)
    with pytest.raises(InvalidDataError, match="outside value_range"):
        nf.fit(nf.Siren(3, 1, 16, seed=0), sdf, steps=1, value_range=(0.0, 1.0), progress=False)
    for bad in [(1.0, 1.0), (0.0, math.inf), "ab", (1, 2, 3)]:
        with pytest.raises(ConfigError, match="value_range"):
            nf.fit(nf.Siren(3, 1, 16, seed=0), sdf, steps=1, value_range=bad, progress=False)
    with pytest.raises(ConfigError, match="value_range"):
        nf.render(nf.Siren(3, 1, 16, seed=0), (4, 4, 4), value_range=(2.0, -2.0))


def test_wav_files_round_trip_and_bad_files_are_clear(tmp_path):
    t = torch.linspace(0, 1, 4000)
    audio = torch.stack([torch.sin(2 * math.pi * 220 * t), 0.5 * torch.cos(2 * math.pi * 330 * t)]) * 0.9
    path = nf.data.save_audio(audio, tmp_path / "two.wav", 4000)
    back, rate = nf.data.load_audio(path)
    assert rate == 4000 and back.shape == (2, 4000)
    assert float((back - audio).abs().max()) < 1 / 32767 + 1e-6  # 16-bit rounding
    (tmp_path / "junk.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(nf.errors.FileFormatError, match="not a PCM WAV"):
        nf.data.load_audio(tmp_path / "junk.wav")
    with pytest.raises(nf.errors.ShapeError):
        nf.data.save_audio(audio[0], tmp_path / "x.wav", 4000)
    with pytest.raises(ConfigError, match="sample_rate"):
        nf.data.save_audio(audio, tmp_path / "x.wav", 0)


def test_audio_fits_as_a_one_dimensional_signal(tmp_path):
    t = torch.linspace(-1, 1, 2000)
    audio = (0.6 * torch.sin(math.pi * 40 * t) + 0.3 * torch.sin(math.pi * 130 * t))[None]
    choice = nf.suggest_frequency(audio, hidden_features=64, seeds=1)
    field = nf.Siren(1, 1, hidden_features=64, seed=0, **choice.config)
    res = nf.fit(field, audio, steps=300, value_range=(-1.0, 1.0), progress=False)
    plain = nf.fit(nf.Siren(1, 1, hidden_features=64, seed=0), audio, steps=300, value_range=(-1.0, 1.0), progress=False)
    assert res.psnr > 30 and res.psnr > plain.psnr
    out = nf.render(field, (2000,), value_range=(-1.0, 1.0))
    nf.data.save_audio(out, tmp_path / "fit.wav", 2000)
