"""Scaled dot-product attention, FlashAttention-2 style: tiles of query rows against
blocks of keys, online softmax, grouped-query heads sharing K/V, causal blocks skipped.

The rows of one KV head ``g`` are the (query, head) pairs of its group, query-major:
row ``rho`` is query ``rho // group`` of head ``g * group + rho % group``. A tile is
``BM`` consecutive rows (with GQA, the group's heads at the same query, so a decode
step with one query is one tile per KV head). For a tile and a block of at most
W = NB * VLMAX keys:

- **scores**, a chunk of VLMAX keys at a time: ``BM`` vector accumulators over the
  chunk's keys; each step of the head dim loads one column of the K chunk (shared by the
  ``BM`` rows) and issues ``BM`` independent ``vfmacc.vf`` with the rows' (pre-scaled)
  query elements. The column is a strided load (one element a cycle in the models)
  straight from K when each key serves one tile (decode), or a unit-stride row of
  ``k_t``, K transposed once per KV head, when many tiles reuse the keys (prefill: the
  strided loads are then paid once, not once per tile). Each chunk's scores go to the
  rows of the scratch ``p`` and its maximum into the row's block maximum;
- **online softmax** per row, once per block: ``p = exp(s - m)`` over the block's
  scores with the cheap :func:`rvai.lang.exp_nonpositive`, their sum into the running
  ``l`` (decode, and prefill with ``PV``: summed by the P V loop from its scalars of
  ``p``), and the factor ``exp(m_old - m_new)`` that rescales what was accumulated so far.
  A block of W keys pays one round trip from the vector unit to the scalar registers
  (the maximum) and one rescale of the outputs per row, not one per chunk. In prefill a
  tile's first block has nothing to rescale (its outputs start from zero), and rows go
  two at a time, their exps interleaved;
- **P V**: per chunk of the head dim, the ``BM`` output rows (kept in the scratch
  ``o_s``, in L1) are rescaled and then take ``BM`` ``vfmacc.vf`` per key, one V row
  load shared. Rows of ``o`` (and ``q``) of different heads lie ``Lq*d*4`` bytes apart,
  a power of two that maps them all to one L1 set; the contiguous scratch does not.

With Zicbop prefetches (``PF``), decode streams K and V from DRAM one loop ahead: the
score loop of a block prefetches its V rows, the P V loop the next block's K rows, and
a tile's start the K rows of its first block.

Causal masks are aligned to the bottom right (query ``i`` sees keys
``j <= i + Lk - Lq``): a tile runs unmasked up to the first key some row cannot see,
masked up to the last key any row sees, and never touches the blocks above that.
A row that sees no key (``i + Lk - Lq < 0``, or ``Lk = 0``) is 0.
"""
import numbers

import numpy as np

import rvai.lang as rl
from rvai.lang import f32, i32
from rvai.lang.math import EXP_NONPOSITIVE_ADDENDS

#: What the tuner tries for :data:`attention`: BM rows per tile, LMUL of a chunk of keys
#: (VLMAX keys, one score accumulator a row), KU columns of K loaded per trip of the score
#: loop, NB chunks a block (W = NB * VLMAX keys share one softmax update) and PF lines
#: prefetched per trip of the score and P V loops (0: none; :func:`prefetch_lines` gives
#: the count that covers the next block's K and this block's V, 2 at VLEN 256). BM
#: accumulators and KU columns should fit 32 registers, (BM + KU) * LMUL <= 32, or LLVM
#: spills accumulators; (7, 4, 2, 4) spills one (it won xuantie-c930 prefill 128 at d 128
#: until prefill took the sifive-p670 schedule; KU 1 wins there now). 14-row tiles at
#: LMUL 2 (they spill) were 10-30 % slower on xuantie-c930 and spacemit-x60 and are no
#: longer tried. PF prefetches on targets with Zicbop; elsewhere decode touches the lines
#: (loads whose values are discarded) and prefill drops PF and PD (:func:`_prefetches`). Its
#: candidates are the shapes that won without it, each with PF 2, and NB 2 (a block's K
#: and V, prefetched, then fit spacemit-x60's 32 KiB L1 at d 64). PD
#: is the distance of K's prefetches: 0, the next block's K during this block's P V loop
#: (DRAM-bound spacemit-x60 keeps its DRAM busy through both loops); PD > 0, the chunk PD
#: chunks ahead during the score loop (xuantie-c930, compute-bound: K then comes from L1).
#: PK 1 (with PF, PD 0) adds :func:`_next_group`'s prefetches of K from L2 to L1 to the
#: score loop: spacemit-x60 decode 512 keys at d 64 -4.2 %, but xuantie-c930 +21-26 %
#: (its scalar bookkeeping in a compute-bound loop), so it is a candidate, not the rule.
#: ML 1 folds each chunk's row maxima into the block's one chunk late, and PV 1 gives
#: prefill decode's P V shape (:func:`_pv_shape`); both are prefill's (decode at NB >= 4
#: compiles the same code, which the tuner then does not run), added to the shapes prefill
#: tunes to. Measured on the shipped configurations (prefill 128 / 512, d 64): ML with PV
#: xuantie-c930 -4.0 / -1.2 %, spacemit-x60 -1.1 / +0.4 %, sifive-x280 +0.5 / -0.7 %; ML
#: alone c930 -2.9 / -2.1 %, x60 +1.3 / 0.0 %; PV alone was never the best (docs/performance.md,
#: the attn9 round). PR 1 gives decode prefill's exp pass, two rows at a time (:func:`_key_block`),
#: offered with the decode shapes that won without PK: xuantie-c930 decode 512 keys d 64
#: -1.6 % (its two FP pipes), generic +0.6-1.0 % (docs/performance.md, the dec9 round; since
#: decode's row sums moved to the P V loop generic takes it too, the dec10 round). MX 1 takes
#: the row maxima of prefill's chunks by a tree of slides, not reductions (:func:`_tree_maxima`),
#: offered with the prefill shapes that won: sifive-x280 prefill 128 (ML 1, NB 4) -2.6 % at
#: d 64 and -1.5 % at d 128, but xuantie-c930 +2.3 % and spacemit-x60 and generic within
#: 0.05 % (docs/performance.md, the attn12 round). PU 1 keeps the P V loop rolled, one key
#: step a trip (:func:`_key_block`), offered with prefill's PV 1 shapes: prefill 128
#: xuantie-c930 -0.5 % (d 64) and -3.6 % (d 128), spacemit-x60 -0.3 / -1.4 %, sifive-x280
#: +0.6 / -0.5 % (docs/performance.md, the attn13 round). QA 1 stores the next tile's queries
#: during this tile (:func:`_tiles_ahead`), offered with PU's shapes: prefill 128 spacemit-x60
#: -2.2 % at d 128 but +0.8 % at d 64, xuantie-c930 0.0 / +0.9 % (d 64 / d 128; at d 128 with PF
#: 2, which it then takes, -1.7 %) (docs/performance.md, the attn14 round). EL 8 runs prefill's exp
#: pass at LMUL 8 rather than the chunks' LMUL (:func:`_key_block`), offered with QA's shapes: prefill
#: 128 xuantie-c930 -3.0 % (d 64) and -1.2 % (d 128), spacemit-x60 +0.4 / +0.3 % (docs/performance.md,
#: the attn16 round). QL 1 loads the score loop's scalars of q_s before its FMAs (:func:`_fmas`),
#: offered with the PU shapes at NB 4, PF 2, with and without QA and EL 8: xuantie-c930 prefill 128
#: -0.6 % at d 128, -0.3 % at d 64 (docs/performance.md, the attn15 round). SP 2 gives the exp
#: pass's accurate exp its addends as splats bound to each trip's vl, the rounding constant's made
#: before the loop (:func:`_addends`), offered with QA's shapes (and QL's): prefill 128 spacemit-x60
#: -1.4 % (d 64) and -0.3 % (d 128), xuantie-c930 -2.3 % (d 64; EL 8 -3.0 %) (docs/performance.md,
#: the attn17 round). PT 1 (prefill, PF) prefetches each KV head's keys before their transposition
#: (:func:`_first_keys`), offered with QL's shapes: prefill 128 xuantie-c930 -0.6 % (d 128) and -1.5 %
#: (d 64), but spacemit-x60 d 64 +0.25 % (a head's K fills its 32 KiB L1) (docs/performance.md, attn19).
#: QR 1 keeps prefill's q_s row-major (:func:`_row_major`), written by unit-stride
#: stores rather than strided ones, offered with QL 1 and SP 2 or EL 8 (PU's shapes at NB 4, PF 2):
#: prefill 128 spacemit-x60 -1.0 % (d 64) and -2.3 % (d 128, against QA), xuantie-c930 +0.1 / -0.6 %
#: (d 128 against QA) (docs/performance.md, the attn20 round). OD 1 has a tile whose rows see the same
#: keys, one block of them, write o from its P V loop (:func:`_tile`), and QP 3 or 4 prefetches the first
#: rows of QR's query build (:func:`_store_queries`), offered on QR's SP 2 shape with and without PT:
#: prefill 128 spacemit-x60 d 64 -2.1 % (OD 1, QP 3, PT 1), d 128 +2.7 % (OD 1, QP 4)
#: (docs/performance.md, the attn21 round). PP 1 loads the P V loop's scalars of p a trip ahead
#: (:func:`_pv_ahead`), offered with xuantie-c930's prefill 128 shapes (EL 8, QL 1, PT 1; QA 1, QR 1 or
#: neither; QR 1 with PT 1 without PP too): prefill 128 xuantie-c930 -0.1 % (d 64) and
#: -0.6 % (d 128), spacemit-x60 +0.5 / -0.5 %, sifive-x280 d 64 -0.3 % (docs/performance.md, attn22).
#: SA 1 loads the score loop's scalars of q_s a trip ahead (:func:`_scores_ahead`), offered with PP's
#: shapes: on PP 1, prefill 128 xuantie-c930 -1.1 % (d 64) and -2.4 % (d 128, with QA), spacemit-x60
#: +0.5 / +0.5 %, sifive-x280 +0.5 / -0.1 % (docs/performance.md, attn22). OD 1 on PP 1 and SA 1, with and
#: without QA: prefill 128 xuantie-c930 d 64 -1.9 %, d 128 -0.3 % (docs/performance.md, the land13 merge).
#: EO 1 runs the exp pass of a row without a pair at LMUL 8 (:func:`_key_block`), offered on OD's QR shape
#: with PT 1 and QP 3 or 4: prefill 128 spacemit-x60 d 64 -0.08 % (docs/performance.md, attn26).
#: NR 1 takes OD's 1/sum by Newton steps (:func:`_reciprocals`), and QA 2 stores the next tile's queries
#: after the first block's P V loop, offered on that shape (NR with QA 0, 1 or 2, QA 2 without NR): prefill
#: 128 xuantie-c930 NR 1 -0.6 % (d 64) and -0.5 % (d 128, with QA 1); QA 2 -0.05 % (d 64), +1.8 % (d 128)
#: (docs/performance.md, attn25). QW 1 gives q_s's row stride as the constant BM (:class:`_Tensors`),
#: offered on NR's shapes with QA 1 and 2: prefill 128 xuantie-c930 -0.41 % (d 64, QA 2), +0.16 % (d 128,
#: QA 1) (docs/performance.md, seg27). QS 1, q_s's rows by segment stores, lost on every shipped
#: entry (xuantie-c930 +3.8 % at d 64, spacemit-x60 +3.2 % against QR 0) and is not offered.
#: RS 1 steps QA's tiles' rows from the tile before's, no divisions (:func:`_advance`), offered on QW's
#: QA 2 shape with PP 0, which is offered there with RS 0 too: prefill 128 xuantie-c930 d 64 PP 0 -0.74 %,
#: PP 0 with RS 1 -0.89 % (RS 1 with PP 1 +0.49 %) (docs/performance.md, attn29). NR 1 is offered on EO's
#: QR shape too: prefill 128 spacemit-x60 d 64 -0.67 % (docs/performance.md, attn37). KS 1 (with QR) puts
#: the scale into k_t, and QD (with KS) has the score loop read a tile's first QD rows from q, offered on
#: that NR shape with QD 2, QP 3 or 4, EO 0 or 1: spacemit-x60 d 64 -0.77 % against NR alone (QP 4, EO 0)
#: (docs/performance.md, attn37).
ATTENTION_CONFIGS = [{"BM": bm, "LMUL": lmul, "KU": ku, "NB": nb, "PF": pf, "PD": pd, "PK": pk, "ML": ml, "PV": pv}
                     for bm, lmul, ku, nb, pf, pd, pk, ml, pv in (
    (7, 4, 1, 4, 0, 0, 0, 0, 0), (7, 4, 2, 4, 0, 0, 0, 0, 0), (7, 4, 1, 8, 0, 0, 0, 0, 0), (7, 2, 1, 8, 0, 0, 0, 0, 0),
    (3, 8, 1, 4, 0, 0, 0, 0, 0), (7, 4, 1, 2, 2, 0, 0, 0, 0), (7, 4, 1, 4, 2, 0, 0, 0, 0), (7, 4, 1, 8, 2, 0, 0, 0, 0),
    (7, 4, 2, 4, 2, 0, 0, 0, 0), (7, 4, 1, 8, 2, 2, 0, 0, 0), (7, 4, 1, 2, 2, 0, 1, 0, 0), (7, 4, 1, 4, 2, 0, 1, 0, 0),
    (7, 4, 1, 8, 2, 0, 1, 0, 0))] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": nb, "PF": pf, "PD": 0, "PK": 0, "ML": 1, "PV": pv}
    for pf in (0, 2) for nb in (4, 8) for pv in (1, 0)] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": nb, "PF": pf, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, **qa, **el}
    for el in ({}, {"EL": 8}, {"SP": 2}) for qa in ({}, {"QA": 1}) for pf in (0, 2) for nb in (4, 8)] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, **qa, **el, "QL": 1, **pt}
    for pt in ({}, {"PT": 1}) for el in ({}, {"EL": 8}, {"SP": 2}) for qa in ({}, {"QA": 1})] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": nb, "PF": 2, "PD": pd, "PK": 0, "ML": 0, "PV": 0, "PR": 1}
    for nb, pd in ((8, 0), (4, 0), (8, 2))] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, **el, "QL": 1, "QR": 1}
    for el in ({"SP": 2}, {"EL": 8})] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, "SP": 2, "QL": 1, "QR": 1,
     "OD": 1, **qp, **pt} for pt in ({}, {"PT": 1}) for qp in ({}, {"QP": 3}, {"QP": 4})] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, "EL": 8, "QL": 1,
     "PT": 1, **more, **sa}
    for more in ({"PP": 1}, {"QA": 1, "PP": 1}, {"QR": 1}, {"QR": 1, "PP": 1}) for sa in ({}, {"SA": 1})] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, "EL": 8, "QL": 1,
     "PT": 1, "PP": 1, "SA": 1, "OD": 1, **qa, **nr}
    for qa, nr in (({}, {}), ({"QA": 1}, {}), ({"QA": 2}, {}), ({}, {"NR": 1}), ({"QA": 1}, {"NR": 1}),
                   ({"QA": 2}, {"NR": 1}))] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, "EL": 8, "QL": 1,
     "PT": 1, "PP": 1, "SA": 1, "OD": 1, "QA": qa, "NR": 1, "QW": 1} for qa in (1, 2)] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, "EL": 8, "QL": 1,
     "PT": 1, "PP": 0, "SA": 1, "OD": 1, "QA": 2, "NR": 1, "QW": 1, **rs} for rs in ({}, {"RS": 1})] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, "SP": 2, "QL": 1, "QR": 1,
     "OD": 1, "QP": qp, "PT": 1, "EO": 1, **nr} for qp in (3, 4) for nr in ({}, {"NR": 1})] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": 4, "PF": 2, "PD": 0, "PK": 0, "ML": 1, "PV": 1, "PU": 1, "SP": 2, "QL": 1, "QR": 1,
     "OD": 1, "QP": qp, "PT": 1, "EO": eo, "NR": 1, "KS": 1, "QD": 2} for qp in (3, 4) for eo in (0, 1)] + [
    {"BM": 7, "LMUL": 4, "KU": 1, "NB": nb, "PF": 0, "PD": 0, "PK": 0, "ML": ml, "PV": 1, "MX": 1}
    for ml in (1, 0) for nb in (4, 8)]
#: The default chunks a block.
NB_DEFAULT = 4
#: f32 elements in a 64-byte cache block (Zic64b), the unit of a Zicbop prefetch.
LINE = 16
#: Columns ``k_t`` has past Lk: its rows not a power of two bytes apart (Lk 128: 512 B), so
#: that a score loop's d rows of a chunk do not fall into a few cache sets and evict each
#: other (xuantie-c930 prefill 128 d128: -0.4 %, docs/performance.md, attn18).
K_T_PAD = 2 * LINE
#: The exps of :data:`attention`'s online softmax by its ``EXP`` parameter
#: (``rvai.ops.attention(exp=...)``): 2.28 ulp, or relative error below 9.8e-5 in 4 FP
#: operations with the row maximum folded in (:func:`rvai.lang.exp_fast`).
ATTENTION_EXPS = ("accurate", "fast")
#: Lines of each query row QP prefetches before QR's build (:func:`_store_queries`): a row of d 64.
QP_LINES = 4
#: NR's estimate of 1/x: these bits minus x's (for x > 0 whose reciprocal is normal), within 5.06 %
#: of 1/x (the line through the mantissa's ends, :func:`_reciprocals`).
RECIPROCAL_SEED = 0x7EF311C3
#: NR's least divisor: a row's sum 0 (no key seen) gives 2**100, finite, so that its outputs stay 0.
RECIPROCAL_FLOOR = 2.0 ** -100
#: Relative error bound of one probability with ``EXP="fast"`` (rvai.lang.exp_fast's).
FAST_EXP_ERROR = 9.8e-5
_LN2 = 0.6931471805599453


def prefetch_lines(vlen: int, lmul: int, ku: int) -> int:
    """The PF that covers what a block's loops prefetch: a score-loop trip's share of a
    chunk's V rows (VLMAX * KU elements at ``lmul``) and a P V trip's share of the next
    block's K rows (VLMAX elements at LMUL 4: decode's one key a trip at 7 rows,
    :func:`_pv_shape`), in 64-byte lines."""
    return max(1, -(-max(vlen * lmul * ku // 32, 2 * vlen // 16) // LINE))


def scratch(d: int, lk: int, bm: int, lmul: int, vlen: int, transpose: bool) -> tuple:
    """The kernel's scratch arrays for head dim d, Lk keys and a config (BM, LMUL):
    q_s (d, BM'; 2d if K is transposed: ``QA``'s two halves), o_s (BM', d), p (BM', W') and k_t
    (d, Lk + :data:`K_T_PAD`) if K is transposed, W' =
    the most keys a block of any tuning candidate (or of NB_DEFAULT chunks at LMUL) holds.
    BM' and W' are at least the largest of the tuning candidates', so that every candidate
    runs on the same arrays (and the tuner's cycles are those of a call)."""
    bm = max(bm, *(c["BM"] for c in ATTENTION_CONFIGS))
    width = max(NB_DEFAULT * lmul, *(c["NB"] * c["LMUL"] for c in ATTENTION_CONFIGS)) * vlen // 32
    return (np.zeros((2 * d if transpose else d, bm), np.float32), np.zeros((bm, d), np.float32),
            np.zeros((bm, width), np.float32), np.zeros((d, lk + K_T_PAD) if transpose else (1, 1), np.float32))


def _prefetches(pf: int, pd: int, pk: int, transposed: bool) -> tuple[int, int, bool]:
    """PF, PD and PK as the target being compiled for runs them: (0, 0, False) for prefill
    (K transposed) without Zicbop, where a prefetch compiles to nothing and the loops that
    would issue it would run empty (they had cost sifive-x280's decode 2.6 %); decode keeps
    them and there brings its lines in by touches (:func:`_bring`); PK only with K read in
    place and PD 0."""
    if not pf or (transposed and not rl.target_has("zicbop")):
        return 0, 0, False
    return pf, pd, bool(pk and not pd and not transposed)


def _rows(g, group, rho0, n, start=None):
    """(head, query) of the ``n`` rows starting at row ``rho0`` of KV head g: one division,
    then each row from the one before (the next head of the group, or the group's first
    head at the next query). A division and a remainder a row cost 12 integer divisions a
    tile, and an integer divider is not pipelined (xuantie-c930: 12 cycles each, 2 % of
    prefill 128). ``start`` (RS: :func:`_advance`): row rho0's (query, head in the group),
    known, so no division."""
    i = rl.var(rho0 // group if start is None else start[0])
    m = rl.var(rho0 - i.value * group if start is None else start[1])
    rows = []
    for r in range(n):
        if r:
            wrap = m.value + 1 == group
            i.value = i.value + rl.where(wrap, 1, 0)
            m.value = rl.where(wrap, 0, m.value + 1)
        rows.append((g * group + m.value, i.value))
    return rows


def _advance(start, step, group):
    """RS: (query, head in the group) of the row ``step[0] * group + step[1]`` rows after the
    row ``start``, (query, head in the group) too, with ``step[1] < group``: additions and one
    wrap, where :func:`_rows` divides (each tile's rows, the next tile's prefetched and, with
    QA, stored ones: three divisions a tile, 12 cycles each on xuantie-c930's unpipelined
    divider, which the in-order core waits for)."""
    m = start[1] + step[1]
    wrap = m >= group
    return start[0] + step[0] + rl.where(wrap, 1, 0), m - rl.where(wrap, group, 0)


def _limit(i, lq, lk, causal):
    """Keys query row i sees: all of them, or bottom-right causal ``clip(i + 1 + lk - lq, 0, lk)``."""
    return rl.minimum(lk, rl.maximum(i + 1 + lk - lq, 0)) if causal else lk


def _column(t, g, j, c):
    """Column c of the K block at key j: from K transposed, or strided from K itself."""
    return t.k_t.vload(c, j) if t.transposed else t.k.vload(g, j, c, axis=1)


def _fmas(t, acc, c, col, n):
    """acc[r] += q_s[q_row + c, r] * col for the tile's n rows; with QL every row's scalar is
    loaded before the first FMA (as written, LLVM loads them into four FP registers, three FMAs
    waiting on the loads that refill them: xuantie-c930 prefill 128 d 128 -0.6 %)."""
    if t.ql:
        qs = [_query(t, c, r) for r in range(n)]
        for r in range(n):
            acc[r] += qs[r] * col
        return
    for r in range(n):
        acc[r] += _query(t, c, r) * col


def _query(t, c, r):
    """Element c of the tile's row r of scaled queries: q_s[q_row + c, r], or with QR its
    row-major view's [the half's row + r, c] (:func:`_half_row`); with QD, for the tile's first QD
    rows, q's own element (KS: the scale is in k_t, :func:`_transpose_keys`), which the build skips."""
    if r < t.qd:
        h, i = t.rows[r]
        return t.q[h, i, c]
    if t.qr:
        return t.q_s[_half_row(t, t.q_row) + r, c]
    return t.q_s[t.q_row + c, r]


def _half_row(t, row):
    """QR: the first row of q_s's row-major view that holds the half of q_s from its row
    ``row`` (0 or d, QA's halves) of the (d, BM) layout."""
    return row // t.d * (t.q_s.shape[0] // 2)


def _row_major(x):
    """QR: the memory of prefill's scratch q_s, (2d, BM), as (2BM, d), row-major. Its d is
    taken from q_s's shape, not q's: with q's, LLVM computed the score loop's seven addresses
    otherwise (spacemit-x60 prefill 128 d 64: 2,564,813 cycles against 2,553,056)."""
    return x.view(2 * x.shape[1], x.shape[0] // 2)


def _in_head(t, row, rows):
    """``row``, moved back so that ``rows`` rows from it stay in the KV head (but not
    before its first): prefetches into the next head's rows would make a head's cost
    depend on the heads before it, which the models' cost estimate (one KV head run and
    scaled) cannot see."""
    return rl.maximum(rl.minimum(row, t.k.shape[1] - rows), 0)


def _bring(t, x, *idx):
    """Bring the line of x[idx] in: a Zicbop prefetch, or on targets without Zicbop a touch
    (a load whose value is discarded; in-bounds only): sifive-x280 decode 512 keys, d 64,
    165,353 -> 155,787 cycles at PF 2, PD 2, where K had come from DRAM with only the
    stride prefetcher, which follows one row of a strided column load, not its rows."""
    if t.touch:
        x.touch(*idx)
    else:
        x.prefetch(*idx)


def _prefetch(t, x, g, row, start):
    """``PF`` lines brought in (:func:`_bring`): the 64-byte lines holding elements [start,
    start + PF * LINE) counted from x[g, row, 0]. A prefetch past the end is harmless; a
    touch is a load, so it stops at the KV head's last element."""
    last = (x.shape[1] - row) * t.d - 1 if t.touch else None
    for u in range(t.pf):
        at = start + u * LINE
        _bring(t, x, g, row, rl.minimum(at, last) if t.touch else at)


def _scores(t, g, j, n, vl, vl0):
    """The scores of the chunk of keys at j for the n rows, as their n accumulators: KU
    columns of K a trip, all loads first (an FMA chained to a load still in flight holds its
    FP unit until the load's last element, and a strided K column takes one element a
    cycle). The n accumulators and KU columns must fit the 32 registers, or LLVM spills
    accumulators. When K is read in place (decode), each trip prefetches the next ``PF``
    lines of the chunk's V rows, which the block's P V loop reads next, and with ``PD`` > 0
    as many of the K rows PD chunks of vl keys ahead (the chunk's trips cover them when PF >=
    VLMAX * KU / 16), or with ``PK`` the chunk's own K one 16-column group ahead
    (:func:`_next_group`). With K transposed (prefill) K and V are reread by every tile and
    stay in L2: not prefetched.

    Prefill's accumulators start as column 0's products (``vfmul.vf``), not as zeros: LLVM
    zeroed the seven LMUL-4 registers twice a chunk (before the loop's guard and again in
    it), 8 beats each on sifive-x280 (prefill 128 d 64 -1.2 %; docs/performance.md, the
    attn11 round). Decode keeps its zeros (not measured there)."""
    d, ku = t.d, t.ku
    first = 1 if t.transposed else 0
    if first:
        col = _column(t, g, j, 0)
        acc = [rl.var(_query(t, 0, r) * col) for r in range(n)]
    else:
        acc = [rl.var(rl.zeros(f32)) for _ in range(n)]
    if t.sa and ku == 1:
        return _scores_ahead(t, g, j, acc, n)
    last = d - (d - first) % ku
    v_row = _in_head(t, j, vl0)
    k_row = _in_head(t, j + t.pd * vl, vl0)
    ahead = rl.var(0)
    group = (rl.var(LINE), rl.var(0)) if t.pk else None
    for c in rl.range(first, last, ku, unroll=False):
        kc = [_column(t, g, j, c + u) for u in range(ku)]
        if not t.transposed:
            _prefetch(t, t.v, g, v_row, ahead.value)
            if t.pd:
                _prefetch(t, t.k, g, k_row, ahead.value)
            ahead.value = ahead.value + t.pf * LINE
            if t.pk:
                _next_group(t, g, j, vl0, *group)
        for u in range(ku):
            _fmas(t, acc, c + u, kc[u], n)
    for c in rl.range(last, d):
        _fmas(t, acc, c, _column(t, g, j, c), n)
    return acc


def _scores_ahead(t, g, j, acc, n):
    """SA (prefill, KU 1): the score loop over columns 1 to d - 1 with each trip's scalars of
    q_s loaded a trip ahead (the first before the loop, the last column's step after it), so
    that the in-order core does not wait for them before the trip's FMAs (xuantie-c930 prefill
    128 -1.1 % at d 64, -2.4 % at d 128 with QA): the same products in the same order as :func:`_fmas`'s."""
    d = t.d
    nxt = [rl.var(_query(t, rl.minimum(1, d - 1), r)) for r in range(n)]   # column 0's at d 1, unused
    for c in rl.range(1, d - 1, 1, unroll=False):
        cur = [x.value for x in nxt]
        col = _column(t, g, j, c)
        for r in range(n):
            nxt[r].value = _query(t, c + 1, r)
        for r in range(n):
            acc[r] += cur[r] * col
    for c in rl.range(rl.maximum(d - 1, 1), d):   # the last column, if d > 1
        col = _column(t, g, j, c)
        for r in range(n):
            acc[r] += nxt[r].value * col
    return acc


def _next_group(t, g, j, vl0, col, row):
    """``PK``: PF prefetches of the chunk's K lines one 16-column group ahead of the score
    loop (past its last group, the next chunk's first), ``row`` the chunk's next key and
    ``col`` that group's first column, so that a trip's PF rows make the VLMAX rows of a
    group in its 16 columns when PF = :func:`prefetch_lines`. The chunk's K, which the
    previous block's P V loop prefetched from DRAM, has left L1 by then for L2 on spacemit-x60 (a block's K
    and V do not fit beside each other), and a strided column that starts a group waited for
    its VLMAX lines from L2, four times a chunk at d 64."""
    past = col.value >= t.d
    first = j + row.value + rl.where(past, vl0, 0)
    at = col.value - rl.where(past, t.d, 0)
    if t.touch:   # a load: inside K (at d < 16 the next group's column lies past the row)
        at = rl.minimum(at, t.d - 1)
    for u in range(t.pf):
        _bring(t, t.k, g, rl.minimum(first + u, t.k.shape[1] - 1), at)
    row.value = row.value + t.pf
    wrap = row.value >= vl0
    row.value = rl.where(wrap, 0, row.value)
    col.value = rl.where(wrap, col.value + LINE, col.value)


def _key_block(t, g, n, st, j, w, vl0, limits, first=False, then=None, o_rows=None):
    """One block of ``w`` keys at ``j`` (at most W, the scratch ``p``'s columns) for the
    tile's ``n`` rows; ``limits`` (per row, or None when every row sees every key of the
    block) masks the keys a row cannot see. The tile's ``first`` block (at compile time)
    has nothing to rescale: its sums and outputs start from zero, not from a correction
    factor (a scalar exp a row) times the running ones read back from o_s. ``then`` (QA: the
    next tile's queries) is emitted between the block's exp pass and its P V loop (QA 1) or after
    that loop (QA 2). ``o_rows``
    (OD: the tile's only block, in PV's shape) are the rows' (head, query): the P V loop writes
    them into o, normalised, rather than into o_s."""
    d, q_s, o_s, p, v = t.d, t.q_s, t.o_s, t.p, t.v
    # Scores, a chunk of VLMAX keys at a time, into p's rows. Decode blocks of NB >= 4
    # chunks take their maxima from p afterwards, one reduction a row: a reduction a chunk
    # makes the scalar core wait on the vector unit (a scalar max of its result) and
    # drains the vector queue once a chunk (1-2 points of decode on spacemit-x60 and
    # xuantie-c930); with fewer chunks a block (prefill tiles, NB 2) the extra pass costs
    # more than it saves.
    # With ML each chunk's reductions are folded into the block maxima at the next chunk's
    # start (and after the last), so that the scalar fmax does not wait for the reduction
    # just issued: by then it has long been done.
    after = t.nb >= 4 and not t.transposed
    late = t.ml and not after
    block_max = [rl.var(float("-inf")) for _ in range(n)]
    pending = [rl.var(float("-inf")) for _ in range(n)] if late else None
    for vl, jj in rl.vloop(w, sew=32, lmul=t.lmul):
        if late:
            _fold(block_max, pending)
        acc = _scores(t, g, j + jj, n, vl, vl0)
        scores = []   # MX: the chunk's rows, their maxima taken together after the loop
        for r in range(n):
            s = acc[r].value
            if limits is not None:
                s = rl.where(rl.arange(i32) < (limits[r] - j - jj).to(i32), s, float("-inf"))
            if t.mx:
                scores.append(s)
            elif late:
                pending[r].value = s.max()
            elif not after:
                block_max[r].value = rl.maximum(block_max[r].value, s.max())
            p.vstore(s, r, jj)
        if t.mx and not after:
            for r, m in enumerate(_tree_maxima(t, scores, vl)):
                if late:
                    pending[r].value = m
                else:
                    block_max[r].value = rl.maximum(block_max[r].value, m)
    if late:
        _fold(block_max, pending)
    # Online softmax over the whole block: one running-max update and one rescale of the
    # outputs per row for W keys (not per chunk), and p's scores become probabilities.
    full = w - w % vl0
    if after:
        for r in range(n):
            with rl.vector(vl0, sew=32, lmul=t.lmul):
                mx = rl.var(rl.full(float("-inf"), f32))
                for jj in rl.range(0, full, vl0):
                    mx.value = rl.maximum(mx.value, p.vload(r, jj))
                head = mx.value.max()
            with rl.vector(w - full, sew=32, lmul=t.lmul):
                block_max[r].value = rl.maximum(head, p.vload(r, full).max())
    # Prefill takes two rows at a time: their exps are independent chains in one loop, so
    # that the in-order vector unit has an operation to issue while one waits on the one
    # before (xuantie-c930's second FP pipe too); three rows at a time were slower at d 64.
    # Decode takes one unless PR (with PK's prefetches two made the bounds-checked kernel
    # slower on spacemit-x60; generic's one FP pipe lost 0.6-1.0 % to two while decode's
    # exp pass still summed the rows, and takes PR since: docs/performance.md, dec10).
    pair = 2 if t.transposed or t.pr else 1
    pv_sums = t.pv or not t.transposed
    corr = []
    for r0 in range(0, n, pair):
        rows = range(r0, min(r0 + pair, n))
        shifts = []
        for r in rows:
            m, _, b = st[r]
            m_new = rl.maximum(m.value, block_max[r].value)
            m_use = rl.where(m_new == float("-inf"), 0.0, m_new)   # nothing seen yet: exp(-inf - 0) = 0
            if t.fast:
                # e**(x - s) for an s just above m_use, folded into exp_fast's first FMA; what
                # was summed so far used the last block's s, so the correction is e**(s_old -
                # s_new) = 2**(bias_new - bias_old), the ratio of the two blocks' scales
                shift = rl.exp_fast_bias(m_use)
                if not first:
                    corr.append(rl.where(m.value == float("-inf"), 0.0, rl.exp_nonpositive((shift - b.value) * _LN2)))
                b.value = shift
            else:
                shift = m_use
                if not first:
                    corr.append(rl.exp_nonpositive(m.value - m_use))
            m.value = m_new
            shifts.append(shift)
        if pv_sums:
            # Decode, and prefill with PV: the P V loop sums the probabilities, so nothing
            # runs across the chunks here and the block's short last chunk is one more trip
            # of the loop (-1.5 % against a loop over the whole chunks and the short one
            # after it, prefill 128 d 64 on xuantie-c930 and spacemit-x60). EL: another LMUL;
            # at 8 half the trips, and so half the splats of the polynomial's coefficients,
            # which LLVM makes again in every trip, though two register groups spill a trip
            # (a generic splat at VLMAX, two vsetvli around each). SP: splats at the trip's vl,
            # one a constant shared by the two rows, and the chains interleaved; SP 2 makes the
            # rounding constant's before the loop, and LLVM keeps it in the one register group
            # to spare at LMUL 4 (all six made there do not fit: reloaded a trip, +3.5 % on x60)
            # EO: a row without a pair (the seventh of BM 7) at LMUL 8, half the trips of its
            # one chain, whose operations wait on each other (spacemit-x60 prefill 128 d 64 -0.08 %)
            el = 8 if t.eo and len(rows) == 1 else t.el or t.lmul
            ahead = _addends(t, w, EXP_NONPOSITIVE_ADDENDS[:1], el) if t.sp == 2 else {}
            for _, jj in rl.vloop(w, sew=32, lmul=el):
                in_trip = [c for c in EXP_NONPOSITIVE_ADDENDS if c not in ahead]
                addends = {**_addends(t, None, in_trip), **ahead} if t.sp else None
                for r, e in zip(rows, _exp(t, [p.vload(r, jj) for r in rows], shifts, addends)):
                    p.vstore(e, r, jj)
            continue
        with rl.vector(vl0, sew=32, lmul=t.lmul):
            sums = [rl.var(rl.zeros(f32)) for _ in rows]
            for jj in rl.range(0, full, vl0):
                es = _exp(t, [p.vload(r, jj) for r in rows], shifts)
                for r, e, acc in zip(rows, es, sums):
                    p.vstore(e, r, jj)
                    acc += e
            heads = [acc.value.sum() for acc in sums]
        with rl.vector(w - full, sew=32, lmul=t.lmul):
            es = _exp(t, [p.vload(r, full) for r in rows], shifts)
            for r, e, head in zip(rows, es, heads):
                p.vstore(e, r, full)
                _add_sum(st[r][1], head + e.sum(), None if first else corr[r])
    if then is not None and t.qa != 2:
        then()
    # P V, per chunk of the head dim: the n output rows (the scratch o_s, in L1) are
    # rescaled, then take n vfmacc.vf per key, one V row load shared. Unless the score loop
    # prefetches K (PD > 0), each trip prefetches the next PF lines of the next block's K
    # (its w rows; the block's trips cover them when PF >= keys a trip * vl_d / 16), which
    # the score loop's strided columns then find in the cache.
    ahead = rl.var(0)
    k_row = _in_head(t, j + w, w)
    lmul, keys = _pv_shape(t, n)
    inv = [rl.var(0.0) for _ in range(n)] if o_rows is not None else None

    def chunk(c, sums=None):
        out = [rl.var(rl.zeros(f32) if first else o_s.vload(r, c) * corr[r]) for r in range(n)]
        # PU: LLVM's unroller (sifive-p670's preferences: four keys a trip) runs out of FP
        # registers for the 7 x 4 scalars of p and loads the first key's into one register,
        # each just before its FMA, so the FMAs wait on their loads one by one (the FP pipes
        # idle 15-30 cycles between them); one key a trip loads its seven first
        if t.pp:
            _pv_ahead(v, p, out, g, j, c, n, w, sums)
        else:
            for k in rl.range(0, w - w % keys, keys, unroll=not t.pu):
                if not t.transposed and not t.pd:
                    _prefetch(t, t.k, g, k_row, ahead.value)
                    ahead.value = ahead.value + t.pf * LINE
                _pv_step(v, p, out, g, j, k, c, n, keys, sums)
        if keys > 1:
            for k in rl.range(w - w % keys, w):
                _pv_step(v, p, out, g, j, k, c, n, 1, sums)
        if o_rows is not None:
            if sums is not None:   # the first chunk: the rows' sums are whole
                for r in range(n):
                    _add_sum(st[r][1], sums[r].value, None)
                for r, x in enumerate(_inverses([l.value for _, l, _ in st], t.nr)):
                    inv[r].value = x
            for r, (h, i) in enumerate(o_rows):
                t.o.vstore(out[r].value * inv[r].value, h, i, c)
            return
        for r in range(n):
            o_s.vstore(out[r].value, r, c)

    if pv_sums:
        # The first chunk of the head dim also sums each row's probabilities from the
        # scalars of p it loads anyway: no vector sums and reductions in the exp passes,
        # whose scalar results made the in-order core wait for the vector unit once a row
        # pair (prefill 128, d 64: xuantie-c930 -4.2 %, spacemit-x60 -4.8 %; decode, shipped
        # configurations: sifive-x280 -1.2 to -6.0 %, spacemit-x60 -0.6 to -3.2 %, generic
        # -0.1 to -0.5 %, xuantie-c930 512 keys -0.05 to -0.8 %, 4096 keys +0.1 to +0.2 %).
        # Only in PV's shape, one key a trip, decode's always: with two (PV 0) it lost 4.6 %
        # on xuantie-c930's prefill 512.
        sums = [rl.var(0.0) for _ in range(n)]
        with rl.vector(d, sew=32, lmul=lmul) as vl_d:
            chunk(0, sums)
        for r in range(n if o_rows is None else 0):
            _add_sum(st[r][1], sums[r].value, None if first else corr[r])
        for _, c in rl.vloop(d - vl_d, sew=32, lmul=lmul):
            chunk(vl_d + c)
    else:
        for _, c in rl.vloop(d, sew=32, lmul=lmul):
            chunk(c)
    if then is not None and t.qa == 2:
        then()


def _tree_maxima(t, xs, vl):
    """The maxima of the vectors ``xs`` (computed at ``vl`` >= 1) by a tree of slides (``MX``):
    each step takes the larger of the elements i and i + h of the first n (n -> n - h, h =
    n // 2, ceil(log2 vl) steps, every row's step together), and the scalar is element 0,
    no reduction: on sifive-x280 a reduction holds the one permute unit 35 + 2 x LMUL cycles,
    a slide a cycle per 256 bits, and the FP pipe that the tree's ``vfmax.vv`` occupy sits
    idle while the maxima are awaited."""
    xs = [rl.var(x) for x in xs]
    n = rl.var(vl)
    # ceil(log2 vl) steps: the exponent of the float (vl - 1), exact below 2**24 (none for vl 1)
    steps = ((vl - 1).to(f32).bitcast(i32) >> 23) - 126
    for _ in rl.range(steps.to(rl.i64), unroll=False):
        h = n.value // 2
        with rl.vector(n.value - h, sew=32, lmul=t.lmul):
            for x in xs:
                x.value = rl.maximum(x.value, rl.slidedown(x.value, h))
        n.value = n.value - h
    return [x.value.first() for x in xs]


def _add_sum(l, s, corr):
    """A row's running sum ``l`` takes its block's sum ``s``, after the rescale by the row's
    correction factor ``corr`` (None in a tile's first block: nothing to rescale)."""
    l.value = s if corr is None else l.value * corr + s


def _fold(block_max, pending):
    """block_max[r] = max(block_max[r], pending[r]) for every row (ML's late fold)."""
    for m, x in zip(block_max, pending):
        m.value = rl.maximum(m.value, x.value)


def _pv_shape(t, n):
    """(LMUL, keys a trip) of the P V loop for n rows. Prefill with PV 0: LMUL 2 and two
    keys a trip, every load first, so that no FMA waits on its scalar's load. Decode (and
    prefill with PV 1): one key a trip at the largest LMUL whose n accumulators and V row
    fit the 32 registers (4 at BM 7): each chunk of the head dim reloads the n scalars of
    ``p``, so twice the LMUL halves those scalar loads and the outputs' rescales, which had
    held xuantie-c930's loop 18 % above its FMAs (decode 512 keys, d 64: 33.9k cycles, now
    the 28.7k of its FMAs)."""
    if t.transposed and not t.pv:
        return 2, 2
    return max(m for m in (1, 2, 4, 8) if (n + 1) * m <= 32 or m == 1), 1


def _exp(t, xs, shifts, addends=None):
    """e**(x - the row maximum) of each of some rows' chunks of scores ``xs``: ``shifts``
    are the rows' maxima, or for the fast exp their :func:`rvai.lang.exp_fast_bias` (the
    subtraction folded into the exp); ``addends`` (:func:`_addends`) the accurate exp's."""
    if t.fast:
        # one call a row (exp_fast takes one bias); the chains still share the loop
        return [rl.exp_fast(x, bias=s) for x, s in zip(xs, shifts)]
    return rl.exp_nonpositive([x - s for x, s in zip(xs, shifts)], addends=addends)


def _addends(t, w=None, which=EXP_NONPOSITIVE_ADDENDS, lmul=None):
    """SP: the accurate exp's addends ``which`` (of :data:`rvai.lang.math.EXP_NONPOSITIVE_ADDENDS`)
    as ``vl``-bound splats, at the current vl (``w`` None: in the trip) or at the exp pass's
    first trip over ``w`` keys at ``lmul`` (None: the pass's, EL or the chunks') made before its loop,
    which covers every trip's vl."""
    if w is None:
        return {c: rl.full(c, f32, bound=True) for c in which}
    with rl.vector(w, sew=32, lmul=lmul or t.el or t.lmul):
        return _addends(t, None, which)


def _pv_step(v, p, out, g, j, k, c, n, keys, sums=None):
    """out[r] += p[r, k+u] * v[g, j+k+u, c:] for the ``keys`` keys from k."""
    vv = [v.vload(g, j + k + u, c) for u in range(keys)]
    pk = [[p[r, k + u] for r in range(n)] for u in range(keys)]
    for u in range(keys):
        _pv_fmas(out, pk[u], vv[u], sums)


def _pv_ahead(v, p, out, g, j, c, n, w, sums=None):
    """PP: the P V loop over the block's ``w`` keys (one a trip) with each trip's scalars of p
    loaded a trip ahead, so that the in-order core does not wait for them (their addresses
    are a chain of six additions of p's runtime row stride, then an L1 hit) before the
    trip's FMAs and row sums: the same operations in the same order as :func:`_pv_step`'s."""
    nxt = [rl.var(p[r, 0]) for r in range(n)]   # p has a column 0 even when w is 0
    for k in rl.range(0, w - 1, 1, unroll=False):
        cur = [x.value for x in nxt]
        row = v.vload(g, j + k, c)
        for r in range(n):
            nxt[r].value = p[r, k + 1]
        _pv_fmas(out, cur, row, sums)
    for k in rl.range(rl.maximum(w - 1, 0), w):   # the last key, if any
        _pv_fmas(out, [x.value for x in nxt], v.vload(g, j + k, c), sums)


def _pv_fmas(out, scalars, row, sums):
    """out[r] += scalars[r] * row (and sums[r] += scalars[r]) for every row r."""
    for r, x in enumerate(scalars):
        out[r] += x * row
        if sums is not None:
            sums[r] += x


def _chunk_keys(t):
    """The keys of a chunk: VLMAX e32 elements at the kernel's LMUL (p's columns if fewer)."""
    with rl.vector(t.p.shape[1], sew=32, lmul=t.lmul) as vl0:
        pass
    return vl0


def _key_loop(t, g, n, st, start, stop, limits):
    """Key blocks of at most W = min(NB * VLMAX, p's columns) keys over [start, stop)."""
    vl0 = _chunk_keys(t)
    width = _block_keys(t, vl0)
    for j in rl.range(start, stop, width):
        _key_block(t, g, n, st, j, rl.minimum(stop - j, width), vl0, limits)


def _block_keys(t, vl0):
    """W, the keys of a whole block: NB chunks of vl0 keys, at most p's columns."""
    return rl.maximum(rl.minimum(t.nb * vl0, t.p.shape[1]), 1)


def _first_block(t, g, n, st, stop, then=None, o_rows=None):
    """Prefill (K transposed): the tile's first block, unmasked, over the keys [0, min(W,
    stop)) every row sees (none when stop is 0: it then only sets the rows' sums and o_s to
    zero); returns where the blocks after it start. Prefill 128 is one block a tile at NB 4
    (VLEN 256). Decode's tiles start with o_s zeroed instead (returns 0): there the first
    block is one of many, and the second copy of the block's code made the bounds-checked
    kernel with PK's prefetches 27 % slower on spacemit-x60 (decode 512 keys, d 64).
    ``then`` goes to :func:`_key_block` (emitted even when the block has no key), and
    ``o_rows`` (OD) too."""
    if not t.transposed:
        return 0
    vl0 = _chunk_keys(t)
    w = rl.minimum(stop, _block_keys(t, vl0))
    _key_block(t, g, n, st, 0, w, vl0, None, first=True, then=then, o_rows=o_rows)
    return w


def _tile_start(t, rows, built=False):
    """The tile's scaled queries into q_s (unless ``built``: QA stored them during the tile
    before, :func:`_tiles_ahead`) and, in decode, zeros into o_s (prefill's first block
    writes it, :func:`_first_block`); each row's state: its running maximum, sum and (for
    the fast exp) the last block's exp_fast_bias."""
    if not built:
        _store_queries(t, rows, t.q_row)
    return [(rl.var(float("-inf")), rl.var(0.0), rl.var(0.0)) for _ in rows]


def _store_queries(t, rows, row):
    """The scaled queries of ``rows`` into q_s, its rows from ``row`` (in decode, zeros into
    their rows of o_s too).

    Every row's load first: a store waiting on its data holds the (in-order) load/store
    unit, so a load behind it would start only once the one before had come from memory;
    issued together, the rows' misses overlap. The LMUL keeps the rows within 28 registers.
    With QR a row at a time at LMUL 8, unit-stride stores: LLVM puts each row's load beside
    its store however the loads are grouped (all first, or two or three rows at a time), and
    at LMUL 8 a row is one trip at d 64 and VLEN 256 (a first version, spacemit-x60 prefill 128
    d 64: 2,608,200 cycles at LMUL 4, 2,565,021 at LMUL 8). With QP (and PF on a target with
    Zicbop) the first QP rows' first :data:`QP_LINES` lines are prefetched first: the rows, a
    power of two bytes apart, share L1 sets, so that the tile's prefetches of them (:func:`_tile`)
    had left most in L2 only, and each row's store waited for its load from there (QP 4, the
    ways of spacemit-x60's L1: prefill 128 d 64 -0.5 %). With QS (a tile of more than one row) each
    head-dim element's BM scaled queries are one segment of q_s, (2d, BM), written by one segment store
    a trip (``vsseg7e32.v`` for BM 7, at the LMUL that keeps its 7 fields within 8 registers) where
    the rows' strided stores took an element a cycle.
    """
    if t.qs and len(rows) > 1:   # q_s (2d, BM) rows are BM-wide segments, one per head-dim element
        n = len(rows)
        flat = t.q_s.view(t.q_s.shape[0] * n)
        for vl, c in rl.vloop(t.d, sew=32, lmul=2):   # a 64-byte line of each row a trip at VLEN 256
            with rl.vector(vl, sew=32, lmul=1) as vl0:   # its two halves: 7 fields of LMUL 1 each
                first, second = [], []
                for h, i in rows:
                    first.append(t.q.vload(h, i, c) * t.scale)
                    with rl.vector(vl - vl0, sew=32, lmul=1):
                        second.append(t.q.vload(h, i, c + vl0) * t.scale)
                flat.vstore_segments(first, (row + c) * n)
                with rl.vector(vl - vl0, sew=32, lmul=1):
                    flat.vstore_segments(second, (row + c + vl0) * n)
        return
    if t.qr:
        # KS: the scale is k_t's, so the rows are copied as they are; QD: the first QD rows are
        # read from q by the score loop (:func:`_query`), not copied, and prefetched first
        first = _half_row(t, row)
        for h, i in rows[:t.qd + t.qp]:
            for u in range(QP_LINES):
                t.q.prefetch(h, i, rl.minimum(u * LINE, t.d - 1))
        for vl, c in rl.vloop(t.d, sew=32, lmul=8):
            for r, (h, i) in list(enumerate(rows))[t.qd:]:
                x = t.q.vload(h, i, c)
                t.q_s.vstore(x if t.ks else x * t.scale, first + r, c)
        return
    for vl, c in rl.vloop(t.d, sew=32, lmul=max(m for m in (1, 2, 4, 8) if m * len(rows) <= 28 or m == 1)):
        rows_v = [t.q.vload(h, i, c) for h, i in rows]
        for r, x in enumerate(rows_v):
            t.q_s.vstore(x * t.scale, row + c, r, axis=0)
            if not t.transposed:
                t.o_s.vstore(rl.zeros(f32), r, c)


def _first_keys(t, g, rows=None):
    """Prefetch the K rows that no loop prefetches: the first PD chunks (PD > 0) or the
    first block (PD = 0), or the first ``rows`` (prefill: the KV head's keys before their
    transposition), contiguous from k[g, 0], all at once: left to the strided column loads
    (the score loop's, the transposition's), their lines came from DRAM a 16-column group
    at a time (xuantie-c930 prefill 128 d 128: the transposition 122,704 -> 62,796 cycles).
    Four lines a trip at constant offsets (a loop of one ran a trip a cycle: 2,086 cycles
    of xuantie-c930's decode of 512 keys at d 64), then the rest one a trip, so that none
    reaches past the rows into the next head's keys."""
    if rows is None:
        rows = rl.minimum(t.k.shape[1], (t.pd if t.pd else t.nb) * _chunk_keys(t))
    n = rows * t.d
    full = n - n % (4 * LINE)
    for e in rl.range(0, full, 4 * LINE):
        for u in range(4):
            _bring(t, t.k, g, 0, e + u * LINE)
    for e in rl.range(full, n, LINE):
        _bring(t, t.k, g, 0, e)


def _transpose_keys(t, g):
    """Prefill: KV head g's keys into k_t, transposed; with KS times the scale, so that QR's query
    build copies q's rows without a product (spacemit-x60 prefill 128 d 64 -0.14 %) and QD's rows can
    be read from q as they are (:func:`_query`): q (k scale) for (q scale) k, not bit-equal."""
    for vl, j in rl.vloop(t.k.shape[1], sew=32, lmul=t.lmul):
        for c in rl.range(t.d):
            x = t.k.vload(g, j, c, axis=1)
            t.k_t.vstore(x * t.scale if t.ks else x, c, j)


def _schedule_prefill(transposed, exp):
    """Have prefill (K transposed) with the accurate exp compiled with LLVM's sifive-p670 schedule.

    Called while a kernel is traced, by this module's kernel and the many-hart one
    (:mod:`rvai.kernels.attention_harts`), so that both make the same choice.
    """
    if transposed and exp == "accurate":
        # LLVM's sifive-p670 schedule keeps a P V trip's scalar loads of p ahead of its
        # vfmacc.vf, as written (generic-rv64's puts loads beside their FMAs, which then
        # wait on them): prefill 128, d 64, xuantie-c930 -3.6 %, spacemit-x60 -3.1 %; the
        # many-hart kernel, causal prefill 128 (14/2 heads d 64, 28/4 d 128) and 512 (d 64),
        # xuantie-c930-cluster (4 harts) -5.0/-6.0/-4.9 %, spacemit-k1 (8 harts)
        # -2.4/-1.2/-2.0 %. With the fast exp it lost (xuantie-c930 +2.7 %, spacemit-x60
        # +1.5 %).
        rl.schedule_as("sifive-p670")


def _tile(t, g, group, rho0, n, causal, ahead=None, starts=None):
    """The ``n`` rows from row ``rho0`` of KV head g: a whole tile's attention, its queries
    in q_s from its row ``t.q_row``. With ``ahead`` = (q_s row, row of the KV head) (QA,
    :func:`_tiles_ahead`) they are there already, and the tile's first block stores those of
    the n rows from that row of the KV head at that row of q_s. ``starts`` (RS): the
    (query, head in the group) of the rows rho0, rho0 + n and (with ``ahead``) that row."""
    q, d = t.q, t.d
    lq, lk = q.shape[1], t.k.shape[1]
    here, after, stored = starts or (None, None, None)
    rows = _rows(g, group, rho0, n, here)
    t.rows = rows   # QD: the rows whose scalars :func:`_query` reads from q
    st = _tile_start(t, rows, built=ahead is not None)
    then = None
    if ahead is not None:
        half, rho_next = ahead

        def then():
            _store_queries(t, _rows(g, group, rho_next, n, stored), half)
    if t.pf and not t.touch:
        # the next tile's query rows (in the next KV head's, or past q, at the end: a hint,
        # where a touch, a load, could fault)
        # arrive during this tile's keys rather than at its start, one DRAM trip each; one
        # loop over the lines for all the rows (a loop a row mispredicted its exit a row)
        nxt = _rows(g, group, rho0 + n, n, after)
        for e in rl.range(0, d, LINE):
            for h, i in nxt:
                q.prefetch(h, i, e)
    if t.pf and not t.transposed:
        _first_keys(t, g)
    limits = [_limit(i, lq, lk, causal) for _, i in rows]
    if not t.od:
        _blocks(t, g, n, st, rows, limits, causal, then)
        return
    # OD: a tile whose rows all see the same keys, one block of them, writes o from its P V
    # loop; the others run as without OD
    one = rl.where(limits[-1] <= rl.minimum(limits[0], _block_keys(t, _chunk_keys(t))), 1, 0)
    for _ in rl.range(one):
        _first_block(t, g, n, st, limits[0], then, rows)
    for _ in rl.range(1 - one):
        _blocks(t, g, n, st, rows, limits, causal, then)


def _blocks(t, g, n, st, rows, limits, causal, then):
    """The tile's key blocks over each row's ``limits`` (``then``: :func:`_tile`'s), its
    outputs into o_s, then o's ``rows`` from o_s, normalised."""
    # rows are query-major, so the first row sees the fewest keys and the last the most
    _key_loop(t, g, n, st, _first_block(t, g, n, st, limits[0], then), limits[0], None)
    if causal:
        _key_loop(t, g, n, st, limits[0], limits[-1], limits)
    for r, (h, i) in enumerate(rows):
        inv = _inverse(st[r][1].value)
        # LMUL 8: one trip at d 64 and VLEN 256; a loop of two trips a row mispredicted
        # its exit once a row (xuantie-c930 and spacemit-x60 prefill 128: 2.8-3.2 %)
        for vl, c in rl.vloop(t.d, sew=32, lmul=8):
            t.o.vstore(t.o_s.vload(r, c) * inv, h, i, c)


def _inverse(total):
    """1 / a row's sum, or 0 for a row that saw no key (its sum 0)."""
    return rl.where(total > 0.0, 1.0 / total, 0.0)


def _inverses(totals, nr=False):
    """:func:`_inverse` of each of the rows' sums ``totals``; with ``nr`` (NR) :func:`_reciprocals`,
    whose 1 / :data:`RECIPROCAL_FLOOR` for a row that saw no key leaves its outputs, all 0, at 0."""
    return _reciprocals(totals) if nr else [_inverse(x) for x in totals]


def _reciprocals(xs):
    """1 / max(x, :data:`RECIPROCAL_FLOOR`) of each f32 x of ``xs`` whose reciprocal is normal, within
    1 ulp (NR): the seed :data:`RECIPROCAL_SEED` minus x's bits, y = (1 - e) / x with |e| <= 5.06 %,
    then a step to e**4, ``y (1 + e) (1 + e**2)`` with e = 1 - x y (its two factors side by side),
    and Markstein's Newton step, ``y + y (1 - x y)`` by FMAs, to e**8: 4.5e-11 with the roundings,
    so that the last rounding (half an ulp) is nearly all of it (0.5005 ulp at most in a sweep).
    FMAs are pipelined, where ``fdiv.s`` holds the one unpipelined divider; the rows' chains go
    a step at a time, side by side (one row's after another, the in-order core waited on each
    FMA's latency: xuantie-c930 prefill 128 d 64 +2.7 % against the divisions). The e**4 step
    is 11 cycles of FMA latency where two Newton steps are 16 (-0.15 %). No select for x 0 (a
    sum 0): LLVM made a branch of each row's, the in-order core waiting on its compare, and the
    rows' seeds one after another (-0.2 % against the divisions, where the floor's ``fmax.s``
    gives -0.6 %)."""
    xs = [rl.maximum(x, RECIPROCAL_FLOOR) for x in xs]
    ys = [(RECIPROCAL_SEED - x.bitcast(i32)).bitcast(f32) for x in xs]
    es = [rl.fma(-x, y, 1.0) for x, y in zip(xs, ys)]
    ys = [rl.fma(y, e, y) * rl.fma(e, e, 1.0) for y, e in zip(ys, es)]
    es = [rl.fma(-x, y, 1.0) for x, y in zip(xs, ys)]
    return [rl.fma(y, e, y) for y, e in zip(ys, es)]


def _tiles_ahead(t, g, group, whole, bm, causal):
    """QA: the ``whole`` rows (whole tiles of ``bm``) of KV head g, each tile's scaled queries
    stored during the tile before (after its first block's exp pass, with QA 2 its P V loop:
    :func:`_key_block`) into the
    half of q_s (rows [0, d) or [d, 2d)) that tile does not read, so that a tile starts on its
    scores: its start (the tile before's output rows, the query rows' loads, their scaling and
    strided stores into q_s) had left the FP pipes idle 4.5 % (xuantie-c930) and 4.3 %
    (spacemit-x60) of their time (prefill 128, d 64; docs/performance.md, the attn13 round).
    The last tile stores its own rows again (harmless), so no tile reads past the KV head's."""
    for _ in rl.range(rl.where(whole > 0, 1, 0)):
        _store_queries(t, _rows(g, group, 0, bm), 0)
    half = rl.var(0)
    last = rl.maximum(whole - bm, 0)
    if t.rs:   # the tiles' rows stepped from row 0's (query 0, the group's first head)
        step = (bm // group, bm % group)
        start = (rl.var(0), rl.var(0))
    for rho0 in rl.range(0, whole, bm):
        t.q_row = half.value
        starts = None
        if t.rs:
            here = (start[0].value, start[1].value)
            after = _advance(here, step, group)
            more = rho0 + bm <= last   # else the last tile stores its own rows again
            stored = tuple(rl.where(more, a, b) for a, b in zip(after, here))
            starts = (here, after, stored)
        _tile(t, g, group, rho0, bm, causal, (t.d - half.value, rl.minimum(rho0 + bm, last)), starts)
        if t.rs:
            start[0].value, start[1].value = after
        half.value = t.d - half.value
    t.q_row = 0


#: What each checked tunable may be: the on/off flags 0 or 1, SP and QA 0, 1 or 2 (each makes other code),
#: QD 0-4 (rows read from q: at most the L1's ways on the presets, those rows sharing a set),
#: PF and PD counts (prefetch lines, chunks ahead). EL is checked as an LMUL by the vloop it sets.
_TUNABLE_VALUES = {"SP": (0, 1, 2), "QA": (0, 1, 2), "QD": (0, 1, 2, 3, 4),
                   **{name: (0, 1) for name in ("PK", "ML", "PV", "PR", "MX", "PU", "QL", "PT", "QR", "OD", "PP", "SA",
                                                "NR", "EO", "QS", "QW", "RS", "KS")}}


def _check_tunables(**values) -> None:
    """Name the first tunable outside its values (:data:`_TUNABLE_VALUES`; PF and PD whole numbers
    >= 0), so that QA 7 is an error rather than QA 1 under another name."""
    for name, value in values.items():
        allowed = _TUNABLE_VALUES.get(name)
        if allowed is not None and value not in allowed:
            raise ValueError(f"attention: {name} must be one of {list(allowed)}, not {value!r}")
        if allowed is None and not (isinstance(value, numbers.Integral) and value >= 0):
            raise ValueError(f"attention: {name} must be a whole number >= 0, not {value!r}")


class _Tensors:
    """The kernel's tensors and compile-time choices, handed to the helpers as one.

    The tensors and sizes come as keywords and are kept as they are; the tunables come raw
    (``pf``, ``pd``, ``pk``, ``ml``, ``pv``, ``pr``, ``mx``, ``pu``, ``qa``, ``el``, ``ql``, ``sp``, ``qr``, ``od``,
    ``qp``, ``pp``, ``sa``, ``nr``, ``eo``, ``qs``, ``qw``, ``rs``, ``ks``, ``qd`` as the kernel's PF, PD, PK, ML, PV, PR, MX, PU,
    QA, EL, QL, SP, QR, OD, QP, PP, SA, NR, EO, QS, QW, RS, KS, QD,
    ``exp`` its EXP) and the fields the helpers read are derived here, so that the kernels that make one
    (:data:`attention` and ``attention_harts.attention_grid``) cannot derive them apart."""

    def __init__(self, *, transposed: bool, pf: int, pd: int, pk: int, ml: int, pv: int, pr: int, mx: int, pu: int,
                 qa: int, el: int, ql: int, sp: int, qr: int, od: int, qp: int, pp: int, sa: int, nr: int, eo: int,
                 qs: int, qw: int, exp: str, rs: int = 0, ks: int = 0, qd: int = 0, **kw):
        self.__dict__.update(kw)
        self.transposed = transposed
        self.pf, self.pd, self.pk = _prefetches(pf, pd, pk, transposed)
        self.ml, self.pv, self.pr, self.fast = bool(ml), bool(pv), bool(pr), exp == "fast"
        self.mx, self.pu = bool(mx), bool(pu)
        self.qa = qa if transposed else 0   # QA 1 or 2: where the next tile's queries go (:func:`_key_block`)
        self.el = el if transposed else 0   # the exp pass's LMUL in prefill; 0: the chunks' LMUL
        self.ql = bool(ql)
        _check_tunables(PF=pf, PD=pd, PK=pk, ML=ml, PV=pv, PR=pr, MX=mx, PU=pu, QA=qa, QL=ql, SP=sp, QR=qr, OD=od,
                        QP=qp, PP=pp, SA=sa, NR=nr, EO=eo, QS=qs, QW=qw, RS=rs, KS=ks, QD=qd)
        self.pp = bool(pp and transposed and pv)   # prefill's P V loop in PV's shape, one key a trip
        self.sa = bool(sa and transposed)   # prefill's score loop, whose accumulators start from column 0
        self.qr = bool(qr and transposed)
        if self.qr:
            self.q_s = _row_major(self.q_s)
        self.qs = bool(qs and transposed and not self.qr)   # prefill's query build by segment stores
        if (self.qs or qw) and transposed and not self.qr:   # q_s's rows BM wide, a compile-time stride
            self.q_s = self.q_s.view(self.q_s.shape[0], self.bm)
        self.sp = sp if transposed and exp == "accurate" else 0   # prefill's exp pass: its addends' splats
        self.od = bool(od and transposed and pv)
        self.nr = bool(nr)   # OD's 1/sum by Newton steps (:func:`_reciprocals`)
        self.rs = bool(rs)   # QA's tiles' rows stepped from the tile before's, no divisions (:func:`_advance`)
        self.eo = bool(eo and transposed and pv)   # prefill's exp pass in PV's shape: its unpaired row
        self.qp = qp if self.qr and self.pf else 0   # rows prefetched before QR's query build
        self.ks = bool(ks and self.qr)   # the scale in k_t, not in QR's q_s (:func:`_transpose_keys`)
        self.qd = qd if self.ks else 0   # QR's first rows read from q, not copied (:func:`_query`)
        self.rows = []   # the tile's (head, query) rows (:func:`_tile`)
        self.q_row = 0   # the q_s row of the tile's first head-dim element (QA moves it between halves)
        self.touch = not rl.target_has("zicbop")


@rl.autotune(configs=ATTENTION_CONFIGS, key=["q.shape[0]", "q.shape[1]", "k.shape[0]", "k.shape[1]", "q.shape[2]",
                                               "EXP"])
@rl.kernel
def attention(q: rl.Tensor[f32, 3], k: rl.Tensor[f32, 3], v: rl.Tensor[f32, 3], o: rl.Tensor[f32, 3],
              q_s: rl.Tensor[f32, 2], o_s: rl.Tensor[f32, 2], p: rl.Tensor[f32, 2], k_t: rl.Tensor[f32, 2],
              scale: rl.f32, CAUSAL: bool = False, TRANSPOSE_K: bool = False, BM: int = 7, LMUL: int = 4,
              KU: int = 1, NB: int = NB_DEFAULT, PF: int = 0, PD: int = 0, PK: int = 0, ML: int = 0, PV: int = 0,
              PR: int = 0, MX: int = 0, PU: int = 0, QA: int = 0, EL: int = 0, QL: int = 0, SP: int = 0,
              PT: int = 0, QR: int = 0, OD: int = 0, QP: int = 0, PP: int = 0, SA: int = 0, NR: int = 0, EO: int = 0,
              QS: int = 0, QW: int = 0, RS: int = 0, KS: int = 0, QD: int = 0, EXP: str = "accurate"):
    """o[h] = softmax(q[h] @ k[g]^T * scale) @ v[g], g = h // (H / H_kv).

    Scratch: ``q_s`` (d, BM; (2d, BM) with ``TRANSPOSE_K``) and ``o_s`` (BM, d) hold a tile's
    scaled queries and
    unnormalised outputs, ``p`` (BM, W) a block's scores, then its probabilities; blocks
    hold at most W = min(NB * VLMAX at ``LMUL``, p's columns) keys. q_s is stored
    transposed: the BM scalars read together then sit at fixed offsets from one pointer
    (``flw ft, 4*r(a0)``), not at the ends of a chain of row-stride additions that the
    scalar loads wait for.
    With ``TRANSPOSE_K``, ``k_t`` (d, Lk or more: :func:`scratch` pads its rows) receives each KV head's keys transposed
    (otherwise it is not touched), and with the accurate exp the kernel is compiled with
    LLVM's sifive-p670 schedule (:func:`rvai.lang.schedule_as`) whatever the target.
    ``PF`` > 0 adds Zicbop prefetches (on targets without Zicbop, touches in decode, and
    PF, PD and PK are 0 in prefill): with Zicbop each tile prefetches the next tile's query
    rows, and with K read in place (decode) every trip of
    the score loop prefetches ``PF`` lines of the chunk's V rows and every trip of the
    P V loop ``PF`` lines of the next block's K rows (with ``PD`` > 0 the score loop
    prefetches K instead, PD chunks ahead), so that K and V come from DRAM a loop ahead
    of their loads (:func:`prefetch_lines` gives the PF that covers them); the K rows of a
    tile's first block, which no loop prefetches, at the tile's start; in prefill with ``PT``
    1, each KV head's keys before their transposition (:func:`_first_keys`). ``PK`` 1 (decode, PD 0)
    adds prefetches of each chunk's next 16-column group of K rows to the score loop
    (:func:`_next_group`: from L2, where the P V loop's prefetches of K end up on spacemit-x60).
    ``ML`` 1 folds each chunk's row maxima into its block's one chunk late (blocks whose
    maxima are taken per chunk: prefill, decode at NB < 4), and ``PV`` 1 gives prefill the
    P V loop decode runs (:func:`_pv_shape`), which then also sums each row's probabilities,
    as decode's always does; both are tuned per target. ``PR`` 1 has decode's exp pass take
    two rows at a time, as prefill's does. ``MX`` 1 takes the row maxima of each chunk of keys
    by a tree of slides instead of one reduction a row (:func:`_tree_maxima`; blocks whose
    maxima are taken per chunk). ``PU`` 1 keeps the P V loop rolled (one key step a trip) where
    LLVM would unroll it. ``QA`` 1 (with ``TRANSPOSE_K``) stores each whole tile's queries
    during the tile before, between its first block's exp pass and P V loop, into the half of
    q_s (2d rows) the tile before does not read (:func:`_tiles_ahead`); ``QA`` 2 after that P V loop. ``EL`` > 0 (with
    ``TRANSPOSE_K`` and ``PV`` 1) runs the exp pass over a block's scores at LMUL ``EL`` instead of ``LMUL``.
    ``QL`` 1 loads a score-loop column's scalars of q_s before its FMAs (:func:`_fmas`).
    ``QR`` 1 (with ``TRANSPOSE_K``) keeps q_s row-major, (2 BM, d) in q_s's memory (:func:`_row_major`),
    and ``QP`` > 0 then prefetches the first QP rows before their build (with PF, :func:`_store_queries`).
    ``OD`` 1 (with ``TRANSPOSE_K`` and ``PV`` 1) has a tile whose rows see the same keys, no more than
    one block, write o from that block's P V loop, normalised, not o_s (:func:`_tile`); ``NR`` 1 then takes
    their 1/sum by Newton steps from an estimate, within 1 ulp of the division (:func:`_reciprocals`).
    ``PP`` 1 (with ``TRANSPOSE_K`` and ``PV`` 1) loads the P V loop's scalars of p a trip ahead (:func:`_pv_ahead`),
    ``SA`` 1 (with ``TRANSPOSE_K`` and ``KU`` 1) the score loop's of q_s (:func:`_scores_ahead`).
    ``EO`` 1 (with ``TRANSPOSE_K`` and ``PV`` 1) runs the exp pass of a row without a pair (two rows
    go together, :func:`_key_block`) at LMUL 8.
    ``QS`` 1 (with ``TRANSPOSE_K``, without ``QR``) stores a tile's scaled queries into q_s, viewed as
    (2d, BM), by segment stores, one segment of BM queries a head-dim element (:func:`_store_queries`).
    ``QW`` 1 (with ``TRANSPOSE_K``, without ``QR``) views q_s so, (2d, BM), for the strided stores too: its row
    stride is then BM, a constant, not its shape's runtime width.
    ``RS`` 1 (with ``QA``) steps each tile's (query, head) rows from the tile before's, where they were
    divided out of the row's number: no integer division a tile (:func:`_advance`).
    ``KS`` 1 (with ``TRANSPOSE_K`` and ``QR``) multiplies K by ``scale`` as it is transposed into ``k_t``
    (:func:`_transpose_keys`) rather than the queries as QR copies them into q_s, and ``QD`` 1-4 (with ``KS``)
    then has the score loop read each tile's first QD rows' scalars from q itself, not copied (:func:`_query`).
    ``SP`` (with ``TRANSPOSE_K``, ``PV`` 1 and the accurate exp) gives that pass's exp its
    addends as ``vl``-bound splats (:func:`_addends`): 1 made in each trip, 2 the rounding
    constant's once before the loop and the others in each trip.
    ``EXP`` picks the online softmax's exp (:data:`ATTENTION_EXPS`): ``"accurate"``
    (:func:`rvai.lang.exp_nonpositive`) or ``"fast"`` (:func:`rvai.lang.exp_fast` with the
    row maximum folded into its FMA: each probability within a relative 9.8e-5, so each
    output element within about 2 * 9.8e-5 * max |v| of the exact one).
    """
    if EXP not in ATTENTION_EXPS:
        raise ValueError(f"attention: EXP must be one of {list(ATTENTION_EXPS)}, not {EXP!r}")
    _check_tunables(PT=PT)   # the one tunable _Tensors does not take
    heads, lq, d = q.shape
    kv_heads, lk = k.shape[0], k.shape[1]
    group = heads // kv_heads
    nrows = group * lq
    whole = nrows - nrows % BM
    _schedule_prefill(TRANSPOSE_K, EXP)
    t = _Tensors(q=q, k=k, v=v, o=o, q_s=q_s, o_s=o_s, p=p, k_t=k_t, scale=scale, d=d, bm=BM, lmul=LMUL, ku=KU,
                 nb=NB, transposed=TRANSPOSE_K, pf=PF, pd=PD, pk=PK, ml=ML, pv=PV, pr=PR, mx=MX, pu=PU, qa=QA, el=EL,
                 ql=QL, sp=SP, qr=QR, od=OD, qp=QP, pp=PP, sa=SA, nr=NR, eo=EO, qs=QS, qw=QW, rs=RS, ks=KS, qd=QD, exp=EXP)
    for g in rl.range(kv_heads):
        if TRANSPOSE_K:
            if t.pf and PT:   # the head's keys in flight at once, not a column's lines a strided load
                _first_keys(t, g, lk)
            _transpose_keys(t, g)
        if t.qa:
            _tiles_ahead(t, g, group, whole, BM, CAUSAL)
        else:
            for rho0 in rl.range(0, whole, BM):
                _tile(t, g, group, rho0, BM, CAUSAL)
        for rho0 in rl.range(whole, nrows):
            _tile(t, g, group, rho0, 1, CAUSAL)
