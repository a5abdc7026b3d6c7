"""Measure the timing model with microbenchmarks and print the numbers beside
what the preset intends.

For each vector instruction class at LMUL 1/2/4/8 (SEW 32) it times, in the
style of public RVV instruction tables (camel-cdr's rvv-bench and similar):

* throughput: a long run of independent instructions, cycles per instruction;
* latency: a chain where each instruction reads the previous result.

The "intended" columns are what the [model] table implies: DLEN-wide beats
ceil(VLEN*LMUL/DLEN) (per unit of the class's pipe) for throughput, and for a
dependent chain the class latency plus the beats (minus one, as the first beat
overlaps) without chaining, or max(throughput, latency) with it.  It also measures
the cost of timed mode against functional mode on a scalar loop.

    python bench/calibrate.py [--target NAME]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from rvai.emu import Machine
from rvai.emu.isa import assemble
from rvai.emu.profile import timing_params
from rvai.target import Target

CODE = 0x10000
N = 64

#: row -> (independent form, dependent form); the row's first word is the class, a
#: second word a variant ("gather": element by element, "widen": 2*SEW results).
#: v8 is the chained register.  {acc} rotates over every register group from v8 up
#: (for ops that read their destination, so that the independent form is
#: independent); {a} and {b} are source groups below v8.
KERNELS = {
    "VALU": ("vadd.vv v8, v16, v24", "vadd.vv v8, v8, v16"),
    "VMUL": ("vmul.vv v8, v16, v24", "vmul.vv v8, v8, v16"),
    "VFADD": ("vfadd.vv v8, v16, v24", "vfadd.vv v8, v8, v16"),
    "VFMUL": ("vfmul.vv v8, v16, v24", "vfmul.vv v8, v8, v16"),
    "VFFMA": ("vfmacc.vv {acc}, {a}, {b}", "vfmacc.vv v8, v16, v24"),
    "VFFMA widen": ("vfwmacc.vv {acc}, {a}, {b}", "vfwmacc.vv v8, v16, v24"),
    "VFDIV": ("vfdiv.vv v8, v16, v24", "vfdiv.vv v8, v8, v16"),
    "VFDIV sqrt": ("vfsqrt.v v8, v16", "vfsqrt.v v8, v8"),
    "VFMISC": ("vfsgnj.vv v8, v16, v24", "vfsgnj.vv v8, v8, v16"),
    "VRED": ("vredsum.vs v8, v16, v24", "vredsum.vs v8, v16, v8"),
    "VRED fp": ("vfredusum.vs v8, v16, v24", "vfredusum.vs v8, v16, v8"),
    "VPERM": ("vslidedown.vi v8, v16, 1", "vslidedown.vi v8, v8, 1"),
    "VPERM gather": ("vrgather.vv v8, v16, v24", None),
    "VLOAD": ("vle32.v v8, (a0)", None),
    "VSTORE": ("vse32.v v8, (a0)", None),
}


def _classes() -> list[str]:
    from rvai._rvemu import ffi, lib
    return [ffi.string(lib.rv_class_name(i)).decode() for i in range(lib.rv_num_classes())]


def instructions(form: str, lmul: int, widen: bool) -> list[str]:
    """`form` with its {acc}, {a}, {b} placeholders filled in for this LMUL (one
    instruction per accumulator group)."""
    a, b = ("v0", "v4") if lmul <= 4 else ("v0", "v0")
    group = lmul * (2 if widen else 1)
    accs = [f"v{r}" for r in range(8, 32, group)] if "{acc}" in form else ["v8"]
    return [form.format(acc=acc, a=a, b=b) for acc in accs]


def measure(target: Target, lmul: int, body: list[str]) -> float:
    """Cycles per instruction of N instructions cycling over `body` after a vsetvli (warm caches)."""
    m = Machine(target, timed=True)
    words = np.array([assemble(f"vsetvli t0, zero, e32, m{lmul}, ta, ma")]
                     + [assemble(body[i % len(body)]) for i in range(N)]
                     + [assemble("jalr zero, 0(ra)")], dtype=np.uint32)
    m.map(CODE, 4096, "rx")
    m.write(CODE, words)
    buf = m.alloc(64 * 1024)
    m.call(CODE, buf)           # warm the caches
    m.reset_counters()
    m.call(CODE, buf)
    return (m.cycles - 2) / N   # minus the vsetvli and the return


def intended(p, vlen: int, row: str, lmul: int) -> tuple[float, float]:
    """What the model's parameters say a row should measure: (throughput, latency) in cycles."""
    classes = _classes()
    cls, _, variant = row.partition(" ")
    pipe = p.vpipe[classes.index(cls)]
    eew = 64 if variant == "widen" else 32
    beats = max(1, -(-vlen * lmul * eew // 32 // p.dlen))
    if variant == "gather":   # one element at a time
        beats = -(-vlen * lmul // 32 // p.gather_elems_per_cycle)
    if cls in ("VDIV", "VFDIV"):   # the divider holds its pipe for several cycles a beat
        beats *= p.vdiv_beat_cycles
    lat = p.l1_latency if cls in ("VLOAD", "VSTORE") else p.latency[classes.index(cls)]
    if cls == "VRED":   # the reduction tree over one beat's elements
        lat += (p.dlen // 32).bit_length() - 1
    throughput = beats / p.pipe_count[pipe]
    # chained, the next op starts a latency after the previous one's first beat, on
    # whichever unit is free; unchained, it waits for the whole result
    latency = max(throughput, lat) if p.chaining else beats - 1 + lat
    return throughput, latency


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
    """Print measured vs wanted throughput and latency per instruction class for ``--target``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="generic")
    args = ap.parse_args(argv)
    target = Target.preset(args.target)
    p = timing_params(target.model)
    print(f"{target.name}: VLEN {target.vlen}, DLEN {p.dlen}, chaining {'on' if p.chaining else 'off'}")
    print(f"{'class':12} {'LMUL':>4} {'tput':>7} {'(want)':>7} {'lat':>7} {'(want)':>7}  instruction")
    for row, (indep, dep) in KERNELS.items():
        widen = row.endswith("widen")
        try:
            assemble(instructions(indep, 1, widen)[0])
        except ValueError:
            print(f"{row:12}  (not implemented by the emulator yet)")
            continue
        for lmul in (1, 2, 4) if widen else (1, 2, 4, 8):   # a widening result is 2*LMUL registers
            want_t, want_l = intended(p, target.vlen, row, lmul)
            body = instructions(indep, lmul, widen)
            tput = measure(target, lmul, body)
            lat = measure(target, lmul, [dep]) if dep else float("nan")
            print(f"{row:12} {lmul:>4} {tput:7.2f} {want_t:7.2f} {lat:7.2f} "
                  f"{want_l if dep else float('nan'):7.2f}  {body[0]}")
    print(f"timed / functional wall time on a scalar loop: {speed_ratio(target):.2f}x")


if __name__ == "__main__":
    main()
