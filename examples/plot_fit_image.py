"""
Fit an image and render it at any resolution
=============================================

A neural field is a network that maps coordinates to values. Here a :class:`~neuralfields.Siren` (a
sine-activated MLP) learns the ``camera`` sample at 64x64 with :func:`~neuralfields.fit`. Because the
trained field is a continuous function of the coordinates, :func:`~neuralfields.render` can then
evaluate it on a grid of any size, here four times finer than the training image.
"""

# %%
# Fit the field
# -------------
#
# Images are float tensors ``(C, H, W)`` in [0, 1]; the bundled ``camera`` sample is loaded at 64x64.
# The field takes two coordinates and returns one grey value. ``seed`` fixes its initialisation, and
# ``progress=False`` turns the progress bar off.

import matplotlib.pyplot as plt

import neuralfields as nf

image = nf.data.load_image("camera", size=64)
field = nf.Siren(2, 1, hidden_features=128, hidden_layers=3, seed=0)
result = nf.fit(field, image, steps=300, progress=False)
print(f"PSNR after {result.steps} steps: {result.psnr:.1f} dB")

# %%
# Render at four times the resolution
# -----------------------------------
#
# :func:`~neuralfields.render` evaluates the field on the pixel centres of a 256x256 grid that covers the
# same square as the 64x64 image, and returns values in [0, 1].

big = nf.render(field, (256, 256))

fig, axes = plt.subplots(1, 2, figsize=(7, 3.6), layout="constrained")
axes[0].imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
axes[0].set_title("target, 64x64")
axes[1].imshow(big[0].numpy(), cmap="gray", vmin=0, vmax=1)
axes[1].set_title("field rendered at 256x256")
for ax in axes:
    ax.axis("off")
plt.show()

# %%
# The training curve
# ------------------
#
# ``result.history`` records every step. Its ``psnr`` is the PSNR of each step's batch (here the whole
# image, as 64x64 pixels fit in one batch), on the [0, 1] scale of the image.

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.plot(result.history.step, result.history.psnr)
ax.set_xlabel("step")
ax.set_ylabel("PSNR (dB)")
ax.set_title("Fitting camera at 64x64")
ax.grid(alpha=0.3)
plt.show()
