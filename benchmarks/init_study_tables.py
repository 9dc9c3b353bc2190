"""Tables of ``neuralfields init-study`` report folders: per model size and strategy, the capped AUC (mean and
standard deviation over the triples), the difference to the paper init paired by triple, the crossover step,
the steps to the study's level and the PSNR after 1, 2, 5 and 10 steps. The crossover is computed again from
the stored mean curves with today's :func:`neuralfields.analysis.crossover_step`. Usage::

    python benchmarks/init_study_tables.py out/digits-library out/digits-prefit-study [--rst]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from neuralfields.analysis import crossover_step


def _ms(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {sd:.1f}"


def rows(folder: Path) -> tuple[dict, list[list[str]]]:
    m = json.loads((folder / "metrics.json").read_text())
    out = []
    for g in m["grid"]:
        paper = g["strategies"]["paper"]["auc"]
        reference = g["strategies"]["paper"]["mean_curve"]
        for name, s in g["strategies"].items():
            cross = None if name == "paper" else crossover_step(s["mean_curve"], reference)  # today's rule, on the stored curves
            diff = [a - p for a, p in zip(s["auc"], paper)]
            better = sum(d > 0 for d in diff)
            reach = [r for r in s["steps_to_level"] if r is not None]
            steps = f"{statistics.median(reach):.0f} ({len(reach)}/{len(s['steps_to_level'])})" if reach else f"- (0/{len(s['steps_to_level'])})"
            early = " / ".join(f"{s['psnr_at_step'][k]['mean']:.1f}" for k in ("1", "2", "5", "10") if k in s["psnr_at_step"])
            out.append([f"{g['layers']}x{g['width']} ({g['parameters']:,})", name, _ms(s["auc"]),
                        "-" if name == "paper" else f"{_ms(diff)} ({better}/{len(diff)})",
                        "-" if cross is None else str(cross), steps, early,
                        f"{s['final_psnr']['mean']:.1f}"])  # fmt: skip
    return m, out


HEAD = ["size (parameters)", "start", "AUC (dB)", "AUC - paper (better in)", "crossover step", "steps to level (reached)",
        "PSNR after 1 / 2 / 5 / 10 steps", "final PSNR"]  # fmt: skip


def summary(folder: Path) -> tuple[dict, list[str], list[list[str]]]:
    """One row per size: each strategy's AUC minus the paper init's (mean ± sd over the triples, paired) and its
    median steps to the level, in one cell."""
    m = json.loads((folder / "metrics.json").read_text())
    names = [n for n in m["grid"][0]["strategies"] if n != "paper"]
    out = []
    for g in m["grid"]:
        paper = g["strategies"]["paper"]
        reach = [r for r in paper["steps_to_level"] if r is not None]
        row = [f"{g['layers']}x{g['width']}", f"{statistics.mean(paper['auc']):.1f} ({statistics.median(reach):.0f})" if reach else "-"]
        for name in names:
            s = g["strategies"][name]
            diff = [a - p for a, p in zip(s["auc"], paper["auc"])]
            hit = [r for r in s["steps_to_level"] if r is not None]
            row.append(f"{_ms(diff)} ({statistics.median(hit):.0f})" if hit else _ms(diff))
        out.append(row)
    return m, ["size", "paper: AUC (steps)", *[f"{n}: AUC - paper (steps)" for n in names]], out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--rst", action="store_true", help="reStructuredText list-tables instead of Markdown")
    parser.add_argument("--summary", action="store_true", help="one row per size: AUC differences and steps to the level")
    args = parser.parse_args()
    for folder in args.folders:
        head = HEAD
        if args.summary:
            m, head, table = summary(folder)
        else:
            m, table = rows(folder)
        r = m["recipe"]
        title = (f"{folder.name}: {len(m['triples'])} triples, {r['steps']} steps, Adam {r['lr']:g} {r['schedule']}, "
                 f"AUC of PSNR capped at {m['cap']:g} dB, level {m['level']:g} dB")  # fmt: skip
        if args.rst:
            print(f".. list-table:: {title}\n   :header-rows: 1\n")
            for row in [head, *table]:
                print("   * - " + "\n     - ".join(row))
            print()
        else:
            print(f"{title}\n\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
            for row in table:
                print("| " + " | ".join(row) + " |")
            print()


if __name__ == "__main__":
    main()
