"""What translating a block costs the forced tier: Python IR building against LLVM's parse, passes and codegen.

    python bench/translate_cost.py [--repeat R] [--dump FILE] [--attention]

Runs a fixed workload under the forced tier (RVAI_TIER=translate, RVAI_JIT_HOT=0, the
object cache off): rvai.ops.matmul, timed, at a few shapes and dtypes at VLEN 128 and
256 (with ``--attention``, a causal attention call too), and records every
``jit_llvm.Engine.compile`` call it makes (the blocks, vector state and timing slots).
Then it compiles them all again, R times, each time into a fresh engine at the forced
tier's codegen level (-O0), and prints the least thread CPU time of each part over the
rounds: building the IR (``_Block.build``), ``parse_assembly``, the passes (``_optimise``)
and the rest of ``Engine.compile`` (codegen and loading), in total and per block.  It
also prints a digest of every module's IR text, in order, and with ``--dump`` writes
the texts to FILE: two trees that print the same digest built the same IR (on a tree
before tc58, with PYTHONHASHSEED fixed: a timed block's function name depended on it).  Run it with
another tree's interpreter (e.g. ``/work/venv-main/bin/python bench/translate_cost.py``)
to measure that tree the same way: the workload is the same.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import time

os.environ.update(RVAI_TIER="translate", RVAI_JIT_HOT="0", RVAI_JIT_CACHE="0")

import numpy as np  # noqa: E402

from rvai import ops  # noqa: E402
from rvai.target import Target  # noqa: E402

#: (m, k, n, dtype) of each matmul call, run at each VLEN in VLENS
SHAPES = [(5, 13, 7, np.float32), (17, 3, 33, np.float16), (2, 31, 5, np.float32), (13, 17, 1, np.float16)]
VLENS = (128, 256)


def workload(attention: bool) -> list[tuple]:
    """Run the calls; return the arguments of every Engine.compile they made."""
    from rvai.emu import jit_llvm
    calls, compile_ = [], jit_llvm.Engine.compile

    def recording(self, blocks, vstate, timed=None):
        calls.append((list(blocks), vstate, timed))
        return compile_(self, blocks, vstate, timed)

    jit_llvm.Engine.compile = recording
    rng = np.random.default_rng(1)
    try:
        for vlen in VLENS:
            target = Target.preset("generic").with_vlen(vlen)
            for m, k, n, dtype in SHAPES:
                ops.matmul(rng.uniform(-2, 2, (m, k)).astype(dtype), rng.uniform(-2, 2, (k, n)).astype(dtype),
                           target=target, runner="emu")
        if attention:
            q, kv = rng.uniform(-1, 1, (7, 16)).astype(np.float32), rng.uniform(-1, 1, (9, 16)).astype(np.float32)
            ops.attention(q, kv, kv, causal=True, target=Target.preset("generic").with_vlen(128), runner="emu")
    finally:
        jit_llvm.Engine.compile = compile_
    return calls


def replay(calls, dump=None) -> tuple[dict, str, int]:
    """Compile the recorded calls into a fresh -O0 engine (a new one whenever it is
    full); return the thread CPU seconds of each part, the IR texts' digest and the
    number of blocks built."""
    from llvmlite import binding as llvm

    from rvai.emu import jit_llvm
    spent = dict.fromkeys(("build", "parse", "passes", "total"), 0.0)
    digest, blocks = hashlib.sha256(), 0

    def timed(part, fn):
        def wrapper(*a, **kw):
            t0 = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                spent[part] += time.thread_time() - t0
        return wrapper

    build, parse, optimise = jit_llvm._Block.build, llvm.parse_assembly, jit_llvm._optimise

    def parsing(text):
        digest.update(text.encode())
        if dump is not None:
            dump.write(text + "\n\n")
        return parse(text)

    jit_llvm._Block.build = timed("build", build)
    llvm.parse_assembly = timed("parse", parsing)
    jit_llvm._optimise = timed("passes", optimise)
    try:
        jit_llvm.compile_blocks([], (128, 0), opt=0)   # LLVM initialised, outside the count
        engine = jit_llvm.Engine(0)
        for blks, vstate, tslots in calls:
            if len(engine.blocks) >= jit_llvm.ENGINE_BLOCKS[0]:
                engine = jit_llvm.Engine(0)
            before = len(engine.blocks)
            t0 = time.thread_time()
            engine.compile(blks, vstate, tslots)
            spent["total"] += time.thread_time() - t0
            blocks += len(engine.blocks) - before
    finally:
        jit_llvm._Block.build, llvm.parse_assembly, jit_llvm._optimise = build, parse, optimise
    spent["codegen"] = spent["total"] - spent["build"] - spent["parse"] - spent["passes"]
    return spent, digest.hexdigest()[:16], blocks


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dump", type=argparse.FileType("w"))
    ap.add_argument("--attention", action="store_true")
    args = ap.parse_args(argv)
    calls = workload(args.attention)
    best = None
    for r in range(args.repeat):
        spent, digest, blocks = replay(calls, args.dump if r == 0 else None)
        best = spent if best is None else {p: min(s, best[p]) for p, s in spent.items()}
    import rvai
    print(f"tree {os.path.dirname(os.path.dirname(rvai.__file__))}: {len(calls)} compiles, {blocks} blocks, "
          f"IR digest {digest}")
    for part in ("build", "parse", "passes", "codegen", "total"):
        print(f"  {part:8} {best[part]:7.2f} s  {1e3 * best[part] / blocks:6.2f} ms/block")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
