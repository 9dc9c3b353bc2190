"""Does ``nf.suggest_frequency`` pick a good ``omega_0``? The suggestion against SIREN's default (30) and the
best of a grid, on scikit-image samples at small sizes.

For each image and size, a SIREN (3 x 256) is fitted with ``nf.fit``'s default recipe for ``--steps`` steps
at each grid value of ``first_omega_0`` and at the suggested one. Reported: the training PSNR, and the PSNR
of the field rendered at ``--up`` times the size against the sample loaded at that size (how well the
fit generalises between the pixels). Usage::

    python benchmarks/frequency_rule.py [--sizes 48 64] [--images camera coins astronaut] [--steps 300]
"""

from __future__ import annotations

import argparse
import time

import torch

import neuralfields as nf


def fit_at(img: torch.Tensor, omega: float, steps: int, up: int, truth: torch.Tensor) -> tuple[float, float]:
    field = nf.Siren(2, img.shape[0], hidden_features=256, hidden_layers=3, first_omega_0=omega, seed=0)
    res = nf.fit(field, img, steps=steps, progress=False)
    big = nf.render(field, (img.shape[1] * up, img.shape[2] * up))
    return res.psnr, nf.psnr(big, truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[48, 64])
    parser.add_argument("--images", nargs="+", default=["camera", "coins", "astronaut"])
    parser.add_argument("--grid", type=float, nargs="+", default=[4, 8, 16, 30, 60, 120, 240])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--up", type=int, default=4)
    args = parser.parse_args()
    print(f"# SIREN 3x256, nf.fit default recipe, {args.steps} steps; PSNR train / rendered at {args.up}x vs the true image")
    print("| image | size | suggested omega_0 (s to suggest) | suggested | default 30 | best of grid (omega_0) by train | best of grid (omega_0) by render |")
    print("|---|---|---|---|---|---|---|")
    for name in args.images:
        for size in args.sizes:
            img = nf.data.load_image(name, size=size)
            truth = nf.data.load_image(name, size=size * args.up)
            t0 = time.perf_counter()
            choice = nf.suggest_frequency(img, "siren", hidden_features=256, hidden_layers=3)
            took = time.perf_counter() - t0
            grid = {w: fit_at(img, w, args.steps, args.up, truth) for w in args.grid}
            sug = fit_at(img, choice.value, args.steps, args.up, truth)
            best_train = max(grid, key=lambda w: grid[w][0])
            best_render = max(grid, key=lambda w: grid[w][1])
            default = grid.get(30.0) or fit_at(img, 30.0, args.steps, args.up, truth)
            print(f"| {name} | {size} | {choice.value:.1f} ({took:.1f}) | {sug[0]:.2f} / {sug[1]:.2f} | {default[0]:.2f} / {default[1]:.2f} | "
                  f"{grid[best_train][0]:.2f} / {grid[best_train][1]:.2f} ({best_train:g}) | "
                  f"{grid[best_render][0]:.2f} / {grid[best_render][1]:.2f} ({best_render:g}) |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
