"""The shipped presets against the per-instruction numbers they cite.

For each preset with a reference table in rvai/targets/measured/ (cycles per
instruction measured on silicon or taken from LLVM's scheduling model; each row
says which), it measures the same cells on the timing model with the
microbenchmark driver (rvai.microbench: rdcycle around unrolled independent
instructions at vl = VLMAX, the way the references were measured) and prints
measured vs model, the share of cells within ±10% and the worst rows -- what
``rvai calibrate`` prints after a fit. The last line is the cost of timed mode
against functional mode on a scalar loop.

    python bench/calibrate.py [--target NAME] [--worst N]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import rvai
from rvai.calibrate import compare, read_table, report
from rvai.emu import Machine
from rvai.emu.isa import assemble
from rvai.target import Target

CODE = 0x10000
MEASURED = Path(rvai.__file__).parent / "targets" / "measured"


def speed_ratio(target: Target, repeat: int = 5) -> float:
    """Timed over functional wall time on a scalar load/store/multiply loop: the
    best of `repeat` runs of each, the modes alternating so that load on a
    shared host slows both alike (bench/timed_cost.py measures whole kernels)."""
    prog = ["ld t1, 0(a0)", "add a2, a2, t1", "mul t2, t1, a2", "sd t2, 8(a0)", "addi a0, a0, 16",
            "andi a0, a0, 2047", "add a0, a0, a3", "addi a1, a1, -1", "bne a1, zero, -32", "jalr zero, 0(ra)"]
    machines = {}
    for timed in (False, True):
        m = Machine(target, timed=timed)
        m.map(CODE, 4096, "rx")
        m.write(CODE, np.array([assemble(t) for t in prog], dtype=np.uint32))
        machines[timed] = (m, m.alloc(8192, align=4096))
    best = {False: float("inf"), True: float("inf")}
    for _ in range(repeat):
        for timed, (m, buf) in machines.items():
            t0 = time.perf_counter()
            m.call(CODE, buf, 1_000_000, 0, buf)
            best[timed] = min(best[timed], time.perf_counter() - t0)
    return best[True] / best[False]


def main(argv=None) -> None:
    """Print each preset's cells beside its references, then the timed-mode cost."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default=None, help="one preset (default: every preset with a table)")
    ap.add_argument("--worst", type=int, default=10, help="how many of the worst rows to list")
    args = ap.parse_args(argv)
    names = [args.target] if args.target else sorted(p.stem for p in MEASURED.glob("*.csv"))
    for name in names:
        table = MEASURED / f"{name}.csv"
        if not table.exists():
            raise SystemExit(f"no reference table for {name!r} in {MEASURED}")
        print(report(compare(Target.preset(name), read_table(table)), f"== {name} vs {table.name}",
                     worst=args.worst))
        print()
    target = Target.preset(args.target or "generic")
    print(f"timed / functional wall time on a scalar loop ({target.name}): {speed_ratio(target):.2f}x")


if __name__ == "__main__":
    main()
