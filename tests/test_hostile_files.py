"""Hostile and malformed files: nf.load refuses each with a FileFormatError, quickly and without building
what the file's config describes (tests/hostile writes the files)."""

import time

import pytest

import neuralfields as nf
from neuralfields.errors import FileFormatError

from .hostile import CASES

WHY = {
    "huge_in_features": "describes a model with more than",
    "huge_everything": "describes a model with more than",
    "million_layers": "more than 4 parameter tensors",
    "latent_billion": "describes a model with more than",
    "seed_2_70": "cannot rebuild the field 'siren'",
    "seed_text": "cannot rebuild the field 'siren'",
    "solver_kind": "holds a solver",
    "odd_format": "unknown neuralfields.format",
    "mixed_dtypes": "mixes floating-point dtypes",
    "extra_state": "holds tensors that are not the model's",
    "mask_huge": "more than the 2,147,483,648 a Mask holds",
    "mask_huge_random": "more than the 2,147,483,648 a Mask holds",
    "deep_config": "nested deeper than",
    "deep_header": "nested deeper than",
    "float_offsets": "invalid data_offsets",
    "offsets_size": "needs 4000 bytes",
    "bad_dtype": "unknown dtype",
    "metadata_not_strings": "not a mapping of strings",
    "pickle": "pickle",
    "pickle_payload": "pickle",
    "header_bomb": "header of 1099511627776 bytes",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_is_refused_fast(case, tmp_path):
    path = CASES[case](tmp_path)
    t0 = time.perf_counter()
    with pytest.raises(FileFormatError, match=WHY[case]) as info:
        nf.load(path)
    assert time.perf_counter() - t0 < 2.0, f"{case}: refused only after {time.perf_counter() - t0:.1f} s"
    assert str(path) in str(info.value)
    assert not (tmp_path / "PWNED").exists()  # nothing was unpickled


def test_every_case_has_an_expected_reason():
    assert set(WHY) == set(CASES)


def test_the_limit_can_be_raised_and_lowered(tmp_path):
    path = nf.save(nf.Siren(2, 1, hidden_features=8, hidden_layers=1, seed=0), tmp_path / "ok.safetensors")
    with pytest.raises(FileFormatError, match="more than the 10 neuralfields loads"):
        nf.load(path, max_parameters=10)
    assert nf.load(path, max_parameters=10**6).config["hidden_features"] == 8
