"""Matrix multiply ``c = a @ b`` with a register-blocked micro-kernel.

The N axis is strip-mined by ``vsetvl``; for each strip, ``MR`` rows of ``c`` are held
in ``MR`` vector accumulators across the whole K loop, and every step of K is one
vector load of a row of ``b`` and ``MR`` ``vfmacc.vf`` with scalars of ``a``. f16
inputs are widened to f32 as they are loaded; accumulation is always f32.
"""
import rvai.lang as rl
from rvai.lang import f32


def _tile(a, b, c, i, j, K, rows):
    """Accumulate ``rows`` rows of c[i:i+rows, j:j+vl] over the full K axis."""
    acc = [rl.var(rl.zeros(f32)) for _ in range(rows)]
    for k in rl.range(K):
        bv = b.vload(k, j).to(f32)
        for r in range(rows):
            acc[r] += a[i + r, k].to(f32) * bv
    for r in range(rows):
        c.vstore(acc[r].value, i + r, j)


def _row(a, b, c, i, K, N, lmul):
    """c[i, :] = a[i, :] @ b, streaming b row by row (the fewer-than-MR rows left, e.g. decode's M = 1).

    A tile walks b down a column strip, one cache line per row of b; with a single row of
    c there is no reuse to pay for that, so here b is read in memory order (prefetchable)
    and the row of c, which stays in L1, accumulates in memory.
    """
    for vl, j in rl.vloop(N, sew=32, lmul=lmul):
        c.vstore(rl.zeros(f32), i, j)
    for k in rl.range(K):
        aik = a[i, k].to(f32)
        for vl, j in rl.vloop(N, sew=32, lmul=lmul):
            c.vstore(c.vload(i, j) + aik * b.vload(k, j).to(f32), i, j)


@rl.kernel
def matmul(a: rl.Tensor[None, 2], b: rl.Tensor[None, 2], c: rl.Tensor[f32, 2], MR: int = 4, LMUL: int = 4):
    """c (M, N) = a (M, K) @ b (K, N); a and b f32 or f16, c f32. MR rows per micro-tile."""
    M, K = a.shape
    N = b.shape[1]
    m_full = M - M % MR
    for vl, j in rl.vloop(N, sew=32, lmul=LMUL):
        for i in rl.range(0, m_full, MR):
            _tile(a, b, c, i, j, K, MR)
    for i in rl.range(m_full, M):
        _row(a, b, c, i, K, N, LMUL)
