"""Where causal GQA attention leaves the FP pipes idle: the gaps between consecutive operations
on each FP pipe unit, summed by the source lines of the operation before and after the gap.

    python bench/attention_gaps.py [--preset xuantie-c930] [--heads 14,2,64] [--lq 128] [--lk 128] [--top 15]

Runs :data:`rvai.kernels.attention` (prefill: K transposed) with the configuration
``rvai.ops.attention`` would take for Lq = Lk = ``--lk`` on the preset (the shipped tuned one,
else its default), checked against float64 NumPy, and reads the vector pipes' trace
(``Profile.trace``: the first 65,536 vector operations only). A ``--lq`` below ``--lk`` keeps
the tuned configuration but runs the last queries alone (bottom-right causal: every tile then
sees nearly all the keys), so that the trace's window holds tiles of many chunks rather than
the first, short ones. Prints the idle unit-cycles by (line before, line after), largest first:
a gap between two lines of one loop is idle inside it, between two parts one part waiting for
the other.
"""
from __future__ import annotations

import collections
import linecache
import math
import os

import numpy as np

from attention import reference   # bench/attention.py, beside this script
from attention_whatif import case, case_arguments
from rvai import kernels


def kernel_start(run) -> int:
    """The address of the kernel's first instruction, from the profile's symbols (``name+0x..``)."""
    for pc, symbol in run.profile.symbols.items():
        name, _, offset = symbol.partition("+")
        if name == run.compiled.name:
            return pc - (int(offset, 16) if offset else 0)
    raise LookupError(f"no symbol of {run.compiled.name} in the profile")


def source_line(run, start: int, pc: int) -> tuple[str, int] | None:
    """The source (file, line) of the kernel's instruction at ``pc`` (None where unknown)."""
    src, _ = run.compiled.source_at(pc - start)
    return src


def gaps(run) -> tuple[collections.Counter, int]:
    """Idle unit-cycles of the FP pipes between consecutive operations, by the source lines
    (file, line) before and after, and the traced span in unit-cycles."""
    fp = sorted(e for e in run.profile.trace if e[4] == "fp")
    units = sorted({e[5] for e in fp})
    start = kernel_start(run)
    idle = collections.Counter()
    for u in units:
        ops = [e for e in fp if e[5] == u]
        for a, b in zip(ops, ops[1:]):
            if b[0] > a[1]:
                idle[(source_line(run, start, a[2]), source_line(run, start, b[2]))] += b[0] - a[1]
    span = (max(e[1] for e in fp) - fp[0][0]) * len(units)
    return idle, span


def main(argv=None) -> collections.Counter:
    """Print the largest gaps; return them all."""
    ap = case_arguments(__doc__)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    target, cfg, q, k, v = case(args, config_lq=args.lk)
    h, kv, d = q.shape[0], k.shape[0], q.shape[2]
    q_s, o_s, p, k_t = kernels.attention_scratch(d, args.lk, cfg.get("BM", 7), cfg.get("LMUL", 4), target.vlen, True)
    o = np.zeros_like(q)
    run = kernels.attention(q, k, v, o, q_s, o_s, p, k_t, 1 / math.sqrt(d), CAUSAL=True, TRANSPOSE_K=True, **cfg,
                            target=target)
    np.testing.assert_allclose(o, reference(q, k, v), rtol=1e-4, atol=2e-5)
    idle, span = gaps(run)
    print(f"{args.preset}, {h}/{kv} heads, d {d}, Lq {args.lq}, Lk {args.lk}, {run.cycles:,} cycles, "
          + " ".join(f"{n}={c}" for n, c in sorted(cfg.items())))
    print(f"traced span {span:,} FP unit-cycles, idle {sum(idle.values()):,} "
          f"({100 * sum(idle.values()) / span:.1f} %)")
    for (a, b), n in idle.most_common(args.top):
        print(f"{n:>8,} {100 * n / span:5.1f} %  {where(a):>18} -> {where(b):18}  {text(a):48} | {text(b)}")
    return idle


def where(src: tuple[str, int] | None) -> str:
    """``file:line`` of a source line, the file's name without its folders."""
    return f"{os.path.basename(src[0])}:{src[1]}" if src else "?"


def text(src: tuple[str, int] | None) -> str:
    """The start of a source line's text."""
    return linecache.getline(src[0], src[1]).strip()[:48] if src else ""


if __name__ == "__main__":
    main()
