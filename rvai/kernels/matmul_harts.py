"""Launch-grid kernels around the GEMMs of :mod:`rvai.kernels.matmul` and
:mod:`rvai.kernels.int8`, for ``rvai.ops`` calls spread over harts.

- :data:`pack_panels_grid`: B (K, N) into panels (:func:`rvai.kernels.matmul.pack_panels`'s
  layout) inside the machine, so a multi-hart ``rvai.ops.matmul`` counts its packing as
  the one-hart :data:`rvai.kernels.matmul` does; program i of T packs B's rows from
  ``i * ceil(K/T)``, reading them in memory order.
- :data:`gemm_packed_bf16_grid`: :data:`rvai.kernels.matmul.gemm_packed_bf16` over
  row blocks and panel groups, as :data:`rvai.kernels.matmul.gemm_packed_grid` is
  :data:`rvai.kernels.matmul.gemm_packed`'s.
- The Q8_0 linear layer in two launches: the activations quantised by row blocks
  (:data:`quantize_rows_grid`, :data:`quantize_tiles_grid` for the IME layout), each
  program with its own slice of the quantiser's scratch, then the int8 GEMM over row
  blocks and panel (or tile-column) groups (:data:`linear_q8_grid`,
  :data:`linear_q8_tiles_grid`) reading the quantised rows they share.
"""
import rvai.lang as rl
from rvai.kernels.int8 import q8_panels, q8_tiles, quantize_rows
from rvai.kernels.matmul import _copy_rows, _gemm
from rvai.lang import bf16, f32

__all__ = ["pack_panels_grid", "gemm_packed_bf16_grid", "quantize_rows_grid", "quantize_tiles_grid", "linear_q8_grid",
           "linear_q8_tiles_grid"]


@rl.kernel
def pack_panels_grid(b: rl.Tensor[None, 2], bp: rl.Tensor[None, 3], LMUL: int = 4):
    """bp[p, k, :] = b[k, p*NR:(p+1)*NR] for bp (P, K, NR); a panel's missing columns are
    left as they are (the GEMM reads only the N columns there are)."""
    K, N = b.shape
    P, NR = bp.shape[0], bp.shape[2]
    per = (K + rl.num_programs(0) - 1) // rl.num_programs(0)
    k0 = rl.program_id(0) * per
    for k in rl.range(k0, rl.minimum(k0 + per, K)):
        for p in rl.range(P):
            for vl, jj in rl.vloop(rl.minimum(NR, N - p * NR), sew=32, lmul=LMUL):
                bp.vstore(b.vload(k, p * NR + jj), p, k, jj)


@rl.kernel
def gemm_packed_bf16_grid(a: rl.Tensor[bf16, 2], bp: rl.Tensor[bf16, 3], c: rl.Tensor[f32, 2],
                          ap: rl.Tensor[bf16, 2], af: rl.Tensor[f32, 2], BM: int, PB: int, MR: int = 7,
                          LMUL: int = 4, KC: int = 512, KOUTER: bool = False, WIDEN: bool = False,
                          PF: int = 0):
    """:data:`rvai.kernels.matmul.gemm_packed_bf16` as a launch grid: program (i, j) computes
    rows i*BM.. (BM of them) of c over panels j*PB.. (PB panels), its rows of A copied
    (and with ``WIDEN`` False widened) into its rows of the scratch first."""
    M, P = a.shape[0], bp.shape[0]
    m0, p0 = rl.program_id(0) * BM, rl.program_id(1) * PB
    rows = rl.maximum(rl.minimum(BM, M - m0), 0)
    scratch = ap if WIDEN else af
    _copy_rows(a, scratch, LMUL, m0, rows)
    _gemm(scratch, bp, c, MR, LMUL, KC, KOUTER, WIDEN, m0, rows, p0, rl.maximum(rl.minimum(PB, P - p0), 0), PF)


def _quantize_block(x, xq, xs, xa, BM: int, LAYOUT: str, TM: int, QLMUL: int):
    """Program i: rows i*BM.. of x quantised (:func:`rvai.kernels.int8.quantize_rows`) with
    its own scratch ``xa[i]``."""
    me = rl.program_id(0)
    m0 = me * BM
    quantize_rows(x, xq, xs, xa.select(me), LAYOUT, TM, QLMUL, m0, rl.maximum(rl.minimum(BM, x.shape[0] - m0), 0))


@rl.kernel
def quantize_rows_grid(x: rl.Tensor[f32, 2], xq: rl.Tensor[None, 2], xs: rl.Tensor[f32, 2], xa: rl.Tensor[f32, 3],
                       BM: int, DOT4: bool = False, QLMUL: int = 8):
    """x's rows quantised to Q8_0 into ``xq``/``xs`` in the layout of :data:`rvai.kernels.linear_q8`
    (words with ``DOT4``), BM rows a program; ``xa`` (T, 2, nb)."""
    _quantize_block(x, xq, xs, xa, BM, "words" if DOT4 else "bytes", 1, QLMUL)


@rl.kernel
def quantize_tiles_grid(x: rl.Tensor[f32, 2], xq: rl.Tensor[None, 3], xs: rl.Tensor[f32, 3], xa: rl.Tensor[f32, 3],
                        BM: int, TM: int = 4, QLMUL: int = 8):
    """:data:`quantize_rows_grid` into IME tiles (:data:`rvai.kernels.linear_q8_tiles`'s
    layout); BM a multiple of TM, so that no two programs write one tile."""
    _quantize_block(x, xq, xs, xa, BM, "tiles", TM, QLMUL)


@rl.kernel
def linear_q8_grid(xq: rl.Tensor[None, 2], xs: rl.Tensor[f32, 2], wp: rl.Tensor[None, 3], ws: rl.Tensor[f32, 3],
                   y: rl.Tensor[f32, 2], BM: int, PB: int, MR: int = 7, LMUL: int = 4, DOT4: bool = False):
    """:data:`rvai.kernels.linear_q8`'s GEMM on quantised x as a launch grid: program (i, j)
    computes rows i*BM.. (BM) of y over panels j*PB.. (PB)."""
    m0, p0 = rl.program_id(0) * BM, rl.program_id(1) * PB
    q8_panels(xq, xs, wp, ws, y, MR, LMUL, DOT4, m0, rl.maximum(rl.minimum(BM, xq.shape[0] - m0), 0),
              p0, rl.maximum(rl.minimum(PB, wp.shape[0] - p0), 0))


@rl.kernel
def linear_q8_tiles_grid(xq: rl.Tensor[None, 3], xs: rl.Tensor[f32, 3], wq: rl.Tensor[None, 3],
                         ws: rl.Tensor[f32, 3], y: rl.Tensor[f32, 3], BM: int, PB: int, TM: int = 4, RM: int = 2,
                         RN: int = 2, LMUL: int = 2):
    """:data:`rvai.kernels.linear_q8_tiles`'s GEMM on quantised x as a launch grid: program
    (i, j) computes tile rows i*BM.. (BM, a multiple of RM) over tile columns j*PB.. (PB,
    a multiple of RN)."""
    ib0, jb0 = rl.program_id(0) * BM, rl.program_id(1) * PB
    q8_tiles(xq, xs, wq, ws, y, TM, RM, RN, LMUL, ib0, rl.minimum(ib0 + BM, xq.shape[0]), jb0,
             rl.minimum(jb0 + PB, wq.shape[0]))
