"""
Beyond images
=============

A field maps coordinates of any dimension to values of any range. This example fits four signals that
are not ordinary images: a sound (1-D), the signed distance to a sphere on a 3-D grid (with its surface
extracted as a mesh), a signed distance learned from points on a circle with the eikonal term, and an
image learned from its gradient alone (Poisson fitting). The :doc:`guide page <../beyond>` explains each
in more detail.
"""

# %%
# Audio: the frequency matters
# ----------------------------
#
# A sum of two sines, 2,000 samples in [-1, 1]. The coordinates of a field always span [-1, 1], so 2,000
# samples put far more cycles on that span than an image's rows do, and SIREN's image default
# ``first_omega_0=30`` is far too low. :func:`~neuralfields.suggest_frequency` picks a frequency from the
# signal's spectrum before any training. ``value_range=(-1, 1)`` tells :func:`~neuralfields.fit` the
# signal's range, and the same argument on :func:`~neuralfields.render` maps the field's values back,
# without clamping.

# sphinx_gallery_thumbnail_number = 3
import math

import matplotlib.pyplot as plt
import torch

import neuralfields as nf

n = 2000
t = torch.arange(n) / n
sound = (torch.sin(2 * math.pi * 30 * t) + 0.5 * torch.sin(2 * math.pi * 170 * t))[None] / 1.5  # (1, 2000)

choice = nf.suggest_frequency(sound, hidden_features=64, hidden_layers=2)
waves = {}
for label, omega in ((f"suggested omega_0 = {choice.value:g}", choice.value), ("default omega_0 = 30", 30.0)):
    field = nf.Siren(1, 1, hidden_features=64, hidden_layers=2, first_omega_0=omega, seed=0)
    result = nf.fit(field, sound, steps=300, value_range=(-1, 1), progress=False)
    waves[label] = (nf.render(field, (n,), value_range=(-1, 1))[0], result.psnr)
    print(f"{label}: {result.psnr:.1f} dB")

fig, axes = plt.subplots(2, 1, figsize=(8, 4.4), sharex=True, layout="constrained")
for ax, (label, (wave, psnr)) in zip(axes, waves.items()):
    ax.plot(sound[0, :400].numpy(), color="0.6", linewidth=3, label="target")
    ax.plot(wave[:400].numpy(), color="C3", linewidth=1, label="field")
    ax.set_title(f"{label}: {psnr:.1f} dB", fontsize=10)
    ax.set_ylabel("value")
axes[0].legend(loc="upper right")
axes[1].set_xlabel("sample (the first 400 of 2,000)")
plt.show()

# %%
# A volume: the signed distance to a sphere
# -----------------------------------------
#
# :func:`neuralfields.grid.make_grid` gives the pixel-centre coordinates of a 16x16x16 grid; the signed
# distance to a sphere of radius 0.5 is negative inside and positive outside. Its range is given with
# ``value_range``, and its frequency is again suggested (a smooth distance needs a low one).

sphere = (nf.grid.make_grid((16, 16, 16)).norm(dim=-1) - 0.5)[None]  # (1, 16, 16, 16)
value_range = (-1.0, 1.5)
choice = nf.suggest_frequency(sphere, hidden_features=64, hidden_layers=2)
field = nf.Siren(3, 1, hidden_features=64, hidden_layers=2, seed=0, **choice.config)
result = nf.fit(field, sphere, steps=200, value_range=value_range, progress=False)
volume = nf.render(field, (16, 16, 16), value_range=value_range)
print(f"omega_0 = {choice.value:g}: {result.psnr:.1f} dB")

# %%
# The middle slice along each axis, target above field, on one colour scale centred on zero (blue
# inside, red outside):

limit = float(sphere.abs().max())
fig, axes = plt.subplots(2, 3, figsize=(7, 4.6), layout="constrained")
for row, (label, data) in enumerate((("target", sphere[0]), ("field", volume[0]))):
    for axis in range(3):
        ax = axes[row, axis]
        picture = ax.imshow(data.select(axis, 8).numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{label}, axis {axis}", fontsize=9)
fig.colorbar(picture, ax=axes, shrink=0.8, label="signed distance")
plt.show()

# %%
# :func:`~neuralfields.analysis.extract_mesh` renders the field on a finer 24^3 grid and runs marching
# cubes (scikit-image) at level 0, on the signal's own scale given by ``value_range``. The vertices are
# in the field's coordinates, so their distance from the centre should be the radius, 0.5.

mesh = nf.analysis.extract_mesh(field, 24, value_range=value_range)
radius = mesh.vertices.norm(dim=1)
print(f"{len(mesh.vertices)} vertices, {len(mesh.faces)} faces, radius {float(radius.mean()):.3f} "
      f"+- {float(radius.std()):.3f}")

fig = plt.figure(figsize=(4.5, 4.5), layout="constrained")
ax = fig.add_subplot(projection="3d")
v = mesh.vertices.numpy()
ax.plot_trisurf(v[:, 0], v[:, 1], v[:, 2], triangles=mesh.faces.numpy(), cmap="viridis", linewidth=0.1,
                edgecolor="0.3")
ax.set_box_aspect((1, 1, 1))
ax.set_title("the zero level set, 24^3 grid")
plt.show()

# %%
# A signed distance from surface points
# -------------------------------------
#
# When the shape is given as points on its surface with their normals, rather than as a volume,
# :func:`~neuralfields.training.fit_sdf` fits the signed distance as the SIREN paper does: the field is
# 0 on the points, its gradient there is the normal, and its gradient has unit length everywhere (the
# eikonal term). Here the shape is a circle of radius 0.5 in 2-D.

gen = torch.Generator().manual_seed(0)
angle = torch.rand(1000, generator=gen) * 2 * math.pi
points = torch.stack([angle.cos(), angle.sin()], dim=1) * 0.5
normals = points / 0.5
sdf = nf.Siren(2, 1, hidden_features=64, hidden_layers=2, first_omega_0=10, seed=0)
result = nf.training.fit_sdf(sdf, points, normals, steps=300, batch_size=512, progress=False)
print(f"mean |f| on the points {result.surface_error:.4f}, mean ||grad f| - 1| {result.eikonal_error:.3f}")

# The field's raw output is the distance itself (no value_range): render without mapping to [0, 1].
distance = nf.render(sdf, (128, 128), unit_range=False)[0]
truth = nf.grid.make_grid((128, 128)).norm(dim=-1) - 0.5
centres = nf.grid.make_grid((128,))[:, 0].numpy()  # the pixel centres along each axis

fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4), layout="constrained")
for ax, (label, data) in zip(axes, (("fitted", distance), ("true", truth))):
    picture = ax.imshow(data.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, extent=(-1, 1, 1, -1))
    ax.contour(centres, centres, data.numpy(), levels=[-0.25, 0, 0.25, 0.5], colors="k", linewidths=0.7)
    ax.set_title(f"{label} signed distance", fontsize=10)
    ax.set_aspect("equal")
fig.colorbar(picture, ax=axes, shrink=0.8)
plt.show()

# %%
# The black lines are the contours at -0.25, 0, 0.25 and 0.5. The surface (the zero contour) is found
# first; away from it the fitted field is only roughly a distance after 300 steps, as the eikonal term
# needs many more.
#
# Fitting an image through its gradient (Poisson)
# -----------------------------------------------
#
# :func:`~neuralfields.training.fit_poisson` trains a field on the image's gradient only: the field
# never sees a pixel value, so the image comes back up to a constant, which the reported PSNR matches
# first.

image = nf.data.load_image("camera", size=32)
poisson = nf.Siren(2, 1, hidden_features=64, hidden_layers=2, seed=0)
result = nf.training.fit_poisson(poisson, image, supervise="gradient", steps=200, lr=1e-3, progress=False)
print(f"from the gradient alone: {result.psnr:.1f} dB")

gradient = nf.training.image_gradient(image).reshape(32, 32, 2).norm(dim=-1)  # one channel
recovered = nf.render(result.field, (32, 32), clamp=False)
recovered = (recovered - recovered.mean() + image.mean()).clamp(0, 1)

fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.8), layout="constrained")
axes[0].imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
axes[0].set_title("image", fontsize=9)
axes[1].imshow(gradient.numpy(), cmap="magma")
axes[1].set_title("what the field is trained on:\nthe gradient's magnitude", fontsize=9)
axes[2].imshow(recovered[0].numpy(), cmap="gray", vmin=0, vmax=1)
axes[2].set_title(f"recovered, mean matched\n{result.psnr:.1f} dB", fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()
