"""Print the tables of RESULTS.md (markdown) or docs/restore_results.inc (``--rst``) from train-prior /
restore report folders.

Usage::

    python benchmarks/prior_tables.py [--rst] out/figs/priors out/figs/denoise_0.1 out/figs/denoise_0.5 out/figs/inpaint
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


_RST = False


def _table(header: list[str], rows: list[list[str]]) -> None:
    if _RST:
        print(".. list-table::\n   :header-rows: 1\n")
        for row in [header, *rows]:
            print("\n".join((f"   * - {c}" if i == 0 else f"     - {c}").rstrip() for i, c in enumerate(row)))
        print()
        return
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def main(priors: str, *restores: str) -> None:
    m = json.loads((Path(priors) / "metrics.json").read_text())
    _table(
        ["autoencoder", "test reconstruction (dB)", "KS to uniform, mean / max", "pair occupancy", "train time (s)"],
        [[name, f"{r['test']['reconstruction_psnr']:.2f}", f"{r['test']['ks_mean']:.3f} / {r['test']['ks_max']:.3f}",
          f"{r['test']['pair_occupancy']:.2f}", f"{r['seconds']:.0f}"] for name, r in m["models"].items()],
    )  # fmt: skip
    names = [p["probe"] for p in next(iter(m["models"].values()))["probes"]]
    _table(
        ["probe"] + [f"{n}: energy / NN-distance percentile" for n in m["models"]],
        [[probe] + [f"{r['probes'][i]['energy']:.2f} / {r['probes'][i]['distance_percentile']:.0f}"
                    for r in m["models"].values()] for i, probe in enumerate(names)],
    )  # fmt: skip
    for folder in restores:
        r = json.loads((Path(folder) / "metrics.json").read_text())
        cfg = r["config"]
        snaps = [str(s) for s in cfg["snapshots"]]
        print(f"**{cfg['task']}, sigma {cfg['sigma']}** ({r['images']['test']} test images; the corrupted input: "
              f"{r['corrupted_psnr']:.2f} dB; early stopping: {cfg['stop']})\n")  # fmt: skip
        _table(
            ["method", "lambda", *[f"PSNR @{s}" for s in snaps], "PSNR at early stop (mean iteration)"],
            [[name, f"{mm['lam']:g}", *[f"{mm['psnr_at'][s]:.2f}" for s in snaps],
              f"{mm['psnr_early_stop']:.2f} ({mm['early_stop']['mean_iteration']:.0f})"] for name, mm in r["methods"].items()],
        )  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--rst":
        _RST = True
        args = args[1:]
    main(*args)
