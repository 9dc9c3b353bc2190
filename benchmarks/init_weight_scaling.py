"""Does weight scaling speed up SIREN fitting? The reference init against ``init="weight-scaling"``, side by side.

A SIREN of 3 sine layers of 256 fits ``camera`` (grey, ``--size`` square) with ``nf.fit``'s default recipe
from the reference initialisation (``"paper"``) and from the weight-scaled one at each ``--alphas``, for
each seed; the script prints the PSNR (full image) at chosen steps and the steps to 30 dB, mean and range
over the seeds. Usage::

    python benchmarks/init_weight_scaling.py [--size 128] [--steps 200] [--seeds 0,1] [--alphas 1.5,2.5]
"""

from __future__ import annotations

import argparse
import statistics

import neuralfields as nf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--alphas", default="1.5,2.5")
    parser.add_argument("--marks", default="10,25,50,100,200")
    args = parser.parse_args()
    image = nf.data.load_image("camera", size=args.size)
    seeds = [int(s) for s in args.seeds.split(",")]
    marks = [int(m) for m in args.marks.split(",") if int(m) <= args.steps]
    inits = [("paper", "paper", {})] + [(f"weight-scaling {a}", "weight-scaling", {"alpha": float(a)})
                                        for a in args.alphas.split(",")]  # fmt: skip
    print(f"# camera {args.size}x{args.size}, SIREN 3x256, nf.fit default recipe, {args.steps} steps, seeds {seeds}")
    print("| init | " + " | ".join(f"PSNR @{m}" for m in marks) + " | steps to 30 dB |")
    print("|---|" + "---|" * (len(marks) + 1))
    for label, name, config in inits:
        curves, reach = [], []
        for seed in seeds:
            cb = nf.Snapshots(at=marks)
            init = {"name": name, "config": {**config, "seed": seed}}
            res = nf.fit(nf.Siren(2, 1, 256, 3, seed=seed), image, steps=args.steps, init=init, callbacks=[cb], progress=False)
            psnr = [nf.psnr(cb.images[m], image) for m in marks]
            curves.append(psnr)
            reach.append(res.history.steps_to(30.0))
        cells = []
        for j in range(len(marks)):
            vals = [c[j] for c in curves]
            cells.append(f"{statistics.mean(vals):.2f} ({min(vals):.2f}-{max(vals):.2f})")
        got = [r for r in reach if r is not None]
        to30 = f"{statistics.mean(got):.0f} ({min(got)}-{max(got)})" if len(got) == len(reach) else f"{len(got)}/{len(reach)} seeds"
        print(f"| {label} | " + " | ".join(cells) + f" | {to30} |")


if __name__ == "__main__":
    main()
