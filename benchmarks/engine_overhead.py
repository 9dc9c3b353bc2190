"""The fitting functions before and after a change, side by side: seconds per step of ``fit``, ``fit_many``
and ``fit_dataset`` for two source trees (e.g. the commit before the training engine and today's).

Each measurement runs in its own process with ``PYTHONPATH`` set to one source tree, the two trees
alternating within every repeat, so both see the same machine load; the script prints the median
seconds per step of each and the ratio ``after / before`` (below 1 is faster). Usage::

    git worktree add /tmp/nf-before 7c70824      # the tree to compare against
    python benchmarks/engine_overhead.py --before /tmp/nf-before/src [--repeats 5] [--json out.json]

Cases (CPU, float32, one thread per process unless ``--threads``):

- ``fit``: ``camera`` 256x256, SIREN 3x256, the default recipe (random batches of 16,384 pixels);
- ``fit-full``: the same with the full batch (65,536 pixels);
- ``fit_many``: 64 crops of 32x32, SIREN 3x64, full batch;
- ``fit_dataset``: 100 crops of 32x32, one SIREN 3x64 with a binary code, all items and pixels per step;
- ``fit_dataset-film``: the same with FiLM-modulating latent codes (autograd in both trees).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = ("fit", "fit-full", "fit_many", "fit_dataset", "fit_dataset-film")
HERE = Path(__file__).resolve().parent


def child(case: str, steps: int) -> dict[str, float]:
    """Run one case in this process (the tree on ``PYTHONPATH``) and return seconds per step."""
    import torch

    import neuralfields as nf

    if case.startswith("fit_dataset"):
        images = nf.data.load_dataset("crops", n=100, size=32, seed=0)
        if case.endswith("film"):
            cond = nf.Latent(100, dim=32, mode="film", seed=0)
        else:
            cond = nf.BinaryCode(100)
        torch.manual_seed(0)  # the earlier tree draws the FiLM modulator from the global RNG
        field = nf.ConditionedField(nf.Siren(2 + cond.extra_features, 1, hidden_features=64, seed=0), cond)
        run = lambda n: nf.fit_dataset(field, images, steps=n, holdout=0.0, progress=False)  # noqa: E731
    elif case == "fit_many":
        images = nf.data.load_dataset("crops", n=64, size=32, seed=0)
        field = nf.Siren(2, 1, hidden_features=64, hidden_layers=3, seed=0)
        run = lambda n: nf.fit_many(field, images, steps=n, batch_size=None, progress=False)  # noqa: E731
    else:
        image = nf.data.load_image("camera", size=256)
        field = nf.Siren(2, 1, hidden_features=256, hidden_layers=3, seed=0)
        batch = None if case == "fit-full" else "default"
        run = lambda n: nf.fit(field, image, steps=n, batch_size=batch, progress=False)  # noqa: E731
    run(2)  # warm-up (allocator, first-call costs)
    t0 = time.perf_counter()
    res = run(steps)
    wall = time.perf_counter() - t0
    if hasattr(res, "history"):
        times, loss = res.history.time, res.history.loss[-1]
    else:  # fit_many before the engine: one history per member, each with its share of the step's time
        times = [t * len(res.histories) for t in res.histories[0].time]
        loss = sum(h.loss[-1] for h in res.histories) / len(res.histories)
    return {"wall_s_per_step": wall / steps, "median_step_s": statistics.median(times), "final_loss": loss,
            "module": nf.__file__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the earlier tree's src/ folder")
    parser.add_argument("--after", default=str(HERE.parent / "src"), help="today's src/ folder (default: this checkout's)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        print(json.dumps(child(args.child, args.steps)))
        return
    trees = {"before": args.before, "after": args.after}
    cases = [c for c in args.cases.split(",") if c]
    results: dict[str, dict[str, list[dict[str, float]]]] = {c: {"before": [], "after": []} for c in cases}
    for rep in range(args.repeats):
        for case in cases:
            order = ["before", "after"] if rep % 2 == 0 else ["after", "before"]
            for side in order:
                env = {**os.environ, "PYTHONPATH": trees[side], "NEURALFIELDS_DISABLE_PLUGINS": "1"}
                cmd = [sys.executable, __file__, "--before", args.before, "--child", case,
                       "--steps", str(args.steps), "--threads", str(args.threads)]  # fmt: skip
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
                results[case][side].append(json.loads(out.strip().splitlines()[-1]))
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} thread(s) per process, "
          f"{args.steps} steps, {args.repeats} repeats (medians)")  # fmt: skip
    print("| case | before s/step | after s/step | after / before | before step (history) | after step (history) | ratio |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for case in cases:
        med = {s: statistics.median(r["wall_s_per_step"] for r in results[case][s]) for s in trees}
        step = {s: statistics.median(r["median_step_s"] for r in results[case][s]) for s in trees}
        summary[case] = {"wall": med, "step": step, "ratio_wall": med["after"] / med["before"],
                         "ratio_step": step["after"] / step["before"], "runs": results[case]}  # fmt: skip
        print(f"| {case} | {med['before']:.4f} | {med['after']:.4f} | {med['after'] / med['before']:.3f} | "
              f"{step['before']:.4f} | {step['after']:.4f} | {step['after'] / step['before']:.3f} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
