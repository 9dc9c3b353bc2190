"""Tables of ``neuralfields init-study`` report folders: per model size and strategy, the capped AUC (mean and
standard deviation over the triples), the difference to the paper init paired by triple, the crossover step,
the steps to the study's level and the PSNR after 1, 2, 5 and 10 steps. Usage::

    python benchmarks/init_study_tables.py out/digits-library out/digits-prefit-study [--rst]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def _ms(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {sd:.1f}"


def rows(folder: Path) -> tuple[dict, list[list[str]]]:
    m = json.loads((folder / "metrics.json").read_text())
    out = []
    for g in m["grid"]:
        paper = g["strategies"]["paper"]["auc"]
        for name, s in g["strategies"].items():
            diff = [a - p for a, p in zip(s["auc"], paper)]
            better = sum(d > 0 for d in diff)
            reach = [r for r in s["steps_to_level"] if r is not None]
            steps = f"{statistics.median(reach):.0f} ({len(reach)}/{len(s['steps_to_level'])})" if reach else f"- (0/{len(s['steps_to_level'])})"
            early = " / ".join(f"{s['psnr_at_step'][k]['mean']:.1f}" for k in ("1", "2", "5", "10") if k in s["psnr_at_step"])
            out.append([f"{g['layers']}x{g['width']} ({g['parameters']:,})", name, _ms(s["auc"]),
                        "-" if name == "paper" else f"{_ms(diff)} ({better}/{len(diff)})",
                        "-" if s["crossover_step"] is None else str(s["crossover_step"]), steps, early,
                        f"{s['final_psnr']['mean']:.1f}"])  # fmt: skip
    return m, out


HEAD = ["size (parameters)", "start", "AUC (dB)", "AUC - paper (better in)", "crossover step", "steps to level (reached)",
        "PSNR after 1 / 2 / 5 / 10 steps", "final PSNR"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--rst", action="store_true", help="reStructuredText list-tables instead of Markdown")
    args = parser.parse_args()
    for folder in args.folders:
        m, table = rows(folder)
        r = m["recipe"]
        title = (f"{folder.name}: {len(m['triples'])} triples, {r['steps']} steps, Adam {r['lr']:g} {r['schedule']}, "
                 f"AUC of PSNR capped at {m['cap']:g} dB, level {m['level']:g} dB")  # fmt: skip
        if args.rst:
            print(f".. list-table:: {title}\n   :header-rows: 1\n")
            for row in [HEAD, *table]:
                print("   * - " + "\n     - ".join(row))
            print()
        else:
            print(f"{title}\n\n| " + " | ".join(HEAD) + " |\n|" + "---|" * len(HEAD))
            for row in table:
                print("| " + " | ".join(row) + " |")
            print()


if __name__ == "__main__":
    main()
