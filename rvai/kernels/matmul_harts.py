"""Launch-grid kernels around the GEMM of :mod:`rvai.kernels.matmul`, for calls spread over harts.

- :data:`pack_panels_grid`: B (K, N) into panels (:func:`rvai.kernels.matmul.pack_panels`'s
  layout) inside the machine, so a multi-hart ``rvai.ops.matmul`` counts its packing as
  the one-hart :data:`rvai.kernels.matmul` does; program i of T packs B's rows from
  ``i * ceil(K/T)``, reading them in memory order.
- :data:`gemm_packed_bf16_grid`: :data:`rvai.kernels.matmul.gemm_packed_bf16` over
  row blocks and panel groups, as :data:`rvai.kernels.matmul.gemm_packed_grid` is
  :data:`rvai.kernels.matmul.gemm_packed`'s.
"""
import rvai.lang as rl
from rvai.kernels.matmul import _copy_rows, _gemm
from rvai.lang import bf16, f32

__all__ = ["pack_panels_grid", "gemm_packed_bf16_grid"]


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
                          LMUL: int = 4, KC: int = 512, KOUTER: bool = False, WIDEN: bool = False):
    """:data:`rvai.kernels.matmul.gemm_packed_bf16` as a launch grid: program (i, j) computes
    rows i*BM.. (BM of them) of c over panels j*PB.. (PB panels), its rows of A copied
    (and with ``WIDEN`` False widened) into its rows of the scratch first."""
    M, P = a.shape[0], bp.shape[0]
    m0, p0 = rl.program_id(0) * BM, rl.program_id(1) * PB
    rows = rl.maximum(rl.minimum(BM, M - m0), 0)
    scratch = ap if WIDEN else af
    _copy_rows(a, scratch, LMUL, m0, rows)
    _gemm(scratch, bp, c, MR, LMUL, KC, KOUTER, WIDEN, m0, rows, p0, rl.maximum(rl.minimum(PB, P - p0), 0))
