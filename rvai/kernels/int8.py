"""int8 GEMM with 32-bit accumulation, and the Q8_0 linear layer, in three forms.

Each form is one way of getting int8 products into 32-bit sums; ``rvai.ops`` picks the
best the target has (IME, then Zvqdotq, then plain RVV), and every form runs anywhere.

- **wmacc** (plain RVV 1.0): B in panels of NR int8 columns, ``(P, K, NR)`` like the
  f32 GEMM's (:func:`rvai.kernels.matmul.pack_panels`). Each step of K loads one panel
  row, sign-extends it to i16 once, and each of the MR rows of the C tile takes one
  ``vwmacc.vx`` (i16 x i16 -> i32, exact: no i16 overflow as with i8 x i8 -> i16 sums).
- **dot4** (Zvqdotq): K in groups of 4 bytes, each read as one 32-bit word: A as
  ``(M, K/4)`` words, B as ``(P, K/4, NR)`` words, word ``[p, g, j]`` holding
  ``B[4g..4g+3, p*NR + j]``. One ``vqdot.vx`` per row and group adds four products to
  each lane; without Zvqdotq, ``rl.dot4`` lowers to shifts and ``vmacc``.
- **tiles** (SpacemiT IME): A, B and C in IME tiles (``rl.mma``): A as
  ``(M/TM, K/TK, TM*TK)`` and B as ``(N/TM, K/TK, TM*TK)`` (rows of B transposed), grouped
  per K step for the GEMM (:func:`group_tiles`), C as ``(M/TM, N/TM, TM*TM)``; an RM x RN
  block of C tiles stays in register pairs while K streams by, one ``smt.vmadot`` per tile
  and K step. On other targets ``rl.mma`` lowers to vector code (correct, slow).

Sums wrap modulo 2^32 like the instructions; with |a|, |b| <= 128 no sum can overflow
while K < 2^17, so results equal NumPy's exact integer product there.

Q8_0 (llama.cpp's block format): weights and activations in blocks of 32 along K,
each block 32 int8 and one scale. :data:`linear_q8` (panels, dot4 or wmacc) and
:data:`linear_q8_tiles` (IME tiles, scales as C-tile lanes) sum each block's integer dot
product exactly in i32 (at most 32 * 128 * 128 = 2^19, exact in f32 too), converts it
to f32 and adds ``isum * (dw * dx)`` with one ``vfmacc``: per block, one rounding of
``dw * dx`` and one of the accumulation, so ``|y - exact| <= (nb + 1) * u * sum_b
|dw dx isum|`` to first order (u = 2^-24, nb blocks).
"""

import numpy as np

import rvai.lang as rl
from rvai.kernels.matmul import row_tiles
from rvai.lang import f32, i8, i16, i32, u32

__all__ = ["gemm_i8", "gemm_i8_tiles", "linear_q8", "linear_q8_tiles", "pack_words", "pack_tiles", "unpack_tiles",
           "scale_tiles", "group_tiles", "quantize_rows", "Q8_LAYOUTS", "Q8_BLOCK"]

#: Elements of K per Q8_0 block (one scale each).
Q8_BLOCK = 32


def pack_words(b: np.ndarray, nr: int) -> np.ndarray:
    """int8 ``b`` (K, N) as (ceil(N/nr), ceil(K/4), nr) int32 words of 4 consecutive K (zero padded)."""
    k, n = b.shape
    padded = np.zeros((-(-k // 4) * 4, -(-n // nr) * nr), np.int8)
    padded[:k, :n] = b
    groups = padded.reshape(-1, 4, padded.shape[1]).transpose(0, 2, 1)      # (K/4, Np, 4)
    words = np.ascontiguousarray(groups).view(np.int32)[..., 0]              # (K/4, Np)
    return np.ascontiguousarray(words.reshape(words.shape[0], -1, nr).transpose(1, 0, 2))


def pack_tiles(x: np.ndarray, tm: int, tk: int, rows_to: int) -> np.ndarray:
    """int8 ``x`` (R, K) as (R'/tm, K'/tk, tm*tk) tiles, row-major inside; R padded with
    zero rows to a multiple of ``rows_to`` (itself a multiple of tm), K to one of tk."""
    r, k = x.shape
    rp, kp = -(-r // rows_to) * rows_to, -(-k // tk) * tk
    padded = np.zeros((rp, kp), x.dtype)
    padded[:r, :k] = x
    return np.ascontiguousarray(padded.reshape(rp // tm, tm, kp // tk, tk).transpose(0, 2, 1, 3)
                                .reshape(rp // tm, kp // tk, tm * tk))


def unpack_tiles(c: np.ndarray, tm: int, m: int, n: int) -> np.ndarray:
    """C tiles (M'/tm, N'/tm, tm*tm) back to the (m, n) matrix."""
    mb, nb = c.shape[:2]
    return c.reshape(mb, nb, tm, tm).transpose(0, 2, 1, 3).reshape(mb * tm, nb * tm)[:m, :n]


def _int_sums(a, bp, p, jj, i, k0, k1, rows: int, dot4: bool):
    """Vars of ``rows`` i32 vectors: sum over k in [k0, k1) of a[i + r, k] * panel row k
    (k counts words of 4 bytes if ``dot4``, else single bytes)."""
    acc = [rl.var(rl.zeros(i32)) for _ in range(rows)]
    for k in rl.range(k0, k1):
        av = [a[i + r, k] for r in range(rows)]    # scalar loads first, as in the f32 GEMM
        bv = bp.vload(p, k, jj)
        if not dot4:
            bv = bv.to(i16)
        for r in range(rows):
            acc[r].value = rl.dot4(acc[r], bv, av[r]) if dot4 else rl.fma(av[r].to(i16), bv, acc[r].value)
    return acc


@rl.kernel
def gemm_i8(a: rl.Tensor[None, 2], bp: rl.Tensor[None, 3], c: rl.Tensor[i32, 2], MR: int = 7, LMUL: int = 4,
            DOT4: bool = False):
    """c (M, N) += a (M, K) @ B with 32-bit sums, B as panels ``bp`` (P, K, NR).

    ``DOT4``: a and bp are int32 words of 4 int8 (:func:`pack_words`), products by
    ``rl.dot4``; else int8, products by ``vwmacc.vx``. (MR + 1) * LMUL registers hold
    the tile and a panel row: MR <= 7 at LMUL 4.
    """
    M, K = a.shape[0], bp.shape[1]
    P, NR = bp.shape[0], bp.shape[2]
    N = c.shape[1]
    for p in rl.range(P):
        for vl, jj in rl.vloop(rl.minimum(NR, N - p * NR), sew=32, lmul=LMUL):
            def tile(i, rows):
                acc = _int_sums(a, bp, p, jj, i, 0, K, rows, DOT4)
                for r in range(rows):
                    c.vstore(c.vload(i + r, p * NR + jj) + acc[r].value, i + r, p * NR + jj)
            row_tiles(tile, M, MR)


@rl.kernel
def linear_q8(x: rl.Tensor[f32, 2], xq: rl.Tensor[None, 2], xs: rl.Tensor[f32, 2], xa: rl.Tensor[f32, 2],
              wp: rl.Tensor[None, 3], ws: rl.Tensor[f32, 3], y: rl.Tensor[f32, 2], MR: int = 7, LMUL: int = 4,
              DOT4: bool = False, QLMUL: int = 8, QUANTIZE: bool = True):
    """y (M, N) = x quantised to Q8_0 times Q8_0 weights: sum over blocks b of
    ``xs[i, b] * ws[p, b, j] * (int dot product of block b)``.

    First x (M, K) f32 (with ``DOT4`` K padded to a multiple of 32) is quantised into
    ``xq`` (M, Kp) int8 (or (M, Kp/4) words with ``DOT4``) and ``xs`` (M, Kp/32), zeroed
    scratch (:func:`quantize_rows`, with ``xa`` (2, Kp/32) its own and ``QLMUL`` its
    LMUL), inside the call so its cycles count; ``wp`` holds the weights as panels
    (P, Kp, NR) of int8 (or (P, Kp/4, NR) words) and ``ws`` (P, Kp/32, NR) their scales. ``QUANTIZE=False`` takes xq
    and xs as they are (already quantised; x unread): the GEMM alone.
    """
    if QUANTIZE:
        quantize_rows(x, xq, xs, xa, "words" if DOT4 else "bytes", 1, QLMUL)
    q8_panels(xq, xs, wp, ws, y, MR, LMUL, DOT4)


def q8_panels(xq, xs, wp, ws, y, MR: int, LMUL: int, DOT4: bool, m0=0, rows=None, p0=0, panels=None):
    """Trace-time helper: :data:`linear_q8`'s GEMM on quantised ``xq``/``xs``, over rows
    m0.. (``rows`` of them) and panels p0.. (``panels``; all of both by default)."""
    nb = xs.shape[1]
    P, NR = wp.shape[0], wp.shape[2]
    N = y.shape[1]
    step = Q8_BLOCK // 4 if DOT4 else Q8_BLOCK
    for p in (rl.range(P) if panels is None else rl.range(p0, p0 + panels)):
        for vl, jj in rl.vloop(rl.minimum(NR, N - p * NR), sew=32, lmul=LMUL):
            def tile(i, rows):
                out = [rl.var(rl.zeros(f32)) for _ in range(rows)]
                for blk in rl.range(nb):
                    sums = _int_sums(xq, wp, p, jj, i, blk * step, blk * step + step, rows, DOT4)
                    wsv = ws.vload(p, blk, jj)
                    for r in range(rows):
                        out[r].value = rl.fma(sums[r].value.to(f32), wsv * xs[i + r, blk], out[r].value)
                for r in range(rows):
                    y.vstore(out[r].value, i + r, p * NR + jj)
            row_tiles(tile, xq.shape[0] if rows is None else rows, MR, m0)


def _tile_steps(acc, a_tile, b_tile, k0, k1, TM: int, LMUL):
    """acc[r][s] (Vars of C tiles) += A tile ``a_tile(r, kb)`` times B tile ``b_tile(s, kb)``
    over the K steps kb in [k0, k1): per step, every tile of A and B loaded once (the two
    callables load them), one ``rl.mma`` per C tile."""
    for kb in rl.range(k0, k1):
        with rl.vector(2 * TM * TM, sew=8, lmul=LMUL / 2):
            av = [a_tile(r, kb) for r in range(len(acc))]
            bv = [b_tile(s, kb) for s in range(len(acc[0]))]
        for r, row in enumerate(acc):
            for s, tile in enumerate(row):
                tile.value = rl.mma(tile, av[r], bv[s], (TM, TM, 2 * TM))


def group_tiles(tiles: np.ndarray, group: int) -> np.ndarray:
    """Tiles (R, KB, T) (:func:`pack_tiles`, R a multiple of ``group``) as (R/group, KB,
    group, T): the ``group`` tiles one K step of :data:`gemm_i8_tiles` loads sit side by side,
    so each operand is one sequential stream (a prefetcher follows it; four streams of
    B tiles missed L1 on the X60 model)."""
    r, kb, t = tiles.shape
    return np.ascontiguousarray(tiles.reshape(r // group, group, kb, t).transpose(0, 2, 1, 3))


@rl.kernel
def gemm_i8_tiles(ap: rl.Tensor[None, 4], bp: rl.Tensor[None, 4], c: rl.Tensor[i32, 3], TM: int = 4,
                  RM: int = 3, RN: int = 4, LMUL: int = 2):
    """c (MB, NB, TM*TM) += tiles of A times tiles of B transposed, by ``rl.mma`` on
    TM x TM x 2TM tiles, RM x RN C tiles held in registers; A and B in groups of RM and
    RN tiles per K step (:func:`group_tiles` of :func:`pack_tiles`): ap (MB/RM, KB, RM,
    2*TM*TM), bp (NB/RN, KB, RN, 2*TM*TM). ``LMUL`` is the accumulator's (2 for IME;
    larger where VLEN is below 256, so that TM*TM lanes fit).
    """
    MG, KB, NG = ap.shape[0], ap.shape[1], bp.shape[0]
    for ig in rl.range(MG):
        for jg in rl.range(NG):
            with rl.vector(TM * TM, sew=32, lmul=LMUL):
                acc = [[rl.var(c.vload(ig * RM + r, jg * RN + s, 0)) for s in range(RN)] for r in range(RM)]
                _tile_steps(acc, lambda r, kb: ap.vload(ig, kb, r, 0), lambda s, kb: bp.vload(jg, kb, s, 0),
                            0, KB, TM, LMUL)
                for r in range(RM):
                    for s in range(RN):
                        c.vstore(acc[r][s].value, ig * RM + r, jg * RN + s, 0)


def scale_tiles(d: np.ndarray, tm: int, rows_to: int, along_rows: bool) -> np.ndarray:
    """Q8_0 scales ``d`` (R, nb) as (R'/tm, nb, tm*tm) f32 lanes of C tiles: lane ``p`` of a
    tile takes the scale of its row ``p // tm`` (``along_rows``, activations) or of its
    column ``p % tm`` (weights); R padded with zero scales to a multiple of ``rows_to``."""
    r, nb = d.shape
    rp = -(-r // rows_to) * rows_to
    padded = np.zeros((rp, nb), np.float32)
    padded[:r] = d
    blocks = padded.reshape(rp // tm, tm, nb).transpose(0, 2, 1)                  # (R'/tm, nb, tm)
    lanes = np.repeat(blocks, tm, axis=2) if along_rows else np.tile(blocks, (1, 1, tm))
    return np.ascontiguousarray(lanes)


@rl.kernel
def linear_q8_tiles(x: rl.Tensor[f32, 2], xq: rl.Tensor[None, 3], xs: rl.Tensor[f32, 3], xa: rl.Tensor[f32, 2],
                    wq: rl.Tensor[None, 3], ws: rl.Tensor[f32, 3], y: rl.Tensor[f32, 3], TM: int = 4, RM: int = 2,
                    RN: int = 2, LMUL: int = 2, QLMUL: int = 8, QUANTIZE: bool = True):
    """:data:`linear_q8` on IME tiles: x (M, K) f32 is first quantised (:func:`quantize_rows`)
    into the zeroed scratch ``xq`` (MB, KB, 2*TM*TM), Q8_0 blocks as A tiles
    (:func:`pack_tiles`), and ``xs`` (MB, nb, TM*TM), the scales as C-tile lanes
    (:func:`scale_tiles`), ``xa`` (2, nb) the quantiser's scratch; ``wq`` (NB, KB, 2*TM*TM)
    and ``ws`` (NB, nb, TM*TM) are the weights alike, ``y`` (MB, NB, TM*TM). Per block of
    32 along K: 32/(2 TM) ``rl.mma``
    steps into int32 tiles, then ``y += float(isum) * (xs * ws)`` lane by lane.
    ``QUANTIZE=False``: xq and xs are already quantised (the GEMM alone)."""
    if QUANTIZE:
        quantize_rows(x, xq, xs, xa, "tiles", TM, QLMUL)
    q8_tiles(xq, xs, wq, ws, y, TM, RM, RN, LMUL)


def q8_tiles(xq, xs, wq, ws, y, TM: int, RM: int, RN: int, LMUL: int, ib0=0, ib1=None, jb0=0, jb1=None):
    """Trace-time helper: :data:`linear_q8_tiles`'s GEMM on quantised ``xq``/``xs``, over
    tile rows [ib0, ib1) and tile columns [jb0, jb1) (all by default; multiples of RM, RN)."""
    nb = xs.shape[1]
    steps = Q8_BLOCK // (2 * TM)
    for ib in rl.range(ib0, xq.shape[0] if ib1 is None else ib1, RM):
        for jb in rl.range(jb0, wq.shape[0] if jb1 is None else jb1, RN):
            with rl.vector(TM * TM, sew=32, lmul=LMUL):
                out = [[rl.var(rl.zeros(f32)) for _ in range(RN)] for _ in range(RM)]
                for blk in rl.range(nb):
                    acc = [[rl.var(rl.zeros(i32)) for _ in range(RN)] for _ in range(RM)]
                    _tile_steps(acc, lambda r, kb: xq.vload(ib + r, kb, 0), lambda s, kb: wq.vload(jb + s, kb, 0),
                                blk * steps, blk * steps + steps, TM, LMUL)
                    xsv = [xs.vload(ib + r, blk, 0) for r in range(RM)]
                    wsv = [ws.vload(jb + s, blk, 0) for s in range(RN)]
                    for r in range(RM):
                        for s in range(RN):
                            out[r][s].value = rl.fma(acc[r][s].value.to(f32), xsv[r] * wsv[s], out[r][s].value)
                for r in range(RM):
                    for s in range(RN):
                        y.vstore(out[r][s].value, ib + r, jb + s, 0)



def _f16_rounded(d):
    """f32 ``d >= 0`` (finite; scalar or vector) rounded to float16 precision, nearest even
    (what ggml's ``GGML_FP32_TO_FP16`` stores), as f32: by integer rounding of the bits, so
    it needs no Zfh(min) or Zvfhmin."""
    bits = d.bitcast(u32)
    normal = ((bits + 0xFFF + ((bits >> 13) & 1)) & 0xFFFFE000).bitcast(f32)   # 10 fraction bits
    sub = (d + 0.5) - 0.5                    # below 2^-14: to a multiple of 2^-24 (0.5's ulp)
    r = rl.where(d < 2.0 ** -14, sub, normal)
    return rl.where(r > 65504.0, float("inf"), r)


def _to_q(v, inv, dtype=i8):
    """``roundf(v * inv)``: ``vfncvt``/``vfcvt`` in round-to-max-magnitude (ties away from zero)."""
    return (v * inv).to(dtype, rounding="away")


#: Blocks whose max |x| the quantiser reduces before storing any (a reduction's latency
#: stalls the in-order core at the store otherwise).
_AMAX_UNROLL = 4

#: How the Q8_0 kernels take the quantised activations (``xq``, ``xs``) they make:
#: ``"bytes"``: xq (M, Kp) int8 and xs (M, nb) (``linear_q8``); ``"words"``: xq (M, Kp/4)
#: int32 words of 4 bytes, from x padded with zeros to Kp (``linear_q8`` with DOT4);
#: ``"tiles"``: IME A tiles (:func:`pack_tiles`) and scales as C-tile lanes (:func:`scale_tiles`).
Q8_LAYOUTS = ("bytes", "words", "tiles")


def quantize_rows(x, xq, xs, xa, LAYOUT: str, TM: int, LMUL: int, m0=0, rows=None):
    """Trace-time helper of the Q8_0 kernels: every row of ``x`` quantised as ggml's
    reference quantiser does (:func:`rvai.kernels.quant.quantize_q8_0`, bit for bit) into
    ``xq``/``xs`` in ``LAYOUT`` (:data:`Q8_LAYOUTS`). Per row, three passes, so that no
    block waits on its own divisions: each block's ``max|x|`` (``vfredmax``) into the
    scratch ``xa`` (2, nb); then for all blocks at once ``d = amax / 127``, ``id = 1/d`` (0
    for a subnormal or zero d) and d rounded to f16; then each block's ``roundf(x * id)``
    by a conversion in round-to-max-magnitude. Padding (K to 32, rows to tiles) is left as
    the caller zeroed it. ``LMUL`` holds 32 f32 lanes (VLEN * LMUL >= 1024). ``rows``: only
    the rows m0.. (that many)."""
    M, K, nb = x.shape[0], x.shape[1], xs.shape[1]
    for i in (rl.range(M) if rows is None else rl.range(m0, m0 + rows)):
        for b0 in rl.range(0, nb, _AMAX_UNROLL):   # reductions of several blocks in flight
            blocks = [rl.minimum(b0 + u, nb - 1) for u in range(_AMAX_UNROLL)]   # past nb: the last again
            amax = []
            for b in blocks:
                with rl.vector(rl.minimum(K - b * Q8_BLOCK, Q8_BLOCK), sew=32, lmul=LMUL):
                    amax.append(abs(x.vload(i, b * Q8_BLOCK)).max())
            for b, a in zip(blocks, amax):
                xa[0, b] = a
        for vl, j in rl.vloop(nb, sew=32, lmul=LMUL):
            d = xa.vload(0, j) / 127.0
            xa.vstore(rl.where(d >= 2.0 ** -126, 1.0 / d, 0.0), 0, j)
            xa.vstore(_f16_rounded(d), 1, j)
            if LAYOUT != "tiles":
                xs.vstore(_f16_rounded(d), i, j)
        for b in rl.range(nb):
            k0, inv = b * Q8_BLOCK, xa[0, b]
            if LAYOUT == "bytes":
                with rl.vector(rl.minimum(K - k0, Q8_BLOCK), sew=32, lmul=LMUL):
                    xq.vstore(_to_q(x.vload(i, k0), inv), i, k0)
            if LAYOUT == "words":       # x padded to Kp: word g of the block from x[k0 + 4g + j], j < 4
                with rl.vector(Q8_BLOCK // 4, sew=32, lmul=max(LMUL // 4, 1)):
                    fours = rl.arange(i32) * 4
                    word = rl.zeros(i32)
                    for j in range(4):
                        word = word | ((_to_q(x.gather(fours, i, k0 + j), inv, i32) & 0xFF) << (8 * j))
                    xq.vstore(word, i, b * (Q8_BLOCK // 4))
            if LAYOUT == "tiles":       # chunks of TK = 2 TM along K, one per A tile
                g, r = i // TM, i % TM
                for t in range(Q8_BLOCK // (2 * TM)):
                    with rl.vector(rl.maximum(rl.minimum(K - k0 - t * 2 * TM, 2 * TM), 0), sew=32,
                                   lmul=max(LMUL * 2 * TM // Q8_BLOCK, 1)):
                        xq.vstore(_to_q(x.vload(i, k0 + t * 2 * TM), inv), g, b * (Q8_BLOCK // (2 * TM)) + t,
                                  r * 2 * TM)
                with rl.vector(TM, sew=32, lmul=1):
                    xs.vstore(rl.full(xa[1, b], f32), g, b, r * TM)
