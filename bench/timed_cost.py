"""The cost of timed mode: timed over functional time on the same program.

    python bench/timed_cost.py [--repeat R] [--scale S] [--callgrind] [--only NAME ...]

Runs the scalar kernels of bench/emu_speed.py (loop nest, memcpy, crc32) in
both modes on the generic preset at VLEN 256 and prints, side by side, the
best-of-R wall time of each mode (the runs alternate, so load on a shared
host hits both alike) and their ratio.  With --callgrind (needs valgrind) it
also counts the host instructions executed inside rv_run in each mode, which
are exact and independent of load: the honest ratio on a busy machine.
The issue's budget is 3x.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))   # this checkout's rvai
sys.path.insert(0, str(HERE))
import emu_speed  # noqa: E402
from rvai.emu import Machine  # noqa: E402

#: kernel name prefix -> argument (about 2-10 million instructions each at scale 1)
KERNELS = {"loop": 4, "memcpy": 400, "crc": 10}


def run_once(exe: Path, arg: int, timed: bool) -> float:
    """Wall seconds of one run of exe in one mode."""
    m = Machine(vlen=256, timed=timed, budget=1 << 40)
    t0 = time.perf_counter()
    m.run([str(exe), str(arg)], program=str(exe))
    return time.perf_counter() - t0


def host_instructions(exe: Path, arg: int, timed: bool) -> int:
    """Host instructions executed inside rv_run (callgrind), one run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        code = ("import sys; sys.path.insert(0, %r); from rvai.emu import Machine; "
                "Machine(vlen=256, timed=%r, budget=1 << 40).run([%r, %r], program=%r)"
                % (str(HERE.parent), timed, str(exe), str(arg), str(exe)))
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--toggle-collect=rv_run",
                        sys.executable, "-c", code], check=True, capture_output=True)
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def main(argv=None) -> int:
    """Print timed/functional cost per kernel; 1 when a needed tool is missing, else 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="best of this many runs of each mode")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply each kernel's argument")
    ap.add_argument("--callgrind", action="store_true", help="also count host instructions under valgrind")
    ap.add_argument("--only", nargs="*", help="kernels whose name starts with these")
    args = ap.parse_args(argv)
    if not emu_speed.GCC:
        print("needs riscv64-linux-gnu-gcc", file=sys.stderr)
        return 1
    if args.callgrind and not shutil.which("valgrind"):
        print("--callgrind needs valgrind", file=sys.stderr)
        return 1
    head = f"{'kernel':8} {'functional s':>12} {'timed s':>9} {'ratio':>6}"
    if args.callgrind:
        head += f" {'functional Ir':>14} {'timed Ir':>14} {'ratio':>6}"
    print(head)
    with tempfile.TemporaryDirectory() as tmp:
        for prefix, arg in KERNELS.items():
            if args.only and not any(prefix.startswith(o) for o in args.only):
                continue
            bench = next(b for b in emu_speed.BENCHES if b.name.startswith(prefix))
            exe = emu_speed.build(bench, Path(tmp))
            arg = max(1, round(arg * args.scale))
            best = {False: float("inf"), True: float("inf")}
            for _ in range(args.repeat):   # alternate the modes so both see the same load
                for timed in (False, True):
                    best[timed] = min(best[timed], run_once(exe, arg, timed))
            line = f"{prefix:8} {best[False]:12.3f} {best[True]:9.3f} {best[True] / best[False]:5.2f}x"
            if args.callgrind:
                f, t = host_instructions(exe, arg, False), host_instructions(exe, arg, True)
                line += f" {f:14,d} {t:14,d} {t / f:5.2f}x"
            print(line, flush=True)
    print(f"(host: {os.cpu_count()} cores; budget: timed at most 3x functional)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
