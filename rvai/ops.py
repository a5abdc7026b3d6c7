"""NumPy-facing kernels: each call compiles (cached) the DSL kernel and runs it in the emulator.

Every function takes ``target`` (a :class:`rvai.Target`, default preset if None),
``runner`` (``"emu"``, the rvai emulator, or ``"qemu"``, qemu-user as an independent
oracle) and, passed on to the kernel call, ``checked`` (a debug run: exact bounds checks,
see docs/dsl.md), ``budget`` (instructions) and ``timeout`` (seconds). The run record of
the latest call is kept in :data:`last_run`.
"""
from __future__ import annotations

import math

import numpy as np

from rvai import kernels
from rvai.runner import Run
from rvai.target import Target

__all__ = ["matmul", "softmax", "rmsnorm", "attention", "swiglu", "rope", "add_rmsnorm", "add", "embedding",
           "moe_combine", "last_run"]

_ATTN_LMUL = 4   # keys per block: VLMAX at LMUL 4 (VLEN/8); 8 FP beats an FMA at DLEN 128

#: The :class:`rvai.runner.Run` of the most recent call in this module (cycles, instret, profile).
last_run: Run | None = None


def _record(run: Run) -> None:
    global last_run
    last_run = run


def _float_array(x, name: str, dtypes=(np.float32,)) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype not in dtypes:
        if x.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a numeric array, got {x.dtype}")
        x = x.astype(np.float32)
    return x


def matmul(a, b, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """``a @ b`` for 2-D f32 or f16 arrays (f32 accumulation); returns a new f32 array."""
    a = _float_array(a, "a", (np.float32, np.float16))
    b = _float_array(b, "b", (np.float32, np.float16))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul needs (M, K) @ (K, N) arrays, got {a.shape} and {b.shape}")
    c = np.zeros((a.shape[0], b.shape[1]), np.float32)
    if c.size and a.shape[1]:
        _record(kernels.matmul(a, b, c, target=target, runner=runner, checked=checked, budget=budget,
                               timeout=timeout))
    return c


def _rows(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1))


def softmax(x, axis: int = -1, *, target=None, runner: str = "emu", checked: bool | None = None,
            budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Softmax of a float array along ``axis``; returns a new f32 array."""
    x = np.moveaxis(_float_array(x, "x"), axis, -1)
    rows = _rows(x)
    out = np.zeros_like(rows)
    if rows.size:
        _record(kernels.softmax(rows, out, target=target, runner=runner, checked=checked, budget=budget,
                                timeout=timeout))
    return np.moveaxis(out.reshape(x.shape), -1, axis)


def rmsnorm(x, weight, eps: float = 1e-6, *, target=None, runner: str = "emu", checked: bool | None = None,
            budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """RMSNorm over the last axis: ``x / sqrt(mean(x**2) + eps) * weight``; a new f32 array."""
    x = _float_array(x, "x")
    w = np.ascontiguousarray(_float_array(weight, "weight"))
    if w.shape != (x.shape[-1],):
        raise ValueError(f"weight must have shape ({x.shape[-1]},), got {w.shape}")
    rows = _rows(x)
    out = np.zeros_like(rows)
    if rows.size:
        _record(kernels.rmsnorm(rows, w, out, float(eps), target=target, runner=runner, checked=checked,
                                budget=budget, timeout=timeout))
    return out.reshape(x.shape)


def _attention_blocks(group: int) -> int:
    """Rows per tile: whole GQA groups (the heads that share a K/V block) where they fit in
    7 rows, whose 7 score accumulators at LMUL 4 leave one register group for the K column."""
    return group * max(1, 7 // group) if group <= 7 else 7


def attention(q, k, v, causal: bool = False, scale: float | None = None, *, kv_len: int | None = None,
              target=None, runner: str = "emu", checked: bool | None = None,
              budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Scaled dot-product attention; returns a new f32 array shaped like ``q``.

    ``q`` is ``(Lq, d)`` or ``(..., H, Lq, d)``; ``k`` and ``v`` are ``(Lk, d)`` or
    ``(..., H_kv, Lk, d)`` with ``H`` a multiple of ``H_kv`` (grouped-query attention).
    For decoding, ``q`` holds the new token(s) and ``k``/``v`` may be a preallocated
    cache of which only the first ``kv_len`` positions are valid (default: all).
    ``scale`` defaults to ``1/sqrt(d)``. With ``causal``, query ``i`` attends to keys
    ``j <= i + Lk - Lq`` (bottom-right alignment, as with a KV cache; Lk = kv_len).
    A row with no visible key (including every row when Lk = 0) is 0.
    """
    q, k, v = (_float_array(t, n) for t, n in ((q, "q"), (k, "k"), (v, "v")))
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError("q, k and v must all be (L, d) or all (..., heads, L, d)")
    if k.shape != v.shape or q.shape[-1] != k.shape[-1]:
        raise ValueError(f"k and v must match and share d with q: {q.shape}, {k.shape}, {v.shape}")
    if q.shape[:-3] != k.shape[:-3]:
        raise ValueError(f"batch dimensions differ: {q.shape[:-3]} and {k.shape[:-3]}")
    heads, kv_heads = (q.shape[-3], k.shape[-3]) if q.ndim > 2 else (1, 1)
    if kv_heads == 0 or heads % kv_heads:
        raise ValueError(f"query heads ({heads}) must be a multiple of KV heads ({kv_heads})")
    if kv_len is not None:
        if not 0 <= kv_len <= k.shape[-2]:
            raise ValueError(f"kv_len must be in [0, {k.shape[-2]}] (the cache length), got {kv_len}")
        k, v = k[..., :kv_len, :], v[..., :kv_len, :]
    d, lq, lk = q.shape[-1], q.shape[-2], k.shape[-2]
    batch = int(np.prod(q.shape[:-3], dtype=np.int64))
    q3 = np.ascontiguousarray(q.reshape(batch * heads, lq, d))
    out = np.zeros_like(q3)
    if out.size and lk:
        k3, v3 = (np.ascontiguousarray(t.reshape(batch * kv_heads, lk, d)) for t in (k, v))
        target = target or Target.default()
        bm = _attention_blocks(heads // kv_heads)
        q_s, o_s = np.zeros((d, bm), np.float32), np.zeros((bm, d), np.float32)
        p = np.zeros((target.vlen * _ATTN_LMUL // 32, bm), np.float32)   # VLMAX keys per block
        s = 1.0 / math.sqrt(d) if scale is None else float(scale)
        # Transposing K costs what one tile's strided column loads cost; worth it once
        # several query rows per head reuse the keys (prefill), not for one (decode).
        transpose = lq > 1
        k_t = np.zeros((d, lk) if transpose else (1, 1), np.float32)
        _record(kernels.attention(q3, k3, v3, out, q_s, o_s, p, k_t, s, CAUSAL=bool(causal), TRANSPOSE_K=transpose,
                                  BM=bm, LMUL=_ATTN_LMUL, target=target, runner=runner, checked=checked,
                                  budget=budget, timeout=timeout))
    return out.reshape(q.shape)


# ---- fused operators of LLM decoder layers (rvai/kernels/llm.py) ----------------------

def _same_shape_rows(name: str, *arrays: np.ndarray) -> None:
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim < 1:
        raise ValueError(f"{name} needs arrays of one shape, got {[a.shape for a in arrays]}")


def swiglu(a, b, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """SwiGLU's gate: ``silu(a) * b = a * sigmoid(a) * b`` elementwise; a new f32 array."""
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    a, b = _float_array(a, "a"), _float_array(b, "b")
    _same_shape_rows("swiglu", a, b)
    ra, rb = _rows(a), _rows(b)
    out = np.zeros_like(ra)
    if out.size:
        _record(kernels.swiglu(ra, rb, out, target=target, runner=runner, **limits))
    return out.reshape(a.shape)


def rope(x, cos, sin, *, interleaved: bool = False, target=None, runner: str = "emu",
         checked: bool | None = None, budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Rotary position embedding of ``x`` (tokens, heads, d); returns (heads, tokens, d) f32.

    ``cos`` and ``sin`` are (tokens, d/2): the angle of token ``t`` and pair ``j``. The
    NeoX form (default; Qwen, Llama in Hugging Face) pairs element ``j`` with ``j + d/2``;
    ``interleaved=True`` (GPT-J) pairs ``2j`` with ``2j + 1``. The result is head-major,
    the layout :func:`attention` takes.
    """
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    x, cos, sin = (_float_array(t, n) for t, n in ((x, "x"), (cos, "cos"), (sin, "sin")))
    if x.ndim != 3 or x.shape[-1] % 2:
        raise ValueError(f"x must be (tokens, heads, d) with d even, got {x.shape}")
    tokens, heads, d = x.shape
    if cos.shape != (tokens, d // 2) or sin.shape != cos.shape:
        raise ValueError(f"cos and sin must be ({tokens}, {d // 2}), got {cos.shape} and {sin.shape}")
    out = np.zeros((heads, tokens, d), np.float32)
    if out.size:
        cos, sin = np.ascontiguousarray(cos), np.ascontiguousarray(sin)
        if interleaved:
            pairs = out.reshape(heads, tokens, d // 2, 2)
            _record(kernels.rope_interleaved(np.ascontiguousarray(x).reshape(tokens, heads, d // 2, 2), cos, sin,
                                             pairs, target=target, runner=runner, **limits))
        else:
            _record(kernels.rope_neox(x, cos, sin, out, target=target, runner=runner, **limits))
    return out


def add_rmsnorm(x, residual, weight, eps: float = 1e-6, *, target=None, runner: str = "emu",
                checked: bool | None = None, budget: int | None = None,
                timeout: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Residual add fused with RMSNorm: ``h = x + residual``; returns ``(rmsnorm(h) * weight, h)``."""
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    x, residual = _float_array(x, "x"), _float_array(residual, "residual")
    w = np.ascontiguousarray(_float_array(weight, "weight"))
    _same_shape_rows("add_rmsnorm", x, residual)
    if w.shape != (x.shape[-1],):
        raise ValueError(f"weight must have shape ({x.shape[-1]},), got {w.shape}")
    rx, rr = _rows(x), _rows(residual)
    out, h = np.zeros_like(rx), np.zeros_like(rx)
    if out.size:
        _record(kernels.add_rmsnorm(rx, rr, w, out, h, float(eps), target=target, runner=runner, **limits))
    return out.reshape(x.shape), h.reshape(x.shape)


def add(x, y, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """``x + y``; ``y`` has ``x``'s shape or is a vector of its last axis (a bias). A new f32 array."""
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    x, y = _float_array(x, "x"), _float_array(y, "y")
    rx = _rows(x)
    out = np.zeros_like(rx)
    if y.shape == x.shape:
        if out.size:
            _record(kernels.add(rx, _rows(y), out, target=target, runner=runner, **limits))
    elif x.ndim and y.shape == (x.shape[-1],):
        if out.size:
            _record(kernels.add_bias(rx, np.ascontiguousarray(y), out, target=target, runner=runner, **limits))
    else:
        raise ValueError(f"add needs y shaped like x {x.shape} or ({x.shape[-1] if x.ndim else 1},), got {y.shape}")
    return out.reshape(x.shape)


def embedding(table, ids, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Rows ``table[ids]`` of an f32 or f16 (vocab, d) table, as a new (len(ids), d) f32 array."""
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    table = _float_array(table, "table", (np.float32, np.float16))
    ids = np.asarray(ids)
    if table.ndim != 2 or ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"embedding needs a (vocab, d) table and 1-D integer ids, got {table.shape}, {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise ValueError(f"token ids must be in [0, {table.shape[0]})")
    out = np.zeros((ids.size, table.shape[1]), np.float32)
    if out.size:
        _record(kernels.embedding(table, ids.astype(np.int64), out, target=target, runner=runner, **limits))
    return out


def moe_combine(out, y, rows, weights, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Mixture-of-experts sum in place: ``out[rows[i]] += weights[i] * y[i]``; returns ``out`` (f32)."""
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    y, weights = _float_array(y, "y"), _float_array(weights, "weights")
    rows = np.asarray(rows)
    if not (isinstance(out, np.ndarray) and out.dtype == np.float32 and out.ndim == 2):
        raise TypeError("out must be a 2-D float32 array (it is updated in place)")
    if y.ndim != 2 or y.shape[1] != out.shape[1] or rows.shape != (y.shape[0],) or weights.shape != rows.shape:
        raise ValueError(f"moe_combine: y {y.shape}, rows {rows.shape}, weights {weights.shape} "
                         f"do not fit out {out.shape}")
    if rows.size and (rows.dtype.kind not in "iu" or rows.min() < 0 or rows.max() >= out.shape[0]):
        raise ValueError(f"rows must be integers in [0, {out.shape[0]})")
    if y.size:
        _record(kernels.moe_combine(np.ascontiguousarray(y), rows.astype(np.int64), np.ascontiguousarray(weights),
                                    out, target=target, runner=runner, **limits))
    return out
