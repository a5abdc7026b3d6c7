"""int8 (IME, Zvqdotq, plain RVV), Q8_0, bf16 and f32 GEMM side by side on the timing model.

For each preset and shape (M, K, N), one run of each kernel through ``rvai.ops`` on a
fresh machine, in ops per cycle (2MNK / cycles; a multiply-add is two ops) and as a
ratio to the plain-RVV int8 kernel:
  * ``int8 ime``   -- ``matmul_int8(path="ime")``: ``rl.mma`` tiles; one ``smt.vmadot`` per
                      4x4x8 tile on spacemit-x60, the gather-based vector lowering elsewhere.
  * ``int8 dot4``  -- ``path="dot4"``: ``vqdot.vx`` with Zvqdotq (xuantie-c930), else the
                      plain-RVV lowering of ``rl.dot4`` (shifts + ``vmacc``).
  * ``int8 rvv``   -- ``path="wmacc"``: ``vwmacc.vx``, plain RVV 1.0.
  * ``q8_0``       -- ``linear`` with Q8_0 weights (int8 blocks of 32 + scales; the
                      activations' quantisation runs in NumPy, outside the count).
  * ``bf16``       -- ``linear`` with bf16 weights (``vfwmaccbf16.vf`` with Zvfbfwma).
  * ``f32``        -- ``linear`` with f32 weights.
Weights are packed by NumPy before the call (the ``ime`` path also tiles A in NumPy);
int results are checked to equal NumPy's, float ones against float64 within their bounds.

    python bench/int8_gemm.py [--targets spacemit-x60 xuantie-c930 generic] [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from rvai import ops
from rvai.kernels.quant import from_bf16, to_bf16
from rvai.target import Target

PRESETS = ["spacemit-x60", "xuantie-c930", "generic"]
#: (M, K, N): Qwen2-0.5B's hidden size 896 as K, a prefill block of rows.
SHAPES = [(32, 896, 128), (64, 896, 256)]
QUICK = [(16, 256, 64)]


def measure(fn) -> int:
    """Cycles of the ``rvai.ops`` call ``fn`` makes (its last run)."""
    ops.last_run = None
    fn()
    return ops.last_run.cycles


def rows(target: Target, m: int, k: int, n: int) -> dict[str, int]:
    """Cycles of each kernel at (m, k, n), each result checked."""
    rng = np.random.default_rng(0)
    a8, b8 = rng.integers(-128, 128, (m, k)).astype(np.int8), rng.integers(-128, 128, (k, n)).astype(np.int8)
    exact = a8.astype(np.int64) @ b8.astype(np.int64)
    out = {}
    for name, path in (("int8 ime", "ime"), ("int8 dot4", "dot4"), ("int8 rvv", "wmacc")):
        got = {}
        out[name] = measure(lambda: got.setdefault("c", ops.matmul_int8(a8, b8, target=target, path=path)))
        assert np.array_equal(got["c"], exact), name
    x, w = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((n, k)).astype(np.float32)
    for name, dtype in (("q8_0", "q8_0"), ("bf16", "bf16"), ("f32", "f32")):
        packed = ops.pack_weights(w, target=target, dtype=dtype)
        got = {}
        out[name] = measure(lambda: got.setdefault("y", ops.linear(x, packed, target=target)))
        if dtype == "bf16":
            fx, fw = from_bf16(to_bf16(x)).astype(np.float64), from_bf16(to_bf16(w)).astype(np.float64)
        elif dtype == "q8_0":
            fx = ops.quantize_q8_0(x).dequantize().astype(np.float64)
            fw = ops.quantize_q8_0(w).dequantize().astype(np.float64)
        else:
            fx, fw = x.astype(np.float64), w.astype(np.float64)
        bound = (k + 2) * 2.0 ** -24 * (np.abs(fx) @ np.abs(fw).T) + 1e-30
        assert np.all(np.abs(got["y"] - fx @ fw.T) <= bound), name
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=PRESETS[:2], choices=PRESETS)
    ap.add_argument("--quick", action="store_true", help="one small shape")
    args = ap.parse_args()
    start = time.time()
    for preset in args.targets:
        target = Target.preset(preset)
        print(f"\n{preset} (VLEN {target.vlen}; int8 default path: {ops.int8_path(target)})")
        print(f"{'M x K x N':>16} " + " ".join(f"{h:>10}" for h in ("int8 ime", "int8 dot4", "int8 rvv", "q8_0",
                                                                    "bf16", "f32")) + "   ime/rvv")
        for m, k, n in QUICK if args.quick else SHAPES:
            cyc = rows(target, m, k, n)
            ops_per_cycle = {name: 2 * m * n * k / c for name, c in cyc.items()}
            print(f"{f'{m} x {k} x {n}':>16} " + " ".join(f"{v:10.1f}" for v in ops_per_cycle.values())
                  + f"   {cyc['int8 rvv'] / cyc['int8 ime']:8.2f}x")
    print(f"\n(ops per cycle, 2MNK / cycles; {time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
