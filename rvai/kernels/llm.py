"""Fused elementwise operators of LLM decoder layers: SwiGLU, RoPE, residual add + RMSNorm.

Each is one pass (or two, for the norm) over rows of f32 activations, strip-mined along
the last axis. They exist so a decoder layer (:mod:`rvai.models`) reads each activation
once instead of once per NumPy-style step:

- ``swiglu``: ``silu(a) * b = a * b / (1 + exp(-a))`` (the gated MLP's activation).
- ``rope_neox`` / ``rope_interleaved``: rotary position embedding. NeoX ("rotate half",
  what Qwen uses) pairs element ``j`` with ``j + d/2``; the interleaved (GPT-J) form pairs
  ``2j`` with ``2j + 1``, read and written with strided vector accesses. Both write the
  result head-major, ``(heads, tokens, d)``, the layout attention reads, so the
  transpose costs nothing extra.
- ``add_rmsnorm``: ``h = x + residual`` (kept: it is the next residual) and
  ``rmsnorm(h) * w`` in the same pass that sums the squares.
- ``add`` / ``add_bias``: residual adds and the bias of a projection.
- ``embedding``: rows of a table (f32 or f16) gathered by token id, widened to f32.
- ``moe_combine``: ``out[row[i]] += weight[i] * y[i]``, a mixture-of-experts layer's
  weighted sum of its experts' outputs.
"""
import rvai.lang as rl
from rvai.lang import f32


def _silu_times(a, b):
    """silu(a) * b for f32 vectors (exp(-a) overflows to +inf for a < -88.7: the result is then -0)."""
    return a * b / (1.0 + rl.exp(-a))


@rl.kernel
def swiglu(a: rl.Tensor[f32, 2], b: rl.Tensor[f32, 2], o: rl.Tensor[f32, 2], LMUL: int = 4):
    """o = silu(a) * b elementwise, rows of equal length."""
    rows, n = a.shape
    for r in rl.range(rows):
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(_silu_times(a.vload(r, j), b.vload(r, j)), r, j)


@rl.kernel
def rope_neox(x: rl.Tensor[f32, 3], cos: rl.Tensor[f32, 2], sin: rl.Tensor[f32, 2], o: rl.Tensor[f32, 3],
              LMUL: int = 2):
    """x (tokens, heads, d) rotated by position: o (heads, tokens, d); cos/sin (tokens, d/2).

    o[h, t, j] = x[t, h, j] c - x[t, h, j + d/2] s and o[h, t, j + d/2] = x[t, h, j + d/2] c
    + x[t, h, j] s, with c, s = cos[t, j], sin[t, j].
    """
    tokens, heads, d = x.shape
    half = d // 2
    for t in rl.range(tokens):
        for h in rl.range(heads):
            for vl, j in rl.vloop(half, sew=32, lmul=LMUL):
                x1, x2 = x.vload(t, h, j), x.vload(t, h, j + half)
                c, s = cos.vload(t, j), sin.vload(t, j)
                o.vstore(x1 * c - x2 * s, h, t, j)
                o.vstore(x2 * c + x1 * s, h, t, j + half)


@rl.kernel
def rope_interleaved(x: rl.Tensor[f32, 4], cos: rl.Tensor[f32, 2], sin: rl.Tensor[f32, 2],
                     o: rl.Tensor[f32, 4], LMUL: int = 2):
    """x (tokens, heads, d/2, 2) rotated by position: o (heads, tokens, d/2, 2); cos/sin (tokens, d/2).

    Pair j is (x[..., j, 0], x[..., j, 1]); each half of a pair is a stride-2 vector.
    """
    tokens, heads, half = x.shape[0], x.shape[1], x.shape[2]
    for t in rl.range(tokens):
        for h in rl.range(heads):
            for vl, j in rl.vloop(half, sew=32, lmul=LMUL):
                x1, x2 = x.vload(t, h, j, 0, axis=2), x.vload(t, h, j, 1, axis=2)
                c, s = cos.vload(t, j), sin.vload(t, j)
                o.vstore(x1 * c - x2 * s, h, t, j, 0, axis=2)
                o.vstore(x2 * c + x1 * s, h, t, j, 1, axis=2)


@rl.kernel
def add_rmsnorm(x: rl.Tensor[f32, 2], res: rl.Tensor[f32, 2], w: rl.Tensor[f32], o: rl.Tensor[f32, 2],
                h: rl.Tensor[f32, 2], eps: rl.f32, LMUL: int = 4):
    """h = x + res; o = h / sqrt(mean(h**2) + eps) * w, for each row."""
    rows, n = x.shape
    for r in rl.range(rows):
        ss = rl.var(0.0)
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            v = x.vload(r, j) + res.vload(r, j)
            h.vstore(v, r, j)
            ss += (v * v).sum()
        scale = rl.rsqrt(ss.value / n.to(f32) + eps)
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(h.vload(r, j) * scale * w.vload(j), r, j)


@rl.kernel
def add(x: rl.Tensor[f32, 2], y: rl.Tensor[f32, 2], o: rl.Tensor[f32, 2], LMUL: int = 4):
    """o = x + y, rows of equal length."""
    rows, n = x.shape
    for r in rl.range(rows):
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(x.vload(r, j) + y.vload(r, j), r, j)


@rl.kernel
def add_bias(x: rl.Tensor[f32, 2], b: rl.Tensor[f32], o: rl.Tensor[f32, 2], LMUL: int = 4):
    """o[r] = x[r] + b for each row r."""
    rows, n = x.shape
    for r in rl.range(rows):
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(x.vload(r, j) + b.vload(j), r, j)


@rl.kernel
def embedding(table: rl.Tensor[None, 2], ids: rl.Tensor[rl.i64], o: rl.Tensor[f32, 2], LMUL: int = 4):
    """o[t] = table[ids[t]] widened to f32."""
    tokens, n = o.shape
    for t in rl.range(tokens):
        row = ids[t]
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(table.vload(row, j).to(f32), t, j)


@rl.kernel
def moe_combine(y: rl.Tensor[f32, 2], rows: rl.Tensor[rl.i64], weights: rl.Tensor[f32],
                o: rl.Tensor[f32, 2], LMUL: int = 4):
    """o[rows[i]] += weights[i] * y[i] for each i (rows may repeat)."""
    n, width = y.shape
    for i in rl.range(n):
        r, wt = rows[i], weights[i]
        for vl, j in rl.vloop(width, sew=32, lmul=LMUL):
            o.vstore(o.vload(r, j) + wt * y.vload(i, j), r, j)
