"""Generators of fields side by side, over seeds: the adversarial FieldGenerator, HyperSiren.sample (uniform
codes), the HyperSiren's reconstructions of held-out images (its decoder's best), and the HyperSiren decoding
codes drawn from priors fitted to its training codes; every method judged by the same classifier on the
same count (Fréchet distance, class coverage, confidence, nearest-neighbour distance), with parameters,
training time and time per sample. Each seed is a whole ``generate`` run (its own split, models and judge).

Usage::

    python benchmarks/generators.py [--data digits] [--seeds 0 1 2] [--quick] [--out DIR]

Prints a markdown table (mean and min-max over the seeds) for ``RESULTS.md``; the report folders of the
runs are kept in ``--out`` (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

import neuralfields as nf
from neuralfields.experiments import GenerateConfig, generate


def _spread(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits", help="a labelled set: digits or crops (default: digits)")
    parser.add_argument("--n", type=int, default=None, help="images (default: all the digits; 1000 crops)")
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="GenerateConfig.quick()")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    n = args.n or (1797 if args.data == "digits" else 1000)
    images = nf.data.load_dataset(args.data, n=n, size=args.size)
    labels = nf.data.dataset_labels(args.data, n=n)
    out = args.out or Path(tempfile.mkdtemp(prefix="generators-"))
    runs = []
    for seed in args.seeds:
        cfg = GenerateConfig.quick(size=args.size, seed=seed) if args.quick else GenerateConfig(size=args.size, seed=seed)
        start = time.perf_counter()
        m = generate(images, labels, out / f"seed-{seed}", cfg, progress=False)
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s, judge accuracy {m['judge']['accuracy']:.3f}", flush=True)
        runs.append(m)
    (out / "summary.json").write_text(json.dumps(runs, indent=1))
    cfg = runs[0]["config"]
    print(f"\n{args.data} {args.size}x{args.size}, {n} images ({runs[0]['judge']['count']} held out, the count judged per method), "
          f"seeds {args.seeds}, {'quick' if args.quick else 'default'} settings: adversarial {cfg['gan_steps']} steps "
          f"({cfg['head']} head), HyperSiren {cfg['hyper_steps']} steps ({cfg['hyper_head']} head); judge accuracy "
          f"{_spread([r['judge']['accuracy'] for r in runs], '.3f')}; mean (min-max) over the seeds\n")
    print("| method | Fréchet distance | classes covered | confidence | NN distance | parameters | ms / sample | training s |")
    print("|---|---|---|---|---|---|---|---|")
    for method in runs[0]["table"]:
        rows = [r["table"][method] for r in runs]
        params = rows[0]["parameters"]
        per = [1000 * r["seconds_per_sample"] for r in rows if r.get("seconds_per_sample") is not None]
        train = [r["train_seconds"] for r in rows if r.get("train_seconds") is not None]
        print(f"| {method} | {_spread([r['frechet'] for r in rows], '.1f')} | {_spread([r['coverage'] for r in rows], '.2f')} | "
              f"{_spread([r['confidence'] for r in rows], '.2f')} | {_spread([r['nn_distance'] for r in rows], '.3f')} | "
              f"{'' if params is None else f'{params:,}'} | {_spread(per, '.2f') if per else ''} | {_spread(train, '.0f') if train else ''} |")
    print(f"\nreport folders: {out}")


if __name__ == "__main__":
    main()
