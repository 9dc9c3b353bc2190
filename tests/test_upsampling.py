"""Upsampling table: field renders at high resolution vs bicubic, against the true image."""

import pytest
import torch
import torch.nn.functional as F

import neuralfields as nf
from neuralfields.analysis import upsampling_table
from neuralfields.errors import ShapeError


def test_table_for_a_conditioned_field():
    names = ("camera", "moon", "coins")
    high = torch.stack([nf.data.load_image(n, size=32, channels=1) for n in names])
    low = F.interpolate(high, size=(16, 16), mode="area")
    cond = nf.BinaryCode(3)
    f = nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=64, seed=0), cond)
    nf.fit_dataset(f, low, steps=150, holdout=0.0, progress=False)
    table = upsampling_table(f, low, high)
    assert [r["item"] for r in table["rows"]] == [0, 1, 2]
    assert table["renders"].shape == (3, 1, 32, 32) and table["bicubic"].shape == (3, 1, 32, 32)
    row = table["rows"][1]
    assert row["field_psnr"] == pytest.approx(nf.psnr(nf.render(f.item(1), (32, 32)), high[1]))
    bicubic = F.interpolate(low[1:2], size=(32, 32), mode="bicubic", align_corners=False).clamp(0, 1)[0]
    assert row["bicubic_psnr"] == pytest.approx(nf.psnr(bicubic, high[1]))
    m = table["mean"]
    assert m["field_psnr"] == pytest.approx(sum(r["field_psnr"] for r in table["rows"]) / 3)
    # a fitted field is a sensible upsampler: within a few dB of bicubic, far above a constant image
    assert m["field_psnr"] > m["bicubic_psnr"] - 6
    assert m["field_psnr"] > nf.psnr(high.mean((2, 3), keepdim=True).expand_as(high), high) + 6


def test_table_for_a_plain_field_and_errors():
    high = nf.data.load_image("camera", size=24)
    low = nf.data.resize(high, 12)
    f = nf.Siren(2, 1, 32, seed=0)
    nf.fit(f, low, steps=40, progress=False)
    table = upsampling_table(f, low, high)
    assert len(table["rows"]) == 1 and table["renders"].shape == (1, 1, 24, 24)
    with pytest.raises(ShapeError, match="same images"):
        upsampling_table(f, low, torch.rand(3, 24, 24))
    with pytest.raises(ShapeError, match="one image"):
        upsampling_table(f, torch.rand(2, 1, 12, 12), torch.rand(2, 1, 24, 24))
