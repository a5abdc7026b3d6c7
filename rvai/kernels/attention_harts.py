"""Attention spread over harts: launch-grid kernels around :data:`rvai.kernels.attention.attention`.

Each kernel is launched on T programs, one a hart (``k[(T,)](...)``); program ``p``
takes the work items ``p, p + T, p + 2T, ...`` and works in its own slice of the
scratch, ``s.select(p)`` of arrays with a leading axis of T (:func:`scratch`), so no
two programs write the same scratch (nor, for head dims that are multiples of 8, the
same cache line of it).

- :data:`transpose_k_grid` (prefill): K of every KV head transposed into ``k_t``
  (H_kv, d, Lk), items (KV head, block of keys). The single-hart kernel transposes a
  head just before its tiles; across harts every program needs every head's keys, so
  they are transposed once, by all the harts, before the attention launch.
- :data:`attention_grid`: items (KV head g, tile, key split s), the tiles being those
  the single-hart kernel runs (BM rows, then the leftover rows one at a time). Unsplit,
  an item is the single-hart kernel's tile as it is (``_tile``: the same operations in
  the same order, so the same bits). Split S ways (decode: one tile per KV head is
  too few items for the harts), item s takes the keys
  ``[s*chunk, (s+1)*chunk)`` and leaves its rows' unnormalised outputs, running max
  and sum in ``part_o`` (S, H, Lq, d) and ``part_ml`` (S, H, Lq, 2).
- :data:`attention_combine_grid`: each row from its splits,
  ``o = sum_s w_s o_s / sum_s w_s l_s`` with ``w_s = exp(m_s - max_s m_s)``
  (flash-decoding's reduction); items are the rows (h, i).

The launches run one after the other; ``rvai.ops.attention(..., harts=)`` adds their cycles.
"""
import numpy as np

import rvai.lang as rl
from rvai.kernels.attention import (NB_DEFAULT, _check_tunables, _key_loop, _limit, _rows, _schedule_prefill,
                                    _Tensors, _tile, _tile_start)
from rvai.kernels.attention import scratch as one_hart_scratch
from rvai.lang import f32

__all__ = ["transpose_k_grid", "attention_grid", "attention_combine_grid", "scratch", "work_items"]


def scratch(programs: int, d: int, lk: int, bm: int, lmul: int, vlen: int) -> tuple:
    """q_s, o_s and p of :func:`rvai.kernels.attention.scratch`, one slice per program."""
    return tuple(np.zeros((programs,) + a.shape, a.dtype) for a in one_hart_scratch(d, lk, bm, lmul, vlen, False)[:3])


def work_items(heads: int, kv_heads: int, lq: int, bm: int) -> int:
    """Tiles of :data:`attention_grid` over all KV heads (items before the key split)."""
    rows = heads // kv_heads * lq
    return kv_heads * (rows // bm + rows % bm)


@rl.kernel
def transpose_k_grid(k: rl.Tensor[f32, 3], k_t: rl.Tensor[f32, 3], LMUL: int = 4):
    """k_t[g, c, j] = k[g, j, c]; items (g, block of VLMAX keys at LMUL), strided loads of K's columns."""
    kv_heads, lk, d = k.shape
    with rl.vector(rl.maximum(lk, 1), sew=32, lmul=LMUL) as step:
        pass
    blocks = (lk + step - 1) // step
    for w in rl.range(rl.program_id(0), kv_heads * blocks, rl.num_programs(0)):
        g, j = w // blocks, w % blocks * step
        with rl.vector(rl.minimum(lk - j, step), sew=32, lmul=LMUL):
            for c in rl.range(d):
                k_t.vstore(k.vload(g, j, c, axis=1), g, c, j)


@rl.kernel
def attention_grid(q: rl.Tensor[f32, 3], k: rl.Tensor[f32, 3], v: rl.Tensor[f32, 3], o: rl.Tensor[f32, 3],
                   q_s: rl.Tensor[f32, 3], o_s: rl.Tensor[f32, 3], p: rl.Tensor[f32, 3], k_t: rl.Tensor[f32, 3],
                   part_o: rl.Tensor[f32, 4], part_ml: rl.Tensor[f32, 4], scale: rl.f32, chunk: rl.i64,
                   CAUSAL: bool = False, TRANSPOSE_K: bool = False, BM: int = 7, LMUL: int = 4, KU: int = 1,
                   NB: int = NB_DEFAULT, SPLIT_KEYS: bool = False, PF: int = 0, PD: int = 0,
                   PK: int = 0, ML: int = 0, PV: int = 0, PR: int = 0, MX: int = 0, PU: int = 0,
                   QA: int = 0, EL: int = 0, QL: int = 0, SP: int = 0, PT: int = 0, QR: int = 0, OD: int = 0,
                   QP: int = 0, PP: int = 0, SA: int = 0, NR: int = 0, EO: int = 0, QS: int = 0,
                   QW: int = 0, RS: int = 0, KS: int = 0, QD: int = 0):
    """:data:`rvai.kernels.attention.attention`'s tiles as work items of a grid of T programs.

    ``q_s``, ``o_s``, ``p``: (T, ...) scratch (:func:`scratch`); ``k_t`` (H_kv, d, Lk)
    holds K transposed (:data:`transpose_k_grid`) when ``TRANSPOSE_K``, else is not read.
    Without ``SPLIT_KEYS``: results in ``o`` (``part_o``, ``part_ml`` unused, may be
    1 x 1 x 1 x 1); with it, each tile is split S = ``part_o.shape[0]`` ways, split s
    taking keys [s*chunk, (s+1)*chunk), and leaves its partial results in
    ``part_o``/``part_ml`` for :data:`attention_combine_grid` (``o`` untouched).
    ``PF``, ``PD``, ``PK``: Zicbop prefetches per loop trip (touches in decode without
    Zicbop), K's distance and K's next column group, and ``ML``, ``PV``, ``PR``, ``MX``, ``PU``,
    ``EL``, ``SP``, ``QL`` (the row maxima folded a chunk late, prefill's P V shape, decode's exps
    two rows at a time, the chunks' row maxima by a tree of slides, the P V loop kept rolled,
    prefill's exp pass at its own LMUL, its exp's addends as bound splats, a score-loop column's
    scalars of q_s loaded before its FMAs) and ``PP``, ``SA`` (the P V loop's scalars of p, the score
    loop's of q_s, loaded a trip ahead), as in the one-hart kernel, whose tuned configuration :func:`rvai.ops.attention` hands this one. ``QA`` (the
    one-hart kernel's next tile's queries stored during its tile) is accepted and not applied: a
    program's items are tiles far apart, each of which stores its queries at its start; nor is
    ``PT`` (K's prefetch before the transposition, which :data:`transpose_k_grid` does). ``QR``
    (q_s row-major, a view of the one-hart scratch's (2d, BM)) is accepted and not applied: here
    q_s is (d, BM); nor are ``QP`` (QR's prefetches), ``QS`` and ``QW`` (the query build by segment stores,
    q_s's width a constant), nor ``RS`` (QA's tiles' rows without divisions), nor ``KS`` and ``QD`` (QR's scale in k_t, its
    first rows read from q), which would change the many-hart cells that the one-hart entries configure. ``OD`` (a one-block tile's outputs written by its
    P V loop) is applied, and with it ``NR`` (their 1/sum by Newton steps), and ``EO`` (the exp pass's
    unpaired row at LMUL 8). With
    ``TRANSPOSE_K`` (prefill) it is compiled, like that kernel, with LLVM's sifive-p670 schedule.
    """
    heads, lq, d = q.shape
    kv_heads, lk = k.shape[0], k.shape[1]
    group = heads // kv_heads
    nrows = group * lq
    full = nrows // BM
    tiles = full + nrows % BM
    splits = part_o.shape[0] if SPLIT_KEYS else 1
    me = rl.program_id(0)
    _schedule_prefill(TRANSPOSE_K, "accurate")  # the one-hart kernel's choice (its exp here)
    _check_tunables(QA=QA, PT=PT, QR=QR, QS=QS, QW=QW, RS=RS, KS=KS, QD=QD)   # not applied here (above), but a bad value is still named
    for w in rl.range(me, kv_heads * tiles * splits, rl.num_programs(0)):
        g, ti, s = w // (tiles * splits), w // splits % tiles, w % splits
        t = _Tensors(q=q, k=k, v=v, o=o, q_s=q_s.select(me), o_s=o_s.select(me), p=p.select(me),
                     k_t=k_t.select(g) if TRANSPOSE_K else k_t, scale=scale, d=d, lmul=LMUL, ku=KU, nb=NB,
                     transposed=TRANSPOSE_K, pf=PF, pd=PD, pk=PK, ml=ML, pv=PV, pr=PR, mx=MX, pu=PU, qa=0,
                     el=EL, ql=QL, sp=SP, qr=0, od=OD, qp=QP, pp=PP, sa=SA, nr=NR, eo=EO, qs=0, qw=0, exp="accurate")
        for rho0, n, taken in ((ti * BM, BM, ti < full), (full * BM + ti - full, 1, ti >= full)):
            for _ in rl.range(rl.where(taken, 1, 0)):
                if not SPLIT_KEYS:
                    _tile(t, g, group, rho0, n, CAUSAL)
                else:
                    k0 = s * chunk
                    _tile_part(t, g, group, rho0, n, CAUSAL, k0, rl.minimum(k0 + chunk, lk), part_o, part_ml, s)


def _tile_part(t, g, group, rho0, n, causal, k0, k1, part_o, part_ml, s):
    """The ``n`` rows from row ``rho0`` of KV head g against keys [k0, k1): their
    unnormalised outputs, maxima and sums into split s of ``part_o``/``part_ml``."""
    lq, lk = t.q.shape[1], t.k.shape[1]
    rows = _rows(g, group, rho0, n)
    st = _tile_start(t, rows)
    limits = [_limit(i, lq, lk, causal) for _, i in rows]
    _key_loop(t, g, n, st, k0, rl.minimum(k1, limits[0]), None)
    if causal:
        _key_loop(t, g, n, st, rl.maximum(k0, limits[0]), rl.minimum(k1, limits[-1]), limits)
    for r, (h, i) in enumerate(rows):
        for vl, c in rl.vloop(t.d, sew=32, lmul=t.lmul):
            part_o.vstore(t.o_s.vload(r, c), s, h, i, c)
        part_ml[s, h, i, 0] = st[r][0].value
        part_ml[s, h, i, 1] = st[r][1].value


@rl.kernel
def attention_combine_grid(part_o: rl.Tensor[f32, 4], part_ml: rl.Tensor[f32, 4], o: rl.Tensor[f32, 3],
                           LMUL: int = 4):
    """o[h, i] from the S splits of :data:`attention_grid`; a row no split saw a key of is 0."""
    splits, heads, lq, d = part_o.shape
    for w in rl.range(rl.program_id(0), heads * lq, rl.num_programs(0)):
        h, i = w // lq, w % lq
        m = rl.var(float("-inf"))
        for s in rl.range(splits):
            m.value = rl.maximum(m.value, part_ml[s, h, i, 0])
        m_use = rl.where(m.value == float("-inf"), 0.0, m.value)
        total = rl.var(0.0)
        for s in rl.range(splits):
            total.value = total.value + rl.exp_nonpositive(part_ml[s, h, i, 0] - m_use) * part_ml[s, h, i, 1]
        inv = rl.where(total.value > 0.0, 1.0 / total.value, 0.0)
        for vl, c in rl.vloop(d, sew=32, lmul=LMUL):
            acc = rl.var(rl.zeros(f32))
            for s in rl.range(splits):
                acc += rl.exp_nonpositive(part_ml[s, h, i, 0] - m_use) * part_o.vload(s, h, i, c)
            o.vstore(acc.value * inv, h, i, c)
