"""Time and peak memory of one full-batch SIREN training step, side by side, each contestant in its own
process (so allocator settings and memory peaks do not leak between them).

Setting: 256x256 `camera` (65,536 coordinates), SIREN 2 -> 256 -> 256 -> 256 -> 1, omega_0 = 30, float32,
Adam, full batch. Contestants:

* ``reference``: a plain eager SIREN (``torch.sin(w0 * linear(x))``), default allocator;
* ``reference+malloc-env``: the same with glibc's ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``
  raised in the environment (what the library must not ask users to do);
* ``compiled``, ``compiled+malloc-env``: ``torch.compile`` of the reference step's forward;
* ``nf-default``: what ``nf.fit`` runs by default: ``nf.Siren()`` (backend ``"auto"``, eager on the
  CPU) trained by :func:`neuralfields.training.mse_backward` (the hand-written SIREN step in chunks of
  ``CPU_CHUNK_SIZE`` points) after ``neuralfields._allocator.keep_freed_memory()``; no environment
  variables;
* ``nf-default+system-malloc``: the same with the library's allocator setting turned off;
* ``nf-full-batch``: the hand-written step on the whole batch at once (no chunks);
* ``nf-autograd``: autograd through ``nf.Siren(backend="eager")`` on the whole batch (the step before
  the hand-written one);
* ``nf-fused``: autograd through ``nf.Siren(backend="fused")`` (the ``sine_layer`` op) on the whole batch;
* ``nf-compiled``: ``torch.compile`` of the ``nf.Siren`` (what ``nf.fit(..., compile=True)`` runs).

The matrix-product rate is measured first (``(N, 256) @ (256, 256)`` at full batch, in its own process);
each step is also reported as the fraction of that rate it achieves on its matrix-product FLOPs. The
time is the median of ``--steps`` steps after ``--warmup`` steps; the peak memory is the growth of
the process's maximum resident set above its resident set before the first step (MiB). Usage::

    python benchmarks/train_step.py [--steps 10] [--only reference nf-fused] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ENV_TUNED = {"MALLOC_MMAP_THRESHOLD_": str(2**34), "MALLOC_TRIM_THRESHOLD_": str(2**34)}
CONTESTANTS = {
    "reference": {},
    "reference+malloc-env": ENV_TUNED,
    "compiled": {},
    "compiled+malloc-env": ENV_TUNED,
    "nf-default": {},
    "nf-default+system-malloc": {"NEURALFIELDS_MALLOC": "system"},
    "nf-full-batch": {},
    "nf-autograd": {},
    "nf-fused": {},
    "nf-compiled": {},
}


WIDTHS = [2, 256, 256, 256, 1]


def step_flops(n: int) -> float:
    """Matrix-product FLOPs of one training step: forward, weight gradients, input gradients (not of
    the first layer, whose input is the coordinates)."""
    layers = list(zip(WIDTHS[:-1], WIDTHS[1:]))
    per = [2.0 * n * a * b for a, b in layers]
    return 2 * sum(per) + sum(per[1:])


def _matmul_rate(size: int) -> dict:
    """GFLOP/s of the step's largest matrix product, (N, 256) @ (256, 256), at full batch (best of 10)."""
    import torch

    n = size * size
    a, b = torch.randn(n, 256), torch.randn(256, 256)
    out = torch.empty(n, 256)
    times = []
    for _ in range(13):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return {"name": "matmul-rate", "gflops": 2.0 * n * 256 * 256 / min(times[3:]) / 1e9}


def _child(name: str, steps: int, warmup: int, size: int) -> dict:
    import torch
    from torch import nn

    if name == "matmul-rate":
        return _matmul_rate(size)

    import neuralfields as nf

    torch.manual_seed(0)
    img = nf.data.load_image("camera", size=size)
    coords, values = nf.grid.signal_to_samples(img)
    targets = values * 2 - 1
    mse_step = None
    if name.startswith("nf-"):
        from neuralfields._allocator import keep_freed_memory
        from neuralfields.training import mse_backward

        keep_freed_memory()  # what nf.fit does (a no-op with NEURALFIELDS_MALLOC=system)
        backend = {"nf-fused": "fused", "nf-autograd": "eager"}.get(name, "auto")
        model: nn.Module = nf.Siren(2, 1, 256, 3, seed=0, backend=backend)
        if name.startswith("nf-default"):
            def mse_step():  # noqa: ANN202
                return mse_backward(model, coords, targets)
        elif name == "nf-full-batch":
            def mse_step():  # noqa: ANN202
                return mse_backward(model, coords, targets, chunk_size=None)
    else:
        layers = [nn.Linear(a, b) for a, b in zip([2, 256, 256, 256], [256, 256, 256, 1])]
        with torch.no_grad():
            for i, lin in enumerate(layers):
                bound = 1.0 / lin.in_features if i == 0 else math.sqrt(6.0 / lin.in_features) / 30.0
                lin.weight.uniform_(-bound, bound)
        lins = nn.ModuleList(layers)

        class Ref(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lins = lins

            def forward(self, x):  # noqa: ANN001, ANN202
                for lin in self.lins[:-1]:
                    x = torch.sin(30.0 * lin(x))
                return self.lins[-1](x)

        model = Ref()
    forward = torch.compile(model) if "compiled" in name else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        if mse_step is not None:
            value = mse_step()
        else:
            loss = torch.mean((forward(coords) - targets) ** 2)
            loss.backward()
            value = float(loss.detach())
        opt.step()
        return value

    with open("/proc/self/statm") as fh:  # resident pages before the first step (the baseline)
        base = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    for _ in range(warmup):
        step()
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "name": name,
        "step_s": statistics.median(times),
        "peak_growth_mib": (ru.ru_maxrss - base) / 1024,
        "max_rss_mib": ru.ru_maxrss / 1024,
        "minor_faults_per_step": ru.ru_minflt / (steps + warmup),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.steps, args.warmup, args.size)))
        return
    rows = []
    for name, extra in {"matmul-rate": {}, **CONTESTANTS}.items():
        if args.only and name not in args.only:
            continue
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
        env.update(extra)
        cmd = [sys.executable, __file__, "--child", name, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--size", str(args.size)]  # fmt: skip
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    rate = rows.pop(0)["gflops"]
    flops = step_flops(args.size * args.size)
    ref = next((r for r in rows if r["name"] == "reference"), rows[0])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.size}x{args.size} coordinates, full batch, float32; median of {args.steps} steps")  # fmt: skip
    print(f"matmul rate: {rate:.0f} GFLOP/s; a step's matrix products: {flops / 1e9:.1f} GFLOP, "
          f"{flops / rate / 1e9:.3f} s at that rate")  # fmt: skip
    print("| contestant | step (s) | speed-up vs reference | of matmul rate | peak memory above baseline (MiB) "
          "| vs reference | minor faults / step |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        r["matmul_fraction"] = flops / r["step_s"] / 1e9 / rate
        print(f"| {r['name']} | {r['step_s']:.3f} | {ref['step_s'] / r['step_s']:.2f}x | {r['matmul_fraction']:.0%} | "
              f"{r['peak_growth_mib']:.0f} | {r['peak_growth_mib'] / ref['peak_growth_mib']:.2f}x | "
              f"{r['minor_faults_per_step']:.0f} |")  # fmt: skip
    rows.insert(0, {"name": "matmul-rate", "gflops": rate, "step_gflop": flops / 1e9})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
