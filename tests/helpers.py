"""Shared helpers of the test suite."""

import neuralfields as nf

# Small configurations of registered fields, so registry-driven tests stay fast. Fields not listed
# are built with their defaults.
SMALL_FIELD_CONFIGS = {
    "siren": {"hidden_features": 16, "hidden_layers": 2},
    "bottleneck-siren": {"hidden_features": 16, "hidden_layers": 3, "bottleneck_factor": 4},
    "example-fourier": {"num_frequencies": 8, "hidden_features": 16},
}


def small_field(name: str, **overrides):
    """A small instance of the registered field ``name``."""
    return nf.create("field", name, **{**SMALL_FIELD_CONFIGS.get(name, {}), **overrides})
