"""Throughput of ``nf.fit_many`` against fitting the same images one after another with ``nf.fit``.

64 crops of 32x32 (grey), a SIREN of 3 sine layers; both contestants run the same steps with the same
recipe (full batch of 1,024 pixels per image, the default learning rate and schedule), side by side in
one run. Throughput is images x steps per second; the ratio is fit_many / sequential. Final PSNRs are
printed to show both did the same work.

On CUDA (``--device cuda``, the default where CUDA is available) the field and the images live on the
device, both contestants are warmed up on the full set first (Triton autotuning, CUDA context), the
device is synchronised around each timing, and the peak of ``torch.cuda.max_memory_allocated()`` of
each contestant is reported too. Usage::

    python benchmarks/fit_many.py [--n 64] [--size 32] [--steps 100] [--widths 64,256] [--backend auto]
                                  [--device cpu|cuda] [--json out.json] [--quick]
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


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _peak_start(device: str) -> int:
    if device != "cuda":
        return 0
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    return torch.cuda.memory_allocated()


def _peak_mib(device: str, base: int) -> float | None:
    if device != "cuda":
        return None
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def run(images: torch.Tensor, width: int, steps: int, backend: str, device: str = "cpu") -> dict[str, float]:
    template = nf.Siren(2, 1, hidden_features=width, hidden_layers=3, seed=0, backend=backend).to(device)
    kwargs = dict(steps=steps, batch_size=None, progress=False)
    if device == "cuda":  # warm up every shape both contestants meet (Triton autotuning, cuBLAS handles)
        images = images.to(device)
        nf.fit_many(template, images, steps=2, batch_size=None, progress=False)
        nf.fit(copy.deepcopy(template), images[0], steps=2, batch_size=None, progress=False)
    else:
        nf.fit_many(template, images[:2], steps=2, batch_size=None, progress=False)  # warm-up
    base = _peak_start(device)
    t0 = time.perf_counter()
    many = nf.fit_many(template, images, **kwargs)
    _sync(device)
    t_many = time.perf_counter() - t0
    peak_many = _peak_mib(device, base)
    base = _peak_start(device)
    t0 = time.perf_counter()
    alone = [nf.fit(copy.deepcopy(template), img, **kwargs) for img in images]
    _sync(device)
    t_seq = time.perf_counter() - t0
    peak_seq = _peak_mib(device, base)
    n = images.shape[0]
    row = {
        "width": width,
        "fit_many_s": t_many,
        "sequential_s": t_seq,
        "fit_many_images_steps_per_s": n * steps / t_many,
        "sequential_images_steps_per_s": n * steps / t_seq,
        "ratio": t_seq / t_many,
        "fit_many_mean_psnr": sum(many.psnr) / n,
        "sequential_mean_psnr": sum(r.psnr for r in alone) / n,
    }
    if device == "cuda":
        row["fit_many_peak_mib"] = peak_many
        row["sequential_peak_mib"] = peak_seq
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--widths", type=str, default="64,256")
    parser.add_argument("--backend", type=str, default="auto")
    parser.add_argument("--json", type=str, default=None)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda where available)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 images of 16x16, 5 steps, width 16")
    args = parser.parse_args()
    if args.quick:
        args.n, args.size, args.steps, args.widths = 4, 16, 5, "16"
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device")
    images = nf.data.load_dataset("crops", n=args.n, size=args.size)
    rows = []
    for w in args.widths.split(","):
        rows.append(run(images, int(w), args.steps, args.backend, device))
        if args.json and device == "cuda":  # after every width, so that a run stopped part-way keeps it
            with open(args.json, "w") as fh:
                json.dump(rows, fh, indent=2)
    if device == "cuda":
        try:
            import triton

            triton_version = triton.__version__
        except ImportError:
            triton_version = None
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton_version}, "
              f"CUDA {torch.version.cuda}, backend {args.backend}")  # fmt: skip
    else:
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads, backend {args.backend}")  # fmt: skip
    print(f"{args.n} images {args.size}x{args.size}, {args.steps} full-batch steps each\n")
    if device == "cuda":
        print("| width | fit_many (s) | sequential fit (s) | throughput ratio | PSNR fit_many / sequential (dB) "
              "| peak CUDA memory fit_many / sequential (MiB) |")  # fmt: skip
        print("|---|---|---|---|---|---|")
    else:
        print("| width | fit_many (s) | sequential fit (s) | throughput ratio | PSNR fit_many / sequential (dB) |")
        print("|---|---|---|---|---|")
    for r in rows:
        line = (f"| {r['width']} | {r['fit_many_s']:.2f} | {r['sequential_s']:.2f} | **{r['ratio']:.1f}x** | "
                f"{r['fit_many_mean_psnr']:.2f} / {r['sequential_mean_psnr']:.2f} |")  # fmt: skip
        if device == "cuda":
            line += f" {r['fit_many_peak_mib']:.0f} / {r['sequential_peak_mib']:.0f} |"
        print(line)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
