"""Smoke test of an installed neuralfields wheel, run from outside the source tree (``make wheel-check``).

It checks what a user does first after ``pip install``: fit, save, load, render, the command line, and
plugin discovery (the example plugin's wheel is installed beside it). Exits non-zero on any failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    import neuralfields as nf

    assert "site-packages" in nf.__file__, f"neuralfields imported from {nf.__file__}, not from the wheel"
    out = Path(tempfile.mkdtemp())
    image = nf.data.load_image("synthetic", size=16)
    field = nf.Siren(2, 1, hidden_features=16, hidden_layers=2, seed=0)
    res = nf.fit(field, image, steps=20, progress=False)
    assert res.psnr > res.history.psnr[0], "the fit did not improve"
    path = nf.save(field, out / "f.safetensors")
    again = nf.load(path)
    assert nf.render(again, (32, 32)).shape == (1, 32, 32)
    exe = Path(sys.executable).with_name("neuralfields")
    run = lambda *args: subprocess.run([str(exe), *args], capture_output=True, text=True, check=True).stdout  # noqa: E731
    run("fit", "synthetic", "--size", "16", "--steps", "5", "--hidden-features", "8", "--out", str(out / "cli"), "--no-progress")
    assert json.loads((out / "cli" / "run.json").read_text())["command"] == "fit"
    run("render", str(out / "cli" / "field.safetensors"), "--size", "40", "--out", str(out / "r.png"), "--no-progress")
    plugins = json.loads(run("plugins", "--json"))
    assert any(("field", "example-fourier") == tuple(r) for p in plugins for r in p["registered"]), plugins
    print(f"wheel smoke test passed: neuralfields {nf.__version__} from {Path(nf.__file__).parent}")


if __name__ == "__main__":
    main()
