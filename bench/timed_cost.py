"""The cost of timed mode: timed over functional time on the same program.

    python bench/timed_cost.py [--repeat R] [--scale S] [--callgrind] [--only NAME ...]
                               [--presets P ...]

Two kinds of kernel, each run in both modes, side by side:

* the scalar C kernels of bench/emu_speed.py (loop nest, memcpy, crc32) on the
  generic preset at VLEN 256, timing ``Machine.run``;
* DSL kernels through rvai.ops on each preset of --presets (default
  spacemit-x60 and xuantie-c930): ``gemm`` (``ops.linear`` on packed weights,
  the ``gemm_packed`` micro-kernels, 64 x 1024 x 1024) and ``attention``
  (``ops.attention``, causal prefill, 8 heads on 4 KV heads, 256 x 256, d 64),
  timing the kernel call inside the emulator (``Machine.call``) with the
  rest of the ops call (placement, checks) left out.  The functional run is
  the same call on a machine with the timing model off.

Printed per kernel: the best-of-R wall time of each mode (the runs alternate,
so load on a shared host hits both alike), their ratio, the modelled cycles
of the timed run per host second of it (the issue's aims: a ratio of at most
3, at least 100 M cycles a second on the GEMM), and the same cycles per host
second of the functional run ("ceiling"): what timed mode would reach if the
timing model cost nothing, the most any saving inside the model can give.  With --callgrind
(needs valgrind) it also counts the host instructions executed inside rv_run
in each mode, which are exact and independent of load: the honest ratio on a
busy machine.  With --translated it also runs both modes in the
translating tier (``Machine(tier="translate")`` with ``RVAI_JIT_HOT=1``, so a
block is translated, at -O1, after its first few hundred entries; ``--hot
4000000`` measures the default tier's own rule instead) and prints the
functional run's guest instructions per host second and modelled cycles per
host second ("transl ceiling"): what a timed mode running translated code
would reach if the timing model cost nothing.  Best of R once the process is
warm: both translated modes are run until QUIET rounds in a row compile and
load nothing (each ops call is a new machine, and over the first calls new
blocks keep getting due; one warm-up call left attention's functional row up
to twice its steady time, so the ratio looked better than it is), at most
WARM_UP rounds; the row says when that did not settle.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))   # this checkout's rvai
sys.path.insert(0, str(HERE))
import emu_speed  # noqa: E402
from rvai import ops, runner  # noqa: E402
from rvai.emu import Machine  # noqa: E402
from rvai.target import Target  # noqa: E402

#: scalar kernel name prefix -> argument (about 2-10 million instructions each at scale 1)
KERNELS = {"loop": 4, "memcpy": 400, "crc": 10}
DSL_KERNELS = ("gemm", "attention")
PRESETS = ("spacemit-x60", "xuantie-c930")
#: The most warm-up rounds of the translated modes (warm_up), and how many
#: rounds in a row that compile nothing count as settled.
WARM_UP = 24
QUIET = 3


def run_once(exe: Path, arg: int, timed: bool, tier: str = "interpret") -> tuple[float, int, int]:
    """Wall seconds, modelled cycles and guest instructions of one run of exe in one mode."""
    m = Machine(vlen=256, timed=timed, budget=1 << 40, tier=tier)
    t0 = time.perf_counter()
    m.run([str(exe), str(arg)], program=str(exe))
    secs = time.perf_counter() - t0
    _note_translation(m)
    return secs, m.cycles, m.instret


#: Blocks the last run's machine compiled or loaded from the object cache
#: (not those it found compiled in the process's engine); 0 interpreted.
last_new_blocks = 0


def _note_translation(m) -> None:
    """Set last_new_blocks from machine m's translation statistics."""
    global last_new_blocks
    t = m.translation
    last_new_blocks = t["blocks"] - t["held"] if t else 0


class _Clocked(Machine):
    """The machine rvai.runner makes for a kernel call, in the mode under test,
    adding the wall time of its kernel calls to ``spent``."""

    timed_mode = True
    tier = "interpret"
    spent = 0.0

    def __init__(self, *args, timed=True, tier=None, **kwargs):
        super().__init__(*args, timed=_Clocked.timed_mode, tier=_Clocked.tier, **kwargs)

    def call(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return super().call(*args, **kwargs)
        finally:
            _Clocked.spent += time.perf_counter() - t0
            _note_translation(self)

    def profile(self):
        return super().profile() if self.timed else None


@contextlib.contextmanager
def _mode(timed: bool, tier: str = "interpret"):
    """Kernel calls through rvai.ops run on _Clocked machines in this mode and tier meanwhile."""
    saved = runner.Machine
    runner.Machine, _Clocked.timed_mode, _Clocked.tier, _Clocked.spent = _Clocked, timed, tier, 0.0
    try:
        yield
    finally:
        runner.Machine = saved


def dsl_call(name: str, target: Target, scale: float):
    """A function making the ops call of DSL kernel ``name`` (inputs fixed by a seed;
    no time limit, as callgrind runs it many times slower)."""
    rng = np.random.default_rng(0)
    if name == "gemm":
        m, k = max(1, round(64 * scale)), 1024
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = ops.pack_weights(rng.standard_normal((1024, k)).astype(np.float32), target=target)
        return lambda: ops.linear(x, w, target=target, harts=1, timeout=math.inf)
    lq = max(1, round(256 * scale))
    q = rng.standard_normal((8, lq, 64)).astype(np.float32)
    kv = rng.standard_normal((4, 256, 64)).astype(np.float32)
    return lambda: ops.attention(q, kv, kv * 0.5, causal=True, target=target, timeout=math.inf)


def dsl_once(fn, timed: bool, tier: str = "interpret") -> tuple[float, int, int]:
    """Wall seconds inside the emulator's kernel call, the modelled cycles and the guest
    instructions of one call."""
    with _mode(timed, tier):
        fn()
        return _Clocked.spent, ops.last_run.cycles, ops.last_run.instret


#: What callgrind() counts by default: rv_run, without the translator's hook into Python
#: (translations run inside rv_run; toggling at the hook turns collection off while it runs).
IN_RUN = ("rv_run", "rv_jit_translate_hook")


def callgrind(code: str, toggles=IN_RUN) -> int:
    """Host instructions executed by the Python code given (callgrind): inside the
    functions ``toggles`` toggle collection at (by default rv_run, the translations
    excluded), or the whole process's user space when it is empty."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        *(f"--toggle-collect={fn}" for fn in toggles),
                        sys.executable, "-c", f"import sys; sys.path[:0] = [{str(HERE.parent)!r}, {str(HERE)!r}]; "
                        + code], check=True, capture_output=True)
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def compare(name: str, once, repeat: int, host_instructions=None, translated=False) -> None:
    """Run ``once(timed, tier)`` alternately in both modes (and the translated
    functional one when ``translated``), print one row."""
    modes = [(False, "interpret"), (True, "interpret")] + ([(False, "translate"), (True, "translate")]
                                                         if translated else [])
    best = dict.fromkeys(modes, float("inf"))
    cycles = instret = 0
    settled = not translated or warm_up(once)
    for _ in range(repeat):   # alternate the modes so all see the same load
        for timed, tier in modes:
            secs, cyc, n = once(timed, tier)
            best[timed, tier] = min(best[timed, tier], secs)
            if timed and tier == "interpret":
                cycles, instret = cyc, n
            elif timed:
                assert cyc == cycles, "the translated timed run modelled other cycles"
    functional, timed_s = best[False, "interpret"], best[True, "interpret"]
    line = (f"{name:28} {functional:12.3f} {timed_s:9.3f} {timed_s / functional:5.2f}x "
            f"{cycles:>12,d} {cycles / timed_s / 1e6:9.1f} {cycles / functional / 1e6:9.1f}")
    if translated:
        tr, tt = best[False, "translate"], best[True, "translate"]
        line += (f" {tr:9.3f} {instret / tr / 1e6:10.1f} {cycles / tr / 1e6:9.1f}"
                 f" {tt:9.3f} {cycles / tt / 1e6:9.1f}")
        line += "" if settled else f" (still compiling after {WARM_UP} warm-up rounds)"
    if host_instructions:
        f, t = host_instructions(False, "interpret"), host_instructions(True, "interpret")
        line += f" {f:14,d} {t:14,d} {t / f:5.2f}x"
        if translated:
            tf, tt = host_instructions(False, "translate"), host_instructions(True, "translate")
            line += f" {tf:14,d} {tt:14,d} {tt / t:5.2f}x"
    print(line, flush=True)


def warm_up(once) -> bool:
    """Run ``once`` in both translated modes, alternately, until QUIET rounds
    in a row compile and load nothing (last_new_blocks), at most WARM_UP
    rounds: the translated hot blocks outside the measurement.  (One quiet
    round is not enough: under the default rule a block is due only after
    some calls, and attention's blocks came due in calls 2, 4, 6, 10 and 12.)
    Whether it settled."""
    quiet = 0
    for _ in range(WARM_UP):
        new = 0
        for timed in (False, True):
            once(timed, "translate")
            new += last_new_blocks
        quiet = 0 if new else quiet + 1
        if quiet == QUIET:
            return True
    return False


def main(argv=None) -> int:
    """Print timed/functional cost per kernel; 1 when a needed tool is missing, else 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="best of this many runs of each mode")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply each kernel's size")
    ap.add_argument("--callgrind", action="store_true", help="also count host instructions under valgrind")
    ap.add_argument("--translated", action="store_true",
                    help="also time both modes in the translating tier")
    ap.add_argument("--hot", type=int, default=1,
                    help="RVAI_JIT_HOT of the translated modes (4000000: the default tier's rule)")
    ap.add_argument("--only", nargs="*", help="kernels whose name starts with these")
    ap.add_argument("--presets", nargs="*", default=list(PRESETS), help="presets the DSL kernels run on")
    args = ap.parse_args(argv)
    if args.callgrind and not shutil.which("valgrind"):
        print("--callgrind needs valgrind", file=sys.stderr)
        return 1
    if args.translated:   # read only by translating machines
        os.environ["RVAI_JIT_HOT"] = str(args.hot)
        os.environ["RVAI_JIT_TIMED"] = "1"
    wanted = lambda name: not args.only or any(name.startswith(o) for o in args.only)  # noqa: E731
    head = (f"{'kernel':28} {'functional s':>12} {'timed s':>9} {'ratio':>6} {'cycles':>12} "
            f"{'Mcycles/s':>9} {'ceiling':>9}")
    if args.translated:
        head += (f" {'transl s':>9} {'transl Mi/s':>10} {'transl ceiling':>9} {'transl timed s':>9}"
                 f" {'Mcycles/s':>9}")
    if args.callgrind:
        head += f" {'functional Ir':>14} {'timed Ir':>14} {'ratio':>6}"
        if args.translated:
            head += f" {'transl Ir':>14} {'transl timed Ir':>14} {'vs timed':>6}"
    print(head)
    for name in DSL_KERNELS:
        for preset in args.presets if wanted(name) else ():
            fn = dsl_call(name, Target.preset(preset), args.scale)
            fn()   # compile (and warm the kernel cache) outside the measurement
            code = ("from timed_cost import dsl_call, dsl_once; from rvai.target import Target; "
                    f"fn = dsl_call({name!r}, Target.preset({preset!r}), {args.scale!r}); "
                    "dsl_once(fn, {timed}, {tier!r})")
            hi = ((lambda timed, tier, code=code: callgrind(code.format(timed=timed, tier=tier)))
                  if args.callgrind else None)
            compare(f"{name} ({preset})", lambda timed, tier, fn=fn: dsl_once(fn, timed, tier), args.repeat, hi,
                    args.translated)
    if not emu_speed.GCC:
        print("(scalar kernels skipped: they need riscv64-linux-gnu-gcc)")
    with tempfile.TemporaryDirectory() as tmp:
        for prefix, arg in KERNELS.items() if emu_speed.GCC else ():
            if not wanted(prefix):
                continue
            bench = next(b for b in emu_speed.BENCHES if b.name.startswith(prefix))
            exe = emu_speed.build(bench, Path(tmp))
            arg = max(1, round(arg * args.scale))
            code = (f"from rvai.emu import Machine; Machine(vlen=256, timed={{timed}}, budget=1 << 40, tier={{tier!r}})"
                    f".run([{str(exe)!r}, {str(arg)!r}], program={str(exe)!r})")
            hi = ((lambda timed, tier, code=code: callgrind(code.format(timed=timed, tier=tier)))
                  if args.callgrind else None)
            compare(f"{prefix} (generic, scalar)", lambda timed, tier: run_once(exe, arg, timed, tier), args.repeat,
                    hi, args.translated)
    print(f"(host: {os.cpu_count()} cores; aims: timed at most 3x functional, "
          "at least 100 M modelled cycles a second on the GEMM)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
