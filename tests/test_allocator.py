"""The allocator setting the fitting functions apply: once per process, off with NEURALFIELDS_MALLOC=system."""

import os
import subprocess
import sys

import pytest

SCRIPT = "from neuralfields._allocator import keep_freed_memory as k; print(k(), k())"


def _run(env_extra):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_keep_freed_memory_applies_once_and_can_be_turned_off():
    first, again = _run({"NEURALFIELDS_MALLOC": ""})
    assert first == again  # the second call reports the first call's outcome
    assert first in ("True", "False")
    assert _run({"NEURALFIELDS_MALLOC": "system"}) == ["False", "False"]


def test_fit_calls_it(monkeypatch):
    import importlib

    import neuralfields as nf

    fit_module = importlib.import_module("neuralfields.training.fit")

    calls = []
    monkeypatch.setattr(fit_module, "keep_freed_memory", lambda: calls.append(1) or True)
    nf.fit(nf.Siren(2, 1, hidden_features=8), nf.data.load_image("synthetic", size=8), steps=1, progress=False)
    assert calls == [1]
