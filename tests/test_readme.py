"""The README's Python example runs as written."""

import re
from pathlib import Path

import neuralfields as nf

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "dB after 200 steps" in out and "'siren'" in out
    assert namespace["hi"].shape == (1, 256, 256)
    assert isinstance(namespace["g"], nf.Siren) and (tmp_path / "camera.safetensors").exists()
    assert namespace["res"].psnr > 25
    # the second example: one field for many images
    ns2: dict = {"nf": nf}
    exec(compile(blocks[1], str(README), "exec"), ns2)
    assert "held-out" in capsys.readouterr().out
    assert ns2["strip"].frames.shape == (8, 1, 32, 32)
    assert ns2["res"].psnr > ns2["res"].val_psnr
    # the third: restoring images, and fitting many fields at once
    ns3: dict = {"nf": nf}
    exec(compile(blocks[2], str(README), "exec"), ns3)
    assert "restored" in capsys.readouterr().out
    assert sum(ns3["sol"].psnr) / 4 > nf.psnr(ns3["y"], ns3["clean"]) + 1
    assert len(ns3["many"].fields()) == 4
