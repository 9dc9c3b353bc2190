"""The example plugin package (plugins/neuralfields-example), installed by `make test`, is found,
created, saved and loaded through the entry point, like any third-party plugin."""

import importlib.metadata as md
import json
import subprocess
import sys

import pytest
import torch

import neuralfields as nf

try:
    md.distribution("neuralfields-example")
except md.PackageNotFoundError:  # pragma: no cover - `make test` installs it
    pytest.skip(
        "the example plugin is not installed: pip install ./plugins/neuralfields-example", allow_module_level=True
    )


def test_plugin_field_is_discovered_created_saved_loaded(tmp_path):
    assert "example-fourier" in nf.available("field")
    f = nf.create("field", "example-fourier", in_features=2, out_features=1, num_frequencies=8, hidden_features=16)
    assert isinstance(f, nf.Field)
    x = torch.rand(10, 2) * 2 - 1
    path = nf.save(f, tmp_path / "plugin.safetensors")
    g = nf.load(path)
    assert type(g).__name__ == "FourierFeatureField"
    assert torch.equal(f(x), g(x))
    info = [p for p in nf.plugins() if p.distribution == "neuralfields-example"]
    assert info and info[0].registered == [("field", "example-fourier")] and info[0].error is None


def test_plugin_field_fits_and_batches():
    f = nf.create("field", "example-fourier", num_frequencies=8, hidden_features=16)
    res = nf.fit(f, nf.data.load_image("synthetic", size=16), steps=20, progress=False)
    assert res.psnr > res.history.psnr[0]
    params = f.batch_parameters(2)
    with torch.no_grad():
        params["mlp.0.weight"][1] += 0.1  # make the two members differ
    coords = torch.rand(2, 5, 2)
    out = f.forward_batched(params, coords)  # the generic vmap path of Field
    assert out.shape == (2, 5, 1)
    for b in range(2):
        assert torch.allclose(out[b], f.unbatch(params, b)(coords[b]), atol=1e-5)
    assert not torch.allclose(out[0], out[1])


def test_cli_lists_the_plugin():
    out = subprocess.run(
        [sys.executable, "-m", "neuralfields.cli", "plugins", "--json"], capture_output=True, text=True, check=True
    )
    data = json.loads(out.stdout)
    entry = next(p for p in data if p["distribution"] == "neuralfields-example")
    assert entry["registered"] == [["field", "example-fourier"]]
    assert entry["version"] == md.version("neuralfields-example")
