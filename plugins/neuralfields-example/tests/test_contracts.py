"""The example plugin's field passes the same contract as neuralfields' own fields.

``neuralfields.testing`` ships the library's checks (smoke, shapes, bad input, gradients, batched
evaluation, float64 gradcheck, torch.compile, save/load); a plugin runs them on what it registers with
one line per implementation, here one pytest test per check.
"""

import neuralfields.testing as nft
import pytest
import torch

from neuralfields_example import FourierFeatureField


@pytest.mark.parametrize("check", nft.contract_checks("field"))
def test_example_fourier_meets_the_field_contract(check):
    nft.check_registered("field", "example-fourier", only=[check])  # built from its registered example


def test_other_configurations_too():
    nft.check_field(lambda: FourierFeatureField(in_features=3, out_features=2, num_frequencies=4, hidden_features=8), compile=False)


def test_a_broken_field_fails_the_contract():
    class Broken(FourierFeatureField):
        def forward(self, coords):  # skips the coordinate checks
            proj = 2.0 * torch.pi * coords @ self.frequencies.T
            return self.mlp(torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1))

    with pytest.raises(nft.ContractFailure, match="check 'bad_input'"):
        nft.check_field(lambda: Broken(num_frequencies=4, hidden_features=8), only=["bad_input"])
