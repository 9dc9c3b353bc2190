"""Registry: register / create / available, entry-point discovery and its error behaviour."""

import importlib.metadata as md
import sys
import warnings

import pytest

import neuralfields as nf
from neuralfields import _registry
from neuralfields.errors import ConfigError, DuplicateNameError, UnknownNameError


def test_builtin_siren():
    assert "siren" in nf.available("field")
    f = nf.create("field", "siren", in_features=3, out_features=2, hidden_features=8)
    assert isinstance(f, nf.Siren) and f.in_features == 3


def test_create_from_config_rebuilds_equal_field():
    f = nf.Siren(2, 3, 16, hidden_layers=2, first_omega_0=12.0, seed=4)
    g = nf.create("field", "siren", **f.config)
    assert g.config == f.config
    assert all(a.equal(b) for a, b in zip(f.parameters(), g.parameters()))  # same seed, same init


def test_all_kinds_exist():
    assert nf.KINDS == (
        "field", "conditioning", "model", "prior", "operator", "solver", "stopping", "hyper-head", "init", "code-prior",
    )  # fmt: skip
    for kind in nf.KINDS:
        assert isinstance(nf.available(kind), list)


def test_register_decorator(isolated_registry):
    @nf.register("field", "my-field")
    class MyField(nf.Siren):
        pass

    assert "my-field" in nf.available("field")
    assert isinstance(nf.create("field", "my-field", hidden_features=8), MyField)
    assert MyField._nf_name == "my-field" and MyField._nf_kind == "field"


def test_register_same_object_twice_is_fine(isolated_registry):
    def factory():
        return 1

    nf.register("init", "x")(factory)
    nf.register("init", "x")(factory)
    assert nf.create("init", "x") == 1


def test_duplicate_name_is_an_error(isolated_registry):
    with pytest.raises(DuplicateNameError, match="'siren' is already registered by 'neuralfields'"):

        @nf.register("field", "siren")
        class Other(nf.Field):
            pass


def test_unknown_name_lists_available_and_closest():
    with pytest.raises(UnknownNameError) as info:
        nf.create("field", "sirne")
    msg = str(info.value)
    assert "Did you mean 'siren'?" in msg and "Available:" in msg and "'siren'" in msg
    assert isinstance(info.value, nf.NeuralFieldsError) and isinstance(info.value, LookupError)


def test_unknown_kind():
    with pytest.raises(UnknownNameError, match="Did you mean 'field'"):
        nf.available("fields")
    with pytest.raises(UnknownNameError, match="registry kind"):
        nf.register("nope", "x")


def test_bad_config_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot create field 'siren'"):
        nf.create("field", "siren", no_such_argument=1)


def test_nested_specs_are_built(isolated_registry):
    @nf.register("conditioning", "wrap")
    class Wrap:
        def __init__(self, inner):
            self.inner = inner

    spec = _registry.spec_of(nf.Siren(2, 1, 8, seed=0))
    w = nf.create("conditioning", "wrap", inner=spec)
    assert isinstance(w.inner, nf.Siren) and w.inner.config == spec["config"]


def test_spec_of_unregistered_class():
    class Unregistered(nf.Siren):
        pass

    with pytest.raises(ConfigError, match="not registered"):
        _registry.spec_of(Unregistered(2, 1, 8))


# ---- entry-point discovery, with fake entry points --------------------------------------------


class _FakeDist:
    def __init__(self, name, version="1.0"):
        self.metadata = {"Name": name}
        self.version = version


def _entry_point(name, value, dist):
    ep = md.EntryPoint(name=name, value=value, group=_registry.ENTRY_POINT_GROUP)
    return ep._for(dist) if hasattr(ep, "_for") else ep


@pytest.fixture
def fake_plugins(isolated_registry, monkeypatch, tmp_path):
    """Write plugin modules into a folder on sys.path and fake their entry points.

    Returns ``install(entry_points, {module_name: source})``; the modules are imported for real when
    discovery loads their entry points.
    """
    monkeypatch.delenv("NEURALFIELDS_DISABLE_PLUGINS", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    written = []

    def install(eps, modules):
        for name, source in modules.items():
            (tmp_path / f"{name}.py").write_text(source)
            written.append(name)
        monkeypatch.setattr(_registry, "_entry_points", lambda: eps)
        _registry._discovered = False
        _registry._plugins.clear()

    yield install
    for name in written:
        sys.modules.pop(name, None)


PLUGIN_A = """
import neuralfields as nf
@nf.register("field", "fake-a")
class FakeA(nf.Siren):
    pass
"""

PLUGIN_CALLABLE = """
import neuralfields as nf
calls = []
def setup():
    calls.append(1)
    nf.register("operator", "fake-op")(lambda: "op")
"""


def test_discovery_of_module_and_callable_plugins(fake_plugins):
    fake_plugins(
        [
            _entry_point("a", "fake_plugin_a", _FakeDist("pkg-a", "1.2")),
            _entry_point("c", "fake_plugin_c:setup", _FakeDist("pkg-c", "0.3")),
        ],
        {"fake_plugin_a": PLUGIN_A, "fake_plugin_c": PLUGIN_CALLABLE},
    )
    assert "fake-a" in nf.available("field")  # lazy discovery on first query
    assert nf.create("operator", "fake-op") == "op"
    assert sys.modules["fake_plugin_c"].calls == [1]  # called once
    nf.available("field")
    assert sys.modules["fake_plugin_c"].calls == [1]
    info = {p.name: p for p in nf.plugins()}
    assert info["a"].registered == [("field", "fake-a")]
    assert info["a"].distribution == "pkg-a" and info["a"].version == "1.2"
    assert info["c"].registered == [("operator", "fake-op")] and info["c"].error is None


def test_plugin_imported_before_discovery_is_credited(fake_plugins):
    fake_plugins([_entry_point("a", "fake_plugin_a", _FakeDist("pkg-a", "1.2"))], {"fake_plugin_a": PLUGIN_A})
    import fake_plugin_a  # noqa: F401  (e.g. a plugin's own tests import it first)

    assert "fake-a" in nf.available("field")
    info = {p.name: p for p in nf.plugins()}
    assert info["a"].registered == [("field", "fake-a")]
    assert _registry._lookup("field", "fake-a").source == "pkg-a"


def test_failing_plugin_warns_and_the_rest_work(fake_plugins):
    fake_plugins(
        [
            _entry_point("a", "fake_plugin_a", _FakeDist("pkg-a")),
            _entry_point("bad", "fake_plugin_bad", _FakeDist("pkg-bad")),
            _entry_point("gone", "fake_plugin_missing_module", _FakeDist("pkg-gone")),
        ],
        {"fake_plugin_a": PLUGIN_A, "fake_plugin_bad": "raise RuntimeError('boom')"},
    )
    with pytest.warns(nf.PluginWarning) as record:
        names = nf.available("field")
    messages = " ".join(str(w.message) for w in record)
    assert "'bad' from 'pkg-bad' failed to load (RuntimeError: boom)" in messages
    assert "'gone' from 'pkg-gone' failed to load (ModuleNotFoundError" in messages
    assert "fake-a" in names and "siren" in names
    info = {p.name: p for p in nf.plugins()}
    assert info["bad"].error == "RuntimeError: boom" and info["a"].error is None


def test_two_packages_claiming_one_name(fake_plugins):
    fake_plugins(
        [
            _entry_point("one", "fake_one", _FakeDist("pkg-one")),
            _entry_point("two", "fake_two", _FakeDist("pkg-two")),
        ],
        {"fake_one": PLUGIN_A, "fake_two": PLUGIN_A.replace("FakeA", "FakeB")},
    )
    with pytest.warns(nf.PluginWarning, match="registered by both"):
        nf.available("field")
    with pytest.raises(DuplicateNameError, match="'pkg-one' and 'pkg-two'"):
        nf.create("field", "fake-a")
    assert isinstance(nf.create("field", "siren", hidden_features=8), nf.Siren)  # others still work


def test_disable_plugins(fake_plugins, monkeypatch):
    fake_plugins([_entry_point("a", "fake_plugin_a", _FakeDist("pkg-a"))], {"fake_plugin_a": PLUGIN_A})
    monkeypatch.setenv("NEURALFIELDS_DISABLE_PLUGINS", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "fake-a" not in nf.available("field")
    assert nf.plugins() == []


def test_configs_may_use_the_words_kind_and_name(isolated_registry):
    @nf.register("operator", "takes-kind")
    class TakesKind:
        def __init__(self, kind="a", name="b"):
            self.kind, self.name = kind, name

    made = nf.create("operator", "takes-kind", kind="x", name="y")
    assert (made.kind, made.name) == ("x", "y")


def test_reprs_show_the_config():
    assert "hidden_features=8" in repr(nf.Siren(2, 1, 8)) and "num_items=3" in repr(nf.BinaryCode(3))
    assert "factor=2" in repr(nf.inverse.Downsample(2))

    class NoConfig(nf.Field):
        in_features, out_features = 2, 1

    assert repr(NoConfig()) == "NoConfig()"


# ---- kinds are contracts: base classes, example configurations, aliases ---------------------------


def test_base_classes_resolve_lazily_and_can_be_declared(isolated_registry):
    assert _registry.base_class("operator") is nf.inverse.Operator
    assert _registry.base_class("conditioning") is nf.conditioning.Conditioning
    assert _registry.base_class("init") is nf.training.Initialisation

    class MyBase:
        pass

    _registry.set_base("stopping", MyBase)
    assert _registry.base_class("stopping") is MyBase
    with pytest.raises(ConfigError, match="must be a class"):
        _registry.set_base("stopping", "MyBase")
    with pytest.raises(UnknownNameError, match="registry kind"):
        _registry.base_class("fields")


def test_example_configurations(isolated_registry):
    example = {"hidden_features": 8, "hidden_layers": 1}

    @nf.register("field", "tiny-siren", example=example)
    class Tiny(nf.Siren):
        pass

    example["hidden_features"] = 99  # the registration keeps its own copy
    got = _registry.example_config("field", "tiny-siren")
    assert got == {"hidden_features": 8, "hidden_layers": 1}
    got["hidden_layers"] = 5  # and hands out copies
    assert _registry.example_config("field", "tiny-siren")["hidden_layers"] == 1
    assert nf.create("field", "tiny-siren", **got).hidden_features == 8
    _registry.set_example("field", "tiny-siren", {"hidden_features": 4})
    assert _registry.example_config("field", "tiny-siren") == {"hidden_features": 4}
    assert _registry.example_config("operator", "denoise") == {}  # none registered
    with pytest.raises(UnknownNameError, match="Did you mean 'tiny-siren'"):
        _registry.example_config("field", "tiny-sirne")
    with pytest.raises(ConfigError, match="example configuration must be a mapping"):
        nf.register("field", "other", example=[("hidden_features", 8)])
    with pytest.raises(ConfigError, match="example configuration"):
        _registry.set_example("field", "tiny-siren", {1: 2})


def test_moved_names_resolve_through_aliases(isolated_registry):
    field = nf.create(
        "conditioning", "conditioned-field", field=nf.Siren(3, 1, 8, seed=0), conditioning=nf.IndexCoordinate(3)
    )  # the kind of files written before "model" existed
    assert isinstance(field, nf.ConditionedField)
    assert _registry.spec_of(field)["kind"] == "model"  # saved under the new kind
    assert "conditioned-field" not in nf.available("conditioning")
    assert _registry.example_config("conditioning", "conditioned-field") == _registry.example_config(
        "model", "conditioned-field"
    )
    _registry.add_alias("init", "old-op", "operator", "denoise")
    assert isinstance(nf.create("init", "old-op"), nf.inverse.Denoise)
    with pytest.raises(UnknownNameError, match="registry kind"):
        _registry.add_alias("nope", "x", "field", "siren")


# ---- configs captured from constructor arguments --------------------------------------------------


def test_configs_are_captured_from_the_constructor(isolated_registry):
    @nf.register("operator", "captured")
    class Captured(nf.inverse.Operator):
        _nf_execution = ("backend",)

        def __init__(self, size=(4, 4), scale=1.0, options=None, backend="auto"):
            super().__init__()
            self.size, self.backend = tuple(size), backend

        def forward(self, x):
            return x

    sizes = [2, 3]
    op = Captured(sizes, options={"a": (1, 2)}, backend="eager")
    sizes.append(4)  # later changes of the caller's list do not change the config
    assert op.config == {"size": [2, 3], "scale": 1.0, "options": {"a": [1, 2]}}  # no backend: how, not what
    again = nf.create("operator", "captured", **op.config, backend="fused")  # old files may still carry it
    assert again.config == op.config and again.backend == "fused"


def test_captured_configs_of_subclasses(isolated_registry):
    class Base(nf.inverse.Operator):
        def __init__(self, a=1, b=2):
            super().__init__()

    class WithKwargs(Base):
        def __init__(self, c=3, **kwargs):
            super().__init__(**kwargs)

    class Fixed(Base):
        def __init__(self, c=3):
            super().__init__(a=c * 10)  # a derived value: not a constructor argument of Fixed

    class Inherits(Base):
        pass

    assert WithKwargs(b=5).config == {"c": 3, "b": 5, "a": 1}  # forwarded arguments and their defaults
    assert Fixed().config == {"c": 3}
    assert Inherits(b=7).config == {"a": 1, "b": 7}


def test_captured_configs_nest_registered_models_and_resolve_defaults():
    f = nf.ConditionedField(nf.Siren(4, 1, 8, seed=0), nf.BinaryCode(3))
    assert f.config == {"field": _registry.spec_of(f.field), "conditioning": _registry.spec_of(f.conditioning)}
    assert f.conditioning.config == {"num_items": 3, "bits": 2}  # the resolved default of bits
    assert nf.inverse.Mask((4, 6)).config == {"shape": [4, 6], "kind": "quarter", "fraction": 0.5, "seed": 0}


def test_execution_arguments_are_left_out_of_saved_specs(isolated_registry):
    @nf.register("operator", "hand-written")
    class HandWritten(nf.inverse.Operator):
        _nf_execution = ("backend",)

        def __init__(self, backend="auto"):
            super().__init__()

        @property
        def config(self):
            return {"backend": "auto", "kept": 1}

    assert _registry.spec_of(HandWritten())["config"] == {"kept": 1}
