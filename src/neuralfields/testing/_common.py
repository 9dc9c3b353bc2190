"""What the contract suites share: running named checks, seeded inputs, save/load and config round trips."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .. import _registry

__all__ = ["ContractFailure", "Suite"]


class ContractFailure(AssertionError):
    """A registered implementation (or one given to a ``check_*`` function) breaks its kind's contract.

    Attributes:
        kind: the registry kind whose contract was checked.
        check: the name of the check that failed.
        subject: what was checked (a class name, or the kind and registered name).
        reason: what was wrong.
    """

    def __init__(self, kind: str, check: str, subject: str, reason: str) -> None:
        self.kind, self.check, self.subject, self.reason = kind, check, subject, reason
        super().__init__(f"{subject} breaks the {kind!r} contract, check {check!r}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (e.g. for pytest-xdist)
        return (type(self), (self.kind, self.check, self.subject, self.reason))


Check = Callable[..., None]


@dataclass(frozen=True)
class Suite:
    """The named checks of one kind. Each check takes the factory (a fresh instance per call) and options."""

    kind: str
    checks: Mapping[str, Check]

    def names(self) -> tuple[str, ...]:
        return tuple(self.checks)

    def run(
        self,
        make: Callable[..., Any],
        *,
        subject: str | None = None,
        only: Iterable[str] | None = None,
        skip: Iterable[str] = (),
        **options: Any,
    ) -> None:
        for name in self._select(only, skip):
            try:
                self.checks[name](make, **options)
            except ContractFailure:
                raise
            except AssertionError as exc:
                label = subject or _subject(make)
                raise ContractFailure(self.kind, name, label, str(exc) or "assertion failed") from exc
            except Exception as exc:
                label = subject or _subject(make)
                raise ContractFailure(self.kind, name, label, f"raised {type(exc).__name__}: {exc}") from exc

    def _select(self, only: Iterable[str] | None, skip: Iterable[str]) -> list[str]:
        from ..errors import UnknownNameError

        wanted = list(self.checks) if only is None else list(only)
        skipped = set(skip)
        for name in [*wanted, *skipped]:
            if name not in self.checks:
                raise UnknownNameError(f"{self.kind} contract check", name, self.checks)
        return [n for n in wanted if n not in skipped]


def _subject(make: Callable[..., Any]) -> str:
    """What ``make`` builds, for messages (its class name when it builds without arguments)."""
    try:
        return type(make()).__name__
    except Exception:
        return getattr(make, "__qualname__", None) or type(make).__name__


# ---- shared helpers of the checks --------------------------------------------------------------


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def uniform(shape: tuple[int, ...], *, low: float = -1.0, high: float = 1.0, seed: int = 0,
            dtype: torch.dtype = torch.float32) -> Tensor:  # fmt: skip
    """Seeded uniform values in ``[low, high)``."""
    return torch.rand(shape, generator=generator(seed), dtype=dtype) * (high - low) + low


def expect_raises(error: type[BaseException], what: str, fn: Callable[[], Any]) -> None:
    """Assert that ``fn()`` raises ``error`` (the contract's error for bad input)."""
    try:
        fn()
    except error:
        return
    except Exception as exc:
        raise AssertionError(f"{what} must raise {error.__name__}, it raised {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{what} must raise {error.__name__}, it raised nothing")


def assert_close(actual: Tensor, expected: Tensor, what: str, *, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    assert isinstance(actual, Tensor), f"{what}: expected a tensor, got {type(actual).__name__}"
    actual, expected = actual.detach(), expected.detach()
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    if not torch.allclose(actual, expected, atol=atol, rtol=rtol):
        err = float((actual.double() - expected.double()).abs().max())
        raise AssertionError(f"{what}: values differ (max abs difference {err:.3g}, atol={atol}, rtol={rtol})")


def assert_finite(x: Tensor, what: str) -> None:
    assert isinstance(x, Tensor), f"{what} must be a tensor, got {type(x).__name__}"
    assert bool(torch.isfinite(x).all()), f"{what} has NaN or infinite values"


def check_base(obj: Any, kind: str) -> None:
    """``obj`` is an instance of ``kind``'s base class (when the kind has one)."""
    base = _registry.base_class(kind)
    if base is not None:
        assert isinstance(obj, base), (
            f"{type(obj).__name__} must derive from {base.__module__}.{base.__qualname__}, "
            f"the base class of kind {kind!r}"
        )


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


def registered_name(obj: Any) -> tuple[str, str]:
    cls = type(obj)
    assert "_nf_name" in cls.__dict__, (
        f"{cls.__qualname__} is not registered; decorate it with @neuralfields.register(kind, name) "
        f"(or skip the 'config' and 'save_load' checks for unregistered classes)"
    )
    return cls._nf_kind, cls._nf_name


def check_config(obj: Any, kind: str) -> None:
    """``config`` is JSON-serialisable, leaves out execution-only arguments, and rebuilds an equal config
    through ``create`` (after a JSON round trip, as files store it); with a ``seed`` in the config, two builds
    have identical initial values and draw nothing from torch's global RNG."""
    found_kind, name = registered_name(obj)
    assert found_kind == kind, f"{type(obj).__name__} is registered as {found_kind!r}, not {kind!r}"
    config = obj.config
    assert isinstance(config, dict), f"config must be a dict, got {type(config).__name__}"
    try:
        stored = _json(config)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"config must be JSON-serialisable: {exc}") from exc
    execution = set(getattr(type(obj), "_nf_execution", ()))
    leaked = sorted(execution & set(config))
    assert not leaked, f"execution-only arguments {leaked} must not be part of the config"
    rebuilt = _registry.create(kind, name, **stored)
    assert type(rebuilt) is type(obj), f"create rebuilt a {type(rebuilt).__name__}, not a {type(obj).__name__}"
    assert _json(rebuilt.config) == stored, f"create(**config).config != config: {rebuilt.config!r} vs {config!r}"
    if isinstance(config.get("seed"), int) and isinstance(rebuilt, nn.Module):
        state = torch.get_rng_state()
        again = _registry.create(kind, name, **stored)
        assert torch.equal(torch.get_rng_state(), state), "building it with a seed drew from torch's global RNG"
        for (key, a), b in zip(rebuilt.state_dict().items(), again.state_dict().values()):
            assert torch.equal(a, b), f"the same seed gave different initial values of {key!r}"


def save_load(model: nn.Module) -> nn.Module:
    """``model`` saved with :func:`neuralfields.save` and loaded back with :func:`neuralfields.load`."""
    from .. import io

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.safetensors")
        io.save(model, path)
        loaded = io.load(path)
    assert type(loaded) is type(model), f"loading gave a {type(loaded).__name__}, not a {type(model).__name__}"
    assert _json(loaded.config) == _json(model.config), "the loaded model's config differs from the saved one"
    for (ka, a), (kb, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert ka == kb and torch.equal(a.cpu(), b.cpu()), f"state {ka!r} changed in the save/load round trip"
    return loaded


def parameter_grads(loss: Tensor, module: nn.Module, *, nonzero: bool) -> None:
    """Every parameter of ``module`` gets a finite gradient from ``loss`` (non-zero, when ``nonzero``)."""
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not named:
        return
    grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
    for (name, _), g in zip(named, grads):
        assert g is not None, f"no gradient reaches parameter {name!r}"
        assert bool(torch.isfinite(g).all()), f"the gradient of parameter {name!r} is not finite"
        if nonzero:
            assert bool(g.abs().sum() > 0), f"the gradient of parameter {name!r} is zero"


def compiled(module: nn.Module, *, fullgraph: bool = True) -> Callable[..., Any]:
    """``torch.compile`` of ``module`` after resetting the compiler's caches (each check builds a fresh
    instance; stale cache entries would count towards the recompile limit)."""
    torch.compiler.reset()
    return torch.compile(module, fullgraph=fullgraph)
