"""Fields per second for a dataset of fields: a sequential ``nf.fit`` loop, one process of ``fit_set``
(``fit_many`` groups) and ``fit_set`` on 2 processes under ``torchrun``, in one run, with the final PSNR;
and how close the batched step comes to this CPU's limit: the step's matrix products and sines at the
matmul and sine rates measured in the same run.

Usage::

    python benchmarks/fit_set_throughput.py [--n 1000] [--size 16] [--steps 100] [--sequential 40]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import neuralfields as nf
from neuralfields.experiments import FitSetConfig, fit_set


def rates(threads: int) -> tuple[float, float]:
    """Peak matmul rate (FLOP/s, 1024x1024 float32) and sine rate (values/s, on 64 Ki values that stay in
    cache, as a step's activations of one group do) with ``threads`` threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    x = torch.randn(65536)
    y = torch.empty_like(x)
    for _ in range(3):
        a @ b
        torch.sin(x, out=y)
    t = time.perf_counter()
    for _ in range(10):
        a @ b
    mm = 10 * 2 * 1024**3 / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(2000):
        torch.sin(x, out=y)
    return mm, 2000 * x.numel() / (time.perf_counter() - t)


def step_work(width: int, layers: int, pixels: int, out: int) -> tuple[float, float]:
    """Matmul FLOPs and sine/cosine evaluations of one full-batch training step of one SIREN: forward
    matmuls once, backward twice (input and weight gradients; none for the coordinates), a sine per hidden
    unit forward and its cosine backward."""
    dims = [2] + [width] * layers + [out]
    fwd = sum(2 * i * o for i, o in zip(dims[:-1], dims[1:])) * pixels
    bwd = 2 * fwd - 2 * 2 * width * pixels  # no gradient for the coordinates
    return float(fwd + bwd), float(2 * layers * width * pixels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--group-size", type=int, default=64)
    parser.add_argument("--sequential", type=int, default=40, help="images of the sequential loop (its rate is per field)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    images = nf.data.load_dataset("digits", n=args.n, size=args.size, seed=0)
    cfg = FitSetConfig(steps=args.steps, group_size=args.group_size, hidden_features=64, hidden_layers=3)
    template = nf.Siren(2, 1, hidden_features=64, hidden_layers=3, seed=0)
    rows = {}

    t = time.perf_counter()
    seq = [nf.fit(copy.deepcopy(template), img, steps=args.steps, seed=0, progress=False).psnr for img in images[: args.sequential]]
    took = time.perf_counter() - t
    rows["sequential nf.fit loop (2 threads)"] = {"fields": len(seq), "seconds": took, "fields_per_s": len(seq) / took,
                                                   "psnr": statistics.fmean(seq)}  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        index = fit_set(images, Path(tmp) / "one", cfg, progress=False)
        psnr = [p for g in index["groups"].values() for p in g["psnr"]]
        rows["fit_set, 1 process (2 threads)"] = {"fields": len(psnr), "seconds": index["seconds"],
                                                  "fields_per_s": len(psnr) / index["seconds"], "psnr": statistics.fmean(psnr)}  # fmt: skip
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "neuralfields.cli",
               "fit-set", "digits", "--num-images", str(args.n), "--size", str(args.size), "--steps", str(args.steps),
               "--group-size", str(args.group_size), "--out", str(Path(tmp) / "two"), "--no-progress"]  # fmt: skip
        t = time.perf_counter()
        done = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t
        two = json.loads((Path(tmp) / "two" / "index.json").read_text())
        psnr2 = [p for g in two["groups"].values() for p in g["psnr"]]
        rate = float(re.search(r"([0-9.]+) fields/s", done.stdout).group(1))
        rows["fit_set, 2 processes under torchrun (1 thread each)"] = {
            "fields": len(psnr2), "seconds": len(psnr2) / rate, "fields_per_s": rate, "psnr": statistics.fmean(psnr2),
            "wall_with_startup": wall,
        }  # fmt: skip

    mm_rate, sin_rate = rates(2)
    flops, sines = step_work(64, 3, args.size * args.size, 1)
    ideal = args.steps * (flops / mm_rate + sines / sin_rate)  # seconds per field at the limit
    base = rows["sequential nf.fit loop (2 threads)"]["fields_per_s"]
    print(f"{args.n} digits {args.size}x{args.size}, SIREN 3x64, {args.steps} steps (full batch), groups of {args.group_size}; "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs\n")  # fmt: skip
    print("| run | fields | fields/s | vs sequential | mean PSNR (dB) | fraction of the CPU limit |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        r["fraction_of_limit"] = r["fields_per_s"] * ideal
        print(f"| {name} | {r['fields']} | {r['fields_per_s']:.1f} | {r['fields_per_s'] / base:.1f}x | {r['psnr']:.2f} | "
              f"{r['fraction_of_limit']:.2f} |")  # fmt: skip
    print(f"\nlimit: matmul {mm_rate / 1e9:.1f} GFLOP/s, sine {sin_rate / 1e6:.0f} M values/s (2 threads); one field's "
          f"{args.steps} steps = {flops * args.steps / 1e9:.2f} GFLOP + {sines * args.steps / 1e6:.1f} M sines = {1000 * ideal:.1f} ms "
          f"at those rates ({1 / ideal:.0f} fields/s)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "matmul_flops": mm_rate, "sine_per_s": sin_rate, "ideal_s_per_field": ideal}, indent=2))


if __name__ == "__main__":
    main()
