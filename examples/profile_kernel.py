"""Profile a GEMM and an attention kernel from ``rvai.ops`` on two machine presets.

The same machine code (vector-length agnostic RVV) runs on a small in-order
core with a 64-bit vector datapath and on a XuanTie C930-like server core; the
profiles show why the cycle counts differ: DLEN-limited vector pipes, FLOPs
per cycle against each machine's peak, cache behaviour, and the hottest loop.

    python examples/profile_kernel.py
"""
import numpy as np

import rvai
from rvai import ops
from rvai.target import Target

PRESETS = ("small-inorder", "xuantie-c930")


def main() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((32, 64), dtype=np.float32)
    b = rng.standard_normal((64, 48), dtype=np.float32)
    # one decode step of a Qwen2-0.5B-like head: 1 query row against 128 cached keys, dim 64
    q = rng.standard_normal((1, 64), dtype=np.float32)
    k = rng.standard_normal((128, 64), dtype=np.float32)
    v = rng.standard_normal((128, 64), dtype=np.float32)
    for name in PRESETS:
        target = Target.preset(name)
        print(f"==================== {name} ====================")
        c = ops.matmul(a, b, target=target)
        np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
        print("-- matmul 32x64 @ 64x48")
        print(ops.last_run.profile.text(loops=1))
        ops.attention(q, k, v, target=target)
        print("-- attention, 1 query x 128 keys, head dim 64")
        print(ops.last_run.profile.text(loops=1))
        print()


if __name__ == "__main__":
    main()
