"""What translating a block costs the forced tier: Python IR building against LLVM's parse, passes and codegen.

    python bench/translate_cost.py [--repeat R] [--dump FILE] [--attention]
    python bench/translate_cost.py --base DIR [--rounds N] [--repeat R] [--attention]

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
before tc58, with PYTHONHASHSEED fixed: a timed block's function name depended on it).

``--base DIR`` measures another checkout beside this one in the same run: each tree's
workload runs in fresh processes of this interpreter (the base's rvai, Python and its
extension built in place, ``python setup.py build_ext --inplace``, imported from DIR
ahead of the venv's), the two trees' in turn, N rounds, and the table gives each part's
least time for both and their ratio (this tree over the base), so that a change is
judged by a ratio measured under one load, not by one tree's seconds on a shared host.
The workloads are the same code (this file's), so the two trees must record the same
compiles; their IR digests say whether the two built the same IR.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.update(RVAI_TIER="translate", RVAI_JIT_HOT="0", RVAI_JIT_CACHE="0")

import numpy as np  # noqa: E402

#: This checkout (whose rvai a run measures unless --base names another for a child)
HERE = Path(__file__).resolve().parent.parent
PARTS = ("build", "parse", "passes", "codegen", "total")

#: (m, k, n, dtype) of each matmul call, run at each VLEN in VLENS
SHAPES = [(5, 13, 7, np.float32), (17, 3, 33, np.float16), (2, 31, 5, np.float32), (13, 17, 1, np.float16)]
VLENS = (128, 256)


def workload(attention: bool) -> list[tuple]:
    """Run the calls; return the arguments of every Engine.compile they made."""
    from rvai import ops
    from rvai.emu import jit_llvm
    from rvai.target import Target
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


def measure(attention: bool, repeat: int, dump=None) -> dict:
    """The workload's compiles replayed ``repeat`` times: each part's least
    thread CPU seconds, the blocks built, the IR digest, the tree measured and
    the peak RSS (MB)."""
    calls = workload(attention)
    best = None
    for r in range(repeat):
        spent, digest, blocks = replay(calls, dump if r == 0 else None)
        best = spent if best is None else {p: min(s, best[p]) for p, s in spent.items()}
    import rvai
    return {"parts": best, "compiles": len(calls), "blocks": blocks, "digest": digest,
            "tree": str(Path(rvai.__file__).resolve().parent.parent),
            "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child(tree: str, attention: bool, repeat: int) -> dict:
    """``measure`` in a fresh process importing rvai from checkout ``tree``."""
    cmd = [sys.executable, __file__, "--tree", tree, "--json", "--repeat", str(repeat)] + \
        (["--attention"] if attention else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:   # e.g. a base checkout without its extension built in place
        raise SystemExit(f"{tree}: the workload failed:\n{p.stderr}")
    res = json.loads(p.stdout.splitlines()[-1])
    if Path(res["tree"]) != Path(tree).resolve():   # no rvai in DIR: the venv's was imported instead
        raise SystemExit(f"{tree}: holds no rvai package; the workload measured {res['tree']}")
    return res


def side_by_side(base: str, rounds: int, attention: bool, repeat: int) -> int:
    """Measure checkout ``base`` and this one in turn, ``rounds`` times each in
    fresh processes, and print both trees' least times per part and the ratio."""
    runs = {"base": [], "this": []}
    for _ in range(rounds):
        for who, tree in (("base", base), ("this", str(HERE))):
            runs[who].append(child(tree, attention, repeat))
    res = {who: {**r[0], "parts": {p: min(x["parts"][p] for x in r) for p in PARTS}} for who, r in runs.items()}
    b, t = res["base"], res["this"]
    for who, r in res.items():
        print(f"{who}: {r['tree']}: {r['compiles']} compiles, {r['blocks']} blocks, IR digest {r['digest']}, "
              f"peak RSS {max(x['rss'] for x in runs[who]):.0f} MB")
    if b["compiles"] != t["compiles"]:
        print("the two trees' workloads compiled differently: not comparable", file=sys.stderr)
        return 1
    print(f"least of {rounds} processes x {repeat} replays, thread CPU; ms/block over each tree's blocks")
    print(f"  {'part':8} {'base s':>8} {'this s':>8} {'base ms':>8} {'this ms':>8} {'this/base':>9}")
    for part in PARTS:
        bs, ts = b["parts"][part], t["parts"][part]
        print(f"  {part:8} {bs:8.2f} {ts:8.2f} {1e3 * bs / b['blocks']:8.2f} {1e3 * ts / t['blocks']:8.2f} "
              f"{ts / bs if bs else float('nan'):9.2f}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="replays of the compiles in a process (least taken)")
    ap.add_argument("--dump", type=argparse.FileType("w"))
    ap.add_argument("--attention", action="store_true")
    ap.add_argument("--base", metavar="DIR", help="another checkout, measured beside this one")
    ap.add_argument("--rounds", type=int, default=2, help="with --base: fresh processes of each tree")
    ap.add_argument("--tree", default=str(HERE), help=argparse.SUPPRESS)   # a child: whose rvai to import
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a child: print the result as JSON
    args = ap.parse_args(argv)
    if args.base:
        return side_by_side(args.base, args.rounds, args.attention, args.repeat)
    sys.path.insert(0, args.tree)
    res = measure(args.attention, args.repeat, args.dump)
    if args.json:
        print(json.dumps(res))
        return 0
    blocks, best = res["blocks"], res["parts"]
    print(f"tree {res['tree']}: {res['compiles']} compiles, {blocks} blocks, IR digest {res['digest']}")
    for part in PARTS:
        print(f"  {part:8} {best[part]:7.2f} s  {1e3 * best[part] / blocks:6.2f} ms/block")
    print(f"  peak RSS {res['rss']:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
