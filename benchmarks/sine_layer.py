"""Microbenchmark of the fused sine layer against the eager composite, side by side in one run.

Model: a SIREN MLP 2 -> 256 -> 256 -> 256 -> 1 (three sine layers, omega_0 = 30, reference
initialisation, linear last layer), float32, on N random coordinates in [-1, 1]. One training step is
a forward pass, ``loss = mean(out ** 2)`` and the gradients of all parameters.

Contestants:

* ``eager composite``: ``torch.sin(30 * F.linear(h, W, b))`` per sine layer (what ``Siren`` does);
* ``eager op``: ``neuralfields.kernels.sine_layer`` per sine layer;
* ``compiled composite`` / ``compiled op``: the same functions under ``torch.compile(fullgraph=True)``
  (on CUDA also with ``mode="max-autotune"``).

Reported per contestant: median wall time of a forward+backward step and of a forward pass under
``no_grad`` over ``--repeats`` runs (after warm-up), the ratio to the eager composite, and the bytes of
the distinct tensors autograd saves for the backward pass (the activation memory of a step). On CUDA
also the peak allocated memory of a step, and 2^18 and 2^20 coordinates. Usage::

    python benchmarks/sine_layer.py [--points 65536] [--repeats 5] [--threads 2] [--device cpu|cuda]
                                    [--no-max-autotune] [--no-compiled-precisions] [--no-compile]
                                    [--quick] [--json out.json]

``--no-max-autotune`` drops the ``max-autotune`` contestants (minutes of compilation per size on a
GPU), ``--no-compiled-precisions`` the compiled op at the extra precisions, ``--no-compile`` every
compiled one; ``--quick`` is a smoke run (4,096 coordinates, 2 repeats,
no ``max-autotune``). ``--json`` writes every figure, per coordinate count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from neuralfields.kernels import TRITON_AVAILABLE, sine_layer

OMEGA = 30.0
WIDTHS = [2, 256, 256, 256, 1]


def make_params(device: str, seed: int = 0) -> list[Tensor]:
    gen = torch.Generator().manual_seed(seed)
    params = []
    for i, (a, b) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:])):
        bound = 1.0 / a if i == 0 else math.sqrt(6.0 / a) / OMEGA
        w = (torch.rand(b, a, generator=gen) * 2 - 1) * bound
        bias = (torch.rand(b, generator=gen) * 2 - 1) / math.sqrt(a)
        params += [w.to(device).requires_grad_(), bias.to(device).requires_grad_()]
    return params


def composite_layer(h: Tensor, w: Tensor, b: Tensor, precision: str) -> Tensor:
    return torch.sin(OMEGA * F.linear(h, w, b))


def op_layer(h: Tensor, w: Tensor, b: Tensor, precision: str) -> Tensor:
    return sine_layer(h, w, b, OMEGA, precision=precision)


def make_mlp(layer: Callable[..., Tensor], precision: str = "float32") -> Callable[..., Tensor]:
    def mlp(x: Tensor, *params: Tensor) -> Tensor:
        h = x
        n = len(params) // 2
        for i in range(n - 1):
            # keep the tiny first layer (K = 2, large |omega_0 z|) at float32
            h = layer(h, params[2 * i], params[2 * i + 1], "float32" if i == 0 else precision)
        return F.linear(h, params[-2], params[-1])

    return mlp


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def step(fn: Callable[..., Tensor], x: Tensor, params: list[Tensor]) -> None:
    loss = fn(x, *params).square().mean()
    torch.autograd.grad(loss, params)


def interleaved_medians(runs: dict[str, Callable[[], None]], device: str, repeats: int) -> dict[str, float]:
    """Median wall time of each run; the runs take turns, so a change of machine load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            sync(device)
            t = time.perf_counter()
            run()
            sync(device)
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def saved_bytes(fn: Callable[..., Tensor], x: Tensor, params: list[Tensor]) -> int | None:
    """Bytes of the distinct storages autograd saves for backward in one forward pass."""
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = fn(x, *params).square().mean()
        torch.autograd.grad(loss, params)
    except Exception:  # noqa: BLE001 - a compiler that does not support the hooks: report n/a
        return None
    return sum(storages.values())


def peak_step_bytes(fn: Callable[..., Tensor], x: Tensor, params: list[Tensor], device: str) -> int | None:
    if device != "cuda":
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step(fn, x, params)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def contestants(
    device: str, precisions: list[str], compile: bool = True, max_autotune: bool = True,
    compiled_precisions: bool = True,
) -> list[tuple[str, Callable[..., Tensor]]]:
    compile_kw = {"fullgraph": True, "dynamic": False}
    out = [
        ("eager composite", make_mlp(composite_layer)),
        ("eager op", make_mlp(op_layer)),
    ]
    if compile:
        out += [
            ("compiled composite", torch.compile(make_mlp(composite_layer), **compile_kw)),
            ("compiled op", torch.compile(make_mlp(op_layer), **compile_kw)),
        ]
    if device == "cuda":
        if compile and max_autotune:
            out += [
                ("max-autotune composite", torch.compile(make_mlp(composite_layer), mode="max-autotune", **compile_kw)),
                ("max-autotune op", torch.compile(make_mlp(op_layer), mode="max-autotune", **compile_kw)),
            ]
        for p in precisions:
            if p != "float32":
                out.append((f"eager op ({p})", make_mlp(op_layer, p)))
                if compile and compiled_precisions:
                    out.append((f"compiled op ({p})", torch.compile(make_mlp(op_layer, p), **compile_kw)))
    return out


def mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="*", default=None, help="coordinate counts")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda where available)")  # fmt: skip
    parser.add_argument("--precisions", default="tf32x3,tf32,bf16", help="extra op precisions on CUDA")
    parser.add_argument("--max-autotune", action=argparse.BooleanOptionalAction, default=True,
                        help="the torch.compile(mode='max-autotune') contestants on CUDA (default: yes)")  # fmt: skip
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                        help="the torch.compile contestants (default: yes)")  # fmt: skip
    parser.add_argument("--compiled-precisions", action=argparse.BooleanOptionalAction, default=True,
                        help="the compiled op at each extra precision on CUDA (default: yes)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smoke run: 4,096 coordinates, 2 repeats, no max-autotune")
    parser.add_argument("--json", default=None, help="write all figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.points = args.points or [2**12]
        args.repeats = 2
        args.max_autotune = False
    torch.set_num_threads(args.threads)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device")
    points = args.points or ([2**16] if device == "cpu" else [2**16, 2**18, 2**20])
    precisions = [p for p in args.precisions.split(",") if p] if device == "cuda" else []

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    where = torch.cuda.get_device_name() if device == "cuda" else f"{cpu}, {torch.get_num_threads()} threads"
    report: dict = {
        "device": device,
        "device_name": where,
        "torch": torch.__version__,
        "triton": _triton_version(),
        "cuda": torch.version.cuda if device == "cuda" else None,
        "triton_available": TRITON_AVAILABLE,
        "widths": WIDTHS,
        "omega_0": OMEGA,
        "repeats": args.repeats,
        "baseline": "eager composite",
        "sizes": [],
    }
    print(f"# sine layer microbenchmark: torch {torch.__version__}, {device} ({where}), triton={TRITON_AVAILABLE}")
    print(
        f"# SIREN {' -> '.join(map(str, WIDTHS))}, omega_0={OMEGA}, float32; median of {args.repeats} "
        "interleaved runs after one warm-up\n"
    )

    for n in points:
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
        gen = torch.Generator().manual_seed(1)
        x = (torch.rand(n, 2, generator=gen) * 2 - 1).to(device)
        params = make_params(device)
        fns = dict(contestants(device, precisions, args.compile, args.max_autotune, args.compiled_precisions))
        first = {}
        for name, fn in fns.items():
            sync(device)
            t0 = time.perf_counter()
            step(fn, x, params)  # first call: compiles where compiled
            sync(device)
            first[name] = time.perf_counter() - t0
            step(fn, x, params)  # warm-up

        def forward(fn: Callable[..., Tensor]) -> Callable[[], None]:
            def run() -> None:
                with torch.no_grad():
                    fn(x, *params)

            return run

        steps = {name: (lambda fn=fn: step(fn, x, params)) for name, fn in fns.items()}
        forwards = {name: forward(fn) for name, fn in fns.items()}
        for run in forwards.values():
            run()  # no_grad is a new graph for the compiled functions: compile it before timing
            run()
        t_step = interleaved_medians(steps, device, args.repeats)
        t_fwd = interleaved_medians(forwards, device, args.repeats)
        ref_step, ref_fwd = t_step["eager composite"], t_fwd["eager composite"]
        print(f"## {n:,} coordinates (load average before: {load})\n")
        print(
            "| contestant | fwd+bwd (s) | vs eager composite | forward (s) | vs eager composite "
            "| saved activations (MiB) | peak step memory (MiB) | first call (s) |"
        )
        print("|---|---|---|---|---|---|---|---|")
        rows = []
        for name, fn in fns.items():
            saved = saved_bytes(fn, x, params)
            peak = peak_step_bytes(fn, x, params, device)
            ts, tf = t_step[name], t_fwd[name]
            print(
                f"| {name} | {ts:.4f} | {ts / ref_step:.2f}x | {tf:.4f} | {tf / ref_fwd:.2f}x "
                f"| {mib(saved)} | {mib(peak)} | {first[name]:.1f} |"
            )
            rows.append({
                "name": name, "step_s": ts, "step_vs_baseline": ts / ref_step, "forward_s": tf,
                "forward_vs_baseline": tf / ref_fwd, "saved_bytes": saved, "peak_step_bytes": peak,
                "first_call_s": first[name],
            })  # fmt: skip
        print()
        base_peak = rows[0]["peak_step_bytes"]
        for r in rows:
            r["peak_vs_baseline"] = r["peak_step_bytes"] / base_peak if base_peak and r["peak_step_bytes"] else None
        report["sizes"].append({"points": n, "load_average": load, "rows": rows})
        if args.json:  # after every size, so that a run stopped part-way keeps what it measured
            with open(args.json, "w") as fh:
                json.dump(report, fh, indent=2)


def _triton_version() -> str | None:
    try:
        import triton
    except ImportError:
        return None
    return triton.__version__


if __name__ == "__main__":
    main()
