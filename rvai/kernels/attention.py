"""Scaled dot-product attention, FlashAttention-2 style: tiles of query rows against
blocks of keys, online softmax, grouped-query heads sharing K/V, causal blocks skipped.

The rows of one KV head ``g`` are the (query, head) pairs of its group, query-major:
row ``rho`` is query ``rho // group`` of head ``g * group + rho % group``. A tile is
``BM`` consecutive rows (with GQA, the group's heads at the same query, so a decode
step with one query is one tile per KV head). For a tile and a block of ``vl`` keys:

- **scores**: ``BM`` vector accumulators over the keys; each step of the head dim
  loads one column of the K block (shared by the ``BM`` rows) and issues ``BM``
  independent ``vfmacc.vf`` with the rows' (pre-scaled) query elements. The column is
  a strided load (one element a cycle in the models) straight from K when each key
  serves one tile (decode), or a unit-stride row of ``k_t``, K transposed once per KV
  head, when many tiles reuse the keys (prefill: the strided loads are then paid once,
  not once per tile, and leave the load/store pipe free);
- **online softmax** per row: block max (a reduction), ``p = exp(s - m)`` with the
  cheap :func:`rvai.lang.exp_nonpositive`, the running sum ``l`` and the factor
  ``exp(m_old - m_new)`` that rescales what was accumulated so far;
- **P V**: per chunk of the head dim, the ``BM`` output rows (kept in the scratch
  ``o_s``, in L1) are rescaled and then take ``BM`` ``vfmacc.vf`` per key, one V row
  load shared. Rows of ``o`` (and ``q``) of different heads lie ``Lq*d*4`` bytes apart,
  a power of two that maps them all to one L1 set; the contiguous scratch does not.

Causal masks are aligned to the bottom right (query ``i`` sees keys
``j <= i + Lk - Lq``): a tile runs unmasked up to the first key some row cannot see,
masked up to the last key any row sees, and never touches the blocks above that.
A row that sees no key (``i + Lk - Lq < 0``, or ``Lk = 0``) is 0.
"""
import numpy as np

import rvai.lang as rl
from rvai.lang import f32, i32

#: What the tuner tries for :data:`attention`: BM rows per tile, LMUL of a key block (VLMAX
#: keys) and KU columns of K loaded per trip of the score loop. BM accumulators and KU
#: columns should fit 32 registers, (BM + KU) * LMUL <= 32, or LLVM spills accumulators
#: (7, 4, 2) spills, and is still the fastest on some presets (xuantie-c930 prefill).
ATTENTION_CONFIGS = [{"BM": bm, "LMUL": lmul, "KU": ku} for bm, lmul, ku in (
    (7, 4, 1), (7, 4, 2), (7, 2, 1), (7, 2, 2), (6, 4, 2), (3, 8, 1), (14, 2, 1))]


def scratch(d: int, lk: int, bm: int, lmul: int, vlen: int, transpose: bool) -> tuple:
    """The kernel's scratch arrays for head dim d, Lk keys and a config (BM, LMUL):
    q_s (d, BM'), o_s (BM', d), p (VLMAX keys at LMUL', BM') and k_t (d, Lk) if K is
    transposed. BM' and LMUL' are at least the largest of the tuning candidates, so that
    every candidate runs on the same arrays (and the tuner's cycles are those of a call)."""
    bm = max(bm, *(c["BM"] for c in ATTENTION_CONFIGS))
    lmul = max(lmul, *(c["LMUL"] for c in ATTENTION_CONFIGS))
    return (np.zeros((d, bm), np.float32), np.zeros((bm, d), np.float32),
            np.zeros((vlen * lmul // 32, bm), np.float32), np.zeros((d, lk) if transpose else (1, 1), np.float32))


def _rows(g, group, rho0, n):
    """(head, query) of the tile's ``n`` rows starting at row ``rho0`` of KV head g."""
    return [(g * group + (rho0 + r) % group, (rho0 + r) // group) for r in range(n)]


def _limit(i, lq, lk, causal):
    """Keys query row i sees: all of them, or bottom-right causal ``clip(i + 1 + lk - lq, 0, lk)``."""
    return rl.minimum(lk, rl.maximum(i + 1 + lk - lq, 0)) if causal else lk


def _column(t, g, j, c):
    """Column c of the K block at key j: from K transposed, or strided from K itself."""
    return t.k_t.vload(c, j) if t.transposed else t.k.vload(g, j, c, axis=1)


def _key_block(t, g, n, st, j, vl, limits):
    """One block of ``vl`` keys at ``j`` for the tile's rows; ``limits`` (per row, or
    None when every row sees every key of the block) masks the keys a row cannot see."""
    d, q_s, o_s, p, v = t.d, t.q_s, t.o_s, t.p, t.v
    # KU steps a trip, all loads first: an FMA chained to a load still in flight holds
    # its FP unit until the load's last element (a strided K column: vl cycles). The n
    # accumulators and KU columns must fit the 32 registers, or LLVM spills accumulators
    # inside this loop (n = 7 at LMUL 4 leaves room for one column only).
    ku = t.ku
    acc = [rl.var(rl.zeros(f32)) for _ in range(n)]
    for c in rl.range(0, d - d % ku, ku):
        kc = [_column(t, g, j, c + u) for u in range(ku)]
        for u in range(ku):
            for r in range(n):
                acc[r] += q_s[c + u, r] * kc[u]
    for c in rl.range(d - d % ku, d):
        kc = _column(t, g, j, c)
        for r in range(n):
            acc[r] += q_s[c, r] * kc
    corr = []
    for r in range(n):
        s = acc[r].value
        if limits is not None:
            seen = rl.arange(i32) < (limits[r] - j).to(i32)
            s = rl.where(seen, s, float("-inf"))
        m, l = st[r]
        m_new = rl.maximum(m.value, s.max())
        m_use = rl.where(m_new == float("-inf"), 0.0, m_new)   # nothing seen yet: exp(-inf - 0) = 0
        probs = rl.exp_nonpositive(s - m_use)
        c_r = rl.exp_nonpositive(m.value - m_use)
        l.value = l.value * c_r + probs.sum()
        m.value = m_new
        p.vstore(probs, 0, r, axis=0)
        corr.append(c_r)
    for vl_d, c in rl.vloop(d, sew=32, lmul=2):
        out = [rl.var(o_s.vload(r, c) * corr[r]) for r in range(n)]
        # two keys a trip, every load first, so that no FMA waits on its scalar's load
        for k in rl.range(0, vl - vl % 2, 2):
            _pv_step(v, p, out, g, j, k, c, n, 2)
        for k in rl.range(vl - vl % 2, vl):
            _pv_step(v, p, out, g, j, k, c, n, 1)
        for r in range(n):
            o_s.vstore(out[r].value, r, c)


def _pv_step(v, p, out, g, j, k, c, n, keys):
    """out[r] += p[k+u, r] * v[g, j+k+u, c:] for the ``keys`` keys from k."""
    vv = [v.vload(g, j + k + u, c) for u in range(keys)]
    pk = [[p[k + u, r] for r in range(n)] for u in range(keys)]
    for u in range(keys):
        for r in range(n):
            out[r] += pk[u][r] * vv[u]


def _key_loop(t, g, n, st, start, stop, limits):
    """Key blocks of at most W (the probability scratch's rows) keys over [start, stop)."""
    with rl.vector(t.p.shape[0], sew=32, lmul=t.lmul) as step:
        pass
    for j in rl.range(start, stop, step):
        with rl.vector(rl.minimum(stop - j, step), sew=32, lmul=t.lmul) as vl:
            _key_block(t, g, n, st, j, vl, limits)


def _tile_start(t, rows):
    """The tile's scaled queries into q_s and zeros into o_s; each row's (max, sum) state."""
    for vl, c in rl.vloop(t.d, sew=32, lmul=t.lmul):
        for r, (h, i) in enumerate(rows):
            t.q_s.vstore(t.q.vload(h, i, c) * t.scale, c, r, axis=0)
            t.o_s.vstore(rl.zeros(f32), r, c)
    return [(rl.var(float("-inf")), rl.var(0.0)) for _ in rows]


def _tile(t, g, group, rho0, n, causal):
    """The ``n`` rows from row ``rho0`` of KV head g: a whole tile's attention."""
    q, o, o_s, d = t.q, t.o, t.o_s, t.d
    lq, lk = q.shape[1], t.k.shape[1]
    rows = _rows(g, group, rho0, n)
    st = _tile_start(t, rows)
    limits = [_limit(i, lq, lk, causal) for _, i in rows]
    # rows are query-major, so the first row sees the fewest keys and the last the most
    _key_loop(t, g, n, st, 0, limits[0], None)
    if causal:
        _key_loop(t, g, n, st, limits[0], limits[-1], limits)
    for r, (h, i) in enumerate(rows):
        total = st[r][1].value
        inv = rl.where(total > 0.0, 1.0 / total, 0.0)
        for vl, c in rl.vloop(d, sew=32, lmul=t.lmul):
            o.vstore(o_s.vload(r, c) * inv, h, i, c)


class _Tensors:
    """The kernel's tensors and compile-time choices, handed to the helpers as one."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


@rl.autotune(configs=ATTENTION_CONFIGS, key=["q.shape[0]", "q.shape[1]", "k.shape[0]", "k.shape[1]", "q.shape[2]"])
@rl.kernel
def attention(q: rl.Tensor[f32, 3], k: rl.Tensor[f32, 3], v: rl.Tensor[f32, 3], o: rl.Tensor[f32, 3],
              q_s: rl.Tensor[f32, 2], o_s: rl.Tensor[f32, 2], p: rl.Tensor[f32, 2], k_t: rl.Tensor[f32, 2],
              scale: rl.f32, CAUSAL: bool = False, TRANSPOSE_K: bool = False, BM: int = 7, LMUL: int = 4,
              KU: int = 1):
    """o[h] = softmax(q[h] @ k[g]^T * scale) @ v[g], g = h // (H / H_kv).

    Scratch: ``q_s`` (d, BM) and ``o_s`` (BM, d) hold a tile's scaled queries and
    unnormalised outputs, ``p`` (W, BM) a block's probabilities; blocks hold at most W
    keys (best W = VLMAX at ``LMUL``). q_s and p are stored transposed: the BM scalars
    read together then sit at fixed offsets from one pointer (``flw ft, 4*r(a0)``), not
    at the ends of a chain of row-stride additions that the scalar loads wait for.
    With ``TRANSPOSE_K``, ``k_t`` (d, Lk) receives each KV head's keys transposed
    (otherwise it is not touched).
    """
    heads, lq, d = q.shape
    kv_heads, lk = k.shape[0], k.shape[1]
    group = heads // kv_heads
    nrows = group * lq
    whole = nrows - nrows % BM
    t = _Tensors(q=q, k=k, v=v, o=o, q_s=q_s, o_s=o_s, p=p, k_t=k_t, scale=scale, d=d, lmul=LMUL,
                 transposed=TRANSPOSE_K, ku=KU)
    for g in rl.range(kv_heads):
        if TRANSPOSE_K:
            for vl, j in rl.vloop(lk, sew=32, lmul=LMUL):
                for c in rl.range(d):
                    k_t.vstore(k.vload(g, j, c, axis=1), c, j)
        for rho0 in rl.range(0, whole, BM):
            _tile(t, g, group, rho0, BM, CAUSAL)
        for rho0 in rl.range(whole, nrows):
            _tile(t, g, group, rho0, 1, CAUSAL)
