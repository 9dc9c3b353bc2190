"""
One field for many images
=========================

A conditioned field memorises a set of images with one shared network: each image is an *item*, and
the item's conditioning tells the network which image to draw. Here the conditioning is a learned
latent code per item (:class:`~neuralfields.Latent`, an auto-decoder), appended to the coordinates of a
SIREN, and :func:`~neuralfields.fit_dataset` trains the codes and the network together on sixteen
digits. Each item can be taken out as an ordinary field (:meth:`~neuralfields.ConditionedField.item`)
and rendered at any resolution, and :func:`~neuralfields.analysis.interpolate` draws the images between
two items.
"""

# %%
# The images and the model
# ------------------------
#
# The bundled ``digits`` set holds scikit-learn's 8x8 handwritten digits; here the first sixteen,
# resized to 16x16. ``Latent(16, dim=16, mode="concat")`` holds one 16-number code per digit and
# appends it to the two coordinates, so the inner SIREN takes ``2 + 16`` inputs.

import matplotlib.pyplot as plt

import neuralfields as nf

images = nf.data.load_dataset("digits", n=16, size=16)
print("images:", tuple(images.shape))

codes = nf.Latent(16, dim=16, mode="concat", seed=0)
siren = nf.Siren(2 + codes.extra_features, 1, hidden_features=64, hidden_layers=3, seed=0)
field = nf.ConditionedField(siren, codes)

# %%
# Train on all the images at once
# -------------------------------
#
# :func:`~neuralfields.fit_dataset` keeps a fixed 10% of each image's pixels out of training
# (``holdout``). The PSNR on those pixels says how well the field generalises between the pixels it
# saw, rather than how well it memorised them.

result = nf.fit_dataset(field, images, steps=500, progress=False)
print(f"training pixels {result.psnr:.1f} dB, held-out pixels {result.val_psnr:.1f} dB")

# %%
# Reconstructions
# ---------------
#
# ``field.item(i)`` is item ``i`` as an ordinary field; :func:`~neuralfields.render` draws it at 64x64,
# four times the training resolution. The titles give each digit's held-out PSNR.

shown = range(8)
fig, axes = plt.subplots(2, len(shown), figsize=(1.3 * len(shown), 3.0), layout="constrained")
for column, i in enumerate(shown):
    axes[0, column].imshow(images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
    axes[1, column].imshow(nf.render(field.item(i), (64, 64))[0].numpy(), cmap="gray", vmin=0, vmax=1)
    axes[1, column].set_title(f"{result.item_val_psnr[i]:.1f} dB", fontsize=8)
axes[0, 0].set_ylabel("16x16\ntarget")
axes[1, 0].set_ylabel("render\n64x64")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()

# %%
# Between two digits
# ------------------
#
# :func:`~neuralfields.analysis.interpolate` blends two items at one of
# :data:`~neuralfields.analysis.PLACES`. At ``"latent"`` it mixes the two learned codes and lets the
# network draw what the mixed code means; at ``"last_hidden"`` it mixes the activations of the last
# sine layer, which, as the output layer is linear, is exactly a cross-fade of the two images. The
# blend distance measures how far the frames are from that cross-fade (0 means none).

a, b = 2, 3
strips = {place: nf.analysis.interpolate(field, a, b, place=place, shape=(64, 64), steps=7)
          for place in ("latent", "last_hidden")}

fig, axes = plt.subplots(len(strips), 7, figsize=(9, 3.0), layout="constrained")
for row, (place, strip) in enumerate(strips.items()):
    for column in range(7):
        ax = axes[row, column]
        ax.imshow(strip.frames[column, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"alpha {float(strip.alphas[column]):.2f}", fontsize=8)
    axes[row, 0].set_ylabel(f"{place}\nblend {strip.blend_distance:.3f}", fontsize=8)
plt.show()
