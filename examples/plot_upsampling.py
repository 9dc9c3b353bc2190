"""
Upsampling: a field against bicubic interpolation
=================================================

A field fitted to a small image can be rendered at any resolution, which makes it an upsampler. This
example fits a SIREN to ``camera`` at 48x48, renders it at 192x192, and compares the render with bicubic
interpolation of the same 48x48 pixels, both measured against the true 192x192 image with
:func:`~neuralfields.analysis.upsampling_table`. It does so twice: with SIREN's default frequency
(``first_omega_0=30``) and with the one :func:`~neuralfields.suggest_frequency` picks for this image.
"""

# %%
# The images
# ----------
#
# The true image is ``camera`` at 192x192; the training image is the same picture shrunk to 48x48 with
# :func:`neuralfields.data.resize` (antialiased), so neither method sees the fine detail.

import matplotlib.pyplot as plt

import neuralfields as nf

high = nf.data.load_image("camera", size=192)
low = nf.data.resize(high, 48)

# %%
# Choose a frequency
# ------------------
#
# :func:`~neuralfields.suggest_frequency` compares the spectrum of the image with those of untrained
# fields at a range of frequencies, one forward pass each, and returns the closest. ``choice.config``
# holds the constructor argument it sets.

size = dict(hidden_features=128, hidden_layers=3)
choice = nf.suggest_frequency(low, "siren", **size)
print(f"suggested {choice.parameter} = {choice.value:g}")

# %%
# Fit at 48x48, render at 192x192
# -------------------------------
#
# Both fields have the same size and seed; only the first layer's frequency differs.

settings = {"default (30)": {}, f"suggested ({choice.value:g})": choice.config}
tables = {}
for label, config in settings.items():
    field = nf.Siren(2, 1, seed=0, **size, **config)
    result = nf.fit(field, low, steps=300, progress=False)
    tables[label] = table = nf.analysis.upsampling_table(field, low, high)
    row = table["rows"][0]
    print(f"{label:>18}: training {result.psnr:5.1f} dB | at 192x192: field {row['field_psnr']:.2f} dB, "
          f"SSIM {row['field_ssim']:.3f}; bicubic {row['bicubic_psnr']:.2f} dB, SSIM {row['bicubic_ssim']:.3f}")

# %%
# Compare
# -------
#
# Every picture is 192x192 except the training image, which is drawn at its own 48x48 pixels. The
# titles give the PSNR against the true image. The training PSNR says little here: a field can
# reproduce its 48x48 pixels almost exactly and still draw something different between them, which is
# what the 192x192 comparison measures.

first = next(iter(tables.values()))
panels = [(high[0], "true, 192x192"), (low[0], "training image, 48x48"),
          (first["bicubic"][0, 0], f"bicubic\n{first['rows'][0]['bicubic_psnr']:.2f} dB")]
for label, table in tables.items():
    panels.append((table["renders"][0, 0], f"SIREN, {label}\n{table['rows'][0]['field_psnr']:.2f} dB"))

fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 2.8), layout="constrained")
for ax, (picture, title) in zip(axes, panels):
    ax.imshow(picture.numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.show()

# %%
# A detail, enlarged
# ------------------
#
# The same 64x64 region of each 192x192 picture (16x16 pixels of the training image), around the face,
# shows how each method draws the edges between the training pixels.

crop = (slice(20, 84), slice(64, 128))
fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 2.8), layout="constrained")
for ax, (picture, title) in zip(axes, panels):
    if picture.shape[-1] == 48:
        picture = picture[crop[0].start // 4 : crop[0].stop // 4, crop[1].start // 4 : crop[1].stop // 4]
    else:
        picture = picture[crop]
    ax.imshow(picture.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title.split("\n")[0], fontsize=9)
    ax.axis("off")
plt.show()
