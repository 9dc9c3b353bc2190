"""Fit `camera` at 256x256 with a SIREN of 3 sine layers of 256: neuralfields' default recipe against
baselines, side by side in one run.

Contestants (same architecture: 2 -> 256 -> 256 -> 256 -> 1, omega_0 = 30):

* ``reference``: a plain eager PyTorch SIREN written here, with the reference initialisation and the
  reference recipe (Adam 1e-4, full batch of 65,536 pixels, constant learning rate).
* ``neuralfields``: ``nf.fit`` with its defaults (``nf.training.DEFAULTS``).
* ``neuralfields-ref-recipe``: ``nf.fit`` with the reference recipe (isolates the library from the recipe).
* ``siren-pytorch``: ``siren_pytorch.SirenNet`` with its own defaults (w0=1 in hidden layers,
  w0_initial=30), trained with the reference recipe; only if the package is importable (install it in
  the benchmark environment only: ``benchmarks/setup_env.sh``).

PSNR is measured on the full 256x256 render on the [0, 1] scale after 100, 300 and 500 steps; time per
step is the median wall time of a training step (evaluation excluded). Usage::

    python benchmarks/fit_camera.py [--steps 500] [--size 256] [--json out.json]
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
from torch import Tensor, nn

import neuralfields as nf


class ReferenceSiren(nn.Module):
    """Plain SIREN as in the paper's code: sine layers sin(w0 (Wx + b)), linear last layer."""

    def __init__(self, width: int = 256, sine_layers: int = 3, w0: float = 30.0, out: int = 1) -> None:
        super().__init__()
        self.w0 = w0
        dims = [2] + [width] * sine_layers + [out]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        with torch.no_grad():
            for i, lin in enumerate(self.linears):
                bound = 1.0 / lin.in_features if i == 0 else math.sqrt(6.0 / lin.in_features) / w0
                lin.weight.uniform_(-bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        for lin in self.linears[:-1]:
            x = torch.sin(self.w0 * lin(x))
        return self.linears[-1](x)


def full_batch_fit(
    model: nn.Module,
    coords: Tensor,
    targets: Tensor,
    steps: int,
    lr: float,
    on_step: Callable[[int, float], bool | None],
) -> list[float]:
    """Adam, full batch, constant lr; returns per-step wall times. ``on_step(step, seconds)`` runs after
    each step with the training time so far (outside the clock); returning ``True`` stops the fit."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    times = []
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        loss = torch.mean((model(coords) - targets) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        if on_step(step, sum(times)):
            break
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--marks", type=int, nargs="+", default=[100, 300, 500])
    parser.add_argument("--only", nargs="+", default=None, help="run only these contestants")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args()

    torch.manual_seed(0)
    img = nf.data.load_image("camera", size=args.size)
    shape = tuple(img.shape[1:])
    coords, values = nf.grid.signal_to_samples(img)
    targets = values * 2 - 1
    marks = [m for m in args.marks if m <= args.steps]

    def psnr_of(model: nn.Module) -> float:
        with torch.no_grad():
            pred = model(coords).clamp(-1, 1) * 0.5 + 0.5
        return nf.psnr(pred.T.reshape(1, *shape), img)

    def run_plain(model: nn.Module, lr: float) -> dict:
        at: dict[int, float] = {}

        def on_step(step: int, seconds: float) -> None:
            if step in marks:
                at[step] = psnr_of(model)

        times = full_batch_fit(model, coords, targets, args.steps, lr, on_step)
        return {"psnr_at": at, "times": times}

    def run_nf(**recipe) -> dict:
        f = nf.Siren(2, 1, hidden_features=256, hidden_layers=3, seed=0)
        at: dict[int, float] = {}

        def cb(info) -> None:
            if info.step in marks:
                at[info.step] = psnr_of(info.field)

        res = nf.fit(f, img, steps=args.steps, callbacks=[cb], progress=False, **recipe)
        return {"psnr_at": at, "times": res.history.time}

    contestants: dict[str, Callable[[], dict]] = {
        "reference": lambda: run_plain(ReferenceSiren(), 1e-4),
        "neuralfields": lambda: run_nf(),
        "neuralfields-ref-recipe": lambda: run_nf(lr=1e-4, batch_size=None, schedule="constant"),
    }
    try:
        from siren_pytorch import SirenNet

        contestants["siren-pytorch"] = lambda: run_plain(
            SirenNet(dim_in=2, dim_hidden=256, dim_out=1, num_layers=3, w0_initial=30.0), 1e-4
        )
    except ImportError:
        print("siren-pytorch is not installed: skipped (benchmarks/setup_env.sh installs it)")

    results = {}
    for name, run in contestants.items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(0)
        t0 = time.perf_counter()
        r = run()
        r["wall"] = time.perf_counter() - t0
        r["s_per_step"] = statistics.median(r["times"])
        results[name] = r
        print(f"{name}: " + ", ".join(f"{s}: {p:.2f} dB" for s, p in r["psnr_at"].items())
              + f"; {r['s_per_step']:.3f} s/step", flush=True)  # fmt: skip

    base = results.get("reference")
    print()
    print(f"camera {shape[0]}x{shape[1]}, SIREN 3x256, {args.steps} steps, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")  # fmt: skip
    header = "| contestant | " + " | ".join(f"PSNR @{m}" for m in marks) + " | s/step | step time vs reference |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, r in results.items():
        ratio = f"{r['s_per_step'] / base['s_per_step']:.2f}x" if base else "n/a"
        cells = " | ".join(f"{r['psnr_at'].get(m, float('nan')):.2f}" for m in marks)
        print(f"| {name} | {cells} | {r['s_per_step']:.3f} | {ratio} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "torch": torch.__version__, "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
