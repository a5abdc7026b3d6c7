"""A Qwen decoder layer composed of rvai kernels, with random weights and a KV cache.

The layer (Hugging Face's Qwen2/Qwen3/Qwen3-MoE decoder layer, inference only):

    h      = rmsnorm(x)                                   input_norm
    q,k,v  = h @ Wqkv (+ bias, Qwen2)                     qkv_proj, qkv_bias
    q,k    = rmsnorm per head (Qwen3)                     q_norm, k_norm
    q,k    = rope(q, k) at positions L .. L+T-1           rope
    cache += k, v
    a      = attention(q, cache), causal, grouped-query   attention
    h2, r  = rmsnorm(x + a @ Wo), x + a @ Wo               o_proj, add_rmsnorm
    m      = down(silu(h2 @ Wg) * (h2 @ Wu))              gate_up_proj, swiglu, down_proj
             (MoE: softmax router, top-k experts, each a SwiGLU MLP, weighted sum)
    out    = r + m                                        residual_add

Every step on the right is one :mod:`rvai.ops` call, timed by the emulator and recorded
in a :class:`rvai.models.costs.Costs` under that name. The projections are
:func:`rvai.ops.linear` calls on weights packed once per VLEN (:func:`rvai.ops.pack_weights`),
as an inference engine lays its weights out at load time: a call reads the packed
panels and does no packing, and the packing itself is not costed.

Activations are f32 and so are norm weights, biases and the router. Projection
weights (:data:`WEIGHT_DTYPES`) are f32, f16, bf16 or int8 (Q8_0 blocks); the
projection's input is rounded to the same kind (f16; bf16; Q8_0 blocks, as llama.cpp
quantises activations) and the GEMM accumulates in f32 (int8: exact int32 block sums),
so it reads 2, 2 or 1.06 bytes a weight, as such an engine does. What runs on the host,
uncosted: RoPE's cos/sin tables (an engine precomputes them), the KV-cache append and
the copies that split, transpose and gather activations between kernels, the rounding
or quantisation of projection inputs, and the MoE top-k selection (O(tokens * experts)
scalar work).
"""
from __future__ import annotations

import math
import zlib

import numpy as np

from rvai import ops
from rvai.models.configs import QwenConfig
from rvai.kernels.quant import from_bf16, quantize_q8_0, requantize_q8_0, to_bf16
from rvai.models.costs import Costs
from rvai.target import Target

__all__ = ["DecoderLayer", "LayerWeights", "KVCache", "WEIGHT_DTYPES", "ERROR_BOUNDS", "weight_dtype", "rope_tables",
           "scaled_normal"]

#: Limits of each operator's kernel call: a full-size projection is a deliberate emulation of
#: up to billions of instructions, not a runaway kernel (rvai.runner's defaults stop those).
RUN_LIMITS = {"budget": 10 ** 11, "timeout": math.inf}
#: Projection-weight dtypes a layer runs with, each with the format ops.pack_weights lays
#: it out in (int8 is llama.cpp's Q8_0: blocks of 32 int8 along K with an f16 scale).
WEIGHT_DTYPES = {"f32": "f32", "f16": "f16", "bf16": "bf16", "int8": "q8_0"}
#: The stated bound of each weight dtype on a layer's output against the float64 layer
#: on the same weight values, as max |error| / max |float64|. f32: f32 arithmetic (the
#: GEMM's blocked sums, exp, rsqrt). The others add the rounding of each projection's
#: input, through four projections in series: f16 (2^-11 relative per element), bf16
#: (2^-8) and Q8_0 activations (half a step of max|block| / 127 per element), with margin.
ERROR_BOUNDS = {"f32": 1e-4, "f16": 2e-3, "bf16": 2e-2, "int8": 4e-2}


def weight_dtype(name: str) -> str:
    """The ops.pack_weights format of weight dtype ``name``; ValueError naming the known ones otherwise."""
    if name not in WEIGHT_DTYPES:
        raise ValueError(f"unknown weight dtype {name!r}; choose from {', '.join(WEIGHT_DTYPES)}")
    return WEIGHT_DTYPES[name]


#: Elements of the row blocks :func:`scaled_normal` makes a matrix in: its float64
#: temporaries stay a few MiB (a 7B layer's gate_up matrix is 136M elements).
_BLOCK_ELEMENTS = 1 << 19


def scaled_normal(rng: np.random.Generator, shape: tuple[int, int], fan_in: int, fmt: str = "f32") -> np.ndarray:
    """N(0, 1/fan_in) weights: ``rng.standard_normal(shape, np.float32) / np.sqrt(fan_in)`` as
    format ``fmt`` stores them (f16; bf16-rounded or Q8_0-dequantised f32; f32), bit for bit.

    That expression is float64 (NumPy promotes f32 by the float64 root): made whole, it
    was a float64 matrix 2.5 times the f32 result, converted back by
    :func:`rvai.ops.pack_weights`. Here each block of rows (a multiple of 32: Q8_0 blocks
    run down the columns) is drawn, divided and stored on its own, into a result of the
    format's dtype (f16 for ``"f16"``, else f32): the generator's stream, the float64
    quotients and each rounding are the whole expression's.
    """
    out = np.empty(shape, np.float16 if fmt == "f16" else np.float32)
    for r, block in _row_blocks(rng, shape, fan_in):
        out[r:r + len(block)] = _stored(block, fmt)
    return out


def _row_blocks(rng: np.random.Generator, shape: tuple[int, int], fan_in: int):
    """:func:`scaled_normal`'s blocks of rows in order, each as (first row, its float64
    quotients ``standard_normal / sqrt(fan_in)``)."""
    k, n = shape
    rows = max(_BLOCK_ELEMENTS // max(n, 1) // 32, 1) * 32
    for r in range(0, k, rows):
        yield r, rng.standard_normal((min(rows, k - r), n), np.float32) / np.sqrt(fan_in)


def _stored(w: np.ndarray, fmt: str) -> np.ndarray:
    """The values ``w`` (in, out) takes in format ``fmt``: f16 as f16, f32 as it is (its
    caller rounds), bf16 and Q8_0 as the f32 they stand for."""
    if fmt == "f16":
        return w.astype(np.float16)
    if fmt == "bf16":
        return from_bf16(to_bf16(w))
    if fmt == "q8_0":
        return np.ascontiguousarray(quantize_q8_0(w.T).dequantize().T)
    return w


def _packable(w: np.ndarray, fmt: str):
    """A block ``w`` (rows, out) of float64 quotients as :func:`rvai.ops.pack_weights_by_k`
    takes it: (out, rows), the values format ``fmt`` stores; for Q8_0 the blocks that
    packing those (dequantised) values makes, quantised once (:func:`requantize_q8_0`)."""
    if fmt == "q8_0":
        return requantize_q8_0(w.T)
    return _stored(w, fmt).T


class LayerWeights:
    """A layer's random weights, generated on first use from ``seed`` and the weight's name.

    Projections are N(0, 1/in) so activations keep unit scale; norm weights are near 1,
    biases small. ``matrix(name, cols=n)`` gives only the first ``n`` columns when the
    full matrix was never made (a sampled run), so a 7B layer never holds all its weights.
    ``packed(name, target, cols)`` is the same matrix laid out for :func:`rvai.ops.linear`.
    ``matrix`` holds the values the dtype stores (f32 or f16 arrays; bf16-rounded and
    Q8_0-dequantised f32), so the float64 oracle multiplies by the very weights the kernels read.
    """

    def __init__(self, cfg: QwenConfig, dtype: str = "f32", seed: int = 0):
        self.cfg, self.format, self.seed = cfg, weight_dtype(dtype), seed
        self._made: dict[str, np.ndarray] = {}
        self._packed: dict[tuple, ops.PackedWeights] = {}

    def shape(self, name: str) -> tuple[int, int]:
        """(in, out) of projection ``name``: qkv, o, gate_up, down, router, expert<e>.gate_up, expert<e>.down."""
        c = self.cfg
        hq, hkv, d = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        kind = name.split(".")[-1]
        return {"qkv": (c.hidden_size, (hq + 2 * hkv) * d), "o": (hq * d, c.hidden_size),
                "gate_up": (c.hidden_size, 2 * (c.moe_intermediate_size if name.startswith("expert")
                                                 else c.intermediate_size)),
                "down": (c.moe_intermediate_size if name.startswith("expert") else c.intermediate_size,
                         c.hidden_size),
                "router": (c.hidden_size, c.num_experts)}[kind]

    def _rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def _format(self, name: str) -> str:
        return "f32" if name == "router" else self.format

    def _drawn(self, name: str, cols: int | None) -> tuple[np.random.Generator, tuple[int, int]]:
        """The generator and (in, out) shape ``matrix(name, cols)`` is drawn with when not made
        yet: the whole matrix's, or a sampled slice's own (its first ``cols`` columns)."""
        k, n = self.shape(name)
        if cols is None or cols >= n:
            return self._rng(name), (k, n)
        return self._rng(name + "#slice"), (k, cols)

    def matrix(self, name: str, cols: int | None = None) -> np.ndarray:
        """Projection ``name`` as (in, out) in the layer's dtype (the router stays f32), or its first ``cols`` columns."""
        if name not in self._made:
            rng, shape = self._drawn(name, cols)
            w = scaled_normal(rng, shape, shape[0], self._format(name))
            if shape[1] < self.shape(name)[1]:
                return w
            self._made[name] = w
        return self._made[name] if cols is None else self._made[name][:, :cols]

    def packed(self, name: str, target: Target, cols: int | None = None) -> ops.PackedWeights:
        """``matrix(name, cols)`` packed once for ``target``'s VLEN (the panels :func:`rvai.ops.linear` reads).

        While the matrix is not made, the weights are drawn straight into the panels (and
        Q8_0's scales), a block of rows (of K) at a time, and the matrix is not kept: a
        layer run holds each projection once, not twice (7B f32: 0.9 GB less, and its
        fresh pages not faulted in), and Q8_0's quantisation works on a block at a time.
        """
        target = Target.of(target)
        key = (name, cols, target.vlen)
        if key not in self._packed:
            fmt = self._format(name)
            if name in self._made:
                self._packed[key] = ops.pack_weights(self.matrix(name, cols).T, target=target, dtype=fmt)
            else:
                self._packed[key] = self._packed_by_blocks(name, cols, target, fmt)
        return self._packed[key]

    def _packed_by_blocks(self, name: str, cols: int | None, target: Target, fmt: str) -> ops.PackedWeights:
        """``pack_weights(matrix(name, cols).T)``, each block of the matrix's rows (of K, a
        multiple of 32) packed on its own into its part of the layout."""
        rng, shape = self._drawn(name, cols)
        blocks = (_packable(block, fmt) for _, block in _row_blocks(rng, shape, shape[0]))
        return ops.pack_weights_by_k(blocks, shape[0], target=target, dtype=fmt)

    def vector(self, name: str) -> np.ndarray:
        """Norm weight (input_norm, post_norm, q_norm, k_norm) or the qkv bias, f32."""
        c = self.cfg
        if name not in self._made:
            n = c.head_dim if name in ("q_norm", "k_norm") else \
                self.shape("qkv")[1] if name == "qkv_bias" else c.hidden_size
            r = self._rng(name).standard_normal(n).astype(np.float32)
            self._made[name] = r * np.float32(0.1) + np.float32(0 if name == "qkv_bias" else 1)
        return self._made[name]


class KVCache:
    """One layer's keys and values, head-major: ``k``, ``v`` are (kv_heads, length, head_dim) f32."""

    def __init__(self, cfg: QwenConfig):
        shape = (cfg.num_key_value_heads, 0, cfg.head_dim)
        self.k, self.v = np.zeros(shape, np.float32), np.zeros(shape, np.float32)

    @classmethod
    def random(cls, cfg: QwenConfig, length: int, seed: int = 0) -> "KVCache":
        """A cache already holding ``length`` random entries (decode against a context)."""
        cache = cls(cfg)
        rng = np.random.default_rng([seed, length])
        shape = (cfg.num_key_value_heads, length, cfg.head_dim)
        cache.append(rng.standard_normal(shape, np.float32), rng.standard_normal(shape, np.float32))
        return cache

    @property
    def length(self) -> int:
        """Entries held."""
        return self.k.shape[1]

    def append(self, k: np.ndarray, v: np.ndarray) -> None:
        """Add (kv_heads, tokens, head_dim) keys and values after those held."""
        self.k = np.concatenate([self.k, k.astype(np.float32)], axis=1)
        self.v = np.concatenate([self.v, v.astype(np.float32)], axis=1)


def rope_tables(cfg: QwenConfig, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin (tokens, head_dim/2) f32 of the angles position * theta**(-2j/head_dim)."""
    inv_freq = cfg.rope_theta ** (-np.arange(0, cfg.head_dim, 2, dtype=np.float64) / cfg.head_dim)
    angles = np.asarray(positions, np.float64)[:, None] * inv_freq[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def _tile_columns(y: np.ndarray, n: int) -> np.ndarray:
    """``y``'s columns repeated out to ``n`` (the values of a sampled operator's unrun part)."""
    reps = -(-n // y.shape[-1])
    return np.tile(y, (1,) * (y.ndim - 1) + (reps,))[..., :n]


class DecoderLayer:
    """One decoder layer of ``cfg`` with random weights (``dtype`` projections, ``seed``)."""

    def __init__(self, cfg: QwenConfig, dtype: str = "f32", seed: int = 0):
        self.cfg = cfg
        self.weights = LayerWeights(cfg, dtype, seed)

    def forward(self, x: np.ndarray, cache: KVCache, *, target=None, costs: Costs | None = None,
                budget: int | None = None) -> np.ndarray:
        """The layer on ``x`` (tokens, hidden) f32 at positions cache.length onwards; appends to ``cache``.

        Prefill is ``tokens`` > 1, decode ``tokens`` = 1. Each operator's cost goes into
        ``costs`` (which also says whether big operators are sampled); returns the output.
        ``budget`` caps each kernel call's instructions (default: :data:`RUN_LIMITS`).
        """
        target = Target.of(target)
        cfg, w = self.cfg, self.weights
        x = np.ascontiguousarray(x, np.float32)
        if x.ndim != 2 or x.shape[1] != cfg.hidden_size:
            raise ValueError(f"x must be (tokens, {cfg.hidden_size}), got {x.shape}")
        costs = costs if costs is not None else Costs()
        self._target, self._costs = target, costs
        self._limits = RUN_LIMITS if budget is None else dict(RUN_LIMITS, budget=budget)
        tokens, eps = x.shape[0], cfg.rms_norm_eps
        hq, hkv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim

        h = self._op("input_norm", ops.rmsnorm, x, w.vector("input_norm"), eps)
        qkv = self._linear("qkv_proj", h, "qkv")
        if cfg.qkv_bias:
            qkv = self._op("qkv_bias", ops.add, qkv, w.vector("qkv_bias"))
        qkv = qkv.reshape(tokens, hq + 2 * hkv, d)
        qk, v = qkv[:, :hq + hkv], qkv[:, hq + hkv:]
        if cfg.qk_norm:
            qk = np.concatenate([self._op("q_norm", ops.rmsnorm, qk[:, :hq], w.vector("q_norm"), eps),
                                 self._op("k_norm", ops.rmsnorm, qk[:, hq:], w.vector("k_norm"), eps)], axis=1)
        cos, sin = rope_tables(cfg, np.arange(cache.length, cache.length + tokens))
        qk = self._op("rope", ops.rope, qk, cos, sin)                       # (hq + hkv, tokens, d)
        cache.append(qk[hq:], v.transpose(1, 0, 2))
        attn = self._attention(qk[:hq], cache)                              # (hq, tokens, d)
        o = self._linear("o_proj", attn.transpose(1, 0, 2).reshape(tokens, hq * d), "o")
        h2, resid = self._op("add_rmsnorm", ops.add_rmsnorm, o, x, w.vector("post_norm"), eps)
        mlp = self._moe(h2) if cfg.is_moe else self._mlp(h2)
        return self._op("residual_add", ops.add, resid, mlp)

    # ---- the steps ---------------------------------------------------------------
    def _op(self, name: str, fn, *args, scale: float = 1.0, **kwargs):
        """``fn(*args, **kwargs)`` (an rvai.ops call) on the layer's target, its run recorded under ``name``."""
        out = self._call(fn, *args, **kwargs)
        self._costs.add(name, ops.last_run, scale)
        return out

    def _call(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` (an rvai.ops call) on the layer's target, not recorded."""
        return fn(*args, **kwargs, target=self._target, **self._limits)

    def _linear(self, name: str, x: np.ndarray, weight: str, scale: float = 1.0) -> np.ndarray:
        """``x @ W`` for projection ``weight`` (packed); sampled by output columns when Costs says so.

        A sampled slice writes into an output of the full width, so its rows have the
        full operator's stride (and cache-set pattern: a power-of-two stride costs up to
        7% more on xuantie-c930 for a 128-row GEMM).
        """
        k, n = self.weights.shape(weight)
        cols = self._costs.columns(x.shape[0], k, n)
        w = self.weights.packed(weight, self._target, cols)
        out = None if cols == n else np.zeros((x.shape[0], n), np.float32)
        x = x.astype(np.float16) if w.dtype == "f16" else x      # bf16, Q8_0: ops.linear rounds x itself
        y = self._op(name, ops.linear, x, w, scale=scale * n / cols, out=out)
        return y if cols == n else _tile_columns(y[:, :cols], n)

    def _attention(self, q: np.ndarray, cache: KVCache) -> np.ndarray:
        """Causal grouped-query attention of q (hq, tokens, d) over the cache; sampled by KV heads:
        runs on g and 2g of them with the whole call's configuration (the tuner's entries
        are per head count: Qwen2.5-7B's decode on spacemit-x60 had a sample of 2 heads run
        other code than the whole call), the cost extrapolated to all on the line through
        the two (Costs.add_line: the call's cold start, which its first head pays, counted once)."""
        hkv, group = self.cfg.num_key_value_heads, self.cfg.group
        macs = 2.0 * q.shape[0] * q.shape[1] * cache.length * q.shape[2]
        g = self._costs.kv_heads(hkv, macs)
        if g == hkv:
            return self._op("attention", ops.attention, q, cache.k, cache.v, True)
        config = ops.attention_config(self._target, q, cache.k, group)
        runs = []
        for n in (g, 2 * g):
            out = self._call(ops.attention, q[:n * group], cache.k[:n], cache.v[:n], True, config=config)
            runs.append(ops.last_run)
        self._costs.add_line("attention", *runs, hkv / g)
        return np.concatenate([out] * -(-hkv // (2 * g)))[:q.shape[0]]

    def _mlp(self, h: np.ndarray, prefix: str = "", weight: str = "", scale: float = 1.0) -> np.ndarray:
        """The SwiGLU MLP: down(silu(h @ Wg) * (h @ Wu))."""
        gu = self._linear(f"{prefix}gate_up_proj", h, f"{weight}gate_up", scale)
        inner = gu.shape[1] // 2
        a = self._op(f"{prefix}swiglu", ops.swiglu, gu[:, :inner], gu[:, inner:], scale=scale)
        return self._linear(f"{prefix}down_proj", a, f"{weight}down", scale)

    def _moe(self, h: np.ndarray) -> np.ndarray:
        """Qwen3-MoE's sparse MLP: softmax router, top-k experts (renormalised if norm_topk_prob), weighted sum.

        Sampled runs cost one expert per distinct token count, scaled by how many experts got that count.
        """
        cfg = self.cfg
        probs = self._op("router_softmax", ops.softmax, self._linear("router", h, "router"))
        top = np.argsort(-probs, axis=1, kind="stable")[:, :cfg.num_experts_per_tok]
        weights = np.take_along_axis(probs, top, axis=1)
        if cfg.norm_topk_prob:
            weights = weights / weights.sum(axis=1, keepdims=True)
        experts, counts = np.unique(top, return_counts=True)
        sample = self._costs.max_macs is not None
        done: dict[int, np.ndarray] = {}     # sampled runs: an output per token count
        ys, rows, wts = [], [], []
        for e, count in zip(experts, counts):
            tok, slot = np.nonzero(top == e)
            if sample and count in done:
                y = done[count]
            else:
                scale = float(np.sum(counts == count)) if sample else 1.0
                y = done[count] = self._mlp(h[tok], "expert_", f"expert{e}.", scale)
            ys.append(y)
            rows.append(tok)
            wts.append(weights[tok, slot])
        out = np.zeros_like(h)
        return self._op("moe_combine", ops.moe_combine, out, np.concatenate(ys), np.concatenate(rows),
                        np.concatenate(wts).astype(np.float32))
