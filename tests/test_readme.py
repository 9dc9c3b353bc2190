"""The README's Python examples run, and give identical numbers on every run whatever the global RNG holds
(every random choice in the library comes from explicit seeds and generators)."""

import contextlib
import io
import os
import re
from pathlib import Path

import pytest
import torch

import neuralfields as nf

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_examples_run_and_are_reproducible(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples may write files
    outputs = []
    for global_seed in (1, 12345):
        torch.manual_seed(global_seed)  # a different global RNG state must not change the numbers
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            # each block is run on its own, after the README's first line (`import neuralfields as nf`)
            exec(compile(BLOCKS[index], f"README block {index}", "exec"), {"__name__": "readme", "nf": nf})
        outputs.append(buffer.getvalue())
    assert outputs[0], "the example prints nothing to compare"
    assert outputs[0] == outputs[1]


def test_readme_has_examples():
    assert len(BLOCKS) >= 3 and os.path.getsize(README) > 0
