"""The cost of checked kernels: cycles and instructions with bounds checks over without.

    python bench/checked_cost.py [--target NAME] [--vlen N]

Runs each ready kernel (rvai.ops) on the same inputs compiled without and with
``checked=True`` (an exact bounds check before every tensor access, docs/dsl.md) and
prints both runs' timing-model cycles and retired instructions side by side, with the
ratios. Both runs give identical results (checked here), so only the checks differ.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # this checkout's rvai
from rvai import ops  # noqa: E402
from rvai.target import Target  # noqa: E402


def cases(rng: np.random.Generator) -> list[tuple[str, Callable]]:
    """(name, call taking target and checked) for each kernel at a decode-sized shape."""
    a, b = rng.standard_normal((16, 256)).astype(np.float32), rng.standard_normal((256, 256)).astype(np.float32)
    x, w = rng.standard_normal((8, 896)).astype(np.float32), rng.standard_normal(896).astype(np.float32)
    q = rng.standard_normal((14, 4, 64)).astype(np.float32)
    k, v = (rng.standard_normal((2, 256, 64)).astype(np.float32) for _ in range(2))
    return [("matmul 16x256x256", lambda **kw: ops.matmul(a, b, **kw)),
            ("softmax 8x896", lambda **kw: ops.softmax(x, **kw)),
            ("rmsnorm 8x896", lambda **kw: ops.rmsnorm(x, w, **kw)),
            ("attention q 4 kv 256 causal", lambda **kw: ops.attention(q, k, v, causal=True, **kw))]


def main(argv: list[str] | None = None) -> int:
    """Print the table; returns 0 if the checked and unchecked results agree bit for bit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="generic")
    parser.add_argument("--vlen", type=int, default=None)
    opts = parser.parse_args(argv)
    target = Target.preset(opts.target)
    target = target.with_vlen(opts.vlen) if opts.vlen else target
    print(f"target {target.name}, VLEN {target.vlen}; cycles from the timing model")
    print(f"{'kernel':>28} {'cycles':>10} {'checked':>10} {'ratio':>6} {'instret':>10} {'checked':>10} {'ratio':>6}")
    ok = True
    for name, fn in cases(np.random.default_rng(0)):
        runs = []
        for checked in (False, True):
            out = fn(target=target, checked=checked)
            runs.append((out, ops.last_run))
        (plain, p), (chk, c) = runs
        ok &= bool(np.array_equal(plain, chk, equal_nan=True))
        print(f"{name:>28} {p.cycles:>10} {c.cycles:>10} {c.cycles / p.cycles:>6.3f} "
              f"{p.instret:>10} {c.instret:>10} {c.instret / p.instret:>6.3f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
