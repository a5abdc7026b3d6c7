"""int8 (IME, Zvqdotq, plain RVV), Q8_0, bf16 and f32 GEMM side by side on the timing model.

For each preset and shape (M, K, N), one run of each kernel through ``rvai.ops`` on a
fresh machine, in ops per cycle (2MNK / cycles; a multiply-add is two ops) and as a
ratio to the plain-RVV int8 kernel:
  * ``int8 ime``   -- ``matmul_int8(path="ime")``: ``rl.mma`` tiles; one ``smt.vmadot`` per
                      4x4x8 tile on spacemit-x60, the gather-based vector lowering elsewhere.
  * ``int8 dot4``  -- ``path="dot4"``: ``vqdot.vx`` with Zvqdotq (xuantie-c930), else the
                      plain-RVV lowering of ``rl.dot4`` (shifts + ``vmacc``).
  * ``int8 rvv``   -- ``path="wmacc"``: ``vwmacc.vx``, plain RVV 1.0.
  * ``q8_0``       -- ``linear`` with Q8_0 weights (int8 blocks of 32 + scales): the
                      kernel quantises the activations (ggml's reference quantiser, into
                      the GEMM's A layout) and runs the int8 GEMM, both counted.
  * ``q8_0 gemm``  -- the same kernel again on the activations it quantised, quantiser
                      skipped (``QUANTIZE=False``): the GEMM alone (its A is then cold in
                      the caches, which the quantiser had warmed). ``quant`` is the cycles
                      of the quantiser alone (the kernel with no weight rows) over ``q8_0``'s.
  * ``bf16``       -- ``linear`` with bf16 weights (``vfwmaccbf16.vf`` with Zvfbfwma).
  * ``f32``        -- ``linear`` with f32 weights.
Weights are packed by NumPy before the call (the ``ime`` path also tiles A in NumPy);
int results are checked to equal NumPy's, float ones against float64 within their bounds.

    python bench/int8_gemm.py [--targets spacemit-x60 xuantie-c930 generic] [--quick]
"""
from __future__ import annotations

import argparse
import dataclasses
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


def rows(target: Target, m: int, k: int, n: int, quant: list) -> dict[str, int]:
    """Cycles of each kernel at (m, k, n), each result checked; ``quant[0]`` is set to the
    Q8_0 quantiser's share of the q8_0 cycles."""
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
        if dtype == "q8_0":
            out["q8_0 gemm"] = _q8_gemm_alone(x, packed, target, got["y"])
            empty = dataclasses.replace(packed, panels=packed.panels[:0], scales=packed.scales[:0], n=0)
            scratch = ops._q8_scratch(x, empty.path, ops._q8_tile(target))
            none = np.zeros((m, 0), np.float32)
            quant[0] = measure(lambda: ops._q8_gemm(scratch, empty, none, target, "emu", None, True, {})) / out["q8_0"]
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


def _q8_gemm_alone(x, packed, target: Target, y) -> int:
    """Cycles of the Q8_0 kernel without its quantiser, on the activations it quantised."""
    scratch = ops._q8_scratch(x, packed.path, ops._q8_tile(target))
    first, again = (np.zeros((x.shape[0], packed.n), np.float32) for _ in range(2))
    ops._q8_gemm(scratch, packed, first, target, "emu", None, True, {})       # fills xq, xs
    ops._q8_gemm(scratch, packed, again, target, "emu", None, False, {})
    assert np.array_equal(first, y) and np.array_equal(again, y)
    return ops.last_run.cycles


COLUMNS = ("int8 ime", "int8 dot4", "int8 rvv", "q8_0", "q8_0 gemm", "bf16", "f32")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=PRESETS[:2], choices=PRESETS)
    ap.add_argument("--quick", action="store_true", help="one small shape")
    args = ap.parse_args()
    start = time.time()
    for preset in args.targets:
        target = Target.preset(preset)
        print(f"\n{preset} (VLEN {target.vlen}; int8 default path: {ops.int8_path(target)})")
        print(f"{'M x K x N':>16} " + " ".join(f"{h:>10}" for h in COLUMNS) + "   ime/rvv  quant")
        for m, k, n in QUICK if args.quick else SHAPES:
            quant = [0.0]
            cyc = rows(target, m, k, n, quant)
            ops_per_cycle = {name: 2 * m * n * k / c for name, c in cyc.items()}
            print(f"{f'{m} x {k} x {n}':>16} " + " ".join(f"{ops_per_cycle[c]:10.1f}" for c in COLUMNS)
                  + f"   {cyc['int8 rvv'] / cyc['int8 ime']:6.2f}x  {quant[0]:5.1%}")
    print(f"\n(ops per cycle, 2MNK / cycles; {time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
