"""Time to quality from each initialisation: ``nf.fit``'s default recipe started from every ``init``, side by
side with the reference recipe, on the five 256x256 benchmark images of ``fit_images.py``.

Contestants, each on each image, each in its own process (nothing carries over between them):

* ``reference``: the reference recipe (a plain eager SIREN, reference init, Adam 1e-4, full batch,
  constant rate: ``fit_images.py``'s baseline);
* ``paper``, ``weight-scaling`` (alpha 2.5), ``prefit``, ``meta``, ``shared-encoder``: ``nf.fit`` with every
  default (500 steps) and ``init=`` that strategy. ``prefit`` fits the same SIREN to another image
  (``moon``, grey or tinted) for ``--prefit-steps`` steps first; ``meta`` (Reptile, inner loop = the
  default recipe's first steps, 4,096 pixels of 4 images per meta-step) and ``shared-encoder`` (6 images,
  4,096 pixels each per step) are learned once per channel count on scikit-image samples that are none of
  the test images, and saved to files the fits start from.

The clock counts the fit of the test image only, with the PSNR (full render) measured every
``--eval-every`` steps outside it; what each start cost to prepare is reported in its own column (the
meta-learned and shared-encoder starts are made once for all images). Usage::

    python benchmarks/init_time_to_quality.py [--size 256] [--budget 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from fit_camera import ReferenceSiren  # the camera benchmark's baseline (same folder)
from fit_images import load, psnr_of, run_plain

import neuralfields as nf

IMAGES = [("camera", False), ("astronaut", False), ("astronaut", True), ("coffee", False), ("coffee", True)]
TRAIN = ["brick", "grass", "gravel", "page", "clock", "moon", "coins", "text", "chelsea", "rocket", "immunohistochemistry", "cat"]
"""Samples the learned starts see: none of the test images."""
INITS = ["paper", "weight-scaling", "prefit", "meta", "shared-encoder"]


def siren(channels: int) -> nf.Siren:
    return nf.Siren(2, channels, hidden_features=256, hidden_layers=3, seed=0)


def prepare(size: int, channels: int, folder: Path, meta_steps: int, encoder_steps: int) -> dict:
    """Learn the meta and shared-encoder starts for ``channels`` on the training samples; their files and seconds."""
    images = torch.stack([nf.data.load_image(s, size=size, channels=channels) for s in TRAIN])
    out = {}
    t0 = time.perf_counter()
    meta = nf.training.meta_learn(siren(channels), images, algorithm="reptile", steps=meta_steps, meta_batch=4,
                                  inner_steps=5, batch_size=4096, progress=False)  # fmt: skip
    out["meta"] = (str(meta.save(folder / f"meta{channels}.safetensors")), time.perf_counter() - t0)
    t0 = time.perf_counter()
    enc = nf.training.train_shared_encoder(siren(channels), images[:6], steps=encoder_steps, batch_size=4096, progress=False)
    out["shared-encoder"] = (str(enc.save(folder / f"encoder{channels}.safetensors")), time.perf_counter() - t0)
    return out


def run_init(img: torch.Tensor, init: str, budget: float, eval_every: int, files: dict, prefit_steps: int) -> tuple[list, float]:
    """``nf.fit`` with its defaults from ``init``; returns the curve [(seconds, step, psnr)] and the preparation seconds."""
    field, prep = siren(img.shape[0]), 0.0
    spec: object = None  # an init spec, or None when the field is already started
    if init == "paper":
        spec = "paper"
    elif init == "weight-scaling":
        spec = {"name": "weight-scaling", "config": {"alpha": 2.5, "seed": 0}}
    elif init == "prefit":
        other = nf.data.load_image("moon", size=img.shape[-1], channels=img.shape[0])
        t0 = time.perf_counter()
        nf.training.PrefitInit(other, steps=prefit_steps)(field)
        prep = time.perf_counter() - t0
    else:
        spec, prep = files[init]
    if spec is not None:  # applied before the clock starts (a file read, or a redraw)
        nf.training.resolve_init(spec)(field)
    return clocked_fit(field, img, budget, eval_every), prep


def clocked_fit(field: nf.Field, img: torch.Tensor, budget: float, eval_every: int, **fit_kwargs: object) -> list:
    """``nf.fit`` with its defaults (and ``fit_kwargs``) until ``budget`` seconds of training; the curve
    [(seconds, step, psnr)], the PSNR of the full render taken every ``eval_every`` steps outside the clock."""
    coords, _ = nf.grid.signal_to_samples(img)
    curve = [(0.0, 0, psnr_of(field, coords, img))]
    state = {"clock": 0.0, "t0": time.perf_counter()}

    def cb(info) -> bool:  # noqa: ANN001
        state["clock"] += time.perf_counter() - state["t0"]
        stop = state["clock"] >= budget
        if info.step % eval_every == 0 or info.step == info.total or stop:
            curve.append((state["clock"], info.step, psnr_of(info.field, coords, img)))
        state["t0"] = time.perf_counter()
        return stop

    nf.fit(field, img, callbacks=[cb], progress=False, **fit_kwargs)  # type: ignore[arg-type]
    return curve


def summary(curve: list, prep: float) -> dict:
    def at(seconds: float) -> float:
        before = [p for t, _, p in curve if t <= seconds]
        return before[-1] if before else float("nan")

    reach = next(((t, s) for t, s, p in curve if p >= 30.0), None)
    return {"to_30db_s": reach[0] if reach else None, "to_30db_step": reach[1] if reach else None, "psnr_5s": at(5.0),
            "psnr_12s": at(12.0), "psnr_60s": at(60.0), "final_psnr": curve[-1][2], "final_s": curve[-1][0],
            "final_step": curve[-1][1], "prep_s": prep}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--prefit-steps", type=int, default=100)
    parser.add_argument("--meta-steps", type=int, default=60)
    parser.add_argument("--encoder-steps", type=int, default=150)
    parser.add_argument("--ref-steps", type=int, default=100000)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--files", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        name, colour, who = args.child.split(":")
        img = load(name, colour == "colour", args.size)
        torch.manual_seed(0)
        if who == "reference":
            curve, prep = run_plain(ReferenceSiren(out=img.shape[0]), img, args.ref_steps, args.budget, args.eval_every, None), 0.0
        else:
            files = {k: tuple(v) for k, v in json.loads(args.files)[str(img.shape[0])].items()}
            curve, prep = run_init(img, who, args.budget, args.eval_every, files, args.prefit_steps)
        print(json.dumps({"curve": curve, "prep": prep}))
        return

    folder = Path(tempfile.mkdtemp(prefix="nf-init-ttq-"))
    files = {}
    for channels in (1, 3):
        files[str(channels)] = prepare(args.size, channels, folder, args.meta_steps, args.encoder_steps)
        for k, (path, seconds) in files[str(channels)].items():
            print(f"{k} start for {channels} channel(s): {seconds:.0f} s to learn ({path})", flush=True)
    rows = []
    for name, colour in IMAGES:
        label = f"{name} ({'colour' if colour else 'grey'})"
        for who in ["reference", *INITS]:
            child = f"{name}:{'colour' if colour else 'grey'}:{who}"
            cmd = [sys.executable, __file__, "--child", child, "--files", json.dumps(files)] + [
                f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k not in ("child", "files", "json")]  # fmt: skip
            env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
            out = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
            row = {"image": label, "contestant": who, **summary(out["curve"], out["prep"]), "curve": out["curve"]}
            rows.append(row)
            print(f"{label} / {who}: 30 dB at {row['to_30db_s']} s, {row['psnr_5s']:.2f} @5 s, {row['psnr_12s']:.2f} @12 s, "
                  f"{row['psnr_60s']:.2f} @60 s (prepared in {row['prep_s']:.1f} s)", flush=True)  # fmt: skip
    print(f"\n{args.size}x{args.size}, SIREN 3x256, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}; fit budget {args.budget:g} s")  # fmt: skip
    print("| image | start | seconds to 30 dB (step) | vs reference | PSNR @5 s | @12 s | @60 s | final (s, step) | preparation s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ref = next(q for q in rows if q["image"] == r["image"] and q["contestant"] == "reference")
        reach = "not reached" if r["to_30db_s"] is None else f"{r['to_30db_s']:.1f} ({r['to_30db_step']})"
        ratio = f"{r['to_30db_s'] / ref['to_30db_s']:.3f}x" if r["to_30db_s"] and ref["to_30db_s"] else "-"
        print(f"| {r['image']} | {r['contestant']} | {reach} | {ratio} | {r['psnr_5s']:.2f} | {r['psnr_12s']:.2f} | "
              f"{r['psnr_60s']:.2f} | {r['final_psnr']:.2f} ({r['final_s']:.0f} s, {r['final_step']}) | {r['prep_s']:.0f} |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "torch": torch.__version__, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
