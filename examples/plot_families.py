"""
Field families side by side
===========================

Every field family of neuralfields is registered by name under the kind ``"field"``, so one loop can build
each of them with :func:`~neuralfields.create`, fit it with :func:`~neuralfields.fit` and compare. Here
every family gets the same small budget: two hidden layers of 64 features and 200 steps on the ``camera``
sample at 48x48.
"""

# %%
# The registered families
# -----------------------
#
# :func:`~neuralfields.available` lists every name of a kind, including those added by plugins
# (:func:`~neuralfields.plugins` says which). This example keeps to the families that ship with
# neuralfields and that are built from the same arguments. Two registered names are not families of
# their own: ``"bottleneck-siren"`` is a SIREN with a narrow middle layer, which needs at least three
# hidden layers, and ``"item-field"`` is one item of a conditioned field, built from its parent.

import matplotlib.pyplot as plt

import neuralfields as nf

from_plugins = {name for plugin in nf.plugins() for kind, name in plugin.registered if kind == "field"}
not_families = {"bottleneck-siren", "item-field"}
families = [name for name in nf.available("field") if name not in from_plugins | not_families]
print("registered:", nf.available("field"))
print("compared:  ", families)

# %%
# Fit each family
# ---------------
#
# Each family starts from its paper's reference initialisation, drawn from ``seed=0``. The hash grid
# learns its tables with a larger learning rate (``lr=1e-2``, as in its paper), and its tables are made
# smaller than the default ``2**16`` rows, which a 48x48 image does not need and which would dominate
# the run time.

image = nf.data.load_image("camera", size=48)
common = dict(in_features=2, out_features=1, hidden_features=64, hidden_layers=2, seed=0)

renders, titles = [], []
for name in families:
    if name == "hash-grid":
        field = nf.create("field", name, table_size=2**12, **common)
        result = nf.fit(field, image, steps=200, lr=1e-2, progress=False)
    else:
        field = nf.create("field", name, **common)
        result = nf.fit(field, image, steps=200, progress=False)
    parameters = sum(p.numel() for p in field.parameters())
    print(f"{name:>17}: {result.psnr:6.1f} dB, {parameters:,} parameters")
    renders.append(nf.render(field, (96, 96)))
    titles.append(f"{name}\n{result.psnr:.1f} dB")

# %%
# Compare the renders
# -------------------
#
# The PSNR in each title is measured on the 48x48 training pixels. The renders are drawn at 96x96,
# twice the training resolution, so they also show how each family fills in between the pixels it was
# trained on: with sine, Gaussian or wavelet layers, with Fourier features, or with a hash grid's
# interpolated tables.
#
# The two do not always agree. A family that reaches high frequencies from its first layer can match
# all 2,304 training pixels almost exactly and still draw noise between them; with these settings
# FINER (whose first-layer biases are spread over ``[-20, 20]``) does so. How a field renders between
# its samples depends on the family's frequency setting, which :func:`~neuralfields.suggest_frequency`
# chooses from the signal (see the upsampling example).

panels = [image, *renders]
names = ["target, 48x48", *titles]
columns = 4
rows = -(-len(panels) // columns)
fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.5 * rows), layout="constrained")
for ax in axes.flat:
    ax.axis("off")
for ax, picture, title in zip(axes.flat, panels, names):
    ax.imshow(picture[0].numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
plt.show()
