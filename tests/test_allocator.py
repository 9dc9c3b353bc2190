"""The allocator setting the engine applies for the duration of a run, then restores; off with NEURALFIELDS_MALLOC=system."""

import os
import subprocess
import sys

import pytest

import neuralfields as nf
from neuralfields import _allocator

SCRIPT = (
    "from neuralfields._allocator import freed_memory_kept as k, restore_allocator as r\n"
    "with k() as outer:\n"
    "    with k() as inner:\n"
    "        pass\n"
    "print(outer, inner, r())"
)


def _run(env_extra):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_setting_applies_and_can_be_turned_off():
    assert _run({"NEURALFIELDS_MALLOC": ""}) == ["True", "True", "True"]
    assert _run({"NEURALFIELDS_MALLOC": "system"}) == ["False", "False", "False"]


def test_a_fit_keeps_memory_while_it_runs_and_restores_afterwards(monkeypatch):
    calls = []
    monkeypatch.setattr(_allocator, "keep_freed_memory", lambda: calls.append("keep") or True)
    monkeypatch.setattr(_allocator, "restore_allocator", lambda: calls.append("restore") or True)
    during = []

    def spy(info):
        during.append(list(calls))

    nf.fit(nf.Siren(2, 1, hidden_features=8), nf.data.load_image("synthetic", size=8), steps=2, callbacks=[spy], progress=False)
    assert during == [["keep"], ["keep"]]  # in force during the steps
    assert calls == ["keep", "restore"]  # and restored once at the end


def test_nested_runs_restore_only_at_the_outermost(monkeypatch):
    calls = []
    monkeypatch.setattr(_allocator, "keep_freed_memory", lambda: calls.append("keep") or True)
    monkeypatch.setattr(_allocator, "restore_allocator", lambda: calls.append("restore") or True)
    image = nf.data.load_image("synthetic", size=8)

    def inner_fit(info):
        nf.fit(nf.Siren(2, 1, hidden_features=8), image, steps=1, progress=False)
        assert calls == ["keep"]  # the inner fit did not restore the outer one's setting

    nf.fit(nf.Siren(2, 1, hidden_features=8), image, steps=1, callbacks=[inner_fit], progress=False)
    assert calls == ["keep", "restore"]
