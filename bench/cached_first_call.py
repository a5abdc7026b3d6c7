"""What a fresh Python process pays before its first rvai.ops result, every kernel cached.

    python bench/cached_first_call.py [--repeat R] [--base DIR] [--cache DIR]

Each run is a fresh interpreter (started in /tmp, pyc files written) that imports NumPy,
then ``from rvai import ops`` (timed), then calls each op twice on small inputs (timed
each): ``softmax`` 4 x 8, ``rmsnorm`` 4 x 64, ``linear`` (4 x 64) @ (32 x 64).T and
``attention`` causal, 2 heads, 16 x 16, d 16.  Its kernels are compiled into the cache
(``--cache``, default a temporary folder; each checkout has its own entries, as its
compiler version differs) by a run made first and not counted.  With ``--base DIR``
(another checkout, e.g. main) the two checkouts' runs alternate R times, so that load on
a shared host hits both alike.  Printed: the median wall and thread CPU milliseconds of
the import and of each call, per checkout, the base over this tree, and whether the last run had
``llvmlite.binding`` loaded.  Wall time: give the load (``uptime``) with the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: The fresh process: argv[1] is the checkout to import rvai from. Prints one JSON object.
_RUN = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
clock = lambda: (time.perf_counter(), time.thread_time())
t = clock()
from rvai import ops
times = {"import": [b - a for a, b in zip(t, clock())]}
rng = np.random.default_rng(0)
f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
x, w, q, k, v = f32(4, 64), f32(32, 64), f32(2, 16, 16), f32(2, 16, 16), f32(2, 16, 16)
calls = {"softmax": lambda: ops.softmax(f32(4, 8)), "rmsnorm": lambda: ops.rmsnorm(x, f32(64)),
         "linear": lambda: ops.linear(x, w), "attention": lambda: ops.attention(q, k, v, causal=True)}
for name, call in calls.items():
    for n in ("first", "second"):
        t = clock()
        call()
        times[f"{name} {n}"] = [b - a for a, b in zip(t, clock())]
print(json.dumps({"ms": {k: [s * 1e3 for s in v] for k, v in times.items()}, "llvm": "llvmlite.binding" in sys.modules}))
"""


def run(root: str, cache: str) -> dict:
    """One fresh process's timings (ms) importing rvai from checkout ``root``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}   # as a user runs
    env["RVAI_CACHE_DIR"] = cache
    r = subprocess.run([sys.executable, "-c", _RUN, root], capture_output=True, text=True, cwd="/tmp", env=env,
                       check=False)
    if r.returncode != 0:
        raise SystemExit(f"{root}: {r.stderr}")
    return json.loads(r.stdout.splitlines()[-1])


def main() -> None:
    """Parse the options, warm the caches, alternate the runs and print the medians."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7, help="runs per checkout (default 7)")
    p.add_argument("--base", metavar="DIR", help="another checkout to compare with, e.g. main's")
    p.add_argument("--cache", metavar="DIR", help="the kernel cache (default: a new temporary folder)")
    args = p.parse_args()
    roots = {"this": str(HERE.parent)} | ({"base": args.base} if args.base else {})
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or tmp
        runs: dict[str, list[dict]] = {name: [] for name in roots}
        for name, root in roots.items():
            run(root, cache)   # compiles what is not cached yet
        for _ in range(args.repeat):
            for name, root in roots.items():
                runs[name].append(run(root, cache))
    print(f"{'ms (median of ' + str(args.repeat) + ')':24}"
          + "".join(f"{n + ' ' + c:>12}" for c in ("wall", "cpu") for n in roots)
          + "".join(f"{'base/this ' + c:>16}" for c in ("wall", "cpu") if args.base))
    for key in runs["this"][0]["ms"]:
        med = {(n, c): statistics.median(r["ms"][key][c] for r in runs[n]) for n in roots for c in (0, 1)}
        print(f"{key:24}" + "".join(f"{med[n, c]:12.1f}" for c in (0, 1) for n in roots)
              + "".join(f"{med['base', c] / med['this', c]:16.2f}" for c in (0, 1) if args.base))
    print("llvmlite.binding loaded: " + ", ".join(f"{n} {runs[n][-1]['llvm']}" for n in roots))


if __name__ == "__main__":
    main()
