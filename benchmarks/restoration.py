"""Restoration on real images: denoising and inpainting of camera, astronaut and coffee crops with total
variation, the patch priors (plain and moment-matched), the field solver and (where it imports) deepinv,
the automatic choices (``lam="auto"``, each solver's default stop) next to the best in hindsight.

Test images: each sample in grey, its centre square resized to twice ``size``, the central ``size x size``
crop. Tasks: Gaussian denoising at sigma 0.05 / 0.1 / 0.2; inpainting of a hidden quarter and of 50% random
pixels at sigma 0.05. Methods:

- ``input``: the measurements (holes at 0 for inpainting);
- ``tv``, ``patch-plain``, ``patch-mm``: ``solve(y, op, prior, sigma=...)`` with its defaults (MAP solver,
  ``lam="auto"``, ``stop="budget"``); hindsight: the best weight of the sweep's grid, and the best of the
  final solve's snapshots (every tenth of the budget);
- ``field``: ``solve(y, op, sigma=..., solver="field")`` (no prior) under the stop rules ``budget``,
  ``holdout`` and ``discrepancy``; hindsight: its best snapshot;
- ``deepinv-tv``: deepinv's proximal gradient descent with its TV prior, at the best weight of a grid in
  hindsight (an outside reference, given every advantage).

The patch priors are trained first (``neuralfields train-prior patches`` with the settings below) unless
``--priors`` names a report folder. Usage::

    python benchmarks/restoration.py [--sizes 64 256] [--steps 500] [--out benchmarks/out/restoration]
"""

from __future__ import annotations

import argparse
import json
import time
from statistics import fmean as mean
from pathlib import Path

import torch

import neuralfields as nf
from neuralfields.experiments.priors import TrainPriorConfig, load_priors, train_prior
from neuralfields.inverse import Denoise, Mask, solve

TASKS = {
    "denoise-0.05": ("denoise", None, 0.05),
    "denoise-0.1": ("denoise", None, 0.1),
    "denoise-0.2": ("denoise", None, 0.2),
    "inpaint-quarter": ("inpaint", "quarter", 0.05),
    "inpaint-random50": ("inpaint", "random", 0.05),
}
PRIOR_SETTINGS = {"latent_dim": 16, "width": 16, "steps": 3000, "batch_size": 256, "plateau_window": 300, "patch": True}


def test_images(names: list[str], size: int) -> torch.Tensor:
    """``(N, 1, size, size)``: the central crop of each grey sample resized to twice ``size``."""
    out = []
    for name in names:
        img = nf.data.load_image(name, channels=1)
        s = min(img.shape[1:])
        top, left = (img.shape[1] - s) // 2, (img.shape[2] - s) // 2
        big = nf.data.resize(img[:, top : top + s, left : left + s], 2 * size)
        out.append(big[:, size // 2 : size // 2 + size, size // 2 : size // 2 + size])
    return torch.stack(out).clamp(0, 1)


def per_image(x: torch.Tensor, clean: torch.Tensor) -> tuple[list[float], list[float]]:
    psnr = [float(v) for v in nf.inverse.per_image_psnr(x.clamp(0, 1), clean)]
    ssim = [nf.ssim(a[None].clamp(0, 1), b[None], window_size=7) for a, b in zip(x, clean)]
    return psnr, ssim


def best_snapshot(sol, clean: torch.Tensor) -> list[float]:
    """Per image, the best PSNR over the solve's snapshots and its kept result."""
    cands = [nf.inverse.per_image_psnr(s, clean) for s in sol.snapshots.values()] + [nf.inverse.per_image_psnr(sol.x, clean)]
    return [float(v) for v in torch.stack(cands).max(0).values]


def operator_for(task: str, size: int):
    kind, mask, _ = TASKS[task]
    return Denoise() if kind == "denoise" else Mask((size, size), kind=mask, fraction=0.5, seed=0)


def run_prior(y, op, prior, sigma, clean, steps):
    snaps = list(range(max(1, steps // 10), steps, max(1, steps // 10)))
    began = time.perf_counter()
    sol = solve(y, op, prior, sigma=sigma, steps=steps, snapshots=snaps, reference=clean, progress=False)
    took = time.perf_counter() - began
    psnr, ssim = per_image(sol.x, clean)
    sweep = sol.sweep
    return {
        "psnr": psnr, "ssim": ssim, "seconds": took, "lam": sol.lam.tolist(), "criterion": sweep.criterion,
        "at_edge": sweep.at_edge.tolist(), "grid": sweep.lams,
        "best_lam": sweep.best_in_hindsight().tolist(), "best_lam_psnr": sweep.psnr.max(0).values.tolist(),
        "best_snapshot_psnr": best_snapshot(sol, clean), "stop": sol.rule, "_x": sol.x,
    }  # fmt: skip


def run_field(y, op, sigma, clean, steps, stop):
    snaps = list(range(max(1, steps // 10), steps, max(1, steps // 10)))
    began = time.perf_counter()
    sol = solve(y, op, sigma=sigma, solver="field", steps=steps, snapshots=snaps, stop=stop, reference=clean, progress=False)
    took = time.perf_counter() - began
    psnr, ssim = per_image(sol.x, clean)
    return {"psnr": psnr, "ssim": ssim, "seconds": took, "stop": sol.rule, "stopped_at": sol.stopped_at.tolist(),
            "best_snapshot_psnr": best_snapshot(sol, clean), "_x": sol.x}  # fmt: skip


def run_deepinv(y, task, size, sigma, clean, steps):
    try:
        import deepinv as dinv
    except Exception:  # noqa: BLE001 - not installed, or torchvision does not match torch
        return None
    kind, mask_kind, _ = TASKS[task]
    if kind == "denoise":
        physics = dinv.physics.Denoising()
    else:
        physics = dinv.physics.Inpainting((1, size, size), mask=operator_for(task, size).mask.clone())
    best, best_psnr, began = None, None, time.perf_counter()
    for lam in nf.inverse.lam_grid(0.1, 1000.0, 9):
        model = dinv.optim.optim_builder(
            "PGD", prior=dinv.optim.TVPrior(n_it_max=20), data_fidelity=dinv.optim.L2(), max_iter=steps // 5,
            params_algo={"stepsize": 1.0, "lambda": lam * sigma**2},
        )  # fmt: skip
        with torch.no_grad():
            x = model(y, physics).clamp(0, 1)
        p = torch.tensor(per_image(x, clean)[0])
        best_psnr = p if best_psnr is None else torch.maximum(best_psnr, p)
        best = x if best is None else torch.where((p >= best_psnr).view(-1, 1, 1, 1), x, best)
    psnr, ssim = per_image(best, clean)
    return {"psnr": psnr, "ssim": ssim, "seconds": time.perf_counter() - began, "note": "best lambda of 9 in hindsight", "_x": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--images", nargs="+", default=["camera", "astronaut", "coffee"])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--methods", nargs="+", default=["tv", "patch-plain", "patch-mm", "field", "deepinv-tv"])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--priors", type=Path, default=None, help="a train-prior patches report folder")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/restoration"))
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.steps < 10:
        parser.error("--steps must be at least 10 (snapshots every tenth of the budget)")
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    folder = args.priors or args.out / "priors"
    if not (folder / "plain.safetensors").exists():
        patches = nf.data.load_dataset("patches", n=20000, size=8, seed=0)
        m = train_prior(patches, folder, TrainPriorConfig(**PRIOR_SETTINGS), progress=False)
        print("trained patch priors:", json.dumps({k: {"test_psnr": v["test"]["reconstruction_psnr"], "steps": v["steps"],
              "seconds": v["seconds"], "caveats": v["health"]["caveats"]} for k, v in m["models"].items()}), flush=True)  # fmt: skip
    priors, _ = load_priors(folder)
    prior_of = {"tv": "tv", "patch-plain": priors["plain"], "patch-mm": priors["moment-matched"]}
    rows = []
    log = open(args.out / "results.jsonl", "a")
    for size in args.sizes:
        clean = test_images(args.images, size)
        for task in args.tasks:
            _, _, sigma = TASKS[task]
            op = operator_for(task, size)
            y = op.measure(clean, sigma=sigma, seed=1)
            shown = {"clean": clean, "input": y}
            results = {"input": dict(zip(("psnr", "ssim"), per_image(y, clean)))}
            for method in args.methods:
                if method in prior_of:
                    results[method] = run_prior(y, op, prior_of[method], sigma, clean, args.steps)
                elif method == "field":
                    for stop in ("budget", "holdout", "discrepancy"):
                        results[f"field-{stop}"] = run_field(y, op, sigma, clean, args.steps, stop)
                elif method == "deepinv-tv":
                    got = run_deepinv(y, task, size, sigma, clean, args.steps)
                    if got is not None:
                        results[method] = got
            for method, r in results.items():
                shown[method] = r.pop("_x", None)
                row = {"size": size, "task": task, "method": method, "images": args.images, "steps": args.steps, **r}
                rows.append(row)
                log.write(json.dumps(row) + "\n")
                log.flush()
                extra = ""
                if "best_lam_psnr" in r:
                    extra = (f" | lam {[round(v, 2) for v in r['lam']]} best-lam {mean(r['best_lam_psnr']):.2f} "
                             f"best-snap {mean(r['best_snapshot_psnr']):.2f}")  # fmt: skip
                elif "best_snapshot_psnr" in r:
                    extra = f" | stopped {r['stopped_at']} best-snap {mean(r['best_snapshot_psnr']):.2f}"
                print(f"{size} {task} {method}: PSNR {mean(r['psnr']):.2f} SSIM "
                      f"{mean(r['ssim']):.3f} {r.get('seconds', 0):.0f}s{extra}", flush=True)  # fmt: skip
            shown["input"] = y
            torch.save({k: v for k, v in shown.items() if v is not None}, args.out / f"images_{size}_{task}.pt")
    log.close()


if __name__ == "__main__":
    main()
