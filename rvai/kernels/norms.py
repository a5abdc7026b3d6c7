"""Row-wise softmax and RMSNorm over the last axis of a 2-D array."""
import rvai.lang as rl
from rvai.lang import f32


@rl.kernel
def softmax(x: rl.Tensor[f32, 2], o: rl.Tensor[f32, 2], LMUL: int = 4):
    """o[r] = exp(x[r] - max x[r]) / sum(...) for each row r (three passes over the row)."""
    rows, n = x.shape
    for r in rl.range(rows):
        m = rl.var(float("-inf"))
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            m.value = rl.maximum(m, x.vload(r, j).max())
        row_max = m.value
        total = rl.var(0.0)
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            e = rl.exp(x.vload(r, j) - row_max)
            o.vstore(e, r, j)
            total += e.sum()
        inv = 1.0 / total.value
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(o.vload(r, j) * inv, r, j)


@rl.kernel
def rmsnorm(x: rl.Tensor[f32, 2], w: rl.Tensor[f32], o: rl.Tensor[f32, 2], eps: rl.f32, LMUL: int = 4):
    """o[r] = x[r] / sqrt(mean(x[r]**2) + eps) * w for each row r."""
    rows, n = x.shape
    for r in rl.range(rows):
        ss = rl.var(0.0)
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            v = x.vload(r, j)
            ss += (v * v).sum()
        scale = rl.rsqrt(ss.value / n.to(f32) + eps)
        for vl, j in rl.vloop(n, sew=32, lmul=LMUL):
            o.vstore(x.vload(r, j) * scale * w.vload(j), r, j)
