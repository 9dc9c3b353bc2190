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
    assert nf.KINDS == ("field", "conditioning", "prior", "operator", "solver", "init")
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
