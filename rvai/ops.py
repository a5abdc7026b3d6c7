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

__all__ = ["matmul", "softmax", "rmsnorm", "attention", "last_run"]

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
