"""Would the field solver gain from the hand-written SIREN step? One iteration of a field solve, side by side.

The inverse-problem field solver (``FieldSolver``: one SIREN per image, batched parameters) trains through
autograd. This script times, in one run, for batched SIRENs of 3 sine layers of 64 (``first_omega_0=10``)
on full pixel grids:

- ``autograd``: the solver's step today (forward with a graph, squared error, backward);
- ``fast``: the batched hand-written step (``neuralfields.training.accumulate_mse_grad``);
- ``fast+render``: that step plus the no-grad forward of the whole image the solver needs every iteration
  for its stopping rules (kept iterates, residuals, snapshots).

Best of 3 rounds of 20 iterations each, the contestants interleaved. Usage::

    python benchmarks/field_solver_step.py [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

import neuralfields as nf
from neuralfields.training import accumulate_mse_grad

CASES = [(16, 8), (4, 64), (2, 128)]  # (images, side)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# field solver step, SIREN 3x64, {args.threads} threads; best of 3 x 20 iterations")
    print("| images x pixels | autograd (ms) | fast (ms) | fast + render (ms) | autograd / fast | autograd / (fast + render) |")
    print("|---|---|---|---|---|---|")
    for b, side in CASES:
        net = nf.Siren(2, 1, 64, 3, first_omega_0=10.0, seed=0)
        params = net.batch_parameters(b)
        coords = nf.grid.make_grid((side, side)).reshape(1, -1, 2).expand(b, -1, -1)
        y = torch.rand(b, side * side, 1, generator=torch.Generator().manual_seed(0))

        def autograd() -> None:
            x = nf.fields.to_unit(net.forward_batched(params, coords))
            ((x - y) ** 2).sum().backward()

        def fast() -> None:
            accumulate_mse_grad(net, coords, y * 2 - 1, 8.0, params=params)

        def fast_render() -> None:
            fast()
            with torch.no_grad():
                net.forward_batched(params, coords)

        times: dict[str, list[float]] = {}
        for _ in range(3):
            for name, fn in (("autograd", autograd), ("fast", fast), ("fast+render", fast_render)):
                for p in params.values():
                    p.grad = None
                fn()  # warm-up
                t0 = time.perf_counter()
                for _ in range(20):
                    for p in params.values():
                        p.grad = None
                    fn()
                times.setdefault(name, []).append((time.perf_counter() - t0) / 20)
        a, f, r = (1000 * min(times[k]) for k in ("autograd", "fast", "fast+render"))
        print(f"| {b} x {side}x{side} | {a:.2f} | {f:.2f} | {r:.2f} | {a / f:.2f} | {a / r:.2f} |")


if __name__ == "__main__":
    main()
