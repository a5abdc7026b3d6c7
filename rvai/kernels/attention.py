"""Scaled dot-product attention, FlashAttention-2 style: tiles of query rows against
blocks of keys, online softmax, grouped-query heads sharing K/V, causal blocks skipped.

The rows of one KV head ``g`` are the (query, head) pairs of its group, query-major:
row ``rho`` is query ``rho // group`` of head ``g * group + rho % group``. A tile is
``BM`` consecutive rows (with GQA, the group's heads at the same query, so a decode
step with one query is one tile per KV head). For a tile and a block of ``vl`` keys:

- **scores**: ``BM`` vector accumulators over the keys; each step of the head dim
  loads one column of the K block (a strided load, shared by the ``BM`` rows) and
  issues ``BM`` independent ``vfmacc.vf`` with the rows' (pre-scaled) query elements;
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
import rvai.lang as rl
from rvai.lang import f32, i32


def _rows(g, group, rho0, n):
    """(head, query) of the tile's ``n`` rows starting at row ``rho0`` of KV head g."""
    return [(g * group + (rho0 + r) % group, (rho0 + r) // group) for r in range(n)]


def _limit(i, lq, lk, causal):
    """Keys query row i sees: all of them, or bottom-right causal ``clip(i + 1 + lk - lq, 0, lk)``."""
    return rl.minimum(lk, rl.maximum(i + 1 + lk - lq, 0)) if causal else lk


def _key_block(q_s, k, v, o_s, p, g, n, st, j, vl, limits, d):
    """One block of ``vl`` keys at ``j`` for the tile's rows; ``limits`` (per row, or
    None when every row sees every key of the block) masks the keys a row cannot see."""
    # Two steps a trip, both loads first: an FMA chained to a load still in flight
    # holds its FP unit until the load's last element (a strided K column: vl cycles).
    acc = [rl.var(rl.zeros(f32)) for _ in range(n)]
    for c in rl.range(0, d - d % 2, 2):
        kc = [k.vload(g, j, c + u, axis=1) for u in range(2)]
        for u in range(2):
            for r in range(n):
                acc[r] += q_s[c + u, r] * kc[u]
    for c in rl.range(d - d % 2, d):
        kc = k.vload(g, j, c, axis=1)
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
        for t in rl.range(vl):
            vv = v.vload(g, j + t, c)
            for r in range(n):
                out[r] += p[t, r] * vv
        for r in range(n):
            o_s.vstore(out[r].value, r, c)


def _key_loop(q_s, k, v, o_s, p, g, n, st, start, stop, width, limits, d, lmul):
    """Key blocks of at most ``width`` (the scratch's row) keys over [start, stop)."""
    with rl.vector(width, sew=32, lmul=lmul) as step:
        pass
    for j in rl.range(start, stop, step):
        with rl.vector(rl.minimum(stop - j, step), sew=32, lmul=lmul) as vl:
            _key_block(q_s, k, v, o_s, p, g, n, st, j, vl, limits, d)


def _tile(q, k, v, o, q_s, o_s, p, scale, g, group, rho0, n, causal, lmul):
    """The ``n`` rows from row ``rho0`` of KV head g: a whole tile's attention."""
    lq, d = q.shape[1], q.shape[2]
    lk = k.shape[1]
    rows = _rows(g, group, rho0, n)
    for vl, c in rl.vloop(d, sew=32, lmul=lmul):
        for r, (h, i) in enumerate(rows):
            q_s.vstore(q.vload(h, i, c) * scale, c, r, axis=0)
            o_s.vstore(rl.zeros(f32), r, c)
    st = [(rl.var(float("-inf")), rl.var(0.0)) for _ in range(n)]
    limits = [_limit(i, lq, lk, causal) for _, i in rows]
    width = p.shape[0]
    # rows are query-major, so the first row sees the fewest keys and the last the most
    _key_loop(q_s, k, v, o_s, p, g, n, st, 0, limits[0], width, None, d, lmul)
    if causal:
        _key_loop(q_s, k, v, o_s, p, g, n, st, limits[0], limits[-1], width, limits, d, lmul)
    for r, (h, i) in enumerate(rows):
        total = st[r][1].value
        inv = rl.where(total > 0.0, 1.0 / total, 0.0)
        for vl, c in rl.vloop(d, sew=32, lmul=lmul):
            o.vstore(o_s.vload(r, c) * inv, h, i, c)


@rl.kernel
def attention(q: rl.Tensor[f32, 3], k: rl.Tensor[f32, 3], v: rl.Tensor[f32, 3], o: rl.Tensor[f32, 3],
              q_s: rl.Tensor[f32, 2], o_s: rl.Tensor[f32, 2], p: rl.Tensor[f32, 2], scale: rl.f32,
              CAUSAL: bool = False,
              BM: int = 7, LMUL: int = 4):
    """o[h] = softmax(q[h] @ k[g]^T * scale) @ v[g], g = h // (H / H_kv).

    Scratch: ``q_s`` (d, BM) and ``o_s`` (BM, d) hold a tile's scaled queries and
    unnormalised outputs, ``p`` (W, BM) a block's probabilities; blocks hold at most W keys (best W = VLMAX at ``LMUL``). q_s and p are stored transposed: the BM scalars
    read together then sit at fixed offsets from one pointer (``flw ft, 4*r(a0)``), not
    at the ends of a chain of row-stride additions that the scalar loads wait for.
    """
    heads, lq = q.shape[0], q.shape[1]
    kv_heads = k.shape[0]
    group = heads // kv_heads
    nrows = group * lq
    whole = nrows - nrows % BM
    for g in rl.range(kv_heads):
        for rho0 in rl.range(0, whole, BM):
            _tile(q, k, v, o, q_s, o_s, p, scale, g, group, rho0, BM, CAUSAL, LMUL)
        for rho0 in rl.range(whole, nrows):
            _tile(q, k, v, o, q_s, o_s, p, scale, g, group, rho0, 1, CAUSAL, LMUL)
