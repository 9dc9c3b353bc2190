"""Tables and a picture grid from ``benchmarks/restoration.py`` output folders.

Prints, per image size, the table of PSNR / SSIM / seconds (means over the images) with each automatic
choice next to the best in hindsight, then per method how far ``lam="auto"`` and the default stop land from
the hindsight best (means and the worst case over tasks and images). ``--grid`` writes a picture grid of
one image (rows: tasks; columns: clean, input and each method) from the saved ``images_{size}_{task}.pt``.

Usage::

    python benchmarks/restoration_tables.py OUT [OUT ...] [--rst] [--grid docs/images/restoration_grid.png --size 64 --image 0]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import prior_tables  # the markdown / rst table printer of the other study tables (run from benchmarks/)
import torch
from prior_tables import _table


def _mean(v: list[float]) -> float:
    return statistics.fmean(v)


def load_rows(folders: list[Path]) -> list[dict]:
    """The rows of every ``results.jsonl``; a later row for the same (size, task, method) replaces an earlier one."""
    rows: dict[tuple, dict] = {}
    for folder in folders:
        for line in (folder / "results.jsonl").read_text().splitlines():
            r = json.loads(line)
            rows[(r["size"], r["task"], r["method"])] = r
    return list(rows.values())


def print_tables(rows: list[dict]) -> None:
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    for size in sorted({r["size"] for r in rows}):
        print(f"**{size}x{size}** (mean over {len(rows[0]['psnr'])} images; PSNR in dB, SSIM, seconds for all images "
              "together)\n")  # fmt: skip
        table = []
        for task in tasks:
            for r in (r for r in rows if r["size"] == size and r["task"] == task):
                auto, lam_best, snap_best = "", "", ""
                if "lam" in r:
                    auto = f"lam {min(r['lam']):.3g}-{max(r['lam']):.3g} ({r['criterion']})"
                    lam_best = f"{_mean(r['best_lam_psnr']):.2f}"
                if "stopped_at" in r:
                    auto = f"stop at {min(r['stopped_at'])}-{max(r['stopped_at'])}"
                if "best_snapshot_psnr" in r:
                    snap_best = f"{_mean(r['best_snapshot_psnr']):.2f}"
                if "note" in r:
                    auto = r["note"]
                secs = f"{r['seconds']:.0f}" if "seconds" in r else ""
                table.append([task, r["method"], f"{_mean(r['psnr']):.2f}", f"{_mean(r['ssim']):.3f}", secs, auto, lam_best, snap_best])
        _table(["task", "method", "PSNR", "SSIM", "s", "automatic choice", "hindsight best lam", "hindsight best snapshot"], table)
    print("How far the automatic choices land from the hindsight best (dB; positive: the choice lost; mean / worst "
          "over every task and image):\n")  # fmt: skip
    lost: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        key = (r["size"], r["method"])
        if "best_lam_psnr" in r:
            lost[key]["lam"] += [b - p for b, p in zip(r["best_lam_psnr"], r["psnr"])]
        if "best_snapshot_psnr" in r and r["method"] != "field-budget":
            lost[key]["stop"] += [b - p for b, p in zip(r["best_snapshot_psnr"], r["psnr"])]
    table = []
    for (size, method), d in sorted(lost.items()):
        cells = [f"{_mean(d[k]):.2f} / {max(d[k]):.2f} ({len(d[k])})" if d.get(k) else "" for k in ("lam", "stop")]
        table.append([str(size), method, *cells])
    _table(["size", "method", "lam='auto' vs best grid lam", "default stop vs best snapshot"], table)


def picture_grid(folder: Path, size: int, image: int, out: Path) -> None:
    """Rows: tasks; columns: clean, input, each method (one image); PSNR in each title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = sorted(folder.glob(f"images_{size}_*.pt"), key=lambda p: p.stat().st_mtime)
    shown = [(p.stem.split("_", 2)[2], torch.load(p)) for p in files]
    methods = list(dict.fromkeys(k for _, d in shown for k in d))
    fig, axes = plt.subplots(len(shown), len(methods), figsize=(1.6 * len(methods), 1.75 * len(shown)), squeeze=False)
    for i, (task, d) in enumerate(shown):
        clean = d["clean"][image]
        for j, m in enumerate(methods):
            ax = axes[i][j]
            ax.axis("off")
            if m not in d:
                continue
            x = d[m][image].clamp(0, 1)
            mse = float(((x - clean) ** 2).mean())
            title = m if m == "clean" else f"{m}\n{10 * torch.log10(torch.tensor(1 / max(mse, 1e-12))):.1f} dB"
            ax.imshow(x[0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=7)
            if j == 0:
                ax.text(-0.08, 0.5, task, transform=ax.transAxes, rotation=90, va="center", ha="right", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=75)
    plt.close(fig)
    from PIL import Image

    Image.open(out).convert("L").save(out, optimize=True)  # every picture is grey: a third of the bytes
    print(f"wrote {out}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--grid", type=Path, default=None, help="write a picture grid here")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--image", type=int, default=0)
    parser.add_argument("--rst", action="store_true", help="rst list-tables (for docs/restoration_results.inc)")
    args = parser.parse_args()
    prior_tables._RST = args.rst
    print_tables(load_rows(args.folders))
    if args.grid:
        picture_grid(args.folders[0], args.size, args.image, args.grid)


if __name__ == "__main__":
    main()
