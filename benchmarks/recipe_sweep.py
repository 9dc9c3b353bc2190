"""Which default recipe for `nf.fit`? PSNR per step of a few recipes on `camera` 256x256, SIREN 3x256.

Each recipe is ``(lr, batch_size, schedule)``; PSNR is measured on the full 256x256 render (the [0, 1]
scale) at fixed steps. Steps with a smaller batch are cheaper, so compare at equal cost too (a step of
8,192 pixels costs about half a step of 16,384). Usage::

    python benchmarks/recipe_sweep.py [--steps 500] [--recipes 1e-3:16384:cosine 1e-3:16384:constant ...]
"""

from __future__ import annotations

import argparse
import json

import neuralfields as nf

DEFAULT_RECIPES = [
    "1e-3:16384:cosine",
    "1e-3:16384:constant",
    "1e-3:8192:cosine",
    "2e-3:16384:cosine",
    "5e-4:16384:cosine",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--marks", type=int, nargs="+", default=[50, 100, 200, 300, 500])
    parser.add_argument("--recipes", nargs="+", default=DEFAULT_RECIPES, help="lr:batch_size|full:schedule")
    args = parser.parse_args()
    img = nf.data.load_image("camera", size=256)
    print("| lr | batch | schedule | " + " | ".join(f"PSNR @{m}" for m in args.marks) + " | first step >= 30 dB (batch PSNR) |")
    print("|" + "---|" * (4 + len(args.marks)))
    for recipe in args.recipes:
        lr, batch, schedule = recipe.split(":")
        at: dict[int, float] = {}

        def cb(info, at=at) -> None:
            if info.step in args.marks:
                at[info.step] = nf.psnr(nf.render(info.field, (256, 256)), img)

        f = nf.Siren(2, 1, 256, 3, seed=0)
        res = nf.fit(f, img, steps=args.steps, lr=float(lr), batch_size=None if batch == "full" else int(batch),
                     schedule=schedule, callbacks=[cb], progress=False)  # fmt: skip
        cells = " | ".join(f"{at.get(m, float('nan')):.2f}" for m in args.marks)
        print(f"| {lr} | {batch} | {schedule} | {cells} | {res.history.steps_to(30.0)} |", flush=True)
        print(json.dumps({"recipe": recipe, "psnr_at": at}), flush=True)


if __name__ == "__main__":
    main()
