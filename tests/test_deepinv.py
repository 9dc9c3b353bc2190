"""deepinv interoperability: a deepinv physics as the operator of ``solve``, and a field as a deepinv-style
reconstructor ``model(y, physics)``. The first tests use stand-ins with deepinv's method names (they always
run); the last ones use deepinv itself and are skipped where it is not installed (or cannot be imported)."""

import pytest
import torch

import neuralfields as nf
from neuralfields.errors import ConfigError, DTypeError
from neuralfields.inverse import FieldReconstructor, Mask, PhysicsOperator, solve


class _Masking:
    """A stand-in for ``deepinv.physics.Inpainting``: ``A``, ``A_adjoint`` and a Gaussian noise model."""

    def __init__(self, mask, sigma=0.05):
        self.mask = mask
        self.noise_model = type("GaussianNoise", (), {"sigma": torch.tensor(sigma)})()

    def A(self, x):  # noqa: N802 (deepinv's name)
        return x * self.mask

    def A_adjoint(self, y):  # noqa: N802
        return y * self.mask


def _deepinv():
    try:
        import deepinv
    except Exception as exc:  # not installed, or installed beside a torch it does not match (torchvision fails)
        pytest.skip(f"deepinv cannot be imported here: {type(exc).__name__}: {exc}")
    return deepinv


def test_solve_takes_a_physics_object_and_matches_our_own_operator():
    clean = nf.data.load_dataset("shapes", n=2, size=16)
    ours = Mask((16, 16), kind="random", fraction=0.5, seed=0)
    physics = _Masking(ours.mask)
    y = ours.measure(clean, sigma=0.05, seed=0)
    a = solve(y, ours, "tv", sigma=0.05, lam=0.2, steps=50, progress=False)
    b = solve(y, physics, "tv", sigma=0.05, lam=0.2, steps=50, progress=False)
    assert torch.allclose(a.x, b.x, atol=1e-6)


def test_the_adjoint_of_a_physics_without_one_comes_from_autograd():
    class Crop:
        def A(self, x):  # noqa: N802
            return x[..., 1:-1, ::2]

    op = PhysicsOperator(Crop())
    assert op.adjointness_test((6, 8)) < 1e-12
    with pytest.raises(DTypeError, match="callable A"):
        PhysicsOperator(object())
    fresh = PhysicsOperator(Crop())
    with pytest.raises(ConfigError, match="no A_adjoint"):
        fresh.adjoint(torch.zeros(1, 1, 4, 4))


def test_the_reconstructor_reads_sigma_from_the_physics_and_keeps_its_solution():
    clean = nf.data.load_image("camera", size=32)[None]
    physics = _Masking(torch.ones(1, 1, 32, 32), sigma=0.1)
    y = clean + 0.1 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    model = FieldReconstructor(steps=150)
    x = model(y, physics)
    assert nf.psnr(x, clean) > nf.psnr(y.clamp(0, 1), clean) + 3
    assert model.last_solution.rule == "discrepancy" and int(model.last_solution.stopped_at[0]) < 150
    physics.noise_model = None
    with pytest.raises(ConfigError, match="noise level"):
        model(y, physics)
    assert FieldReconstructor(sigma=0.1, steps=5, stop="budget")(y, physics).shape == y.shape


def test_deepinv_round_trip_inpainting_and_denoising():
    dinv = _deepinv()
    clean = nf.data.load_image("camera", size=32)[None]
    gen = torch.Generator().manual_seed(0)
    physics = dinv.physics.Inpainting(img_size=(1, 32, 32), mask=0.5, rng=gen, noise_model=dinv.physics.GaussianNoise(sigma=0.05))
    op = PhysicsOperator(physics)
    assert op.adjointness_test((1, 1, 32, 32)) < 1e-10
    torch.manual_seed(0)
    y = physics(clean)
    x = FieldReconstructor(steps=300)(y, physics)
    psnr = dinv.metric.PSNR()(x, clean)
    assert float(psnr) == pytest.approx(nf.psnr(x, clean), abs=0.05)  # both on [0, 1]
    assert nf.psnr(x, clean) > nf.psnr(y, clean) + 5  # half the pixels were zero
    tv = solve(y, physics, "tv", sigma=0.05, lam=0.2, steps=200, reference=clean, progress=False)
    assert tv.psnr[0] > nf.psnr(y, clean) + 5
    denoise = dinv.physics.Denoising(dinv.physics.GaussianNoise(sigma=0.1))
    noisy = denoise(clean)
    assert nf.psnr(FieldReconstructor(steps=150)(noisy, denoise), clean) > nf.psnr(noisy.clamp(0, 1), clean) + 3
