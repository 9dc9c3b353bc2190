"""The fuzz suite that stays: hypothesis over hostile files, signals, shapes and command lines.

Every example must end in a NeuralFieldsError or a correct result: never another exception, a hang or a
memory blow-up (the process's peak memory may grow by at most MEMORY_BUDGET over the whole module). The
default profile is quick; ``HYPOTHESIS_PROFILE=thorough pytest -m slow tests/test_fuzz.py`` runs long.
"""

from __future__ import annotations

import json
import math
import resource
import struct

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuralfields as nf
from neuralfields.cli import main
from neuralfields.errors import NeuralFieldsError

MEMORY_BUDGET = 2 * 1024**3  # bytes the peak resident memory may grow by over this module
_START = {}

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kiB on Linux


def setup_module():
    _START["peak"] = _peak()


def teardown_module():
    grew = _peak() - _START["peak"]
    assert grew <= MEMORY_BUDGET, f"the fuzz suite grew the peak memory by {grew / 2**30:.2f} GiB"


# ---- files ------------------------------------------------------------------------------------

_ints = st.one_of(st.integers(-3, 40), st.integers(2**31, 2**70), st.sampled_from([0.5, -1, 2**64, "4"]), st.floats(allow_nan=True),
                  st.text(max_size=3), st.none())  # fmt: skip
_dtypes = st.sampled_from(["F32", "F16", "F64", "I64", "BOOL", "Q9", "", 7])
_entry = st.fixed_dictionaries({"dtype": _dtypes, "shape": st.lists(_ints, max_size=4), "data_offsets": st.lists(_ints, max_size=3)})
_EDGES = st.sampled_from([2**70, 2**63, -1, 0, 10**9, 5 * 10**7, 1.5, math.nan, math.inf, "x", None, True, [], {}, [[[]]]])
_config_values = st.one_of(_EDGES, _EDGES, st.recursive(
    st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=5), st.booleans(), st.none()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
))
_siren_keys = st.sampled_from(["in_features", "out_features", "hidden_features", "hidden_layers", "first_omega_0", "seed", "extra"])


def _write(path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def _load_refuses_or_loads(path):
    try:
        model = nf.load(path)
    except NeuralFieldsError:
        return None
    assert isinstance(model, torch.nn.Module)
    return model


@FUZZ
@given(tensors=st.dictionaries(st.text(min_size=1, max_size=6), _entry, max_size=4), data=st.binary(max_size=64),
       meta=st.dictionaries(st.sampled_from(["neuralfields.format", "neuralfields.kind", "neuralfields.name", "neuralfields.config", "x"]),
                            st.text(max_size=20), max_size=5))  # fmt: skip
def test_load_of_structured_hostile_headers(tmp_path, tensors, data, meta):
    path = tmp_path / "h.safetensors"
    _write(path, {**tensors, "__metadata__": meta}, data)
    _load_refuses_or_loads(path)


@FUZZ
@given(changes=st.dictionaries(_siren_keys, _config_values, max_size=3), kind=st.sampled_from(["field", "model", "solver", "prior", "x"]))
def test_load_of_tampered_configs(tmp_path, changes, kind):
    f = nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0)
    meta = {"neuralfields.format": "model/1", "neuralfields.version": "0", "neuralfields.kind": kind,
            "neuralfields.name": "siren", "neuralfields.config": json.dumps({**f.config, **changes})}  # fmt: skip
    from safetensors.torch import save

    path = tmp_path / "t.safetensors"
    path.write_bytes(save(dict(f.state_dict()), metadata=meta))
    model = _load_refuses_or_loads(path)
    if model is not None:  # it loaded: a field of the config's shape (the config defines the model)
        x = torch.rand(5, 2) * 2 - 1
        assert model(x).shape == (5, 1)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6))
def test_load_of_corrupted_bytes(tmp_path, flips):
    good = nf.save(nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0), tmp_path / "g.safetensors").read_bytes()
    data = bytearray(good)
    for where, value in flips:
        data[where % len(data)] = value
    path = tmp_path / "c.safetensors"
    path.write_bytes(bytes(data))
    _load_refuses_or_loads(path)


# ---- signals, shapes, grids ---------------------------------------------------------------------

_values = st.sampled_from([0.0, 0.5, 1.0, -0.5, 2.0, math.nan, math.inf, 255.0])


@FUZZ
@given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=4), fill=_values,
       dtype=st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.uint8, torch.bool]))  # fmt: skip
def test_fit_with_random_signals(shape, fill, dtype):
    signal = torch.full(shape, fill).to(dtype) if dtype.is_floating_point else torch.zeros(shape, dtype=dtype)
    in_features = max(1, len(shape) - 1)
    field = nf.Siren(in_features, shape[0] if shape and shape[0] else 1, hidden_features=4, hidden_layers=1, seed=0)
    try:
        res = nf.fit(field, signal, steps=2, progress=False)
    except NeuralFieldsError:
        return
    assert len(res.history) == 2 and not math.isnan(res.psnr)


@FUZZ
@given(shape=st.lists(st.one_of(st.integers(-2, 9), st.integers(2**31, 2**62), st.floats(0, 5)), min_size=0, max_size=3))
def test_render_with_random_shapes(shape):
    field = nf.Siren(2, 1, hidden_features=4, hidden_layers=1, seed=0)
    try:
        out = nf.render(field, shape)
    except NeuralFieldsError:
        return
    assert tuple(out.shape) == (1, *shape) and bool(torch.isfinite(out).all())


@FUZZ
@given(shape=st.lists(st.one_of(st.integers(-2, 7), st.floats(0, 3), st.text(max_size=2)), min_size=0, max_size=3),
       fraction=st.one_of(st.floats(-1, 2), st.just(math.nan)), seed=st.one_of(st.integers(-5, 2**70), st.text(max_size=2)))  # fmt: skip
def test_grids_and_masks_with_random_arguments(shape, fraction, seed):
    try:
        grid = nf.grid.make_grid(shape)
    except NeuralFieldsError:
        pass
    else:
        assert tuple(grid.shape) == (*shape, len(shape)) and bool((grid.abs() < 1).all())
    try:
        mask = nf.grid.holdout_mask(shape, fraction, seed=seed)
    except NeuralFieldsError:
        return
    assert tuple(mask.shape) == tuple(shape) and mask.dtype == torch.bool


# ---- the command line ------------------------------------------------------------------------------

_words = st.sampled_from(["fit", "render", "samples", "plugins", "synthetic", "camra", "--size", "0", "-3", "8", "2x3", "axb",
                          "--steps", "1", "2", "--holdout", "1.5", "--seed", "--json", "--hidden-features", "--lr", "-1",
                          "nan", "--chunk-size", "--no-progress", "--out"])  # fmt: skip


@FUZZ
@given(words=st.lists(_words, max_size=8))
def test_cli_with_bad_arguments(tmp_path, words, capsys):
    argv = [*words, "--out", str(tmp_path / "o")] if "fit" in words[:1] else words
    if words[:1] == ["fit"] and "--steps" not in words:
        argv = [*argv, "--steps", "1", "--hidden-features", "4", "--size", "8"]  # keep it short
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help / --version exit 0
        assert exc.code in (0, 2)
        return
    assert code in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tensors=st.dictionaries(st.text(min_size=1, max_size=6), _entry, max_size=6), data=st.binary(max_size=256))
def test_load_of_hostile_headers_long(tmp_path, tensors, data):
    path = tmp_path / "h.safetensors"
    _write(path, {**tensors, "__metadata__": {"neuralfields.format": "model/1"}}, data)
    _load_refuses_or_loads(path)
