import os

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def isolated_registry():
    """Registrations made inside the test are undone afterwards."""
    from neuralfields import _registry

    with _registry._isolated():
        yield _registry


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: one thread is fastest, and much faster on a busy machine (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
