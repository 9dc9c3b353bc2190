"""Memorising 100 real images: index / binary / latent conditioning at two widths, one run.

Runs `neuralfields.experiments.memorize` on 100 random 32x32 crops of the grey scikit-image samples
(trained at 16x16, 10% of each image's pixels held out), and prints train / held-out PSNR, the
upsampling table (field vs bicubic at 32x32) and the alpha-blend distance of each interpolation place.
Reports go to ``--out`` (one folder per run). Usage::

    python benchmarks/memorize_study.py [--steps 1000] [--widths 1 8] [--out out/memorize-study]
"""

from __future__ import annotations

import argparse
import time

import neuralfields as nf
from neuralfields.experiments import MemorizeConfig, memorize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="crops")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--widths", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--out", default="out/memorize-study")
    args = parser.parse_args()
    images = nf.data.load_dataset(args.data, n=args.n, size=32, seed=0)
    runs = [(c, w, None) for w in args.widths for c in ("index", "binary", "latent")]
    runs.append(("latent", args.widths[0], 4))  # a bottleneck, for the bottleneck interpolation place
    print(f"{args.n} {args.data} 32x32, trained at 16x16, {args.steps} steps, base width 32")
    print("| conditioning | width | bottleneck | params | train PSNR | held-out PSNR | field @32 | bicubic @32 | "
          "blend dist: conditioning | latent | bottleneck | last hidden | seconds |")
    print("|" + "---|" * 13)
    for cond, wm, bottleneck in runs:
        cfg = MemorizeConfig(conditioning=cond, width_multiple=wm, bottleneck=bottleneck, steps=args.steps,
                             hidden_layers=5 if bottleneck else 3)  # fmt: skip
        t0 = time.perf_counter()
        m = memorize(images, f"{args.out}/{cond}-{wm}x{'-b' if bottleneck else ''}", cfg, progress=False)
        secs = time.perf_counter() - t0
        up = m["upsampling"]["mean"]
        bd = m["interpolation"]["blend_distance"]
        cells = " | ".join(f"{bd[p]:.3f}" if p in bd else "-" for p in ("conditioning", "latent", "bottleneck", "last_hidden"))
        print(f"| {cond} | {32 * wm} | {bottleneck or '-'} | {m['parameters']:,} | {m['psnr']:.2f} | {m['val_psnr']:.2f} | "
              f"{up['field_psnr']:.2f} | {up['bicubic_psnr']:.2f} | {cells} | {secs:.0f} |", flush=True)  # fmt: skip
    print(f"\nmean-image PSNR (train pixels, 16x16): {m['mean_image_psnr']:.2f} dB")


if __name__ == "__main__":
    main()
