"""GEMM and GEMV spread over 1, 2, 4 and 8 harts of a many-hart preset: the speed-up
table, measured side by side in one run (docs/harts.md).

  * GEMM  -- ``rvai.ops.linear`` (M x K activations, N x K weights packed once): the
             grid kernel ``gemm_packed_grid``, one program a hart (panel groups, then
             row blocks). Compute-bound: it should scale close to linearly.
  * GEMV  -- ``rvai.ops.matmul`` of one row (1 x K @ K x N, B streamed from DRAM): the
             grid kernel ``gemv_rows_grid``, one block of N a hart. Memory-bound: it
             stops scaling once the harts together draw the preset's DRAM bandwidth.

Each row: cycles (the machine's: its latest hart), speed-up over 1 hart, efficiency
(speed-up / harts), FLOPs a cycle against the harts' peak, DRAM bytes a cycle against
the shared channel, the share of stall cycles the profile charges to contention, and
the profile's verdict (its busiest resource).  Every result is checked against
float64 NumPy.  The 1-hart rows run the single-program kernels (``gemm_packed``,
``gemv_rows``) on the same preset.

    python bench/harts.py [--target spacemit-k1] [--quick]
"""
from __future__ import annotations

import argparse

import numpy as np

from rvai import ops
from rvai.emu.profile import peak_flops_per_cycle
from rvai.target import Target


def _verdict(p) -> str:
    name, busy = max(p.bounds().items(), key=lambda kv: kv[1])
    return f"{name} {100 * busy:.0f}% busy"


def _row(label, harts, run, base, flops, peak_per_hart, bw):
    p = run.profile
    speed = base / run.cycles
    stalls = sum(p.stalls.values())
    cont = p.stalls.get("contention", 0) / stalls if stalls else 0.0
    dram = sum(p.dram_bytes.values()) / run.cycles
    print(f"{label:<5} {harts:>5} {run.cycles:>10} {speed:>8.2f}x {speed / harts:>6.0%} "
          f"{flops / run.cycles:>8.2f} / {peak_per_hart * harts:<5g} {dram:>6.2f} / {bw:<5g} {cont:>10.0%}   "
          f"{_verdict(p)}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="spacemit-k1")
    ap.add_argument("--quick", action="store_true", help="smaller shapes (for a smoke run)")
    args = ap.parse_args(argv)
    target = Target.preset(args.target)
    hart_counts = [h for h in (1, 2, 4, 8) if h <= max(target.harts, 1)]
    rng = np.random.default_rng(0)
    gemm = (112, 128, 256) if args.quick else (224, 128, 512)      # M, K, N
    gemv = (1, 512, 1024) if args.quick else (1, 1024, 2048)
    bw = target.model["dram_bytes_per_cycle"]
    peak = peak_flops_per_cycle(target.model)   # f32, one hart
    print(f"target {target.name}: {target.harts} harts, DRAM {bw:g} B/cycle shared")
    print(f"{'':<5} {'harts':>5} {'cycles':>10} {'speed-up':>9} {'eff':>6} {'FLOP/cycle (peak)':>16} "
          f"{'DRAM B/cycle':>14} {'contention':>10}   bound")

    def series(label, shape, call):
        """One row per hart count of ``call(a, b, harts)`` on random (M, K) and (K, N) inputs."""
        m, k, n = shape
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        base = None
        for h in hart_counts:
            assert np.allclose(call(a, b, h), ref, rtol=1e-4, atol=1e-3), f"{label} result differs from NumPy"
            run = ops.last_run
            base = base or run.cycles
            _row(label, h, run, base, 2 * m * k * n, peak, bw)

    packed = {}   # the GEMM's weights (N x K, as linear takes them) packed once
    series("GEMM", gemm, lambda a, b, h: ops.linear(
        a, packed.setdefault("w", ops.pack_weights(np.ascontiguousarray(b.T), target=target)), target=target, harts=h))
    series("GEMV", gemv, lambda a, b, h: ops.matmul(a, b, target=target, harts=h))
    print(f"GEMM {gemm[0]}x{gemm[1]}x{gemm[2]} (M x K x N), GEMV {gemv[1]}x{gemv[2]} (K x N), f32")


if __name__ == "__main__":
    main()
