"""
A hypernetwork that writes SIRENs
=================================

A :class:`~neuralfields.HyperSiren` reads an image and emits the weights of a small SIREN that draws it.
Trained on many images with :func:`~neuralfields.fit_hyper`, it learns to produce a network for an image
it has never seen, in one forward pass instead of a fit. This example trains one on a few hundred
handwritten digits and reconstructs digits that were held out of training.
"""

# %%
# Data and model
# --------------
#
# The bundled ``digits`` set is resized to 16x16; 288 digits train the model and the next 32 are held
# out. The model has the default convolutional encoder and the ``"full"`` head, which emits every
# weight of a SIREN with three sine layers of 32 features.

# sphinx_gallery_thumbnail_number = 2
import matplotlib.pyplot as plt
import torch

import neuralfields as nf

images = nf.data.load_dataset("digits", n=320, size=16)
train, test = images[:288], images[288:]
model = nf.HyperSiren(image_size=(16, 16), channels=1, head="full", seed=0)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %%
# Train
# -----
#
# Each step reconstructs a batch of 32 training digits. With ``test_images``, the held-out digits are
# evaluated before training and then every ``eval_every`` steps.

result = nf.fit_hyper(model, train, steps=300, test_images=test, eval_every=25, progress=False)
print(f"held-out PSNR: {result.test_psnr[0]:.1f} dB before training, {result.test_psnr[-1]:.1f} dB after")

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.plot(result.history.step, result.train_psnr, alpha=0.5, label="training batch")
ax.plot(result.test_step, result.test_psnr, marker="o", label="held-out digits")
ax.set_xlabel("step")
ax.set_ylabel("PSNR (dB)")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %%
# Held-out reconstructions
# ------------------------
#
# :meth:`~neuralfields.HyperSiren.encode` turns each held-out digit into a latent code, and
# :meth:`~neuralfields.HyperSiren.decode` renders the SIREN of each code, here at the training size and
# at 64x64: the emitted networks are fields, so any resolution works.

shown = test[:8]
with torch.no_grad():
    codes = model.encode(shown)
    small = model.decode(codes)
    large = model.decode(codes, shape=(64, 64))

rows = [("held out", shown), ("16x16", small), ("64x64", large)]
fig, axes = plt.subplots(len(rows), len(shown), figsize=(1.3 * len(shown), 4.2), layout="constrained")
for r, (label, pictures) in enumerate(rows):
    for c in range(len(shown)):
        axes[r, c].imshow(pictures[c, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[r, c].set_xticks([])
        axes[r, c].set_yticks([])
        if r == 1:
            axes[r, c].set_title(f"{nf.psnr(small[c], shown[c]):.1f} dB", fontsize=8)
    axes[r, 0].set_ylabel(label)
plt.show()

# %%
# A starting point for a fit
# --------------------------
#
# :meth:`~neuralfields.HyperSiren.export` copies one emitted network into an ordinary
# :class:`~neuralfields.Siren`, which :func:`~neuralfields.fit` can refine. Fifty steps from the
# hypernetwork's guess are compared here with fifty steps from the reference initialisation of the
# same architecture (``guess.config`` rebuilds it).

guess = model.export(shown, index=0)
scratch = nf.Siren(**{**guess.config, "seed": 0})
refined = nf.fit(guess, shown[0], steps=50, progress=False)
from_scratch = nf.fit(scratch, shown[0], steps=50, progress=False)
print(f"after 50 steps: {refined.psnr:.1f} dB from the guess, {from_scratch.psnr:.1f} dB from scratch")

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.plot(refined.history.step, refined.history.psnr, label="from the hypernetwork's guess")
ax.plot(from_scratch.history.step, from_scratch.history.psnr, label="from the reference initialisation")
ax.set_xlabel("step")
ax.set_ylabel("PSNR (dB)")
ax.set_title("Fitting held-out digit 0")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
