"""The GPU check: ``make gpu-check`` (or ``python benchmarks/gpu_check.py [--out DIR]``).

On a machine with a CUDA device it

1. prints the device and the torch / Triton / CUDA versions;
2. runs the CUDA-marked tests (``pytest -m cuda -q -p no:cacheprovider tests/``) and counts them;
3. runs the GPU benchmarks, each in its own process under a time limit, contestants side by side with
   their baseline in the same run: ``sine_layer.py`` (fused sine layer against the eager composite,
   with the op's precisions), ``train_step.py`` (a full-batch SIREN 3x256 step on 256x256 coordinates:
   ``nf.fit``'s step against the eager reference and ``torch.compile``) and ``fit_many.py`` (batched
   against sequential fitting);
4. writes ``DIR/gpu_check.md`` (a section ready for ``benchmarks/RESULTS.md``: date, device, versions,
   test counts, one table per benchmark with ratios to its baseline), ``DIR/gpu_check.json`` (every raw
   figure), each benchmark's own JSON and each stage's log (``DIR/<stage>.log``). Both reports are
   rewritten after every stage, so a run stopped part-way keeps what it measured.

Without a CUDA device it prints ``gpu-check: skipped, no CUDA device`` and exits 0 (CI never needs a
GPU). It installs nothing. Exit status: 0 when every CUDA test passed (or was skipped) and every
benchmark finished; 1 otherwise (a failing test does not stop the benchmarks).

Options: ``--quick`` runs every benchmark at smoke-test sizes (the figures mean nothing); ``--only``
picks stages; ``--budget`` caps the whole run's seconds (each stage also has its own limit);
``--device cpu`` is a dry run of this driver on the CPU (small sizes, no compiled contestants), to
check the driver itself where there is no GPU.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
STAGES = ["tests", "sine_layer", "train_step", "fit_many"]
LIMITS = {"tests": 240, "sine_layer": 150, "train_step": 150, "fit_many": 120}
"""Seconds each stage may run; ``--budget`` may cut them further, keeping ``RESERVE`` seconds for each
stage still to come. The sizes aim at about 1-2 minutes per benchmark on one H200."""
RESERVE = 60
SINE_POINTS = ["65536", "1048576"]

TRAIN_STEP_LABELS = {
    "reference": "reference: plain eager SIREN (`torch.sin(30 * linear(x))`), autograd",
    "compiled": "`torch.compile` of the reference",
    "reference+malloc-env": "reference + `MALLOC_*` env vars",
    "compiled+malloc-env": "`torch.compile` + `MALLOC_*` env vars",
    "nf-default": "**`nf.fit`'s step**: `mse_backward` on `nf.Siren()` (backend `auto`: the fused op on CUDA)",
    "nf-default+system-malloc": "`nf.fit`'s step, `NEURALFIELDS_MALLOC=system`",
    "nf-handwritten": "`mse_backward` on `nf.Siren(backend=\"eager\")`: the hand-written step",
    "nf-full-batch": "the library's default step on the whole batch (`chunk_size=None`)",
    "nf-autograd": "autograd through `nf.Siren(backend=\"eager\")`",
    "nf-fused": "autograd through `nf.Siren(backend=\"fused\")` (the `sine_layer` op)",
    "nf-compiled": "`torch.compile` of `nf.Siren` (`nf.fit(..., compile=True)`)",
}


# ---- environment --------------------------------------------------------------------------------


def device_info(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "device": device,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "host_cpus": os.cpu_count(),
        "host": platform.processor() or platform.machine(),
    }
    try:
        import triton

        info["triton"] = triton.__version__
    except Exception:  # noqa: BLE001 - not installed or broken: reported as such
        info["triton"] = None
    try:
        from neuralfields.kernels import TRITON_AVAILABLE

        info["triton_available"] = bool(TRITON_AVAILABLE)
    except Exception as exc:  # noqa: BLE001 - the package itself is broken: the tests will say more
        info["triton_available"] = f"neuralfields.kernels failed to import: {exc!r}"
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update(
            device_name=props.name,
            device_count=torch.cuda.device_count(),
            memory_gib=round(props.total_memory / 2**30, 1),
            capability=f"{props.major}.{props.minor}",
            multiprocessors=props.multi_processor_count,
            cudnn=torch.backends.cudnn.version(),
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
        )
        try:
            smi = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=20,
            )  # fmt: skip
            info["driver"] = smi.stdout.strip().splitlines()[0] if smi.returncode == 0 and smi.stdout.strip() else None
        except (OSError, subprocess.SubprocessError):
            info["driver"] = None
    else:
        info["device_name"] = f"CPU ({info['host']}, {info['host_cpus']} cores)"
    return info


# ---- running a stage ----------------------------------------------------------------------------


def run_stage(name: str, cmd: list[str], log: Path, limit: float) -> dict[str, Any]:
    """Run ``cmd`` in its own process group (so that a time-out also ends its children), output to ``log``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    shown = " ".join(str(Path(c).relative_to(ROOT)) if c.startswith(str(ROOT)) else c for c in cmd[1:])
    print(f"gpu-check: {name}: python {shown} (limit {limit:.0f} s)", flush=True)
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = False
        try:
            rc = proc.wait(timeout=max(1.0, limit))
        except subprocess.TimeoutExpired:
            timed_out = True
            for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):  # the group: children too
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            rc = proc.returncode
    seconds = time.perf_counter() - t0
    status = "timed out" if timed_out else ("ok" if rc == 0 else f"failed (exit {rc})")
    print(f"gpu-check: {name}: {status} in {seconds:.0f} s (log: {log})", flush=True)
    if status != "ok":
        tail = log.read_text(errors="replace").splitlines()[-25:]
        print("\n".join(f"    {line}" for line in tail), flush=True)
    return {"command": cmd, "log": str(log), "returncode": rc, "timed_out": timed_out, "seconds": seconds,
            "status": status}  # fmt: skip


def pytest_counts(xml_path: Path, log: Path) -> dict[str, Any]:
    """Counts from pytest's JUnit XML (the summary line of the log where there is none)."""
    counts: dict[str, Any] = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "deselected": None, "failures": []}
    text = log.read_text(errors="replace") if log.exists() else ""
    m = re.search(r"(\d+) deselected", text)
    if m:
        counts["deselected"] = int(m.group(1))
    if xml_path.exists():
        try:
            root = ET.parse(xml_path).getroot()
            suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
            for s in suites:
                tests, fail = int(s.get("tests", 0)), int(s.get("failures", 0))
                err, skip = int(s.get("errors", 0)), int(s.get("skipped", 0))
                counts["failed"] += fail
                counts["errors"] += err
                counts["skipped"] += skip
                counts["passed"] += tests - fail - err - skip
            for case in root.iter("testcase"):
                if case.find("failure") is not None or case.find("error") is not None:
                    counts["failures"].append(f"{case.get('classname')}::{case.get('name')}")
            counts["source"] = "junit"
            return counts
        except (ET.ParseError, ValueError):
            pass
    lines = [ln for ln in text.splitlines() if re.search(r"\d+ (passed|failed|skipped|error)", ln)]  # last summary
    for n, what in re.findall(r"(\d+) (passed|failed|skipped|errors?)", lines[-1] if lines else ""):
        key = "errors" if what.startswith("error") else what
        counts[key] += int(n)
    counts["source"] = "log"
    return counts


# ---- the report ---------------------------------------------------------------------------------


def _x(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}x"


def _mib(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def sine_layer_section(stage: dict, data: Any) -> list[str]:
    out = ["### Fused sine layer (`sine_layer.py`)", ""]
    out.append(f"Command: `python {_cmd(stage)}`; status: {stage['status']} ({stage['seconds']:.0f} s).")
    if not data or not data.get("sizes"):
        return out + ["", "No figures (see the log)."]
    out += [
        "",
        f"SIREN {' -> '.join(map(str, data['widths']))} (omega_0 = {data['omega_0']:g}), float32 parameters; one "
        "step = forward, `mean(out ** 2)`, gradients of all parameters; median of "
        f"{data['repeats']} interleaved runs after warm-up. Baseline: the **eager composite** "
        "(`torch.sin(30 * F.linear(h, W, b))`) in the same run. `op` is `neuralfields.kernels.sine_layer` "
        "(the fused Triton kernel on CUDA), `(tf32x3)` etc. its `precision`; peak memory is "
        "`torch.cuda.max_memory_allocated()` during one step above what was allocated before it.",
    ]
    for size in data["sizes"]:
        out += [
            "",
            f"**{size['points']:,} coordinates**",
            "",
            "| contestant | fwd+bwd (ms) | step time vs eager composite | forward (ms) | forward time vs eager "
            "composite | peak step memory (MiB) | vs eager composite | saved activations (MiB) | first call (s) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in size["rows"]:
            peak = None if r["peak_step_bytes"] is None else r["peak_step_bytes"] / 2**20
            saved = None if r["saved_bytes"] is None else r["saved_bytes"] / 2**20
            out.append(
                f"| {r['name']} | {r['step_s'] * 1e3:.3f} | {_x(r['step_vs_baseline'])} | {r['forward_s'] * 1e3:.3f} "
                f"| {_x(r['forward_vs_baseline'])} | {_mib(peak)} | {_x(r.get('peak_vs_baseline'))} | {_mib(saved)} "
                f"| {r['first_call_s']:.1f} |"
            )
    return out


def _train_step_normalise(data: Any, cmd: list[str]) -> dict | None:
    """The CUDA JSON is a dict; the CPU one (dry runs) a list whose first row is the matmul rate."""
    if isinstance(data, list) and data:
        args, quick = _args(cmd), "--quick" in cmd
        return {"matmul_gflops": data[0].get("gflops"), "step_gflop": data[0].get("step_gflop"), "rows": data[1:],
                "size": int(args.get("--size", 64 if quick else 256)),
                "steps": int(args.get("--steps", 2 if quick else 10))}  # fmt: skip
    return data if isinstance(data, dict) else None


def train_step_section(stage: dict, data: Any) -> list[str]:
    out = ["### One full-batch training step (`train_step.py`)", ""]
    out.append(f"Command: `python {_cmd(stage)}`; status: {stage['status']} ({stage['seconds']:.0f} s).")
    data = _train_step_normalise(data, stage["command"])
    rows = [r for r in (data or {}).get("rows", []) if "error" not in r]
    if not rows:
        return out + ["", "No figures (see the log)."]
    ref = next((r for r in rows if r["name"] == "reference"), None)
    base = ref or rows[0]
    size = data.get("size", 256)
    steps = data.get("steps")
    out += [
        "",
        f"`camera` {size}x{size} ({size * size:,} coordinates), SIREN 2 -> 256 -> 256 -> 256 -> 1, float32 (TF32 "
        f"off), Adam, full batch; each contestant in its own process; median of {steps or 'the'} steps after "
        "warm-up, the device synchronised around each step. Peak memory: `torch.cuda.max_memory_allocated()` "
        "over the warm-up and timed steps above what was allocated before the first (model, data). Baseline: "
        f"**{base['name']}**, measured in the same run.",
    ]
    if data.get("matmul_gflops"):
        out += ["", f"Matrix-product rate (`(N, 256) @ (256, 256)`, float32): {data['matmul_gflops']:.0f} GFLOP/s; "
                    f"a step's matrix products: {data['step_gflop']:.1f} GFLOP."]  # fmt: skip
    out += [
        "",
        f"| contestant | step (ms) | step time vs {base['name']} | speed-up | of matmul rate | peak memory above "
        f"baseline (MiB) | memory vs {base['name']} |",
        "|---|---|---|---|---|---|---|",
    ]
    flops = (data.get("step_gflop") or 0) * 1e9
    for r in (data or {}).get("rows", []):
        label = TRAIN_STEP_LABELS.get(r["name"], r["name"])
        if "error" in r:
            out.append(f"| {label} | failed: {r['error']} | | | | | |")
            continue
        ratio = r["step_s"] / base["step_s"]
        frac = flops / r["step_s"] / 1e9 / data["matmul_gflops"] if flops and data.get("matmul_gflops") else None
        mem = r["peak_growth_mib"] / base["peak_growth_mib"] if base["peak_growth_mib"] > 0 else None
        out.append(
            f"| {label} | {r['step_s'] * 1e3:.3f} | {ratio:.2f}x | {1 / ratio:.2f}x | "
            f"{'n/a' if frac is None else f'{frac:.0%}'} | {_mib(r['peak_growth_mib'])} | {_x(mem)} |"
        )
    return out


def fit_many_section(stage: dict, data: Any) -> list[str]:
    out = ["### Fitting many fields at once (`fit_many.py`)", ""]
    out.append(f"Command: `python {_cmd(stage)}`; status: {stage['status']} ({stage['seconds']:.0f} s).")
    if not data:
        return out + ["", "No figures (see the log)."]
    args = _args(stage["command"])
    quick = "--quick" in stage["command"]
    if quick:
        n, size, steps = "4", "16", "5"
    else:
        n, size, steps = args.get("--n", "64"), args.get("--size", "32"), args.get("--steps", "100")
    out += [
        "",
        f"{n} crops of {size}x{size} (grey), SIREN with 3 sine layers, {steps} full-batch steps each, default "
        "learning rate and schedule; `nf.fit_many` on all images at once against `nf.fit` on each image in turn "
        "(the baseline), in the same run, after a warm-up of both. Throughput ratio: sequential time / "
        "fit_many time. Peak memory: `torch.cuda.max_memory_allocated()` above the allocation before each.",
        "",
        "| width | fit_many (s) | sequential `nf.fit` (s) | throughput vs sequential | images x steps / s, fit_many / "
        "sequential | PSNR fit_many / sequential (dB) | peak memory fit_many / sequential (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in data:
        out.append(
            f"| {r['width']} | {r['fit_many_s']:.2f} | {r['sequential_s']:.2f} | **{r['ratio']:.1f}x** | "
            f"{r['fit_many_images_steps_per_s']:.0f} / {r['sequential_images_steps_per_s']:.0f} | "
            f"{r['fit_many_mean_psnr']:.2f} / {r['sequential_mean_psnr']:.2f} | "
            f"{_mib(r.get('fit_many_peak_mib'))} / {_mib(r.get('sequential_peak_mib'))} |"
        )
    return out


def _args(cmd: list[str]) -> dict[str, str]:
    return {a: b for a, b in zip(cmd, cmd[1:]) if a.startswith("--")}


def _cmd(stage: dict) -> str:
    parts = []
    for c in stage["command"][1:]:
        p = Path(c)
        parts.append(str(p.relative_to(ROOT)) if p.is_absolute() and str(p).startswith(str(ROOT)) else c)
    return " ".join(parts)


def write_report(out_dir: Path, report: dict) -> None:
    info = report["environment"]
    dev = info["device_name"]
    if info["device"] == "cuda":
        dev += f" ({info['memory_gib']} GiB, compute capability {info['capability']}, {info['multiprocessors']} SMs"
        dev += f", driver {info['driver']})" if info.get("driver") else ")"
    argv = "".join(f" {a}" for a in report["argv"])
    md = [
        f"## GPU check (`make gpu-check`): {info['device_name']}",
        "",
        f"- Date: {info['date']}. Device: {dev}; torch {info['torch']} (CUDA {info['cuda']}"
        + (f", cuDNN {info['cudnn']}" if info.get("cudnn") else "")
        + f"), Triton {info['triton'] or 'not installed'}; Python {info['python']}; host: {info['host_cpus']} CPU "
        "cores.",
        f"- Command: `python benchmarks/gpu_check.py{argv}` (what `make gpu-check` runs); one run, stages one "
        f"after another; {report['seconds']:.0f} s in all.",
    ]
    if report.get("quick"):
        md.append("- **`--quick` smoke run: sizes too small for the figures to mean anything.**")
    if info["device"] != "cuda":
        md.append("- **Dry run of the driver on the CPU (`--device cpu`): these are not GPU figures.**")
    stages = report["stages"]
    if "tests" in stages:
        t, c = stages["tests"], stages["tests"]["counts"]
        md.append(
            f"- CUDA tests (`pytest -m cuda -q -p no:cacheprovider tests/`): **{c['passed']} passed**, "
            f"{c['failed']} failed, {c['errors']} errors, {c['skipped']} skipped ({t['status']}, {t['seconds']:.0f} s)."
        )
        if c["failures"]:
            md.append("  Failing: " + ", ".join(f"`{f}`" for f in c["failures"][:10])
                      + (f" and {len(c['failures']) - 10} more" if len(c["failures"]) > 10 else "") + ".")  # fmt: skip
    sections = {"sine_layer": sine_layer_section, "train_step": train_step_section, "fit_many": fit_many_section}
    for name, section in sections.items():
        if name in stages:
            md += [""] + section(stages[name], stages[name].get("results"))
    md.append("")
    (out_dir / "gpu_check.md").write_text("\n".join(md))
    (out_dir / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str))


# ---- main ---------------------------------------------------------------------------------------


def stage_command(name: str, out_dir: Path, device: str, quick: bool) -> list[str]:
    py = sys.executable
    if name == "tests":
        return [py, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider",
                f"--junitxml={out_dir / 'pytest-cuda.xml'}", "tests/"]  # fmt: skip
    script = str(BENCH / f"{name}.py")
    cmd = [py, script, "--device", device, "--json", str(out_dir / f"{name}.json")]
    if quick or device == "cpu":
        cmd.append("--quick")
    if name == "sine_layer":
        if not quick and device == "cuda":
            cmd += ["--points", *SINE_POINTS, "--repeats", "10", "--no-max-autotune", "--no-compiled-precisions"]
        if device == "cpu":
            cmd.append("--no-compile")
    elif name == "train_step":
        cmd += ["--child-timeout", "90"]
        if device == "cpu":  # the dry run: no compiled contestants (tens of seconds each on a small CPU)
            cmd += ["--only", "reference", "nf-default", "nf-handwritten", "nf-fused"]
    return cmd


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/gpu-check", help="output folder (default out/gpu-check)")
    parser.add_argument("--quick", action="store_true", help="smoke run: every benchmark at tiny sizes")
    parser.add_argument("--only", nargs="+", choices=STAGES, default=None, help="run only these stages")
    parser.add_argument("--budget", type=float, default=540, help="seconds for the whole run (default 540)")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                        help="cuda (default); cpu is a dry run of the driver itself")  # fmt: skip
    args = parser.parse_args()
    t_start = time.perf_counter()

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu-check: skipped, no CUDA device")
        return 0
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    info = device_info(args.device)
    if args.device == "cpu":
        print("gpu-check: DRY RUN on the CPU (--device cpu): checks the driver; these are not GPU figures")
    extra = f" ({info['memory_gib']} GiB, compute capability {info['capability']})" if args.device == "cuda" else ""
    print(f"gpu-check: device {info['device_name']}{extra}")
    driver = f", driver {info['driver']}" if info.get("driver") else ""
    print(f"gpu-check: torch {info['torch']}, Triton {info['triton'] or 'not installed'}, CUDA {info['cuda']}"
          f"{driver}, Python {info['python']}", flush=True)  # fmt: skip
    report: dict[str, Any] = {"environment": info, "argv": sys.argv[1:], "quick": args.quick, "stages": {},
                              "seconds": 0.0}  # fmt: skip
    failed = False
    todo = [s for s in STAGES if not args.only or s in args.only]
    for i, name in enumerate(todo):
        left = args.budget - (time.perf_counter() - t_start)
        limit = min(LIMITS[name], left - RESERVE * (len(todo) - i - 1))
        cmd = stage_command(name, out_dir, args.device, args.quick)
        if limit < 20:
            stage = {"command": cmd, "status": "not run (out of --budget)", "seconds": 0.0, "returncode": None}
            print(f"gpu-check: {name}: not run, {left:.0f} s of --budget left", flush=True)
            failed = True
        else:
            if name == "tests":
                (out_dir / "pytest-cuda.xml").unlink(missing_ok=True)
            else:
                (out_dir / f"{name}.json").unlink(missing_ok=True)
            stage = run_stage(name, cmd, out_dir / f"{name}.log", limit)
            if name == "tests":
                stage["counts"] = pytest_counts(out_dir / "pytest-cuda.xml", out_dir / f"{name}.log")
                # exit 5: nothing collected; that is a failure of the check too (the marker went missing)
                failed |= stage["returncode"] != 0
            else:
                stage["results"] = _load(out_dir / f"{name}.json")
                failed |= stage["status"] != "ok"
        if name == "tests" and "counts" not in stage:
            stage["counts"] = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}
        report["stages"][name] = stage
        report["seconds"] = time.perf_counter() - t_start
        write_report(out_dir, report)
    report["ok"] = not failed
    write_report(out_dir, report)
    print(f"gpu-check: {'done' if not failed else 'FAILED'} in {report['seconds']:.0f} s; "
          f"report: {out_dir / 'gpu_check.md'}\n")  # fmt: skip
    print((out_dir / "gpu_check.md").read_text())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
