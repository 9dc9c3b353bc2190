"""Sample images, image files, PNG writing."""

import pytest
import torch

import neuralfields as nf
from neuralfields import data
from neuralfields.errors import ConfigError, FileFormatError, UnknownNameError


def test_samples_listed_and_loadable():
    names = data.sample_names()
    assert "camera" in names and "astronaut" in names and "synthetic" in names
    cam = data.load_image("camera")
    assert cam.shape == (1, 512, 512) and cam.dtype == torch.float32
    assert 0.0 <= float(cam.min()) and float(cam.max()) <= 1.0 and float(cam.max()) > 0.9
    ast = data.load_image("astronaut", size=(32, 48))
    assert ast.shape == (3, 32, 48)


@pytest.mark.parametrize("name", sorted(data.SAMPLES))
def test_every_sample_loads(name):
    img = data.load_image(name, size=16)
    assert img.shape[1:] == (16, 16) and img.shape[0] in (1, 3)
    assert bool(torch.isfinite(img).all()) and float(img.min()) >= 0 and float(img.max()) <= 1


def test_channel_conversion():
    assert data.load_image("astronaut", size=8, channels=1).shape == (1, 8, 8)
    grey3 = data.load_image("camera", size=8, channels=3)
    assert grey3.shape == (3, 8, 8) and torch.equal(grey3[0], grey3[2])
    with pytest.raises(ConfigError, match="channels"):
        data.load_image("camera", channels=2)


def test_synthetic_is_deterministic_and_in_range():
    a, b = data.synthetic_image(40, channels=3), data.synthetic_image(40, channels=3)
    assert torch.equal(a, b) and a.shape == (3, 40, 40)
    assert float(a.min()) >= 0 and float(a.max()) <= 1 and float(a.std()) > 0.05


def test_sample_falls_back_to_synthetic_without_skimage(monkeypatch):
    monkeypatch.setattr(data, "_has_skimage", lambda: False)
    assert data.sample_names() == ["synthetic"]
    with pytest.warns(UserWarning, match="scikit-image is not installed"):
        img = data.load_image("camera", size=20)
    assert torch.equal(img, data.synthetic_image(20))


def test_png_round_trip_through_pillow(tmp_path):
    from PIL import Image

    for img in (data.load_image("camera", size=(20, 30)), data.load_image("astronaut", size=(20, 30))):
        path = data.save_image(img, tmp_path / f"x{img.shape[0]}.png")
        with Image.open(path) as im:
            assert im.size == (30, 20)
        back = data.load_image(path)
        assert back.shape == img.shape
        assert float((back - img).abs().max()) <= 0.5 / 255 + 1e-6  # 8-bit quantisation only


def test_load_jpeg_and_palette(tmp_path):
    from PIL import Image

    rgb = (data.to_uint8(data.load_image("astronaut", size=16)))
    Image.fromarray(rgb).save(tmp_path / "a.jpg")
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert data.load_image(tmp_path / "a.jpg").shape == (3, 16, 16)
    assert data.load_image(tmp_path / "p.png").shape == (3, 16, 16)


def test_bad_sources(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'camera'"):
        data.load_image("camra")
    with pytest.raises(FileFormatError, match="no such image file"):
        data.load_image(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(FileFormatError, match="cannot read"):
        data.load_image(junk)


def test_to_uint8_checks():
    with pytest.raises(nf.errors.ShapeError):
        data.to_uint8(torch.rand(5, 4, 4))
    with pytest.raises(nf.errors.DTypeError):
        data.to_uint8(torch.zeros(1, 4, 4, dtype=torch.uint8))


def test_grey_and_alpha_round_trips_through_png(tmp_path):
    image = torch.rand(2, 5, 7)
    back = nf.data.load_image(nf.data.save_image(image, tmp_path / "ga.png"))
    assert back.shape == (2, 5, 7) and float((back - image).abs().max()) <= 0.5 / 255 + 1e-6


def test_a_folder_of_class_folders(tmp_path):
    images = nf.data.load_dataset("shapes", n=5, size=6)
    for i, cls in enumerate(["zebra", "apple", "apple", "moon", "zebra"]):
        nf.data.save_image(images[i], tmp_path / cls / f"{i}.png")
    got = nf.data.load_dataset(tmp_path, n=10, size=6)
    labels = nf.data.dataset_labels(tmp_path, n=10)
    assert got.shape == (5, 1, 6, 6)
    assert labels.tolist() == [0, 0, 1, 2, 2]  # apple, moon, zebra: classes in sorted order
    assert float((got[0] - images[1]).abs().max()) <= 0.5 / 255 + 1e-6  # apple/1.png first
    assert nf.data.dataset_labels(tmp_path, n=3).tolist() == [0, 0, 1]
    (tmp_path / "empty").mkdir()
    with pytest.raises(nf.errors.FileFormatError, match="holds no image files"):
        nf.data.load_dataset(tmp_path)
    flat = tmp_path / "flat"
    nf.data.save_image(images[0], flat / "a.png")
    assert nf.data.dataset_labels(flat) is None and nf.data.load_dataset(flat).shape[0] == 1
