"""GEMM, GEMV and attention spread over 1, 2, 4 and 8 harts of a many-hart preset: the
speed-up table, measured side by side in one run (docs/harts.md).

  * GEMM    -- ``rvai.ops.linear`` (M x K activations, N x K weights packed once): the
               grid kernel ``gemm_packed_grid``, one program a hart (row blocks, then
               panel groups). Compute-bound: it should scale close to linearly.
  * GEMV    -- ``rvai.ops.matmul`` of one row (1 x K @ K x N, B streamed from DRAM): the
               grid kernel ``gemv_rows_grid``, one block of N a hart. Memory-bound: it
               stops scaling once the harts together draw the preset's DRAM bandwidth.
  * prefill -- ``rvai.ops.attention``, causal, Qwen2.5-0.5B's heads (14 query heads over
               2 KV heads, d 64), L queries on L keys: K transposed by all harts, then
               the tiles (KV head, 7 query rows) round robin over the harts.
  * decode  -- the same heads, one query on a cache of L keys: 2 tiles (one a KV head)
               are too few for the harts, so each tile's keys split in parts and a second
               launch combines them. It reads K and V once: memory-bound.
  * bf16, Q8_0 -- ``rvai.ops.linear`` on bf16 and Q8_0 weights (Qwen2.5-0.5B's hidden
               size, 896) for 64 rows and for one (decode); Q8_0 runs the activations'
               quantiser launch, then the int8 GEMM (IME tiles on the K1).

Each row: cycles (the machine's: its latest hart; an operator of several launches adds
them), speed-up over 1 hart, efficiency (speed-up / harts), FLOPs a cycle against the
harts' peak, DRAM bytes a cycle against the shared channel, the share of stall cycles
the profile charges to contention, and the profile's verdict (its busiest resource).
Every result is checked against float64 NumPy.  The 1-hart rows run the single-program
kernels (``gemm_packed``, ``gemv_rows``, ``attention``) on the same preset.

    python bench/harts.py [--target spacemit-k1] [--quick]
"""
from __future__ import annotations

import argparse

import numpy as np

from rvai import ops
from rvai.emu.profile import peak_flops_per_cycle
from rvai.kernels.quant import from_bf16, quantize_q8_0, to_bf16
from rvai.target import Target


def _verdict(p) -> str:
    name, busy = max(p.bounds().items(), key=lambda kv: kv[1])
    return f"{name} {100 * busy:.0f}% busy"


def _row(label, harts, run, base, flops, peak_per_hart, bw):
    p = run.profile
    speed = base / run.cycles
    stalls = sum(p.stalls.values())
    cont = p.stalls.get("contention", 0) / stalls if stalls else 0.0
    dram = sum(p.dram_bytes.values()) / run.cycles
    print(f"{label:<8} {harts:>5} {run.cycles:>10} {speed:>8.2f}x {speed / harts:>6.0%} "
          f"{flops / run.cycles:>8.2f} / {peak_per_hart * harts:<5g} {dram:>6.2f} / {bw:<5g} {cont:>10.0%}   "
          f"{_verdict(p)}")


def _q8_ref(x, w):
    """x @ w.T of Q8_0 x and w as the kernels define it: per block, the exact integer dot
    product times both scales, in float64."""
    xq, wq = quantize_q8_0(x), quantize_q8_0(w)
    nb = xq.d.shape[1]
    isum = np.einsum("mbk,nbk->mnb", xq.q.reshape(len(x), nb, 32).astype(np.int64), wq.q.reshape(len(w), nb, 32))
    return (isum * (xq.d.astype(np.float64)[:, None, :] * wq.d.astype(np.float64)[None, :, :])).sum(-1)


def _attention_ref(q, k, v):
    """Causal (bottom-right) grouped-query attention in float64."""
    group = q.shape[0] // k.shape[0]
    q, k, v = (t.astype(np.float64) for t in (q, np.repeat(k, group, 0), np.repeat(v, group, 0)))
    lq, lk = q.shape[1], k.shape[1]
    s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[2])
    s = np.where(np.arange(lk)[None, :] <= np.arange(lq)[:, None] + lk - lq, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return p @ v / p.sum(-1, keepdims=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="spacemit-k1")
    ap.add_argument("--quick", action="store_true", help="smaller shapes (for a smoke run)")
    args = ap.parse_args(argv)
    target = Target.preset(args.target)
    hart_counts = [h for h in (1, 2, 4, 8) if h <= max(target.harts, 1)]
    rng = np.random.default_rng(0)
    gemm = (112, 128, 256) if args.quick else (224, 128, 512)      # M, K, N
    gemv = (1, 512, 1024) if args.quick else (1, 1024, 2048)
    heads, kv_heads, d = 14, 2, 64                                 # Qwen2.5-0.5B's attention
    prefill, decode = (64, 256) if args.quick else (256, 1024)     # L queries on L keys; keys of a decode step
    bw = target.model["dram_bytes_per_cycle"]
    peak = peak_flops_per_cycle(target.model)   # f32, one hart
    print(f"target {target.name}: {target.harts} harts, DRAM {bw:g} B/cycle shared")
    print(f"{'':<8} {'harts':>5} {'cycles':>10} {'speed-up':>9} {'eff':>6} {'FLOP/cycle (peak)':>16} "
          f"{'DRAM B/cycle':>14} {'contention':>10}   bound")

    def series(label, flops, call, ref):
        """One row per hart count of ``call(harts)``, whose result must match ``ref`` (float64)."""
        base = None
        for h in hart_counts:
            assert np.allclose(call(h), ref, rtol=1e-4, atol=1e-3), f"{label} result differs from NumPy"
            run = ops.last_run
            base = base or run.cycles
            _row(label, h, run, base, flops, peak, bw)

    def normal(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    (m, k, n), (_, k2, n2) = gemm, gemv
    a, b = normal(m, k), normal(k, n)
    w = ops.pack_weights(np.ascontiguousarray(b.T), target=target)    # the GEMM's weights, packed once
    series("GEMM", 2 * m * k * n, lambda h: ops.linear(a, w, target=target, harts=h), a.astype(np.float64) @ b)
    a, b = normal(1, k2), normal(k2, n2)
    series("GEMV", 2 * k2 * n2, lambda h: ops.matmul(a, b, target=target, harts=h), a.astype(np.float64) @ b)
    for label, lq, lk in (("prefill", prefill, prefill), ("decode", 1, decode)):
        q, kk, v = normal(heads, lq, d), normal(kv_heads, lk, d), normal(kv_heads, lk, d)
        seen = sum(min(lk, i + 1 + lk - lq) for i in range(lq))     # keys the causal rows see
        series(label, 4 * d * seen * heads, lambda h: ops.attention(q, kk, v, causal=True, target=target, harts=h),
               _attention_ref(q, kk, v))
    rounded = lambda t: from_bf16(to_bf16(t)).astype(np.float64)   # noqa: E731
    for rows, k3, n3 in ((64, 896, 512), (1, 896, 1024)):
        x, w = normal(rows, k3), normal(n3, k3)
        for dtype, ref in (("bf16", rounded(x) @ rounded(w).T), ("Q8_0", _q8_ref(x, w))):
            packed = ops.pack_weights(w, target=target, dtype=dtype.lower())
            series(f"{dtype} {rows}", 2 * rows * k3 * n3, lambda h: ops.linear(x, packed, target=target, harts=h),
                   ref)
    print(f"GEMM {m}x{k}x{n} (M x K x N), GEMV {k2}x{n2} (K x N); attention {heads} heads over {kv_heads} KV heads, "
          f"d {d}, causal: prefill {prefill} queries on {prefill} keys, decode 1 on {decode}; f32; "
          f"bf16/Q8_0 weights: M x 896 x 512 (M = 64), 1 x 896 x 1024")


if __name__ == "__main__":
    main()
