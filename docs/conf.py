"""Sphinx configuration of the neuralfields documentation.

Build with warnings as errors (what ``make test`` does)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The build needs no network. Links to the Python, PyTorch and NumPy docs (intersphinx) are off by
default, because they fetch inventories from docs.python.org / pytorch.org / numpy.org; set
``NEURALFIELDS_DOCS_INTERSPHINX=1`` to turn them on where those sites are reachable.

This file is also imported by pytest (``--doctest-modules`` over ``docs/``), so importing it must stay
free of side effects.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import neuralfields

# -- Project -------------------------------------------------------------------------------------

project = "neuralfields"
author = "The neuralfields developers"
copyright = "The neuralfields developers"
version = neuralfields.__version__
release = neuralfields.__version__

# -- General -------------------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build"]
templates_path: list[str] = []

# Unresolved references (e.g. to torch.Tensor without intersphinx) must not warn: keep nitpicky off.
nitpicky = False

# -- autodoc / autosummary / napoleon -------------------------------------------------------------

autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options: dict[str, Any] = {}
# The API pages list their members explicitly (automodule / autosummary tables without :toctree:),
# so autosummary must not write stub pages into the source tree.
autosummary_generate = False

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True
napoleon_custom_sections = ["Shape"]

# -- intersphinx ---------------------------------------------------------------------------------

# Off by default: the build must work without internet access (only PyPI is reachable where the
# tests run), and intersphinx would try to download these inventories and warn (= fail under -W)
# when it cannot. Set NEURALFIELDS_DOCS_INTERSPHINX=1 to link torch / numpy / Python names.
_INTERSPHINX = {
    "python": ("https://docs.python.org/3", None),
    "torch": ("https://docs.pytorch.org/docs/stable", None),
    "numpy": ("https://numpy.org/doc/stable", None),
}
if os.environ.get("NEURALFIELDS_DOCS_INTERSPHINX", "") == "1":
    intersphinx_mapping = _INTERSPHINX
else:
    intersphinx_mapping = {}

# -- doctest -------------------------------------------------------------------------------------

# pytest runs every example (``--doctest-glob=*.rst`` over docs/, ``--doctest-modules`` over the
# package, each docstring in its module's namespace). ``sphinx-build -b doctest docs OUT`` runs them
# too; docstring examples there use their module's public names, so import those first.
doctest_global_setup = """
import torch
import neuralfields as nf
from neuralfields import *
from neuralfields.data import *
from neuralfields.fields import *
from neuralfields.grid import *
from neuralfields.io import *
from neuralfields.training import *
"""

# -- Gallery (sphinx-gallery) --------------------------------------------------------------------

# The scripts in examples/ (``plot_*.py``) run on every build and their figures are captured into
# docs/gallery/ (generated, not tracked; so is docs/sg_execution_times.rst). Each takes seconds on one
# CPU core and uses only bundled data, so the build stays offline.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
}

# -- HTML ----------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"neuralfields {release}"
html_static_path: list[str] = []

# -- Links to re-exported names ------------------------------------------------------------------

# Each object is documented once, on the page of the public module that exports it
# (``neuralfields.fields.Siren``, ``neuralfields.io.save``, ...). References written with the short
# top-level path (``neuralfields.Siren``, ``neuralfields.fit``), as users and docstrings spell them,
# are sent to that page by this handler. A new public module needs an entry here and a page in
# docs/api/.
_DOCUMENTED_MODULES = [
    "neuralfields.fields",
    "neuralfields.kernels",
    "neuralfields.conditioning",
    "neuralfields.analysis",
    "neuralfields.experiments",
    "neuralfields.inverse",
    "neuralfields.priors",
    "neuralfields.training",
    "neuralfields.io",
    "neuralfields.grid",
    "neuralfields.data",
    "neuralfields.errors",
    "neuralfields.plots",
    "neuralfields.cli",
    "neuralfields._registry",
]


def _resolve_object(target: str) -> Any:
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _candidates(target: str) -> list[str]:
    obj = _resolve_object(target)
    if obj is None:
        return []
    names = []
    for modname in _DOCUMENTED_MODULES:
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            if getattr(module, name, None) is obj:
                names.append(f"{modname}.{name}")
    # an attribute or method of a re-exported class: neuralfields.Siren.config -> ...fields.Siren.config
    head, _, tail = target.rpartition(".")
    if not names and head.startswith("neuralfields."):
        names = [f"{c}.{tail}" for c in _candidates(head)]
    return names


def _module_level(domain: Any, fullname: str) -> bool:
    parent = fullname.rpartition(".")[0]
    return parent in domain.modules or parent in _DOCUMENTED_MODULES


def _missing_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    modname = node.get("py:module") or ""
    if not (target.startswith("neuralfields.") or modname.startswith("neuralfields")):
        return None
    domain = env.get_domain("py")
    if target.startswith("neuralfields."):
        names = _candidates(target)
    else:
        # a short name in the docstring of a re-exported object, e.g. :func:`save` in the docs of
        # ``neuralfields.load`` or :data:`KINDS` in ``neuralfields.register``
        names = _candidates(f"{modname}.{target}") if modname else []
        # or the one module-level object of that name, e.g. :func:`spec_of` in ``neuralfields.create``
        matches = domain.find_obj(env, "", "", target, node.get("reftype"), searchmode=1)
        unique = {name for name, entry in matches if not entry.aliased and _module_level(domain, name)}
        if len(unique) == 1:
            names.append(unique.pop())
    for candidate in names:
        if candidate == target:
            continue
        found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], candidate, node, contnode)
        if found is not None:
            return found
    return None


def _data_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Module-level constants re-exported from a submodule (``neuralfields.training.DEFAULTS``).

    autodoc finds a constant's doc comment only in the module it is documented under, and otherwise
    shows the docstring of the value's type (``dict``, ``int``, ...). Use the doc comment from the
    module that defines the constant instead, or nothing.
    """
    if what != "data" or not lines:
        return
    type_doc = (type(obj).__doc__ or "").strip().splitlines()
    if not type_doc or lines[0].strip() != type_doc[0].strip():
        return
    from sphinx.pycode import ModuleAnalyzer

    attr = name.rpartition(".")[2]
    lines.clear()
    for modname, module in sorted(sys.modules.items()):
        if not modname.startswith("neuralfields") or getattr(module, attr, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:
            continue
        if ("", attr) in docs:
            lines.extend(docs["", attr])
            return


def _torch_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Drop docstrings inherited from PyTorch (e.g. ``Siren.forward`` would show ``nn.Module.forward``'s
    "Should be overridden by all subclasses"); the signature and types still show."""
    if what in ("method", "property") and getattr(obj, "__doc__", "") is None:
        owner = name.rpartition(".")[0]
        cls = _resolve_object(owner)
        for base in getattr(cls, "__mro__", ())[1:]:
            member = base.__dict__.get(name.rpartition(".")[2])
            if member is not None and getattr(member, "__doc__", None):
                if base.__module__.startswith("torch"):
                    lines.clear()
                return


def _skip_member(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool | None:
    # nn.Module's printing hook, overridden by Field for its repr; not part of the API
    if name == "extra_repr":
        return True
    return None


def setup(app: Any) -> dict[str, Any]:
    app.connect("missing-reference", _missing_reference)
    app.connect("autodoc-process-docstring", _data_docstring)
    app.connect("autodoc-process-docstring", _torch_docstring)
    app.connect("autodoc-skip-member", _skip_member)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
