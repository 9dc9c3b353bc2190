"""
Denoising and inpainting
========================

:func:`neuralfields.inverse.solve` restores images from measurements ``y = A x + noise`` by minimising
``||A x - y||^2 / (2 sigma^2) + lam * E(x)``: a forward operator ``A``, a prior energy ``E`` and a solver
are each chosen by name or passed as objects. This example removes noise from ``camera`` at 64x64 and
fills in the 70% of its pixels that a mask hides, with two solvers: ``"map"`` descends on the pixels
with a total-variation prior, and ``"field"`` descends on the weights of a SIREN whose output is the
image, stopped early before it fits the noise.
"""

# %%
# Denoising
# ---------
#
# :class:`~neuralfields.inverse.Denoise` is the identity operator; its
# :meth:`~neuralfields.inverse.Operator.measure` adds Gaussian noise of standard deviation ``sigma``
# (seeded). Images are batches ``(B, C, H, W)`` here, so the one image gets a batch dimension.
#
# The field solver is given no prior: a SIREN draws the smooth structure of an image before its
# noise, and ``stop="discrepancy"`` (Morozov's discrepancy principle) stops it once the residual is
# down to the noise level. ``reference`` is only used to report the PSNR.

import matplotlib.pyplot as plt

import neuralfields as nf
from neuralfields.inverse import Denoise, Mask, solve

clean = nf.data.load_image("camera", size=64)[None]

noise = 0.1
denoise = Denoise()
noisy = denoise.measure(clean, sigma=noise, seed=0)

tv = solve(noisy, denoise, "tv", sigma=noise, lam=10.0, solver="map", steps=300, reference=clean, progress=False)
field = solve(noisy, denoise, None, sigma=noise, solver="field", steps=500, stop="discrepancy", reference=clean,
              progress=False)
print(f"noisy {nf.psnr(noisy[0].clamp(0, 1), clean[0]):.1f} dB, TV {tv.psnr[0]:.1f} dB, "
      f"field {field.psnr[0]:.1f} dB (stopped at iteration {int(field.stopped_at[0])})")
denoising = [
    (clean, "clean"),
    (noisy.clamp(0, 1), f"noisy, sigma {noise}\n{nf.psnr(noisy[0].clamp(0, 1), clean[0]):.1f} dB"),
    (tv.x, f"map + TV\n{tv.psnr[0]:.1f} dB"),
    (field.x, f"field, early stop\n{field.psnr[0]:.1f} dB"),
]

# %%
# Inpainting
# ----------
#
# :class:`~neuralfields.inverse.Mask` with ``kind="random"`` hides a fixed random ``fraction`` of the
# pixels: their measured values are noise alone. Little noise is added here (``sigma=0.02``). The TV
# solver fills the hidden pixels from their neighbours. The field solver evaluates a SIREN on every
# pixel, observed or not, and ``stop="holdout"`` keeps 10% of the observed pixels aside, stops when the
# error on them has not improved for a while, and keeps the best iterate.

sigma = 0.02
mask = Mask((64, 64), kind="random", fraction=0.7, seed=0)
masked = mask.measure(clean, sigma=sigma, seed=0)

tv = solve(masked, mask, "tv", sigma=sigma, lam=1.0, solver="map", steps=300, reference=clean, progress=False)
field = solve(masked, mask, None, sigma=sigma, solver="field", steps=1000, stop="holdout", reference=clean,
              progress=False)
print(f"TV {tv.psnr[0]:.1f} dB, field {field.psnr[0]:.1f} dB (kept iteration {int(field.stopped_at[0])})")
inpainting = [
    (clean, "clean"),
    (masked.clamp(0, 1), "70% of pixels hidden"),
    (tv.x, f"map + TV\n{tv.psnr[0]:.1f} dB"),
    (field.x, f"field, early stop\n{field.psnr[0]:.1f} dB"),
]

# %%
# The results
# -----------
#
# The titles give the PSNR against the clean image.

fig, axes = plt.subplots(2, 4, figsize=(8.4, 4.8), layout="constrained")
for row, panels in enumerate((denoising, inpainting)):
    for ax, (picture, title) in zip(axes[row], panels):
        ax.imshow(picture[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
axes[0, 0].set_ylabel("denoising")
axes[1, 0].set_ylabel("inpainting")
plt.show()
