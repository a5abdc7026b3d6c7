"""What a process of many short runs keeps under the forced translating tier
(the tests' ``--tier=translate``: every block translated at its first entry,
at -O0): N machines, one after another, each running a program of its own
(B blocks of ops on constants no other program has, so no block is shared),
each dropped after its run.  Printed every N/10 machines: the resident size,
the translators still alive (gc.get_objects, no collection forced), the
engines alive and the blocks they hold; at the end, after a full collection
and after malloc_trim (what glibc gives back: freed memory it kept), and the
seconds the machines spent translating (Machine.translation).

    python bench/translate_memory.py [--machines N] [--blocks B] [--timed] [--engine-blocks E]

``--engine-blocks`` sets jit_llvm.ENGINE_BLOCKS at -O0 (2,000 by default),
so that engines fill and are freed within a short run.  Resident sizes vary
a little with the host's libraries; the counts do not.
"""
import argparse
import ctypes
import gc
import os
import sys
import time

os.environ["RVAI_JIT_HOT"] = "0"
os.environ["RVAI_JIT_CACHE"] = "0"

import numpy as np  # noqa: E402

from rvai.emu import Machine  # noqa: E402
from rvai.emu.isa import assemble  # noqa: E402
from rvai.emu.translate import Translator  # noqa: E402

CODE = 0x10000


def resident_mb() -> int:
    """The process's resident size (VmRSS), in MB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS"))


def alive() -> tuple[int, int, int]:
    """Translators and engines alive (no collection forced) and the blocks the engines hold."""
    from rvai.emu import jit_llvm
    objs = gc.get_objects()
    engines = [o for o in objs if type(o) is jit_llvm.Engine]
    return sum(type(o) is Translator for o in objs), len(engines), sum(len(e.blocks) for e in engines)


def program(n: int, blocks: int) -> np.ndarray:
    """Program n: ``blocks`` blocks, each three ops on constants of its own and a jump to the next."""
    lines = []
    for b in range(blocks):
        c = n * blocks + b
        lines += [f"addi a0, a0, {c % 2047 + 1}", f"xori a1, a0, {c // 2047 % 2048}", "add a2, a1, a0",
                  "jal zero, 4"]
    return np.array([assemble(t) for t in lines + ["jalr zero, 0(ra)"]], dtype=np.uint32)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--machines", type=int, default=200)
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--timed", action="store_true", help="timed machines (their blocks call the model)")
    ap.add_argument("--engine-blocks", type=int, default=None)
    args = ap.parse_args(argv)
    from rvai.emu import jit_llvm
    if args.engine_blocks is not None:
        jit_llvm.ENGINE_BLOCKS[0] = args.engine_blocks
    t0, translating = time.perf_counter(), 0.0
    print(f"{'machines':>8} {'MB':>6} {'translators':>11} {'engines':>7} {'blocks':>7}")
    for n in range(args.machines):
        m = Machine(vlen=256, tier="translate", timed=args.timed)
        words = program(n, args.blocks)
        m.map(CODE, max(4096, words.nbytes), "rx")
        m.write(CODE, words)
        m.call(CODE, 0)
        translating += m.translation["seconds"]
        del m
        if (n + 1) % max(1, args.machines // 10) == 0:
            translators, engines, blocks = alive()
            print(f"{n + 1:>8} {resident_mb():>6} {translators:>11} {engines:>7} {blocks:>7}", flush=True)
    gc.collect()
    print(f"after a full collection: {resident_mb()} MB, translators/engines/blocks {alive()}")
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    print(f"after malloc_trim: {resident_mb()} MB; {translating:.1f} s translating, {time.perf_counter() - t0:.0f} s in all, "
          f"{time.process_time():.0f} s of CPU")


if __name__ == "__main__":
    sys.exit(main())
