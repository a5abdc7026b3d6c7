"""A Qwen2.5-0.5B decoder layer on an emulated RISC-V core: check it, then see where its cycles go.

Walks through what bench/qwen.py automates:
1. one fused operator (RoPE) called directly, against NumPy;
2. a whole decoder layer (random weights, real sizes) on a 4-token prefill and a 1-token
   decode against the KV cache the prefill filled, each checked against the float64 layer;
3. the decode step's cost per operator, from the target's timing model.
"""
import sys

import numpy as np

from rvai import ops
from rvai.models import Costs, DecoderLayer, KVCache, Roofline, get, reference_layer
from rvai.models.layer import rope_tables
from rvai.target import Target


def main(target_name: str = "spacemit-x60") -> None:
    """Run the three steps on ``target_name``; assert each result against NumPy."""
    target = Target.preset(target_name)
    cfg = get("qwen2.5-0.5b")            # 896 hidden, 14 query heads sharing 2 KV heads of 64
    rng = np.random.default_rng(0)

    # 1. RoPE as Qwen applies it: element j of a head turns with element j + 32 by
    # position * theta**(-j/32); the kernel writes (heads, tokens, d), attention's layout.
    q = rng.standard_normal((4, cfg.num_attention_heads, cfg.head_dim), np.float32)
    cos, sin = rope_tables(cfg, np.arange(4))
    rotated = ops.rope(q, cos, sin)
    half = cfg.head_dim // 2
    c, s = cos[:, None, :].astype(np.float64), sin[:, None, :]
    want = np.concatenate([q[..., :half] * c - q[..., half:] * s, q[..., half:] * c + q[..., :half] * s], -1)
    assert np.abs(rotated - want.transpose(1, 0, 2)).max() < 1e-5
    print(f"rope: {rotated.shape} in {ops.last_run.cycles} cycles")

    # 2. The layer: every step is an rvai.ops call (see rvai/models/layer.py).
    layer, cache = DecoderLayer(cfg, dtype="f32", seed=0), KVCache(cfg)
    for tokens in (4, 1):               # prefill, then decode against the cache it filled
        x = rng.standard_normal((tokens, cfg.hidden_size), np.float32)
        past_k, past_v = cache.k.copy(), cache.v.copy()
        costs = Costs()
        out = layer.forward(x, cache, target=target, costs=costs)
        ref = reference_layer(layer.weights, x, past_k, past_v)
        err = np.abs(out - ref).max() / np.abs(ref).max()
        assert err <= 1e-4, err
        print(f"{'prefill' if tokens > 1 else 'decode'} of {tokens}: relative error {err:.1e} vs float64, "
              f"{costs.cycles:,.0f} cycles, KV cache now {cache.length}")

    # 3. The decode step's operators: a GEMV reads each weight once, so at 2 FLOPs per
    # 4-byte weight it sits far left of the ridge: memory-bound.
    roof = Roofline.of(target)
    print(f"\n{target.name}: {roof.peak_flops:g} FLOP/cycle, {roof.peak_bytes:g} DRAM B/cycle")
    for op in sorted(costs.ops.values(), key=lambda o: -o.cycles):
        print(f"  {op.name:<14}{op.cycles:>12,.0f} cycles {100 * op.cycles / costs.cycles:5.1f}%  "
              f"{op.flops / op.cycles:5.2f} FLOP/cycle  {roof.bound(op)}-bound")
    ms = costs.cycles / (roof.clock_ghz * 1e6)
    print(f"one layer: {ms:.2f} ms at {roof.clock_ghz} GHz; x{cfg.num_hidden_layers} layers plus the LM head: "
          f"python bench/qwen.py --model {cfg.name} --target {target.name} --phase decode")


if __name__ == "__main__":
    main(*sys.argv[1:])
