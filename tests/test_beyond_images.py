"""Signals that are not images, end to end: 1-D and 3-D fits at the suggested frequency, meshes, derivative
supervision (SDF with the eikonal term, Poisson), render_to_file with a value range, and the CLI for .wav and
.npy files."""

import json
import math

import numpy as np
import pytest
import torch

import neuralfields as nf
from neuralfields.cli import main
from neuralfields.errors import ConfigError, FileFormatError, InvalidDataError, ShapeError
from neuralfields.training import coordinate_gradient, image_gradient, image_laplacian, laplacian


def _sines(n=2000):
    t = torch.arange(n) / n
    return (torch.sin(2 * math.pi * 30 * t) + 0.5 * torch.sin(2 * math.pi * 170 * t + 1.0))[None] / 1.5


def _ball(n=16, radius=0.5):
    return (nf.grid.make_grid((n, n, n)).norm(dim=-1) - radius)[None]


def test_audio_at_the_suggested_frequency_reaches_a_stated_psnr_where_the_default_does_not():
    sig = _sines()
    choice = nf.suggest_frequency(sig, hidden_features=64, hidden_layers=2)
    assert choice.value > 100  # two sines of 30 and 170 periods over 2,000 samples
    got = {}
    for omega in (30.0, choice.value):
        f = nf.Siren(1, 1, hidden_features=64, hidden_layers=2, first_omega_0=omega, seed=0)
        got[omega] = nf.fit(f, sig, steps=200, value_range=(-1, 1), progress=False).psnr
    assert got[choice.value] > 45.0  # measured 55.8 dB
    assert got[30.0] < 25.0  # measured 18.6 dB: the default is far too low for 2,000 samples


def test_a_volume_fits_and_its_surface_is_where_the_distance_is_zero():
    sdf = _ball()
    f = nf.Siren(3, 1, hidden_features=64, hidden_layers=2, first_omega_0=nf.suggest_frequency(sdf, hidden_features=64, hidden_layers=2).value, seed=0)
    res = nf.fit(f, sdf, steps=200, value_range=(-1.0, 1.5), progress=False)
    assert res.psnr > 35.0  # measured 41.5 dB
    values = nf.render(f, (16, 16, 16), value_range=(-1.0, 1.5))
    assert values.min() < 0 < values.max()  # signed, not clamped to [0, 1]
    mesh = nf.analysis.extract_mesh(f, 24, value_range=(-1.0, 1.5))
    radius = mesh.vertices.norm(dim=1)
    assert float((radius - 0.5).abs().mean()) < 0.02  # measured 0.005
    assert float((mesh.normals * mesh.vertices).sum(1).mean()) > 0  # normals point outwards (towards larger values)
    assert mesh.faces.max() < mesh.vertices.shape[0]


def test_mesh_files_and_bad_mesh_requests(tmp_path):
    f = nf.Siren(3, 1, hidden_features=16, hidden_layers=1, seed=0)
    with pytest.raises(InvalidDataError, match="never crosses"):
        nf.analysis.extract_mesh(f, 8, level=100.0)
    with pytest.raises(ShapeError, match="3-D coordinates"):
        nf.analysis.extract_mesh(nf.Siren(2, 1, hidden_features=8, seed=0), 8)
    with pytest.raises(ConfigError, match="resolution"):
        nf.analysis.extract_mesh(f, 1)
    mesh = nf.analysis.Mesh(torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), torch.tensor([[0, 1, 2]]))
    ply = mesh.save(tmp_path / "m.ply").read_text().splitlines()
    assert ply[0] == "ply" and ply[-1] == "3 0 1 2" and "element vertex 3" in ply
    with pytest.raises(ConfigError, match=".obj or .ply"):
        mesh.save(tmp_path / "m.stl")


def test_coordinate_derivatives_match_finite_differences_and_closed_forms():
    f = nf.Siren(2, 2, hidden_features=16, hidden_layers=1, seed=0).double()
    x = torch.rand(5, 2, dtype=torch.float64) * 2 - 1
    _, grad = coordinate_gradient(f, x)
    h = 1e-6
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = h
        numeric = (f(x + e) - f(x - e)) / (2 * h)
        assert torch.allclose(grad[:, :, i], numeric.detach(), atol=1e-6)
    _, lap = laplacian(lambda p: (p[:, :1] ** 2) * 3 + p[:, 1:] ** 3, x)
    assert torch.allclose(lap[:, 0], 6 + 6 * x[:, 1])
    with pytest.raises(ShapeError):
        coordinate_gradient(f, torch.zeros(2, 2, 2))


def test_image_derivatives_are_those_of_a_field_that_fits_the_image():
    ramp = (nf.grid.make_grid((6, 8))[..., 1] * 0.25 + 0.5)[None]  # 0.25 x + 0.5: on the field's scale 0.5 x
    grad = image_gradient(ramp)
    assert torch.allclose(grad[:, 0, 1], torch.full((48,), 0.5)) and torch.allclose(grad[:, 0, 0], torch.zeros(48))
    bowl = (nf.grid.make_grid((9, 9)) ** 2).sum(-1)[None] * 0.25  # on the field's scale 0.5 |x|^2: Laplacian 2
    assert torch.allclose(image_laplacian(bowl).reshape(9, 9)[1:-1, 1:-1], torch.full((7, 7), 2.0), atol=1e-5)
    with pytest.raises(ShapeError):
        image_gradient(torch.zeros(1, 2, 5))


def test_poisson_fits_recover_an_image_from_its_gradient():
    img = nf.data.load_image("camera", size=24)
    f = nf.Siren(2, 1, hidden_features=64, hidden_layers=2, seed=0)
    res = nf.training.fit_poisson(f, img, supervise="gradient", steps=150, lr=1e-3, progress=False)
    assert res.psnr > 25.0 and res.steps == 150  # it never saw a pixel value
    assert res.history.val_psnr[-1] == pytest.approx(res.psnr)
    g = nf.Siren(2, 1, hidden_features=32, hidden_layers=1, seed=0)
    lap = nf.training.fit_poisson(g, img, supervise="laplacian", steps=30, lr=1e-3, progress=False)
    assert lap.history.loss[-1] < lap.history.loss[0]
    with pytest.raises(ConfigError, match="supervise"):
        nf.training.fit_poisson(f, img, supervise="hessian")
    with pytest.raises(ShapeError, match="2-D coordinates to 3"):
        nf.training.fit_poisson(f, torch.rand(3, 8, 8))


def test_a_signed_distance_from_points_and_normals_with_the_eikonal_term():
    gen = torch.Generator().manual_seed(0)
    pts = torch.nn.functional.normalize(torch.randn(2000, 3, generator=gen), dim=1) * 0.5
    f = nf.Siren(3, 1, hidden_features=64, hidden_layers=2, first_omega_0=10, seed=0)
    res = nf.training.fit_sdf(f, pts, pts / 0.5, steps=200, batch_size=512, progress=False)
    assert res.surface_error < 0.01 and set(res.history.metrics) == {"surface", "eikonal", "off_surface", "normal"}
    inside, outside = f(torch.tensor([[0.0, 0.0, 0.0], [0.8, 0.0, 0.0]])).detach().flatten().tolist()
    assert inside < 0 < outside
    mesh = nf.analysis.extract_mesh(f, 20)
    assert float((mesh.vertices.norm(dim=1) - 0.5).abs().mean()) < 0.02  # measured 0.001 after 300 steps
    with pytest.raises(ShapeError, match="3-D coordinates to 1"):
        nf.training.fit_sdf(nf.Siren(2, 1, hidden_features=8, seed=0), pts)
    with pytest.raises(InvalidDataError, match="inside"):
        nf.training.fit_sdf(f, pts * 3)
    with pytest.raises(ConfigError, match="unknown SDF loss weights"):
        nf.training.fit_sdf(f, pts, weights={"surfce": 1.0})


def test_render_to_file_keeps_the_value_range_and_writes_audio(tmp_path):
    f = nf.Siren(1, 1, hidden_features=16, seed=0)
    wav = nf.fields.render_to_file(f, (500,), tmp_path / "a.wav", sample_rate=8000, progress=False)
    audio, rate = nf.data.load_audio(wav)
    assert rate == 8000 and audio.shape == (1, 500)
    expected = nf.render(f, (500,), value_range=(-1, 1))
    assert torch.allclose(audio, expected.clamp(-1, 1), atol=1 / 32768 + 1e-6)
    vol = nf.Siren(3, 1, hidden_features=8, seed=0)
    path = nf.fields.render_to_file(vol, (4, 5, 6), tmp_path / "v.npy", value_range=(-3.0, 5.0), progress=False)
    assert np.allclose(np.load(path), nf.render(vol, (4, 5, 6), value_range=(-3.0, 5.0)).numpy(), atol=1e-6)
    with pytest.raises(ConfigError, match="sample_rate"):
        nf.fields.render_to_file(f, (10,), tmp_path / "b.wav")
    with pytest.raises(ConfigError, match="1-D field"):
        nf.fields.render_to_file(vol, (4, 4, 4), tmp_path / "c.wav", sample_rate=10)
    with pytest.raises(ConfigError, match="PNG holds an image"):
        nf.fields.render_to_file(nf.Siren(2, 1, hidden_features=8, seed=0), (4, 4), tmp_path / "d.png", value_range=(0, 2))


def test_a_signal_whose_dimension_does_not_match_the_field_is_refused():
    with pytest.raises(ShapeError):
        nf.fit(nf.Siren(2, 1, hidden_features=8, seed=0), _ball(4), steps=1, value_range=(-1, 1), progress=False)
    with pytest.raises(ConfigError, match="leave it out"):
        nf.suggest_frequency(_sines(64), hidden_features=8, first_omega_0=3.0)


def test_the_cli_fits_and_renders_audio_and_volumes(tmp_path, capsys):
    audio = (_sines(1000) * 0.8).float()
    nf.data.save_audio(audio, tmp_path / "s.wav", 1000)
    assert main(["fit", str(tmp_path / "s.wav"), "--out", str(tmp_path / "a"), "--steps", "60", "--hidden-features", "32",
                 "--hidden-layers", "2", "--no-progress"]) == 0  # fmt: skip
    m = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert m["value_range"] == [-1.0, 1.0] and m["frequency"]["first_omega_0"] > 30 and m["psnr_signal"] > 20
    assert {"reconstruction.wav", "waveform.png", "field.safetensors", "run.json"} <= {p.name for p in (tmp_path / "a").iterdir()}
    assert main(["render", str(tmp_path / "a" / "field.safetensors"), "--size", "2000", "--out", str(tmp_path / "up.wav"), "--no-progress"]) == 0
    up, rate = nf.data.load_audio(tmp_path / "up.wav")
    assert up.shape == (1, 2000) and rate == 2000  # twice the samples over the same second

    np.save(tmp_path / "ball.npy", _ball(12)[0].numpy())
    assert main(["fit", str(tmp_path / "ball.npy"), "--out", str(tmp_path / "v"), "--steps", "300", "--hidden-features", "32",
                 "--hidden-layers", "2", "--mesh-level", "0", "--no-progress"]) == 0  # fmt: skip
    m = json.loads((tmp_path / "v" / "metrics.json").read_text())
    assert m["shape"] == [1, 12, 12, 12] and m["mesh"]["faces"] > 0
    assert {"reconstruction.npy", "slices.png", "mesh.obj", "mesh.png"} <= {p.name for p in (tmp_path / "v").iterdir()}
    assert main(["render", str(tmp_path / "v" / "field.safetensors"), "--size", "10", "--out", str(tmp_path / "v10.npy"), "--no-progress"]) == 0
    big = np.load(tmp_path / "v10.npy")
    assert big.shape == (1, 10, 10, 10) and big.min() < 0  # on the volume's own scale
    assert main(["fit", "--config", str(tmp_path / "v" / "run.json"), "--out", str(tmp_path / "v2"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "v2" / "metrics.json").read_text())["psnr_signal"] == pytest.approx(m["psnr_signal"])
    capsys.readouterr()

    assert main(["render", str(tmp_path / "v" / "field.safetensors"), "--size", "10x10", "--out", str(tmp_path / "x.npy")]) == 1
    assert main(["render", str(tmp_path / "v" / "field.safetensors"), "--size", "10", "--out", str(tmp_path / "x.png")]) == 1
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["fit", str(tmp_path / "obj.npy"), "--out", str(tmp_path / "o")]) == 1
    assert main(["fit", str(tmp_path / "ball.npy"), "--out", str(tmp_path / "o2"), "--size", "8"]) == 1
    err = capsys.readouterr().err
    assert "3-D field" in err and "PNG" in err and "not a .npy array of numbers" in err and "for images" in err


def test_load_array_reads_channels_and_refuses_bad_arrays(tmp_path):
    from neuralfields.experiments import load_array

    np.save(tmp_path / "a.npy", np.zeros((2, 5, 6), dtype=np.float64))
    assert load_array(tmp_path / "a.npy").shape == (1, 2, 5, 6)
    assert load_array(tmp_path / "a.npy", channels_first=True).shape == (2, 5, 6)
    np.save(tmp_path / "n.npy", np.array([1.0, np.nan]))
    with pytest.raises(InvalidDataError, match="NaN"):
        load_array(tmp_path / "n.npy")
    with pytest.raises(FileFormatError, match="no file"):
        load_array(tmp_path / "missing.npy")
