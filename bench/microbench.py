"""Cycles per instruction on the timing model, the way public RVV instruction
tables are measured (rvai.microbench: rdcycle around unrolled independent
copies, vl = VLMAX, ta/ma), for instructions at LMUL 1/2/4/8.

    python bench/microbench.py [--target NAME] [--sew 32] [--masked] INSN...
    python bench/microbench.py --target spacemit-x60 vadd.vv vfmacc.vv vrgather.vv mul
"""
from __future__ import annotations

import argparse

from rvai.microbench import Cell, cycles_per_insn
from rvai.target import Target


def main(argv=None) -> None:
    """Print one row per instruction: cycles per instruction at each LMUL."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("insns", nargs="+", help="mnemonics (vector ones run at each LMUL; scalar ones once)")
    ap.add_argument("--target", default="generic")
    ap.add_argument("--sew", type=int, default=32)
    ap.add_argument("--masked", action="store_true", help="the v0.t form of vector instructions")
    args = ap.parse_args(argv)
    target = Target.preset(args.target)
    lmuls = (1, 2, 4, 8)
    print(f"{target.name}: cycles per instruction, e{args.sew}{' masked' if args.masked else ''}")
    print(f"{'instruction':16}" + "".join(f"{'m' + str(m):>9}" for m in lmuls))
    for insn in args.insns:
        if insn.startswith("v"):
            cells = [Cell(insn, args.sew, m, args.masked) for m in lmuls]
            print(f"{insn:16}" + "".join(f"{cycles_per_insn(target, c):9.2f}" for c in cells))
        else:
            print(f"{insn:16}{cycles_per_insn(target, Cell(insn)):9.2f}")


if __name__ == "__main__":
    main()
