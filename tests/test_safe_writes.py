"""Safe writes: no half-written files, no temporaries left behind, permissions and links respected,
read-only targets and unusable paths refused with an OutputError naming the user's path."""

import errno
import os
import stat
import subprocess
import sys

import pytest

import neuralfields as nf
from neuralfields import _files
from neuralfields.errors import OutputError

MODEL = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)


def _temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _dead_pid():
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_temporaries_of_killed_writers_are_swept(tmp_path):
    target = tmp_path / "f.safetensors"
    dead = tmp_path / f".f.safetensors.{_dead_pid()}.abc123.tmp"
    alive = tmp_path / f".f.safetensors.{os.getppid()}.def456.tmp"  # a live process: maybe still writing
    other = tmp_path / f".g.safetensors.{_dead_pid()}.ghi789.tmp"  # another target's: not ours to sweep
    for p in (dead, alive, other):
        p.write_bytes(b"x" * 1000)
    nf.save(MODEL, target)
    assert _temporaries(tmp_path) == sorted([alive.name, other.name])
    assert nf.load(target).config == MODEL.config


def test_a_failed_write_leaves_nothing_and_names_the_path(tmp_path, monkeypatch):
    target = tmp_path / "f.safetensors"
    nf.save(MODEL, target)
    before = target.read_bytes()

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OutputError, match=r"cannot write .*f\.safetensors: No space left on device") as info:
        nf.save(nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=1), target)
    assert ".tmp" not in str(info.value)
    assert _temporaries(tmp_path) == [] and target.read_bytes() == before  # the old file is intact


def test_permissions_are_kept(tmp_path):
    target = tmp_path / "private.safetensors"
    nf.save(MODEL, target)
    os.chmod(target, 0o600)
    nf.save(MODEL, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "models" / "real.safetensors"
    nf.save(MODEL, real)
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    other = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=5)
    nf.save(other, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert nf.load(real).config == other.config
    assert _temporaries(real.parent) == [] and _temporaries(tmp_path) == []


def test_a_read_only_file_is_refused(tmp_path):
    target = tmp_path / "keep.safetensors"
    nf.save(MODEL, target)
    before = target.read_bytes()
    os.chmod(target, 0o444)
    with pytest.raises(OutputError, match="keep.safetensors is read-only"):
        nf.save(nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=1), target)
    assert target.read_bytes() == before


def test_output_folders_are_checked_before_work(tmp_path):
    as_file = tmp_path / "taken"
    as_file.write_text("")
    with pytest.raises(OutputError, match="exists and is a file"):
        _files.check_output_folder(as_file)
    assert not _files.check_output_folder(tmp_path / "new" / "deep").exists()  # checked, not created
    with pytest.raises(OutputError, match="cannot be created: .*taken is a file"):
        _files.check_output_folder(as_file / "sub")
    with pytest.raises(OutputError, match="cannot create the folder"):
        nf.save(MODEL, as_file / "m.safetensors")
    assert isinstance(OutputError("x"), OSError) and isinstance(OutputError("x"), nf.NeuralFieldsError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(OutputError, match="cannot write to the folder"):
            _files.check_output_folder(folder)
    finally:
        os.chmod(folder, 0o755)


def test_the_cli_checks_its_outputs_before_any_work(tmp_path, capsys):
    from neuralfields.cli import main

    taken = tmp_path / "taken"
    taken.write_text("")
    assert main(["fit", "synthetic", "--size", "8", "--steps", "1000000", "--out", str(taken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuralfields fit: error:") and "exists and is a file" in err and "Traceback" not in err
    field = nf.save(MODEL, tmp_path / "f.safetensors")
    png = tmp_path / "ro.png"
    png.write_bytes(b"old")
    os.chmod(png, 0o444)
    assert main(["render", str(field), "--size", "8", "--out", str(png)]) == 1
    assert "ro.png is read-only" in capsys.readouterr().err and png.read_bytes() == b"old"
    assert main(["render", str(field), "--size", "8", "--out", str(taken / "x.png")]) == 1
    assert "taken is a file" in capsys.readouterr().err
    with pytest.raises(OutputError):
        main(["--debug", "render", str(field), "--size", "8", "--out", str(png)])
