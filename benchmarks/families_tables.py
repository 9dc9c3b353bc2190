"""Summary tables of ``families_time_to_quality.py`` (its ``--json``) and ``upsampling_families.py`` (its
``--json``): one row per family and setting, averaged over the images, as Markdown (for ``RESULTS.md``) or
reStructuredText list tables (for the docs' Performance page). Usage::

    python benchmarks/families_tables.py --ttq ttq.json --upsampling up.json [--rst]
"""

from __future__ import annotations

import argparse
import json
import statistics


def _mean(values: list[float]) -> float:
    return statistics.mean(values) if values else float("nan")


def ttq_rows(data: dict) -> tuple[list[str], list[list[str]]]:
    rows = data["rows"]
    siren = {r["image"]: r for r in rows if r["family"] == "siren" and r["setting"] == "default"}
    head = ["family", "setting (values chosen)", "reached 30 dB", "mean s to 30 dB (where reached)", "PSNR @12 s",
            "PSNR @60 s", "@60 s vs SIREN default (min .. max)"]  # fmt: skip
    out = []
    for family in dict.fromkeys(r["family"] for r in rows):
        for how in ("default", "suggested"):
            sel = [r for r in rows if r["family"] == family and r["setting"] == how]
            if not sel:
                continue
            reached = [r["to_30db_s"] for r in sel if r["to_30db_s"] is not None]
            diff = [r["psnr_60s"] - siren[r["image"]]["psnr_60s"] for r in sel]
            values = sorted({f"{v:g}" for r in sel for v in r["extra"].values()})
            setting = how + (f" ({', '.join(values)})" if values else "")
            out.append([family, setting, f"{len(reached)}/{len(sel)}", f"{_mean(reached):.1f}" if reached else "-",
                        f"{_mean([r['psnr_12s'] for r in sel]):.2f}", f"{_mean([r['psnr_60s'] for r in sel]):.2f}",
                        f"{_mean(diff):+.2f} ({min(diff):+.1f} .. {max(diff):+.1f})"])  # fmt: skip
    return head, out


def upsampling_rows(data: dict) -> tuple[list[str], list[list[str]]]:
    rows = data["rows"]
    head = ["family", "setting (values chosen)", "field PSNR (min .. max)", "field SSIM", "beats bicubic (PSNR)",
            "field - bicubic PSNR (min .. max)"]  # fmt: skip
    out = []
    bicubic = {r["image"]: r for r in rows}
    out_b = [["bicubic", "-", f"{_mean([r['bicubic_psnr'] for r in bicubic.values()]):.2f}", 
              f"{_mean([r['bicubic_ssim'] for r in bicubic.values()]):.3f}", "-", "-"]]  # fmt: skip
    for family in dict.fromkeys(r["family"] for r in rows):
        for how in ("default", "suggested"):
            sel = [r for r in rows if r["family"] == family and r["setting"] == how]
            if not sel:
                continue
            fp = [r["field_psnr"] for r in sel]
            diff = [r["field_psnr"] - r["bicubic_psnr"] for r in sel]
            values = sorted({f"{v:g}" for r in sel for v in r["extra"].values()})
            setting = how + (f" ({', '.join(values)})" if values else "")
            out.append([family, setting, f"{_mean(fp):.2f} ({min(fp):.1f} .. {max(fp):.1f})",
                        f"{_mean([r['field_ssim'] for r in sel]):.3f}", f"{sum(d > 0 for d in diff)}/{len(sel)}",
                        f"{_mean(diff):+.2f} ({min(diff):+.1f} .. {max(diff):+.1f})"])  # fmt: skip
    return head, out_b + out


def markdown(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def rst(head: list[str], rows: list[list[str]], title: str) -> str:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for r in [head, *rows]:
        lines.append(f"   * - {r[0]}")
        lines += [f"     - {c}" for c in r[1:]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ttq", default=None)
    parser.add_argument("--upsampling", default=None)
    parser.add_argument("--rst", action="store_true")
    args = parser.parse_args()
    for path, make, title in ((args.ttq, ttq_rows, "time to quality, mean over the five 256x256 images"),
                              (args.upsampling, upsampling_rows, "48x48 -> 256x256, mean over the five images")):  # fmt: skip
        if path:
            with open(path) as fh:
                head, rows = make(json.load(fh))
            print(rst(head, rows, title) if args.rst else markdown(head, rows))
            print()


if __name__ == "__main__":
    main()
