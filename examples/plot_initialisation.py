"""
Where a fit starts
==================

``init=`` on :func:`~neuralfields.fit` chooses where the weights start. This example fits a small SIREN
to 32x32 image crops from three starts and compares the PSNR curves: the reference initialisation of the
SIREN paper (``init="paper"``), the same with every weight bound but the output layer's scaled up
(``init="weight-scaling"``, ``alpha=2.5`` by default), and a field first fitted to *another* image
(:class:`~neuralfields.training.PrefitInit`).
"""

# %%
# The images
# ----------
#
# The bundled ``crops`` set cuts 32x32 crops from scikit-image's sample pictures, one picture per crop
# here. The first three crops are the targets; each is paired with another crop that the pre-fit start
# learns first.

# sphinx_gallery_thumbnail_number = 2
import matplotlib.pyplot as plt
import numpy as np

import neuralfields as nf

crops = nf.data.load_dataset("crops", n=6, size=32)
targets, others = crops[:3], crops[3:]

fig, axes = plt.subplots(2, 3, figsize=(5, 3.6), layout="constrained")
for i in range(3):
    axes[0, i].imshow(targets[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
    axes[1, i].imshow(others[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
    for ax in axes[:, i]:
        ax.set_xticks([])
        ax.set_yticks([])
axes[0, 0].set_ylabel("target")
axes[1, 0].set_ylabel("pre-fit on")
plt.show()

# %%
# Fit from each start
# -------------------
#
# Every fit uses the same architecture (three sine layers of 64 features), the same seed and
# :func:`~neuralfields.fit`'s default recipe for 300 steps. ``init`` is applied to the field before the
# first step; the 200 pre-fit steps of :class:`~neuralfields.training.PrefitInit` are not counted in the
# curves.

starts = {
    "paper": lambda other: "paper",
    "weight-scaling": lambda other: "weight-scaling",
    "pre-fit on another crop": lambda other: nf.training.PrefitInit(other, steps=200),
}
curves = {name: [] for name in starts}
for target, other in zip(targets, others):
    for name, start in starts.items():
        field = nf.Siren(2, 1, hidden_features=64, hidden_layers=3, seed=0)
        result = nf.fit(field, target, steps=300, init=start(other), progress=False)
        curves[name].append(result.history.psnr)

for name, runs in curves.items():
    final = ", ".join(f"{run[-1]:.1f}" for run in runs)
    print(f"{name:>24}: PSNR after 300 steps {final} dB")

# %%
# The curves
# ----------
#
# Thin lines are the three targets, thick lines their mean. The early steps matter most for a fast
# fit: the right panel shows the first 50.

steps = np.arange(1, 301)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
for color, (name, runs) in zip(("C0", "C1", "C2"), curves.items()):
    stack = np.array(runs)
    for ax, last in zip(axes, (300, 50)):
        for run in stack:
            ax.plot(steps[:last], run[:last], color=color, alpha=0.3, linewidth=0.8)
        ax.plot(steps[:last], stack.mean(0)[:last], color=color, linewidth=2, label=name)
for ax, title in zip(axes, ("all 300 steps", "the first 50 steps")):
    ax.set_xlabel("step")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
axes[0].legend()
plt.show()

# %%
# Three images are not a study: ``neuralfields init-study`` (see the :doc:`initialisation guide
# <../init>`) repeats the comparison over many triples of images and sizes, with the meta-learned and
# shared-encoder starts too.
