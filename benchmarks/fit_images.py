"""Time to quality on several images: ``nf.fit`` with its defaults against the reference recipe and
``siren-pytorch``, side by side in one run, PSNR against wall-clock time.

Images (256x256, scikit-image samples): ``camera`` (grey), ``astronaut`` and ``coffee`` in grey and in
colour. Same architecture for everyone: 3 sine layers of 256, omega_0 = 30, linear output (1 or 3
channels). Contestants, each on each image:

* ``neuralfields``: ``nf.fit(nf.Siren(...), img)`` with every default (500 steps of the default recipe,
  ``nf.training.DEFAULTS``, the library's default step);
* ``reference``: a plain eager SIREN written here (``torch.sin(30 * linear(x))``, reference init), the
  reference recipe (Adam 1e-4, full batch, constant rate), default allocator; it runs until 30 dB or
  ``--ref-steps`` steps;
* ``siren-pytorch``: ``siren_pytorch.SirenNet`` with its own defaults, trained with the reference recipe
  for ``--siren-budget`` seconds (only if importable: ``benchmarks/setup_env.sh``).

Each contestant runs in its own process (so the library's allocator setting, made by its first fit,
does not carry over to the baselines). The clock counts training only: the PSNR of the full render (on [0, 1]) is measured every
``--eval-every`` steps with the clock stopped. Reported per image: seconds to 30 dB, PSNR at 12 s and at
60 s (the last evaluation at or before), and the final PSNR with its time. Usage::

    python benchmarks/fit_images.py [--size 256] [--images camera astronaut coffee] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

import torch
from fit_camera import ReferenceSiren, full_batch_fit  # the camera benchmark's baseline (same folder)
from torch import Tensor, nn

import neuralfields as nf


def load(name: str, colour: bool, size: int) -> Tensor:
    return nf.data.load_image(name, size=size, channels=3 if colour else 1)


def psnr_of(model: nn.Module, coords: Tensor, img: Tensor) -> float:
    with torch.no_grad():
        pred = torch.cat([model(coords[s : s + 16384]) for s in range(0, coords.shape[0], 16384)])
    pred = pred.clamp(-1, 1) * 0.5 + 0.5
    return nf.psnr(pred.T.reshape(img.shape), img)


def run_plain(model: nn.Module, img: Tensor, steps: int, budget: float, eval_every: int, stop_db: float | None) -> list:
    """Adam 1e-4, full batch, constant rate; returns [(seconds, step, psnr)]."""
    coords, values = nf.grid.signal_to_samples(img)
    curve = [(0.0, 0, psnr_of(model, coords, img))]

    def on_step(step: int, seconds: float) -> bool:
        if step % eval_every == 0 or step == steps or seconds >= budget:
            curve.append((seconds, step, psnr_of(model, coords, img)))
            return seconds >= budget or (stop_db is not None and curve[-1][2] >= stop_db)
        return False

    full_batch_fit(model, coords, values * 2 - 1, steps, 1e-4, on_step)
    return curve


def run_nf(img: Tensor, eval_every: int) -> list:
    """``nf.fit`` with its defaults; the callback measures the PSNR with the clock stopped."""
    coords, _ = nf.grid.signal_to_samples(img)
    field = nf.Siren(2, img.shape[0], hidden_features=256, hidden_layers=3, seed=0)
    curve = [(0.0, 0, psnr_of(field, coords, img))]
    state = {"clock": 0.0, "t0": time.perf_counter()}

    def cb(info) -> None:  # noqa: ANN001
        state["clock"] += time.perf_counter() - state["t0"]
        if info.step % eval_every == 0 or info.step == info.total:
            curve.append((state["clock"], info.step, psnr_of(info.field, coords, img)))
        state["t0"] = time.perf_counter()

    nf.fit(field, img, callbacks=[cb], progress=False)
    return curve


def summary(curve: list) -> dict:
    def at(seconds: float) -> float:
        before = [p for t, _, p in curve if t <= seconds]
        return before[-1] if before else float("nan")

    reach = next(((t, s) for t, s, p in curve if p >= 30.0), None)
    return {
        "to_30db_s": reach[0] if reach else None,
        "to_30db_step": reach[1] if reach else None,
        "psnr_12s": at(12.0),
        "psnr_60s": at(60.0),
        "final_psnr": curve[-1][2],
        "final_s": curve[-1][0],
        "final_step": curve[-1][1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--images", nargs="+", default=["camera", "astronaut", "coffee"])
    parser.add_argument("--ref-steps", type=int, default=400)
    parser.add_argument("--siren-budget", type=float, default=120.0)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        from siren_pytorch import SirenNet
    except ImportError:
        SirenNet = None
        if not args.child:
            print("siren-pytorch is not installed: skipped (benchmarks/setup_env.sh installs it)")

    if args.child:
        name, colour, who = args.child.split(":")
        img = load(name, colour == "colour", args.size)
        torch.manual_seed(0)
        if who == "neuralfields":
            curve = run_nf(img, args.eval_every)
        elif who == "reference":
            curve = run_plain(ReferenceSiren(out=img.shape[0]), img, args.ref_steps, math.inf, args.eval_every, 30.0)
        else:
            model = SirenNet(dim_in=2, dim_hidden=256, dim_out=img.shape[0], num_layers=3, w0_initial=30.0)
            curve = run_plain(model, img, 10**9, args.siren_budget, args.eval_every, None)
        print(json.dumps(curve))
        return

    tasks = []
    for name in args.images:
        tasks.append((name, False))
        if name != "camera":  # camera is a grey photograph
            tasks.append((name, True))
    contestants = ["neuralfields", "reference"] + (["siren-pytorch"] if SirenNet is not None else [])
    rows = []
    for name, colour in tasks:
        label = f"{name} ({'colour' if colour else 'grey'})"
        for who in contestants:
            if args.only and who not in args.only:
                continue
            # each contestant in a fresh process: the library's allocator setting (made by its first
            # fit) must not speed up the baselines, and nothing else carries over between them
            child = f"{name}:{'colour' if colour else 'grey'}:{who}"
            cmd = [sys.executable, __file__, "--child", child, "--size", str(args.size), "--ref-steps",
                   str(args.ref_steps), "--siren-budget", str(args.siren_budget), "--eval-every", str(args.eval_every)]  # fmt: skip
            env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            curve = json.loads(out.strip().splitlines()[-1])
            row = {"image": label, "contestant": who, **summary(curve), "curve": curve}
            rows.append(row)
            print(f"{label} / {who}: 30 dB at {row['to_30db_s']} s, {row['psnr_12s']:.2f} dB @12 s, "
                  f"{row['psnr_60s']:.2f} dB @60 s, final {row['final_psnr']:.2f} dB at {row['final_s']:.0f} s "
                  f"(step {row['final_step']})", flush=True)  # fmt: skip

    print(f"\n{args.size}x{args.size}, SIREN 3x256, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}")  # fmt: skip
    print("| image | contestant | seconds to 30 dB (step) | time to 30 dB vs reference | PSNR @12 s | PSNR @60 s | final PSNR (s, step) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ref = next(q for q in rows if q["image"] == r["image"] and q["contestant"] == "reference")
        if r["to_30db_s"] is None:
            reach, ratio = f"not reached in {r['final_s']:.0f} s", "-"
        else:
            reach = f"{r['to_30db_s']:.1f} ({r['to_30db_step']})"
            ratio = f"{r['to_30db_s'] / ref['to_30db_s']:.3f}x" if ref["to_30db_s"] else "-"
        print(f"| {r['image']} | {r['contestant']} | {reach} | {ratio} | {r['psnr_12s']:.2f} | "
              f"{r['psnr_60s']:.2f} | {r['final_psnr']:.2f} ({r['final_s']:.0f} s, {r['final_step']}) |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "torch": torch.__version__, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
