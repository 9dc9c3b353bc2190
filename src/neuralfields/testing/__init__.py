"""Public contract suites: the checks every registered implementation of a kind passes.

Each registry kind is a contract (a base class and its interface). This package holds the checks of
each kind, one module per kind family, which the library's own tests run over every registered
implementation and which a plugin's tests import to run the very same checks on its own:

- :mod:`neuralfields.testing.fields`: kind ``"field"``, :func:`check_field`;
- :mod:`neuralfields.testing.conditioning`: kinds ``"conditioning"`` and ``"model"``,
  :func:`check_conditioning`, :func:`check_model`;
- :mod:`neuralfields.testing.priors`: kind ``"prior"``, :func:`check_prior`;
- :mod:`neuralfields.testing.operators`: kind ``"operator"``, :func:`check_operator`;
- :mod:`neuralfields.testing.solvers`: kinds ``"solver"`` and ``"stopping"``, :func:`check_solver`,
  :func:`check_stopping`;
- :mod:`neuralfields.testing.heads`: kind ``"hyper-head"``, :func:`check_hyper_head`;
- :mod:`neuralfields.testing.inits`: kind ``"init"``, :func:`check_init`;
- :mod:`neuralfields.testing.code_priors`: kind ``"code-prior"``, :func:`check_code_prior`;
- :mod:`neuralfields.testing.registry`: any kind, by registered name: :func:`check_registered`,
  :func:`parametrize_registered`, :func:`contract_checks`.

A check that fails raises :class:`ContractFailure` (an ``AssertionError``), naming the implementation,
the check and what was wrong. Checks use tiny sizes; ``torch.compile`` checks can be left out with
``compile=False``.

Example:
    A plugin's ``tests/test_contracts.py``:

    >>> import neuralfields.testing as nft
    >>> nft.check_registered("prior", "tv", compile=False)  # the library's own checks, on a registered name

    or, one pytest test per registered name and check::

        @nft.parametrize_registered("field", by_check=True)
        def test_field_contract(name, check):
            nft.check_registered("field", name, only=[check])
"""

from ._common import ContractFailure
from .code_priors import check_code_prior
from .conditioning import check_conditioning, check_model
from .fields import check_field
from .heads import check_hyper_head
from .inits import check_init
from .operators import check_operator
from .priors import check_prior
from .registry import SUITES, check_registered, contract_checks, parametrize_registered
from .solvers import check_solver, check_stopping

__all__ = [
    "ContractFailure",
    "SUITES",
    "check_registered",
    "parametrize_registered",
    "contract_checks",
    "check_field",
    "check_conditioning",
    "check_model",
    "check_prior",
    "check_operator",
    "check_solver",
    "check_stopping",
    "check_hyper_head",
    "check_init",
    "check_code_prior",
]
