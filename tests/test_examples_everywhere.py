"""Every public function and class has a runnable example: a ``>>>`` line in its docstring, which the doctests
(``--doctest-modules``) run, so the API reference shows how each one is called and what it gives."""

import importlib
import inspect

import pytest

PUBLIC_MODULES = (
    "neuralfields",
    "neuralfields.analysis",
    "neuralfields.conditioning",
    "neuralfields.data",
    "neuralfields.experiments",
    "neuralfields.fields",
    "neuralfields.grid",
    "neuralfields.inverse",
    "neuralfields.io",
    "neuralfields.kernels",
    "neuralfields.plots",
    "neuralfields.priors",
    "neuralfields.training",
    "neuralfields.testing",
)
"""The package and its public subpackages; their ``__all__`` is the public API."""



def _public_functions_and_classes(module_name):
    """``(name, object)`` of every function and class in the module's ``__all__`` (exceptions left out)."""
    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue  # constants, submodules, type aliases
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue  # exceptions: their docstring says when they are raised
        yield name, obj


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_function_and_class_has_an_example(module_name):
    missing = [
        name
        for name, obj in _public_functions_and_classes(module_name)
        if ">>>" not in (inspect.getdoc(obj) or "")
    ]
    assert not missing, (
        f"{module_name}: these public names have no example ('>>>' line) in their docstring: {', '.join(missing)}; "
        f"add a Google-style 'Example:' section with a short doctest"
    )

