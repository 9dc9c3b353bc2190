"""Every registered field, built-in or from a plugin, renders images.

The registry-driven checks of fields (smoke, shapes, bad input, gradients, batched evaluation, float64,
torch.compile, save/load) are the public contract suite ``neuralfields.testing.fields``, which
``tests/test_contracts.py`` runs over every registered implementation of every kind.
"""

import pytest
import torch

import neuralfields as nf

from .helpers import small_field


@pytest.mark.parametrize("name", nf.available("field"))
def test_every_registered_field_renders(name):
    f = small_field(name)
    if f.in_features != 2:
        pytest.skip(f"{name} is not a 2-D field")
    img = nf.render(f, (4, 5))
    assert img.shape == (f.out_features, 4, 5) and bool(torch.isfinite(img).all())
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
