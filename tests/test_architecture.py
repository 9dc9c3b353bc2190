"""The architecture the design contract (DESIGN.md) sets, checked on the source: dependencies point one way,
modules stay small, and only the engine steps an optimiser."""

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "neuralfields"

# Layers, low to high. A module may import its own layer and lower ones, never a higher one.
# errors, the registry, io and the private engine modules are low: anyone may use them.
LAYERS = [
    {"errors", "_json", "_progress", "_allocator", "_registry", "_config", "_capabilities", "_kinds", "_checks", "_metrics", "_files", "_header", "_png", "_folders", "_wav", "io", "_history", "_task", "_checkpoint", "_loop", "_dist", "_data_parallel"},
    {"grid", "kernels", "data", "_synthetic", "_image_files"},
    {"fields"},
    {"conditioning"},
    {"priors", "inverse", "generators"},
    {"training"},
    {"analysis", "plots", "_plots_base", "_plots_lam", "_plots_signals"},
    {"experiments"},
    {"testing", "cli", "_cli_args", "_cli_report", "_cli_study", "_cli_signal", "_cli_fit_set", "_cli_torchrun", "_cli_generate", "_cli_listing"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _modules():
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _top(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Top-level neuralfields subpackages/modules a file imports (relative or absolute), at any depth."""
    tree = ast.parse(path.read_text())
    pkg_depth = len(path.relative_to(SRC).parts) - 1  # folders below neuralfields/
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                up = node.level - 1
                if up > pkg_depth:
                    continue
                base = list(path.relative_to(SRC).parts[: pkg_depth - up])
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts[0]] if parts else [alias.name for alias in node.names]
            elif node.module and node.module.split(".")[0] == "neuralfields":
                rest = node.module.split(".")[1:]
                names = [rest[0]] if rest else [alias.name for alias in node.names]
            else:
                continue
            out.update(names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "neuralfields" and len(parts) > 1:
                    out.add(parts[1])
    return out


@pytest.mark.parametrize("path", [p for p in _modules() if p.name != "__init__.py" or p.parent != SRC], ids=lambda p: str(p.relative_to(SRC)))
def test_dependencies_point_one_way(path):
    own = _top(path)
    if own not in RANK:
        pytest.fail(f"{own} is not placed in a layer of tests/test_architecture.py::LAYERS")
    upward = sorted(name for name in _imports(path) if name in RANK and RANK[name] > RANK[own])
    assert not upward, f"{path.relative_to(SRC)} ({own}) imports higher layers: {upward}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= 420, f"{path.relative_to(SRC)} has {lines} lines; split it by concept (about 400 at most)"


def test_only_the_engine_steps_an_optimiser():
    pattern = re.compile(r"\b(opt|optim|optimizer|optimiser)[A-Za-z_]*\.step\(")
    steppers = sorted(str(p.relative_to(SRC)) for p in _modules() if pattern.search(p.read_text()))
    assert steppers == ["_loop.py"]
