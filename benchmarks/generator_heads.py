"""The adversarial FieldGenerator with each registered hyper-head (lowrank, film, full), side by side over
seeds: Fréchet distance, class coverage, confidence and nearest-neighbour distance by the same judge per
seed (a classifier trained on the training split), parameters and training time.

Usage::

    python benchmarks/generator_heads.py [--data digits] [--size 16] [--steps 3000] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import statistics
import time


import neuralfields as nf
from neuralfields.analysis import SampleJudge
from neuralfields.experiments.priors import split_indices
from neuralfields.generators import FieldGenerator
from neuralfields.training import train_field_generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n", type=int, default=1797)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--heads", nargs="+", default=["lowrank", "film", "full"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    images = nf.data.load_dataset(args.data, n=args.n, size=args.size)
    labels = nf.data.dataset_labels(args.data, n=args.n)
    rows: dict[str, list[dict[str, float]]] = {h: [] for h in args.heads}
    for seed in args.seeds:
        train_idx, test_idx = split_indices(images.shape[0], 0.2, seed)
        judge = SampleJudge(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx], seed=seed)
        count = int(test_idx.numel())
        print(f"seed {seed}: judge accuracy {judge.accuracy:.3f}, real held-out Fréchet {judge.real.frechet:.2f}", flush=True)
        for head in args.heads:
            g = FieldGenerator((args.size, args.size), images.shape[1], head=head, seed=seed)
            start = time.perf_counter()
            res = train_field_generator(g, images[train_idx], steps=args.steps, seed=seed, progress=False)
            seconds = time.perf_counter() - start
            q = judge.judge(res.generator.sample(count, seed=seed + 1))
            rows[head].append({"frechet": q.frechet, "coverage": q.coverage, "confidence": q.confidence,
                               "nn": q.nn_distance, "seconds": seconds, "params": sum(p.numel() for p in g.parameters())})  # fmt: skip
            print(f"  {head:8s} Fréchet {q.frechet:7.2f} coverage {q.coverage:.2f} confidence {q.confidence:.2f} "
                  f"NN {q.nn_distance:.3f} ({seconds:.0f} s)", flush=True)
    print(f"\n{args.data} {args.size}x{args.size}, {args.steps} steps, seeds {args.seeds} (per seed; mean)\n")
    print("| head | parameters | Fréchet distance | classes covered | confidence | NN distance | training s |")
    print("|---|---|---|---|---|---|---|")
    for head, runs in rows.items():
        def col(key: str, fmt: str) -> str:
            values = [r[key] for r in runs]
            return ", ".join(format(v, fmt) for v in values) + f" ({format(statistics.mean(values), fmt)})"
        print(f"| {head} | {int(runs[0]['params']):,} | {col('frechet', '.1f')} | {col('coverage', '.2f')} | "
              f"{col('confidence', '.2f')} | {col('nn', '.3f')} | {col('seconds', '.0f')} |")


if __name__ == "__main__":
    main()
