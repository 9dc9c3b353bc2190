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

On CUDA (``--device cuda``, the default where CUDA is available) the allocator contestants mean
nothing and the step runs on the whole batch, so the default contestants are ``reference``,
``compiled``, ``nf-default`` (``mse_backward`` on ``nf.Siren(backend="auto")``, which picks the fused
Triton op on CUDA: autograd through it on the whole batch), ``nf-handwritten`` (``mse_backward`` on
``nf.Siren(backend="eager")``: the hand-written step on the whole batch) and ``nf-fused``; the others
can still be asked for with ``--only``. Times are taken with the device synchronised before and after
each step, float32 with TF32 off (PyTorch's default), and the peak memory is
``torch.cuda.max_memory_allocated()`` above the memory allocated before the first step.

The matrix-product rate is measured first (``(N, 256) @ (256, 256)`` at full batch, in its own process);
each step is also reported as the fraction of that rate it achieves on its matrix-product FLOPs. The
time is the median of ``--steps`` steps after ``--warmup`` steps; the peak memory is the growth of
the process's maximum resident set above its resident set before the first step (MiB). Usage::

    python benchmarks/train_step.py [--steps 10] [--only reference nf-fused] [--json out.json] [--device cpu|cuda]
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
CUDA_CONTESTANTS = ["reference", "compiled", "nf-default", "nf-handwritten", "nf-fused"]
"""The default contestants on CUDA (any name of CONTESTANTS, or ``nf-handwritten``, may be asked for
with ``--only``)."""


WIDTHS = [2, 256, 256, 256, 1]


def step_flops(n: int) -> float:
    """Matrix-product FLOPs of one training step: forward, weight gradients, input gradients (not of
    the first layer, whose input is the coordinates)."""
    layers = list(zip(WIDTHS[:-1], WIDTHS[1:]))
    per = [2.0 * n * a * b for a, b in layers]
    return 2 * sum(per) + sum(per[1:])


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _matmul_rate(size: int, device: str = "cpu") -> dict:
    """GFLOP/s of the step's largest matrix product, (N, 256) @ (256, 256), at full batch (best of 10;
    on CUDA each of the 10 times 20 products, the device synchronised around them)."""
    import torch

    n = size * size
    a, b = torch.randn(n, 256, device=device), torch.randn(256, 256, device=device)
    out = torch.empty(n, 256, device=device)
    reps = 20 if device == "cuda" else 1
    times = []
    for _ in range(13):
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b, out=out)
        _sync(device)
        times.append((time.perf_counter() - t0) / reps)
    return {"name": "matmul-rate", "gflops": 2.0 * n * 256 * 256 / min(times[3:]) / 1e9}


def _child(name: str, steps: int, warmup: int, size: int, device: str = "cpu") -> dict:
    import torch
    from torch import nn

    if name == "matmul-rate":
        return _matmul_rate(size, device)

    import neuralfields as nf

    torch.manual_seed(0)
    img = nf.data.load_image("camera", size=size)
    coords, values = nf.grid.signal_to_samples(img)
    targets = values * 2 - 1
    coords, targets = coords.to(device), targets.to(device)
    mse_step = None
    if name.startswith("nf-"):
        from neuralfields._allocator import keep_freed_memory
        from neuralfields.training import mse_backward

        keep_freed_memory()  # what nf.fit does (a no-op with NEURALFIELDS_MALLOC=system)
        backend = {"nf-fused": "fused", "nf-autograd": "eager", "nf-handwritten": "eager"}.get(name, "auto")
        model: nn.Module = nf.Siren(2, 1, 256, 3, seed=0, backend=backend).to(device)
        if name.startswith("nf-default") or name == "nf-handwritten":
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

        model = Ref().to(device)
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
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        cuda_base = torch.cuda.memory_allocated()
    for _ in range(warmup):
        step()
    times, cpu = [], []
    for _ in range(steps):
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    row = {
        "name": name,
        "step_s": statistics.median(times),
        "peak_growth_mib": (ru.ru_maxrss - base) / 1024,
        "max_rss_mib": ru.ru_maxrss / 1024,
        "minor_faults_per_step": ru.ru_minflt / (steps + warmup),
        "threads": torch.get_num_threads(),
    }
    if device == "cuda":  # the device's memory is what matters here: the peak above the baseline
        row["host_peak_growth_mib"] = row["peak_growth_mib"]
        row["peak_growth_mib"] = (torch.cuda.max_memory_allocated() - cuda_base) / 2**20
        row["max_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
        row["step_min_s"] = min(times)
    return row


def _default_device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _run_child(name: str, env: dict, args: argparse.Namespace) -> dict:
    """One contestant in its own process: its row, or ``{"name", "error"}`` when it failed."""
    cmd = [sys.executable, __file__, "--child", name, "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--size", str(args.size), "--device", args.device]  # fmt: skip
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.child_timeout)
    except subprocess.TimeoutExpired:
        return {"name": name, "error": f"timed out after {args.child_timeout} s"}
    if proc.returncode == 0:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    sys.stderr.write(f"--- {name} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}\n")
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"name": name, "error": f"exit {proc.returncode}: {last[:200]}"}


def _device_info(device: str) -> dict:
    import torch

    info = {"device": device, "torch": torch.__version__}
    if device == "cuda":
        info["device_name"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
        try:
            import triton

            info["triton"] = triton.__version__
        except ImportError:
            info["triton"] = None
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 10; 50 on CUDA)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up steps (default 3; 10 on CUDA)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None,
                        help="cpu or cuda (default: cuda where available)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smoke run: 64x64, 2 steps after 1 warm-up")
    parser.add_argument("--child-timeout", type=float, default=None, help="seconds per contestant process")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.device = args.device or _default_device()
    cuda = args.device == "cuda"
    if args.quick:
        args.size = 64 if args.size == 256 else args.size
        args.steps = 2 if args.steps is None else args.steps
        args.warmup = 1 if args.warmup is None else args.warmup
    args.steps = (50 if cuda else 10) if args.steps is None else args.steps
    args.warmup = (10 if cuda else 3) if args.warmup is None else args.warmup
    if args.child:
        print(json.dumps(_child(args.child, args.steps, args.warmup, args.size, args.device)))
        return
    if cuda:
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device")
    known = {**CONTESTANTS, "nf-handwritten": {}}
    if args.only:
        unknown = [n for n in args.only if n not in known and n != "matmul-rate"]
        if unknown:
            parser.error(f"unknown contestant(s) {unknown}; choose from {list(known)}")
        names = [n for n in known if n in args.only]
    else:
        names = CUDA_CONTESTANTS if cuda else list(CONTESTANTS)
    rows = []
    for name in ["matmul-rate", *names]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
        env.update(known.get(name, {}))
        rows.append(_run_child(name, env, args))
        if cuda and args.json and "gflops" in rows[0]:  # raw rows so far: a run stopped part-way keeps them
            with open(args.json, "w") as fh:
                json.dump({"partial": True, "size": args.size, "steps": args.steps, "warmup": args.warmup,
                           "matmul_gflops": rows[0]["gflops"], "step_gflop": step_flops(args.size**2) / 1e9,
                           "rows": rows[1:]}, fh, indent=2)  # fmt: skip
    if "error" in rows[0]:
        sys.exit(f"the matmul-rate process failed: {rows[0]['error']}")
    if cuda:
        _report_cuda(args, rows)
        return
    rate = rows.pop(0)["gflops"]
    flops = step_flops(args.size * args.size)
    failed = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    if not rows:
        sys.exit("every contestant failed")
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
    for r in failed:
        print(f"| {r['name']} | failed: {r['error']} |")
    rows.insert(0, {"name": "matmul-rate", "gflops": rate, "step_gflop": flops / 1e9})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows + failed, fh, indent=2)
    if failed:
        sys.exit(1)


def _report_cuda(args: argparse.Namespace, rows: list[dict]) -> None:
    """The CUDA table: step time and peak device memory, as ratios to the eager reference of this run."""
    rate = rows.pop(0)["gflops"]
    flops = step_flops(args.size * args.size)
    ok = [r for r in rows if "error" not in r]
    ref = next((r for r in ok if r["name"] == "reference"), ok[0] if ok else None)
    info = _device_info("cuda")
    print(f"device: {info['device_name']}, torch {info['torch']}, triton {info['triton']}, CUDA {info['cuda']}; "
          f"{args.size}x{args.size} coordinates, full batch, float32 (TF32 off); median of {args.steps} steps "
          f"after {args.warmup}")  # fmt: skip
    print(f"matmul rate: {rate:.0f} GFLOP/s; a step's matrix products: {flops / 1e9:.1f} GFLOP, "
          f"{flops / rate / 1e6:.3f} ms at that rate")  # fmt: skip
    print("| contestant | step (ms) | step time vs reference | of matmul rate | peak CUDA memory above baseline (MiB) "
          "| vs reference |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r or ref is None:
            print(f"| {r['name']} | failed: {r.get('error')} | | | | |")
            continue
        r["matmul_fraction"] = flops / r["step_s"] / 1e9 / rate
        r["step_vs_reference"] = r["step_s"] / ref["step_s"]
        r["memory_vs_reference"] = r["peak_growth_mib"] / ref["peak_growth_mib"] if ref["peak_growth_mib"] else None
        mem = "n/a" if r["memory_vs_reference"] is None else f"{r['memory_vs_reference']:.2f}x"
        print(f"| {r['name']} | {r['step_s'] * 1e3:.3f} | {r['step_vs_reference']:.2f}x | {r['matmul_fraction']:.0%} | "
              f"{r['peak_growth_mib']:.0f} | {mem} |")  # fmt: skip
    out = {**info, "size": args.size, "steps": args.steps, "warmup": args.warmup, "baseline": ref and ref["name"],
           "matmul_gflops": rate, "step_gflop": flops / 1e9, "rows": rows}  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    if any("error" in r for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
