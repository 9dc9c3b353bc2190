"""safetensors files: round trips for every registered field, metadata, and bad files."""

import json
import pickle
import struct

import pytest
import torch

import neuralfields as nf
from neuralfields import io
from neuralfields.errors import ConfigError, FileFormatError, UnknownNameError

from .helpers import small_field as _small

@pytest.mark.parametrize("name", nf.available("field"))
def test_round_trip_every_registered_field(name, tmp_path):
    """Save then load reproduces the outputs exactly, for every registered field."""
    torch.manual_seed(0)
    f = _small(name)
    x = torch.rand(50, f.in_features) * 2 - 1
    g = nf.load(nf.save(f, tmp_path / f"{name}.safetensors"))
    assert type(g) is type(f) and g.config == f.config
    assert torch.equal(f(x), g(x))
    for (ka, a), (kb, b) in zip(f.state_dict().items(), g.state_dict().items()):
        assert ka == kb and torch.equal(a, b)


def test_metadata(tmp_path):
    f = nf.Siren(2, 3, 16, seed=0)
    path = nf.save(f, tmp_path / "f.safetensors", metadata={"source": "camera"})
    meta = io.read_metadata(path)
    assert meta["neuralfields.format"] == "model/1"
    assert meta["neuralfields.version"] == nf.__version__
    assert meta["neuralfields.kind"] == "field" and meta["neuralfields.name"] == "siren"
    assert json.loads(meta["neuralfields.config"]) == f.config
    assert meta["source"] == "camera"


def test_float64_and_trained_weights_survive(tmp_path):
    f = nf.Siren(2, 1, 8, seed=0).double()
    with torch.no_grad():
        f.layers[0].weight.mul_(1.5)
    g = nf.load(nf.save(f, tmp_path / "f.safetensors"))
    assert g.layers[0].weight.dtype == torch.float64
    x = torch.rand(5, 2, dtype=torch.float64)
    assert torch.equal(f(x), g(x))


def test_parent_folders_created_and_no_temp_files_left(tmp_path):
    path = tmp_path / "a" / "b" / "f.safetensors"
    nf.save(nf.Siren(2, 1, 8), path)
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["f.safetensors"]


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.safetensors"
    nf.save(nf.Siren(2, 1, 8, seed=0), path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        nf.save(nf.Siren(2, 1, 8, seed=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.safetensors"]


def test_unregistered_model_cannot_be_saved(tmp_path):
    class Local(nf.Siren):
        pass

    with pytest.raises(ConfigError, match="register"):
        nf.save(Local(2, 1, 8), tmp_path / "x.safetensors")
    with pytest.raises(ConfigError, match="reserved|non-reserved"):
        nf.save(nf.Siren(2, 1, 8), tmp_path / "x.safetensors", metadata={"neuralfields.kind": "x"})
    with pytest.raises(nf.errors.OutputError, match="is a folder"):
        nf.save(nf.Siren(2, 1, 8), tmp_path)


# ---- bad files ---------------------------------------------------------------------------


@pytest.fixture
def good_file(tmp_path):
    return nf.save(nf.Siren(2, 1, 8, seed=0), tmp_path / "good.safetensors")


def _rewrite_metadata(src, dst, **changes):
    from safetensors.torch import load_file, save_file

    meta = io.read_metadata(src)
    for k, v in changes.items():
        key = "neuralfields." + k
        if v is None:
            meta.pop(key)
        else:
            meta[key] = v
    save_file(load_file(str(src)), str(dst), metadata=meta)
    return dst


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        nf.load(tmp_path / "nope.safetensors")
    with pytest.raises(FileFormatError, match="not a file"):
        nf.load(tmp_path)


@pytest.mark.parametrize("cut", [0, 4, 8, 30, -10])
def test_truncated_file(good_file, tmp_path, cut):
    data = good_file.read_bytes()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(FileFormatError, match="too short|truncated|not a valid"):
        nf.load(bad)


def test_corrupt_header(good_file, tmp_path):
    data = bytearray(good_file.read_bytes())
    data[10:20] = b"\xff" * 10
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="not a valid safetensors"):
        nf.load(bad)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    with pytest.raises(FileFormatError, match="not a valid safetensors"):
        nf.load(huge)


def test_not_safetensors(tmp_path):
    txt = tmp_path / "notes.safetensors"
    txt.write_text("hello, this is a text file and not safetensors at all")
    with pytest.raises(FileFormatError):
        nf.load(txt)


def test_pickle_renamed_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(FileFormatError, match="pickle"):
        nf.load(bad)
    torch_file = tmp_path / "torch.safetensors"
    torch.save({"x": torch.zeros(2)}, torch_file)
    with pytest.raises(FileFormatError, match="pickle"):
        nf.load(torch_file)
    assert not marker.exists()


def test_plain_safetensors_without_our_metadata(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(FileFormatError, match="not a neuralfields one"):
        nf.load(path)


def test_unknown_kind_and_name(good_file, tmp_path):
    with pytest.raises(UnknownNameError, match="registry kind 'gadget'"):
        nf.load(_rewrite_metadata(good_file, tmp_path / "k.safetensors", kind="gadget"))
    with pytest.raises(UnknownNameError, match="unknown field 'sirne'. Did you mean 'siren'"):
        nf.load(_rewrite_metadata(good_file, tmp_path / "n.safetensors", name="sirne"))


def test_bad_metadata(good_file, tmp_path):
    with pytest.raises(FileFormatError, match="not JSON"):
        nf.load(_rewrite_metadata(good_file, tmp_path / "c.safetensors", config="{oops"))
    with pytest.raises(FileFormatError, match="lacks"):
        nf.load(_rewrite_metadata(good_file, tmp_path / "m.safetensors", config=None))
    with pytest.raises(FileFormatError, match="newer|Upgrade"):
        nf.load(_rewrite_metadata(good_file, tmp_path / "v.safetensors", format="model/99"))
    with pytest.raises(FileFormatError, match="cannot rebuild"):
        nf.load(_rewrite_metadata(good_file, tmp_path / "a.safetensors", config='{"bogus": 1}'))


def test_weights_that_do_not_match_config(good_file, tmp_path):
    cfg = json.loads(io.read_metadata(good_file)["neuralfields.config"])
    cfg["hidden_features"] = 9
    with pytest.raises(FileFormatError, match="do not match"):
        nf.load(_rewrite_metadata(good_file, tmp_path / "w.safetensors", config=json.dumps(cfg)))


def test_valid_files_whose_header_length_looks_like_a_pickle_load(tmp_path):
    """The first byte of a valid file is the header length's low byte; 0x80 there is not a pickle."""
    f = nf.Siren(2, 1, 8, seed=0)
    first_bytes = set()
    for pad in range(0, 264, 4):  # header lengths grow in steps of 8: this passes every low-byte value
        path = nf.save(f, tmp_path / f"p{pad}.safetensors", metadata={"pad": "x" * pad})
        first_bytes.add(path.read_bytes()[0])
        assert torch.equal(nf.load(path).layers[0].weight, f.layers[0].weight)
    assert 0x80 in first_bytes
