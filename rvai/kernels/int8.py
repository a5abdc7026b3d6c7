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
  ``(M/TM, K/TK, TM*TK)``, B as ``(N/TM, K/TK, TM*TK)`` (rows of B transposed), C as
  ``(M/TM, N/TM, TM*TM)``; an RM x RN block of C tiles stays in register pairs while
  K streams by, one ``smt.vmadot`` per tile and K step. On other targets ``rl.mma``
  lowers to vector code (correct, slow: a portability path, not a fast one).

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
from rvai.lang import f32, i16, i32

__all__ = ["gemm_i8", "gemm_i8_tiles", "linear_q8", "linear_q8_tiles", "pack_words", "pack_tiles", "unpack_tiles",
           "scale_tiles", "Q8_BLOCK"]

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
def linear_q8(xq: rl.Tensor[None, 2], xs: rl.Tensor[f32, 2], wp: rl.Tensor[None, 3], ws: rl.Tensor[f32, 3],
              y: rl.Tensor[f32, 2], MR: int = 7, LMUL: int = 4, DOT4: bool = False):
    """y (M, N) = Q8_0 activations x Q8_0 weights: sum over blocks b of
    ``xs[i, b] * ws[p, b, j] * (int dot product of block b)``.

    ``xq`` (M, K) int8 (or (M, K/4) words with ``DOT4``) and ``xs`` (M, K/32) the
    activations' blocks and scales; ``wp`` the weights as panels (P, K, NR) of int8
    (or (P, K/4, NR) words) and ``ws`` (P, K/32, NR) their scales, panel by panel.
    K is a multiple of 32.
    """
    M, nb = xq.shape[0], xs.shape[1]
    P, NR = wp.shape[0], wp.shape[2]
    N = y.shape[1]
    step = Q8_BLOCK // 4 if DOT4 else Q8_BLOCK
    for p in rl.range(P):
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
            row_tiles(tile, M, MR)


def _tile_steps(acc, ap, bp, ib, jb, k0, k1, TM: int, LMUL):
    """acc[r][s] (Vars of C tiles) += the A tiles ib + r times the B tiles jb + s over the
    K steps [k0, k1): per step, every tile of A and B loaded once, one ``rl.mma`` per C tile."""
    for kb in rl.range(k0, k1):
        with rl.vector(2 * TM * TM, sew=8, lmul=LMUL / 2):
            av = [ap.vload(ib + r, kb, 0) for r in range(len(acc))]
            bv = [bp.vload(jb + s, kb, 0) for s in range(len(acc[0]))]
        for r, row in enumerate(acc):
            for s, tile in enumerate(row):
                tile.value = rl.mma(tile, av[r], bv[s], (TM, TM, 2 * TM))


@rl.kernel
def gemm_i8_tiles(ap: rl.Tensor[None, 3], bp: rl.Tensor[None, 3], c: rl.Tensor[i32, 3], TM: int = 4,
                  RM: int = 2, RN: int = 4, LMUL: int = 2):
    """c (MB, NB, TM*TM) += tiles of A (MB, KB, 2*TM*TM) times tiles of B (NB, KB, 2*TM*TM)
    transposed (:func:`pack_tiles`), by ``rl.mma`` on TM x TM x 2TM tiles; MB a multiple of
    RM and NB of RN. ``LMUL`` is the accumulator's (2 for IME; larger where VLEN is
    below 256, so that TM*TM lanes fit).
    """
    MB, KB, NB = ap.shape[0], ap.shape[1], bp.shape[0]
    for ib in rl.range(0, MB, RM):
        for jb in rl.range(0, NB, RN):
            with rl.vector(TM * TM, sew=32, lmul=LMUL):
                acc = [[rl.var(c.vload(ib + r, jb + s, 0)) for s in range(RN)] for r in range(RM)]
                _tile_steps(acc, ap, bp, ib, jb, 0, KB, TM, LMUL)
                for r in range(RM):
                    for s in range(RN):
                        c.vstore(acc[r][s].value, ib + r, jb + s, 0)


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
def linear_q8_tiles(xq: rl.Tensor[None, 3], xs: rl.Tensor[f32, 3], wq: rl.Tensor[None, 3], ws: rl.Tensor[f32, 3],
                    y: rl.Tensor[f32, 3], TM: int = 4, RM: int = 2, RN: int = 2, LMUL: int = 2):
    """:data:`linear_q8` on IME tiles: ``xq`` (MB, KB, 2*TM*TM) and ``wq`` (NB, KB, 2*TM*TM)
    Q8_0 blocks as tiles (:func:`pack_tiles`), ``xs`` (MB, nb, TM*TM) and ``ws``
    (NB, nb, TM*TM) their scales as C-tile lanes (:func:`scale_tiles`), ``y`` (MB, NB, TM*TM).
    Per block of 32 along K: 32/(2 TM) ``rl.mma`` steps into int32 tiles, then
    ``y += float(isum) * (xs * ws)`` lane by lane."""
    MB, KB, nb, NB = xq.shape[0], xq.shape[1], xs.shape[1], wq.shape[0]
    steps = Q8_BLOCK // (2 * TM)
    for ib in rl.range(0, MB, RM):
        for jb in rl.range(0, NB, RN):
            with rl.vector(TM * TM, sew=32, lmul=LMUL):
                out = [[rl.var(rl.zeros(f32)) for _ in range(RN)] for _ in range(RM)]
                for blk in rl.range(nb):
                    acc = [[rl.var(rl.zeros(i32)) for _ in range(RN)] for _ in range(RM)]
                    _tile_steps(acc, xq, wq, ib, jb, blk * steps, blk * steps + steps, TM, LMUL)
                    xsv = [xs.vload(ib + r, blk, 0) for r in range(RM)]
                    wsv = [ws.vload(jb + s, blk, 0) for s in range(RN)]
                    for r in range(RM):
                        for s in range(RN):
                            out[r][s].value = rl.fma(acc[r][s].value.to(f32), xsv[r] * wsv[s], out[r][s].value)
                for r in range(RM):
                    for s in range(RN):
                        y.vstore(out[r][s].value, ib + r, jb + s, 0)
