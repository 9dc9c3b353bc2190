"""Upsampling done right: every field family fitted at 48x48 and rendered at 256x256, against bicubic
upsampling of the same 48x48 image and against the true 256x256 image (PSNR / SSIM).

For each image (the five of ``fit_images.py``: camera, astronaut and coffee in grey, astronaut and coffee in
colour) the 48x48 version is the 256x256 sample resized with antialiasing (``nf.data.resize``). Each family
(3 layers of 256; the hash grid: its defaults and ``lr`` 1e-2) is fitted with ``nf.fit``'s default recipe for
``--steps`` steps, at its reference defaults and at ``nf.suggest_frequency``'s setting for the 48x48 image,
then rendered at 256x256 (``nf.render``, clamped to [0, 1]). Bicubic: ``torch.nn.functional.interpolate``
(``align_corners=False``, clamped). Writes a table (stdout, and ``--json``) and a picture grid of one image
(``--picture``). Usage::

    python benchmarks/upsampling_families.py [--low 48] [--high 256] [--steps 500] [--json out.json] [--picture grid.png]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics

import torch
from families_time_to_quality import FAMILIES, build
from fit_images import load
from init_time_to_quality import IMAGES

import neuralfields as nf
from neuralfields.analysis import upsampling_table


def fit_and_table(family: str, extra: dict, low: torch.Tensor, high: torch.Tensor, steps: int) -> tuple[dict, torch.Tensor]:
    field = build(family, low.shape[0], extra)
    nf.fit(field, low, steps=steps, lr=1e-2 if family == "hash-grid" else None, progress=False)
    out = upsampling_table(field, low, high)
    return out["rows"][0], out["renders"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--low", type=int, default=48)
    parser.add_argument("--high", type=int, default=256)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--families", nargs="+", default=FAMILIES)
    parser.add_argument("--json", default=None)
    parser.add_argument("--picture", default=None, help="a PNG: the first image's renders next to bicubic and the truth")
    args = parser.parse_args()
    rows, pictures = [], {}
    for i, (name, colour) in enumerate(IMAGES):
        label = f"{name} ({'colour' if colour else 'grey'})"
        high = load(name, colour, args.high)
        low = nf.data.resize(high, args.low)
        for family in args.families:
            settings = [("default", {})]
            if family != "hash-grid":
                settings.append(("suggested", nf.suggest_frequency(low, family, hidden_features=256, hidden_layers=3).config))
            for how, extra in settings:
                row, picture = fit_and_table(family, extra, low, high, args.steps)
                rows.append({"image": label, "family": family, "setting": how, "extra": extra, **row})
                if i == 0:
                    pictures[f"{family}\n{how} {' '.join(f'{v:g}' for v in extra.values())}".strip()] = picture
                print(f"{label} / {family} {how} {extra}: field {row['field_psnr']:.2f} dB / {row['field_ssim']:.3f}, "
                      f"bicubic {row['bicubic_psnr']:.2f} / {row['bicubic_ssim']:.3f}", flush=True)  # fmt: skip
        if i == 0:
            bicubic = upsampling_table(build("siren", low.shape[0], {}), low, high)["bicubic"][0]
            pictures = {"truth 256": high, "bicubic": bicubic, **pictures}
    print(f"\n{args.low} -> {args.high}, {args.steps} steps, torch {torch.__version__}, {os.cpu_count()} CPUs, {platform.machine()}")
    print("| family | setting | field PSNR (mean, min..max) | bicubic PSNR | field SSIM | bicubic SSIM | images where the field beats bicubic (PSNR) |")
    print("|---|---|---|---|---|---|---|")
    for family in args.families:
        for how in ("default", "suggested"):
            sel = [r for r in rows if r["family"] == family and r["setting"] == how]
            if not sel:
                continue
            fp = [r["field_psnr"] for r in sel]
            wins = sum(r["field_psnr"] > r["bicubic_psnr"] for r in sel)
            print(f"| {family} | {how} | {statistics.mean(fp):.2f} ({min(fp):.2f}..{max(fp):.2f}) | "
                  f"{statistics.mean(r['bicubic_psnr'] for r in sel):.2f} | {statistics.mean(r['field_ssim'] for r in sel):.3f} | "
                  f"{statistics.mean(r['bicubic_ssim'] for r in sel):.3f} | {wins}/{len(sel)} |")  # fmt: skip
    if args.picture:
        from neuralfields.plots import plot_image_grid

        labels, images = list(pictures), list(pictures.values())
        per_row = 7
        grid = [images[k : k + per_row] for k in range(0, len(images), per_row)]
        names = [labels[k : k + per_row] for k in range(0, len(labels), per_row)]
        plot_image_grid(grid, args.picture, cell_labels=names, cell=1.9,
                        title=f"{IMAGES[0][0]}: fitted at {args.low}x{args.low}, rendered at {args.high}x{args.high}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "torch": torch.__version__, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
