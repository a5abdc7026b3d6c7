"""Attention against the timing model's compute and memory bounds, per preset.

    python bench/attention.py [--presets generic,xuantie-c930] [--quick | --decode | --prefill] [--tune] [--exp fast]

Runs ``rvai.ops.attention`` (causal, grouped-query) on Qwen2-like head shapes: prefill
(``Lq = Lk = seq``) and decode (one query per head against a KV cache of ``Lk`` keys).
Every result is checked against a float64 NumPy reference before its cycles count (with
``--exp fast``, ``rvai.ops.attention(exp="fast")``, against the bound its exp's error gives:
2 * 9.8e-5 * max |v|).

- FLOPs: 4·d per visible (query, key) pair per query head (2·d for the score, 2·d for
  P·V), the count the literature uses; exp, max and sums are not counted.
- Peak (FLOP/cycle): FP pipes × DLEN/32 f32 lanes × 2 (an FMA), from the preset's
  ``[model]``, as :meth:`rvai.emu.Profile.peak_flops_per_cycle` defines it.
- Memory bound (cycles): the bytes of q, k, v and o that must cross from DRAM (every
  run starts with cold caches) over ``dram_bytes_per_cycle``.
- ``% peak`` = (FLOPs / cycles) / peak; ``% roofline`` = max(FLOPs / peak, memory
  bound) / cycles: the fraction of the better of the two bounds the kernel reaches.
  ``bound`` names the larger of the two bounds.

With ``--tune`` each case is first tuned on the preset (``rvai.tune`` over the kernel's
candidates, ``rvai.kernels.attention.ATTENTION_CONFIGS``: tile rows BM, key-block LMUL, K
columns a trip KU, chunks a block NB, Zicbop prefetches a loop trip PF, K's prefetch distance
in chunks PD, K's next column group prefetched in the score loop PK, a chunk's row maxima folded
late ML, prefill's P V shape PV, decode's exps two rows at a time PR, a chunk's row maxima by a
tree of slides MX, the P V loop kept rolled PU, a tile's queries stored during the tile before
QA, a score-loop column's scalars of q_s loaded before its FMAs QL; cached) and the run uses the chosen configuration, printed at the end of its row; without
it ``rvai.ops`` picks its default (or what an earlier tune cached).
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from rvai import kernels, ops, tune
from rvai.kernels.attention import FAST_EXP_ERROR
from rvai.target import Target

PRESETS = ["generic", "spacemit-x60", "sifive-x280", "xuantie-c930"]
HEADS = [(14, 2, 64), (28, 4, 128)]     # (query heads, KV heads, head dim): Qwen2 0.5B and 7B


def reference(q, k, v):
    """Causal (bottom-right) GQA attention in float64."""
    group = q.shape[0] // k.shape[0]
    k, v = (np.repeat(t.astype(np.float64), group, axis=0) for t in (k, v))
    s = q.astype(np.float64) @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    lq, lk = q.shape[1], k.shape[1]
    s = np.where(np.arange(lk)[None, :] <= np.arange(lq)[:, None] + lk - lq, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return p @ v / p.sum(-1, keepdims=True)


def visible_pairs(lq: int, lk: int) -> int:
    """(query, key) pairs a bottom-right causal mask lets through."""
    return int(np.clip(np.arange(lq) + 1 + lk - lq, 0, lk).sum())


def measure(target: Target, heads: int, kv_heads: int, d: int, lq: int, lk: int, rng,
            tuned: bool = False, exp: str = "accurate") -> dict:
    """One checked run: cycles and the two bounds."""
    q = rng.standard_normal((heads, lq, d)).astype(np.float32)
    k, v = (rng.standard_normal((kv_heads, lk, d)).astype(np.float32) for _ in range(2))
    if tuned:
        tune.tune(kernels.attention, tune.TUNABLE["attention"][1]((heads, kv_heads, lq, lk, d), None, target),
                  target=target, CAUSAL=True, TRANSPOSE_K=lq > 1, EXP=exp)
    config = ops.attention_config(target, q, k, heads // kv_heads, exp)   # what ops.attention runs
    out = ops.attention(q, k, v, causal=True, target=target, exp=exp)
    if exp == "fast":
        eps = FAST_EXP_ERROR
        assert np.abs(out - reference(q, k, v)).max() <= 2 * eps / (1 - eps) * np.abs(v).max() + 2e-5
    else:
        np.testing.assert_allclose(out, reference(q, k, v), rtol=1e-4, atol=2e-5)
    run = ops.last_run
    flops = 4 * d * visible_pairs(lq, lk) * heads
    peak = run.profile.peak_flops_per_cycle()
    nbytes = 4 * (2 * q.size + k.size + v.size)
    mem = nbytes / run.profile.peak_dram_bytes_per_cycle
    return {"cycles": run.cycles, "flops": flops, "peak": peak, "compute": flops / peak, "memory": mem,
            "fp busy": run.profile.bounds()["vector fp"], "config": config}


def main(argv=None) -> list[dict]:
    """Print one row per (preset, shape); return the rows."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--quick", action="store_true", help="seq 128 and decode 512 only")
    ap.add_argument("--decode", action="store_true", help="decode 512 and 4096 only")
    ap.add_argument("--prefill", action="store_true", help="prefill 128 and 512 only")
    ap.add_argument("--tune", action="store_true", help="tune each case first (minutes per case at seq 512)")
    ap.add_argument("--exp", default="accurate", choices=kernels.ATTENTION_EXPS,
                    help="the softmax's exp (rvai.ops.attention(exp=...), with the configuration tuned for it, else the "
                         "accurate exp's)")
    args = ap.parse_args(argv)
    seqs = [] if args.decode else [128] if args.quick else [128, 512]
    decode = [] if args.prefill else [512] if args.quick else [512, 4096]
    rng = np.random.default_rng(0)
    rows = []
    print(f"{'preset':13} {'heads':>6} {'d':>4} {'case':>14} {'cycles':>11} {'FLOP/c':>7} {'peak':>5} "
          f"{'% peak':>7} {'mem bound':>10} {'% roofline':>10} {'bound':>8} {'FP busy':>8}")
    for name in args.presets.split(","):
        target = Target.preset(name)
        for heads, kv_heads, d in HEADS:
            cases = [(f"prefill {s}", s, s) for s in seqs] + [(f"decode {n}", 1, n) for n in decode]
            for label, lq, lk in cases:
                r = measure(target, heads, kv_heads, d, lq, lk, rng, args.tune, args.exp)
                best = max(r["compute"], r["memory"])
                row = {"preset": name, "heads": f"{heads}/{kv_heads}", "d": d, "case": label, **r,
                       "pct_peak": 100 * r["compute"] / r["cycles"], "pct_roofline": 100 * best / r["cycles"],
                       "bound": "compute" if r["compute"] >= r["memory"] else "memory"}
                rows.append(row)
                print(f"{name:13} {row['heads']:>6} {d:>4} {label:>14} {r['cycles']:>11,} "
                      f"{r['flops'] / r['cycles']:>7.2f} {r['peak']:>5g} {row['pct_peak']:>6.1f}% "
                      f"{r['memory']:>10,.0f} {row['pct_roofline']:>9.1f}% {row['bound']:>8} "
                      f"{100 * r['fp busy']:>7.0f}%  "
                      + (" ".join(f"{k}={v}" for k, v in sorted(r["config"].items())) or "default"), flush=True)
    return rows


if __name__ == "__main__":
    main()
