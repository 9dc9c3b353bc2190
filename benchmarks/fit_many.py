"""Throughput of ``nf.fit_many`` against fitting the same images one after another with ``nf.fit``.

64 crops of 32x32 (grey), a SIREN of 3 sine layers; both contestants run the same steps with the same
recipe (full batch of 1,024 pixels per image, the default learning rate and schedule), side by side in
one run. Throughput is images x steps per second; the ratio is fit_many / sequential. Final PSNRs are
printed to show both did the same work. Usage::

    python benchmarks/fit_many.py [--n 64] [--size 32] [--steps 100] [--widths 64,256] [--backend auto]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time

import torch

import neuralfields as nf


def run(images: torch.Tensor, width: int, steps: int, backend: str) -> dict[str, float]:
    template = nf.Siren(2, 1, hidden_features=width, hidden_layers=3, seed=0, backend=backend)
    kwargs = dict(steps=steps, batch_size=None, progress=False)
    nf.fit_many(template, images[:2], steps=2, batch_size=None, progress=False)  # warm-up
    t0 = time.perf_counter()
    many = nf.fit_many(template, images, **kwargs)
    t_many = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = [nf.fit(copy.deepcopy(template), img, **kwargs) for img in images]
    t_seq = time.perf_counter() - t0
    n = images.shape[0]
    return {
        "width": width,
        "fit_many_s": t_many,
        "sequential_s": t_seq,
        "fit_many_images_steps_per_s": n * steps / t_many,
        "sequential_images_steps_per_s": n * steps / t_seq,
        "ratio": t_seq / t_many,
        "fit_many_mean_psnr": sum(many.psnr) / n,
        "sequential_mean_psnr": sum(r.psnr for r in alone) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--widths", type=str, default="64,256")
    parser.add_argument("--backend", type=str, default="auto")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    images = nf.data.load_dataset("crops", n=args.n, size=args.size)
    rows = [run(images, int(w), args.steps, args.backend) for w in args.widths.split(",")]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, backend {args.backend}")  # fmt: skip
    print(f"{args.n} images {args.size}x{args.size}, {args.steps} full-batch steps each\n")
    print("| width | fit_many (s) | sequential fit (s) | throughput ratio | PSNR fit_many / sequential (dB) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['width']} | {r['fit_many_s']:.2f} | {r['sequential_s']:.2f} | **{r['ratio']:.1f}x** | "
              f"{r['fit_many_mean_psnr']:.2f} / {r['sequential_mean_psnr']:.2f} |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
