"""What a timed run's profile costs to make and to read, this checkout against another.

    python bench/profile_cost.py [--base DIR] [--repeat R]

Two programs, each run timed in a fresh child process of each checkout (this one,
and ``--base``'s if given; bench/first_call.py's children: in /tmp, the checkout first on
``sys.path`` and checked to be the rvai imported), the children alternating R times,
each round in the other order:

- ``glibc``: a static C program (snprintf, strtod, strlen and printf in a loop,
  built with riscv64-linux-gnu-gcc -O2 -static; skipped without it), run with
  ``Machine.run``: thousands of counted pcs over a table of ~1,500 symbols;
- ``attention``: a timed causal ``ops.attention`` on xuantie-c930 (bench/timed_cost.py's,
  at a quarter of its size), warm: ~3,000 counted pcs in one kernel.

Printed per program and checkout, in milliseconds of the child's thread CPU (median
of R): ``Machine.profile()`` (what every timed ops call pays: ``rvai.ops.last_run``
keeps one) and then reading the report (``Profile.text()``: the hot loops' code,
the symbols); with --base, this checkout's time over the base's.  Each child prints
digests of the profile's counts (``Profile.counted``), on which the checkouts must
agree, and of its report's text, whose difference is only said.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import first_call  # noqa: E402

GLIBC_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    char buf[256]; double s = 0;
    for (int i = 0; i < 2000; i++) { snprintf(buf, sizeof buf, "%d %f", i, i * 0.5); s += strtod(buf + 2, 0) + strlen(buf); }
    printf("%f\n", s);
    return 0;
}
"""

#: The child (first_call.CHECKOUT: argv[1] the checkout, checked to be the rvai imported;
#: argv[2] the program): runs it timed, prints "<profile s> <text s> <counts' digest> <text's digest>".
CHILD = first_call.CHECKOUT + r"""
import hashlib, time
program = sys.argv[2]
if program == "attention":
    import timed_cost
    from rvai import ops
    from rvai.emu import machine
    from rvai.target import Target
    fn = timed_cost.dsl_call("attention", Target.preset("xuantie-c930"), 0.25)
    fn()   # compiled, cached
    spent = []
    made = machine.Machine.profile
    def timed_profile(self):
        t0 = time.thread_time()
        try:
            return made(self)
        finally:
            spent.append(time.thread_time() - t0)
    machine.Machine.profile = timed_profile
    fn()
    prof, made_s = ops.last_run.profile, spent[-1]
else:
    from rvai.emu import Machine
    m = Machine(vlen=256, timed=True, budget=1 << 40)
    m.run([program], program=program)
    t0 = time.thread_time()
    prof = m.profile()
    made_s = time.thread_time() - t0
t0 = time.thread_time()
text = prof.text(loops=3)
read_s = time.thread_time() - t0
checked(0)
digest = lambda x: hashlib.sha256(repr(x).encode()).hexdigest()[:16]
print(made_s, read_s, digest(sorted(prof.counted().items())), digest(text))
"""


def child(root: str, program: str, cache: str) -> tuple[float, float, str, str]:
    """(profile s, text s, digest of the counts, digest of the report) of one
    fresh child of checkout ``root`` (first_call.fresh: in /tmp, kernels in ``cache``)."""
    out = first_call.fresh(CHILD, [root, program], cache)["out"].split()
    return float(out[0]), float(out[1]), out[2], out[3]


def main(argv=None) -> int:
    """Print the table; 1 when the checkouts' counts differ."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, help="another checkout to compare with")
    ap.add_argument("--repeat", type=int, default=7, help="children per checkout and program")
    args = ap.parse_args(argv)
    roots = {"this": str(HERE.parent)} | ({"base": str(args.base.resolve())} if args.base else {})
    with tempfile.TemporaryDirectory() as tmp:
        programs = ["attention"]
        if shutil.which("riscv64-linux-gnu-gcc"):
            src, exe = Path(tmp, "p.c"), Path(tmp, "p")
            src.write_text(GLIBC_C)
            subprocess.run(["riscv64-linux-gnu-gcc", "-O2", "-static", "-o", str(exe), str(src)], check=True)
            programs.insert(0, str(exe))
        else:
            print("(glibc program skipped: it needs riscv64-linux-gnu-gcc)")
        print(f"thread CPU in ms, median of {args.repeat} fresh children per checkout")
        print(f"{'program':<11}{'checkout':<10}{'profile()':>11}{'text()':>9}" + ("   this/base" if args.base else ""))
        status = 0
        for program in programs:
            runs = {name: [] for name in roots}
            for i in range(args.repeat):
                for name in first_call.in_turn(roots, i):
                    runs[name].append(child(roots[name], program, str(Path(tmp, "cache"))))
            label = "attention" if program == "attention" else "glibc"
            med = {name: [statistics.median(r[i] for r in rs) for i in (0, 1)] for name, rs in runs.items()}
            for name in roots:
                ratio = "".join(f"  {med['this'][i] / med['base'][i]:5.3f}" for i in (0, 1)) \
                    if args.base and name == "this" else ""
                print(f"{label:<11}{name:<10}{1e3 * med[name][0]:11.2f}{1e3 * med[name][1]:9.2f}{ratio}")
            if len({r[2] for rs in runs.values() for r in rs}) != 1:
                print("  the counts differ")
                status = 1
            if len({r[3] for rs in runs.values() for r in rs}) != 1:
                print("  the reports' texts differ (expected where the change is to the report)")
    return status


if __name__ == "__main__":
    sys.exit(main())
