"""Every registered implementation of every kind passes its kind's contract (neuralfields.testing), and the
contract suites catch implementations that break it."""

import pytest
import torch

import neuralfields as nf
import neuralfields.testing as nft
from neuralfields import _registry
from neuralfields.errors import UnknownNameError
from neuralfields.inverse import Downsample, Operator
from neuralfields.testing import ContractFailure

from .helpers import example_config

CASES = [(k, n, c) for k in nf.KINDS for n in nf.available(k) for c in nft.contract_checks(k)]


@pytest.mark.parametrize(("kind", "name", "check"), CASES, ids=[f"{k}:{n}:{c}" for k, n, c in CASES])
def test_registered_implementation_meets_its_contract(kind, name, check, one_thread):
    nft.check_registered(kind, name, config=example_config(kind, name), only=[check])


SEEDED = [(k, n) for k in nf.KINDS if k != "init" for n in nf.available(k) if "seed" in example_config(k, n)]  # init: strategies, not modules


@pytest.mark.parametrize(("kind", "name"), SEEDED, ids=[f"{k}:{n}" for k, n in SEEDED])
def test_seeded_construction_leaves_the_global_rng_alone(kind, name):
    """A model built with a seed draws nothing from torch's global RNG, and the same seed gives the same model."""
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = nf.create(kind, name, **example_config(kind, name))
    assert torch.equal(torch.get_rng_state(), state), f"{kind} {name!r} drew from the global RNG"
    torch.manual_seed(321)
    second = nf.create(kind, name, **example_config(kind, name))
    for (key, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), f"{kind} {name!r}: {key} differs between two builds with one seed"


def test_every_kind_has_a_suite_and_a_base_class():
    assert set(nft.SUITES) == set(nf.KINDS)
    for kind in nf.KINDS:
        base = _registry.base_class(kind)
        assert base is not None, kind
    assert _registry.base_class("field") is nf.Field
    assert _registry.base_class("model") is nf.conditioning.Model
    assert _registry.base_class("prior") is nf.priors.Prior
    assert _registry.base_class("init") is nf.training.Initialisation


def test_parametrize_registered():
    mark = nft.parametrize_registered("operator", exclude=["blur"])
    assert mark.args[0] == "name" and "blur" not in mark.args[1] and "mask" in mark.args[1]
    pairs = nft.parametrize_registered("operator", by_check=True)
    assert pairs.args[0] == ("name", "check") and ("mask", "adjointness") in pairs.args[1]


def test_unknown_names_and_checks():
    with pytest.raises(UnknownNameError, match="Did you mean 'adjointness'"):
        nft.check_registered("operator", "mask", only=["adjointnes"])
    with pytest.raises(UnknownNameError, match="unknown operator 'maks'"):
        nft.check_registered("operator", "maks")
    with pytest.raises(UnknownNameError, match="registry kind"):
        nft.contract_checks("fields")


# ---- the suites catch broken implementations --------------------------------------------------


class _WrongAdjoint(Downsample):
    def adjoint(self, y):
        return torch.nn.functional.interpolate(self._check(y, "y"), scale_factor=self.factor, mode="nearest")


class _NotBatched(nf.Siren):
    """Forgets the batch of parameters: evaluates member 0 for everyone."""

    def forward_batched(self, params, coords):
        return torch.stack([self.unbatch(params, 0)(c) for c in coords])


class _Unchecked(nf.Siren):
    def forward(self, coords, modulations=None):
        return self._run(coords, 0, len(self.layers), modulations)


def test_suites_catch_a_wrong_adjoint():
    with pytest.raises(ContractFailure, match=r"_WrongAdjoint breaks the 'operator' contract, check 'adjointness'"):
        nft.check_operator(lambda: _WrongAdjoint(2), only=["adjointness"])
    nft.check_operator(lambda: Downsample(2), only=["adjointness", "linearity"])


def test_suites_catch_wrong_batched_evaluation_and_missing_input_checks():
    make = lambda: _NotBatched(2, 1, hidden_features=8, hidden_layers=1, seed=0)  # noqa: E731
    with pytest.raises(ContractFailure, match="check 'batched'.*batched member 1"):
        nft.check_field(make, only=["batched"])
    make = lambda: _Unchecked(2, 1, hidden_features=8, hidden_layers=1, seed=0)  # noqa: E731
    with pytest.raises(ContractFailure, match="check 'bad_input'.*must raise DTypeError"):
        nft.check_field(make, only=["bad_input"])


def test_unregistered_classes_fail_the_config_check_with_a_fix():
    with pytest.raises(ContractFailure, match="not registered; decorate it"):
        nft.check_field(lambda: _NotBatched(2, 1, hidden_features=8, seed=0), only=["config"])
    nft.check_field(lambda: _NotBatched(2, 1, hidden_features=8, seed=0), only=["shapes", "gradients"])


def test_base_class_is_checked(isolated_registry):
    @nf.register("operator", "not-an-operator")
    class Loose(torch.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(ContractFailure, match="must derive from neuralfields.inverse.operators.Operator"):
        nft.check_registered("operator", "not-an-operator", only=["base"])
    assert issubclass(Downsample, Operator)


def test_a_plugin_kind_registered_with_an_example(isolated_registry):
    @nf.register("prior", "test-brightness", example={"weight": 2.0})
    class Brightness(nf.priors.Prior):
        def __init__(self, weight: float = 1.0):
            super().__init__()
            self.weight = weight

        def energy(self, x):
            return self.weight * self.check_images(x).square().mean((1, 2, 3))

    assert _registry.example_config("prior", "test-brightness") == {"weight": 2.0}
    nft.check_registered("prior", "test-brightness", compile=False)


def test_the_contract_catches_a_seed_that_does_nothing(isolated_registry):
    @nf.register("field", "test-unseeded", example={"seed": 0})
    class Unseeded(nf.Field):
        def __init__(self, in_features: int = 2, out_features: int = 1, seed: int = 0) -> None:
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            self.linear = torch.nn.Linear(in_features, out_features)  # the global RNG: the seed does nothing

        def forward(self, coords):
            self.check_coords(coords)
            return self.linear(coords)

    with pytest.raises(ContractFailure, match="global RNG|same seed"):
        nft.check_registered("field", "test-unseeded", only=["config"])
