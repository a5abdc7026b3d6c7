"""Grouped-query causal attention of a Qwen2-0.5B-like layer (14 query heads, 2 KV heads, d=64)."""
import sys

import numpy as np

from rvai import ops

if __name__ == "__main__":
    runner = sys.argv[1] if len(sys.argv) > 1 else "emu"
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, 14, 8, 64)).astype(np.float32)    # prefill of 8 tokens
    k = rng.standard_normal((1, 2, 24, 64)).astype(np.float32)    # KV cache of 24 entries
    v = rng.standard_normal((1, 2, 24, 64)).astype(np.float32)
    out = ops.attention(q, k, v, causal=True, runner=runner)
    kk, vv = np.repeat(k, 7, axis=1), np.repeat(v, 7, axis=1)
    s = q.astype(np.float64) @ kk.transpose(0, 1, 3, 2) / 8.0
    s = np.where(np.arange(24)[None, :] <= np.arange(8)[:, None] + 16, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    ref = p @ vv / p.sum(-1, keepdims=True)
    run = ops.last_run
    assert np.abs(out - ref).max() <= 1e-4, "attention differs from NumPy"
    print(f"attention {out.shape}: max |err| {np.abs(out - ref).max():.2e}, cycles {run.cycles}, "
          f"instructions {run.instret}")
