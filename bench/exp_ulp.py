"""Max error of ``rvai.lang.exp_nonpositive`` (or ``exp_fast``) over every f32 input where exp is normal.

    python bench/exp_ulp.py [--exp accurate|fast] [--chunk-bits 22] [--stride 1]

Sweeps every f32 ``x`` in [-87.33, -0.0] (exp(x) >= 2**-126; about 1.12e9 values) through
the vector kernel in the emulator (functional mode, VLEN 256), in chunks, against
float64 ``np.exp``; prints the largest error in ulps of the f32 result, where it
occurs, and the share of inputs at each error (in ulps for the accurate exp; for the
fast one, whose error is hundreds of ulps, also the largest relative error).
``--stride N`` takes every N-th input (a quicker, partial sweep, said so in the output).
"""
import argparse
import time

import numpy as np

import rvai.lang as rl
from rvai.emu import Machine
from rvai.target import Target


#: The exps to sweep, by --exp.
EXPS = {"accurate": rl.exp_nonpositive, "fast": rl.exp_fast}


@rl.kernel
def exp_rows(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32], EXP: str = "accurate"):
    """o = exp(x) by the exp named EXP."""
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=2):
        o.vstore(EXPS[EXP](x.vload(i)), i)


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in ulps of want rounded to f32."""
    return np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)


def main(argv=None) -> float:
    """Run the sweep; return the max ulp error."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exp", choices=sorted(EXPS), default="accurate")
    ap.add_argument("--chunk-bits", type=int, default=22)
    ap.add_argument("--stride", type=int, default=1)
    args = ap.parse_args(argv)
    target = Target.preset("generic")
    compiled = exp_rows.compile(target, EXP=args.exp)
    m = Machine(target, vlen=256, timed=False)
    m.load_elf(compiled.elf)
    lo = np.float32(-87.33).view(np.uint32)          # 0xC2AEA8F6; -0.0 is 0x80000000
    first, last = np.uint32(0x80000000), lo
    n_chunk = 1 << args.chunk_bits
    xa, oa = m.alloc(4 * n_chunk, align=64), m.alloc(4 * n_chunk, align=64)
    scale = 1 if args.exp == "accurate" else 256       # the histogram's bins: 0.5 ulp, or 128 ulp
    worst, worst_x, worst_rel, hist, total = 0.0, None, 0.0, np.zeros(8, np.int64), 0
    t0 = time.time()
    for start in range(int(first), int(last) + 1, n_chunk * args.stride):
        bits = np.arange(start, min(start + n_chunk * args.stride, int(last) + 1), args.stride, dtype=np.uint64)
        x = bits.astype(np.uint32).view(np.float32)
        m.write(xa, x)
        m.call(compiled.name, xa, x.size, oa, x.size, ret=None)
        got = m.read(oa, np.float32, x.shape)
        want = np.exp(x.astype(np.float64))
        err = ulps(got, want)
        i = int(err.argmax())
        if err[i] > worst:
            worst, worst_x = float(err[i]), float(x[i])
        worst_rel = max(worst_rel, float(np.max(np.abs(got - want) / want)))
        hist += np.histogram(err, bins=np.arange(9) * 0.5 * scale)[0]
        total += x.size
    share = ", ".join(f"<={0.5 * scale * (k + 1):g}: {100 * hist[:k + 1].sum() / total:.4f}%" for k in range(8))
    partial = "" if args.stride == 1 else f" (every {args.stride}th input only)"
    name = EXPS[args.exp].__name__
    print(f"{name} over {total:,} f32 inputs in [-87.33, -0]{partial}: max {worst:.3f} ulp at x = {worst_x!r}, "
          f"max relative error {worst_rel:.3g} ({time.time() - t0:.0f} s)\ncumulative share by error (ulp): {share}")
    return worst


if __name__ == "__main__":
    main()
