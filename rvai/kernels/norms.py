"""Row-wise softmax and RMSNorm over the last axis of a 2-D array.

Both walk a row in whole vector blocks of ``vl0 = min(n, VLMAX)`` elements with
vector accumulators (one ``vfmax``/``vfadd``/``vfmacc`` per element, no reduction and
no trip to a scalar register per block), then one short block for the ``n % vl0``
elements left, and reduce once per row. Rows of a few thousand floats stay in L1
between the passes, so the later passes cost vector-unit time, not memory traffic.
"""
import rvai.lang as rl
from rvai.lang import f32


def _blocks(n, lmul, group: int = 2):
    """For a row of n elements at ``lmul``: vl0 = min(n, VLMAX), the end of the whole
    groups of ``group`` vl0-blocks and the end of the whole blocks."""
    with rl.vector(n, sew=32, lmul=lmul) as vl0:
        pass
    full = n - n % vl0
    return vl0, full - full % (vl0 * group), full


def _exp_block(x, o, r, j, row_max):
    """o[r, j:j+vl] = exp(x[r, j:j+vl] - row_max); returns it."""
    e = rl.exp_nonpositive(x.vload(r, j) - row_max)
    o.vstore(e, r, j)
    return e


#: What the tuner tries for :data:`softmax`: LMUL of a block and the blocks of the exp pass
#: in flight. One FP pipe fed at LMUL 2 wants two chains; xuantie-c930's two pipes run
#: fastest on one chain at LMUL 8 (measured in bench/norms.py).
SOFTMAX_CONFIGS = [{"LMUL": lmul, "CHAINS": ch} for lmul, ch in ((2, 2), (4, 2), (8, 1), (4, 1), (2, 3))]
#: What the tuner tries for :data:`rmsnorm`: the LMUL of its blocks.
RMSNORM_CONFIGS = [{"LMUL": lmul} for lmul in (4, 8, 2)]


@rl.autotune(configs=SOFTMAX_CONFIGS, key=["x.shape[1]"])
@rl.kernel
def softmax(x: rl.Tensor[f32, 2], o: rl.Tensor[f32, 2], LMUL: int = 2, CHAINS: int = 2):
    """o[r] = exp(x[r] - max x[r]) / sum(...) for each row r.

    A row whose maximum is not finite (all -inf, or holding +inf) is NaN, as in NumPy.
    Passes: the maximum; ``e = exp(x - max)`` stored and summed; ``o = e / sum``. The
    exp pass takes ``CHAINS`` blocks a trip: each exp is a chain of dependent FP
    operations whose latency exceeds their occupancy at LMUL 2, so independent chains
    keep the FP pipe (or pipes) full.
    """
    rows, n = x.shape
    vl0, groups, full = _blocks(n, LMUL, CHAINS)
    for r in rl.range(rows):
        with rl.vector(vl0, sew=32, lmul=LMUL):
            mx = rl.var(rl.full(float("-inf")))
            for j in rl.range(0, full, vl0):
                mx.value = rl.maximum(mx, x.vload(r, j))
            head_max = mx.value.max()
        with rl.vector(n - full, sew=32, lmul=LMUL):
            row_max = rl.maximum(head_max, x.vload(r, full).max())
        with rl.vector(vl0, sew=32, lmul=LMUL):
            acc = [rl.var(rl.zeros(f32)) for _ in range(CHAINS)]
            for j in rl.range(0, groups, vl0 * CHAINS):
                for u in range(CHAINS):
                    acc[u] += _exp_block(x, o, r, j + u * vl0, row_max)
            for j in rl.range(groups, full, vl0):     # whole blocks left over from the groups
                acc[0] += _exp_block(x, o, r, j, row_max)
            total_v = acc[0].value
            for u in range(1, CHAINS):
                total_v = total_v + acc[u].value
            head_sum = total_v.sum()
        with rl.vector(n - full, sew=32, lmul=LMUL):
            total = head_sum + _exp_block(x, o, r, full, row_max).sum()
        # x - max is NaN when the max is infinite: make the whole row NaN, as NumPy's is.
        inv = rl.where(row_max - row_max == 0.0, 1.0 / total, float("nan"))
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(o.vload(r, j) * inv, r, j)


@rl.autotune(configs=RMSNORM_CONFIGS, key=["x.shape[1]"])
@rl.kernel
def rmsnorm(x: rl.Tensor[f32, 2], w: rl.Tensor[f32], o: rl.Tensor[f32, 2], eps: rl.f32, LMUL: int = 4):
    """o[r] = x[r] / sqrt(mean(x[r]**2) + eps) * w for each row r."""
    rows, n = x.shape
    vl0, _, full = _blocks(n, LMUL)
    inv_n = 1.0 / n.to(f32)
    for r in rl.range(rows):
        with rl.vector(vl0, sew=32, lmul=LMUL):
            ss = rl.var(rl.zeros(f32))
            for j in rl.range(0, full, vl0):
                v = x.vload(r, j)
                ss += v * v
            head = ss.value.sum()
        with rl.vector(n - full, sew=32, lmul=LMUL):
            v = x.vload(r, full)
            total = head + (v * v).sum()
        scale = rl.rsqrt(total * inv_n + eps)
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(x.vload(r, j) * scale * w.vload(j), r, j)
