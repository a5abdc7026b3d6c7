"""The timed translated GEMM's kernel call in host thread CPU seconds (less
noisy than wall on a shared host): bench/timed_cost.py's ``gemm`` on each
preset, timed and translated, one warm-up call, then the median of N calls.

    python bench/gemm_thread_time.py [--calls N] [--presets P ...]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))   # this checkout's rvai
sys.path.insert(0, str(HERE))
os.environ.update(RVAI_JIT_HOT="1", RVAI_JIT_TIMED="1")
import timed_cost  # noqa: E402
from rvai.target import Target  # noqa: E402

# timed_cost's clock around Machine.call, as this thread's CPU time
timed_cost.time = types.SimpleNamespace(perf_counter=time.thread_time)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=15)
    ap.add_argument("--presets", nargs="+", default=list(timed_cost.PRESETS))
    args = ap.parse_args(argv)
    for preset in args.presets:
        fn = timed_cost.dsl_call("gemm", Target.preset(preset), 1.0)
        timed_cost.dsl_once(fn, True, "translate")   # translates the hot blocks
        runs = [timed_cost.dsl_once(fn, True, "translate") for _ in range(args.calls)]
        secs = statistics.median(r[0] for r in runs)
        cycles = {r[1] for r in runs}
        print(f"{preset:14} median {secs:.4f} s/call  cycles {sorted(cycles)}  "
              f"{max(cycles) / secs / 1e6:.1f} M cycles/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
