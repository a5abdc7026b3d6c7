"""Where a whole rvai.ops call's time goes outside the kernel, phase by phase.

    python bench/ops_call.py [--repeat R] [--only NAME ...] [--presets P ...] [--callgrind]

Each op (``linear``: ``ops.linear`` on packed weights, 64 x 1024 x 1024, one hart;
``attention``: causal prefill, 8 heads on 4 KV heads, 256 x 256, d 64 -- both as
bench/timed_cost.py makes them -- and ``rmsnorm`` / ``softmax`` of 64 x 4096) runs
warm (after a first call that compiles it) on each preset, functional and timed,
with the process's pool of host memory blocks (csrc/mem.c) on and off, the four
runs alternating R times so that load on a shared host hits all alike.

Printed per run, in milliseconds of the calling thread's CPU time (user + system,
so the page faults of fresh guest memory count; median of R): machine creation
(``Machine()``), loading the kernel's ELF, placing the inputs (map + write), the
kernel call, reading the results back (reads and the red-zone check), the profile
(timed), dropping the machine, the rest (Python glue, writing results into the
caller's arrays) and the whole call; then the minor page faults per call (exact,
from getrusage), the process's resident memory after the call (MiB, Linux) and the
whole call with the pool off over with it on.  With
--callgrind (needs valgrind) also the host instructions of one warm call in user
space (three calls minus one, so the first call's compile cancels); page faults
are kernel work, which callgrind does not see.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))   # this checkout's rvai
sys.path.insert(0, str(HERE))
import timed_cost  # noqa: E402
from rvai import ops, runner  # noqa: E402
from rvai.emu.machine import ffi, lib  # noqa: E402
from rvai.target import Target  # noqa: E402

OPS = ("linear", "attention", "rmsnorm", "softmax")
PRESETS = ("spacemit-x60", "xuantie-c930")
#: phase -> the Machine methods whose thread CPU it adds up
PHASES = {"create": ("__init__",), "load": ("load_elf",), "place": ("map", "write"),
          "kernel": ("call", "call_threads"), "read": ("read", "read_bytes"), "profile": ("profile",)}


def op_call(name: str, target: Target):
    """A function making one ops call of ``name`` on ``target`` (inputs fixed by a seed)."""
    if name in ("linear", "attention"):
        return timed_cost.dsl_call("gemm" if name == "linear" else name, target, 1.0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4096)).astype(np.float32)
    if name == "rmsnorm":
        w = rng.standard_normal(4096).astype(np.float32)
        return lambda: ops.rmsnorm(x, w, target=target)
    return lambda: ops.softmax(x, target=target)


class _Phased(timed_cost._Clocked):
    """The machine rvai.runner makes, in the mode under test, adding each method's thread
    CPU to its phase in ``spent`` (a method called from another of its phase counts once)."""

    spent: dict[str, float] = {}
    _inside = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ffi.gc(self._m, None)   # time the C machine's release as a phase of its own

        def release(m):
            t0 = time.thread_time()
            lib.rv_destroy(m)
            _Phased.spent["drop"] += time.thread_time() - t0
        self._m = ffi.gc(self._m, release)


def _timed(phase: str, method):
    """``method`` adding its thread CPU to ``phase`` unless called from a timed method."""
    def wrapper(self, *args, **kwargs):
        if _Phased._inside:
            return method(self, *args, **kwargs)
        _Phased._inside, t0 = True, time.thread_time()
        try:
            return method(self, *args, **kwargs)
        finally:
            _Phased.spent[phase] += time.thread_time() - t0
            _Phased._inside = False
    return wrapper


for _phase, _names in PHASES.items():
    for _name in _names:
        setattr(_Phased, _name, _timed(_phase, getattr(_Phased, _name)))


@contextlib.contextmanager
def _mode(timed: bool, pool: bool, tier: str):
    """Calls through rvai.ops run on _Phased machines in this mode and tier meanwhile,
    with the host block pool at its bound or off."""
    saved, limit = runner.Machine, lib.rv_mem_pool_limit()
    runner.Machine, timed_cost._Clocked.timed_mode, timed_cost._Clocked.tier = _Phased, timed, tier
    lib.rv_mem_pool_set_limit(limit if pool else 0)
    try:
        yield
    finally:
        runner.Machine = saved
        lib.rv_mem_pool_set_limit(limit)


def resident_mib() -> float:
    """The process's resident memory in MiB (Linux's /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except OSError:
        return 0.0


def once(fn, timed: bool, pool: bool, tier: str) -> dict[str, float]:
    """Thread CPU seconds per phase of one call of ``fn``, its total, its minor faults
    and the resident memory after it."""
    _Phased.spent = dict.fromkeys([*PHASES, "drop"], 0.0)
    with _mode(timed, pool, tier):
        faults, t0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt, time.thread_time()
        fn()
        total = time.thread_time() - t0
        faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults
    out = dict(_Phased.spent)
    out["rest"] = total - sum(out.values())
    return {**out, "total": total, "faults": faults, "rss": resident_mib()}


def callgrind(name: str, preset: str, run: tuple, calls: int) -> int:
    """Host instructions in user space of a process making ``calls`` calls (callgrind)."""
    return timed_cost.callgrind(f"import ops_call as b; from rvai.target import Target; fn = b.op_call({name!r}, "
                                f"Target.preset({preset!r}))\nfor _ in range({calls}): b.once(fn, *{run!r})",
                                toggles=())


def main(argv=None) -> int:
    """Print the phase table; 1 when --callgrind is asked for without valgrind, else 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="median of this many calls of each run")
    ap.add_argument("--only", nargs="*", choices=OPS, help="these ops only")
    ap.add_argument("--presets", nargs="*", default=list(PRESETS), help="presets the ops run on")
    ap.add_argument("--tier", choices=("translate", "interpret"), default="translate",
                    help="the emulator's tier (translate: hot blocks compiled, after the warm-up calls)")
    ap.add_argument("--callgrind", action="store_true", help="also count host instructions under valgrind")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.callgrind and not shutil.which("valgrind"):
        print("--callgrind needs valgrind", file=sys.stderr)
        return 1
    cols = [*PHASES, "drop", "rest", "total"]
    head = f"{'op':28} {'mode':10} {'pool':4} " + " ".join(f"{c:>7}" for c in cols) + f" {'faults':>7} {'RSS MiB':>7} {'off/on':>6}"
    print(head + (f" {'Ir a call':>14}" if args.callgrind else ""))
    runs = [(timed, pool, args.tier) for timed in (False, True) for pool in (False, True)]
    for name in args.only or OPS:
        for preset in args.presets:
            fn = op_call(name, Target.preset(preset))
            for _ in range(2):   # compile, translate, and fill the pool outside the measurement
                for run in runs:
                    once(fn, *run)
            got = {run: [] for run in runs}
            for _ in range(args.repeat):   # alternate the runs, so that load hits all alike
                for run in runs:
                    once(fn, *run)   # warm: after a call of the same run (turning the pool off emptied it)
                    got[run].append(once(fn, *run))
            for timed, pool, tier in runs:
                med = {c: statistics.median(r[c] for r in got[timed, pool, tier]) for c in [*cols, "faults", "rss"]}
                ratio = statistics.median(r["total"] for r in got[timed, False, tier]) / med["total"]
                line = (f"{name + ' (' + preset + ')':28} {'timed' if timed else 'functional':10} "
                        f"{'on' if pool else 'off':4} " + " ".join(f"{med[c] * 1e3:7.2f}" for c in cols)
                        + f" {med['faults']:7.0f} {med['rss']:7.1f} {ratio:6.2f}")
                if args.callgrind:
                    run = (timed, pool, tier)
                    line += f" {(callgrind(name, preset, run, 4) - callgrind(name, preset, run, 2)) // 2:14,d}"
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
