"""Time to quality per field family: every registered core family fitted with ``nf.fit``'s default recipe, with
its reference defaults and with ``nf.suggest_frequency``'s setting, side by side with SIREN, on the five
256x256 images of ``fit_images.py``.

Each family is 3 layers of 256 (the hash grid: its defaults, ``lr`` 1e-2 as its paper trains it); each
contestant runs in its own process. The clock counts the fit only (the PSNR of the full render every
``--eval-every`` steps is taken outside it); the suggestion's own cost is reported apart. Reported per image
and contestant: seconds to 30 dB, PSNR at 12 s and 60 s, the final PSNR. Usage::

    python benchmarks/families_time_to_quality.py [--size 256] [--budget 60] [--families siren gauss] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import torch
from fit_images import load
from init_time_to_quality import IMAGES, clocked_fit, summary

import neuralfields as nf

FAMILIES = ["siren", "gauss", "finer", "wire", "fourier-features", "hash-grid"]


def build(family: str, channels: int, extra: dict) -> nf.Field:
    if family == "hash-grid":
        return nf.create("field", family, in_features=2, out_features=channels, seed=0, **extra)
    return nf.create("field", family, in_features=2, out_features=channels, hidden_features=256, hidden_layers=3, seed=0, **extra)


def run(img: torch.Tensor, family: str, suggested: bool, budget: float, eval_every: int) -> tuple[list, float, dict]:
    prep, extra = 0.0, {}
    if suggested:
        t0 = time.perf_counter()
        extra = nf.suggest_frequency(img, family, hidden_features=256, hidden_layers=3).config
        prep = time.perf_counter() - t0
    field = build(family, img.shape[0], extra)
    curve = clocked_fit(field, img, budget, eval_every, lr=1e-2 if family == "hash-grid" else None)
    return curve, prep, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--families", nargs="+", default=FAMILIES)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, colour, family, how = args.child.split(":")
        img = load(name, colour == "colour", args.size)
        curve, prep, extra = run(img, family, how == "suggested", args.budget, args.eval_every)
        print(json.dumps({"curve": curve, "prep": prep, "extra": extra}))
        return
    rows = []
    for name, colour in IMAGES:
        label = f"{name} ({'colour' if colour else 'grey'})"
        for family in args.families:
            for how in ("default", "suggested") if family != "hash-grid" else ("default",):
                child = f"{name}:{'colour' if colour else 'grey'}:{family}:{how}"
                cmd = [sys.executable, __file__, "--child", child, "--size", str(args.size), "--budget", str(args.budget),
                       "--eval-every", str(args.eval_every)]  # fmt: skip
                env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
                out = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
                row = {"image": label, "family": family, "setting": how, "extra": out["extra"], **summary(out["curve"], out["prep"]),
                       "curve": out["curve"]}  # fmt: skip
                rows.append(row)
                print(f"{label} / {family} ({how} {out['extra']}): 30 dB at {row['to_30db_s']} s, {row['psnr_12s']:.2f} @12 s, "
                      f"{row['psnr_60s']:.2f} @60 s", flush=True)  # fmt: skip
    print(f"\n{args.size}x{args.size}, torch {torch.__version__}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")
    print("| image | family | setting | seconds to 30 dB (step) | vs SIREN default | PSNR @12 s | @60 s | final (s, step) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ref = next(q for q in rows if q["image"] == r["image"] and q["family"] == "siren" and q["setting"] == "default")
        reach = "not reached" if r["to_30db_s"] is None else f"{r['to_30db_s']:.1f} ({r['to_30db_step']})"
        ratio = f"{r['to_30db_s'] / ref['to_30db_s']:.2f}x" if r["to_30db_s"] and ref["to_30db_s"] else "-"
        setting = r["setting"] + (f" {r['extra']}" if r["extra"] else "")
        print(f"| {r['image']} | {r['family']} | {setting} | {reach} | {ratio} | {r['psnr_12s']:.2f} | {r['psnr_60s']:.2f} | "
              f"{r['final_psnr']:.2f} ({r['final_s']:.0f} s, {r['final_step']}) |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "torch": torch.__version__, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
