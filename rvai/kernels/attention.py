"""Scaled dot-product attention with online softmax (FlashAttention style), GQA and causal masks.

Per (head, query row): keys are taken in vector-length blocks. A block's scores are a
vector over keys built with ``vfmacc.vf`` (query scalar times a strided column of K);
the running max ``m`` and sum ``l`` are updated, the output row (held in ``o``) is
rescaled by ``exp(m_old - m_new)`` and the block's probabilities times V rows are
accumulated. Grouped-query heads share K/V: query head ``h`` reads KV head
``h // (H / H_kv)``. The causal mask is aligned to the bottom right: query ``i`` sees
keys ``j <= i + Lk - Lq``; a row that sees no key is 0.
"""
import rvai.lang as rl
from rvai.lang import f32


@rl.kernel
def attention(q: rl.Tensor[f32, 3], k: rl.Tensor[f32, 3], v: rl.Tensor[f32, 3], o: rl.Tensor[f32, 3],
              p: rl.Tensor[f32], scale: rl.f32, CAUSAL: bool = False, LMUL: int = 2):
    """o[h] = softmax(q[h] @ k[g]^T * scale) @ v[g], g = h // (H / H_kv); p is scratch of Lk floats."""
    heads, lq, d = q.shape
    kv_heads, lk = k.shape[0], k.shape[1]
    group = heads // kv_heads
    for h in rl.range(heads):
        g = h // group
        for i in rl.range(lq):
            kend = rl.minimum(lk, rl.maximum(i + 1 + lk - lq, 0)) if CAUSAL else lk
            m, l = rl.var(float("-inf")), rl.var(0.0)
            for vl, c in rl.vloop(d, sew=32, lmul=LMUL):
                o.vstore(rl.zeros(f32), h, i, c)
            for vl, j in rl.vloop(kend, sew=32, lmul=LMUL):
                s = rl.var(rl.zeros(f32))
                for c in rl.range(d):
                    s += q[h, i, c] * k.vload(g, j, c, axis=1)
                scores = s.value * scale
                m_new = rl.maximum(m, scores.max())
                corr = rl.exp(m.value - m_new)
                probs = rl.exp(scores - m_new)
                l.value = l * corr + probs.sum()
                m.value = m_new
                p.vstore(probs, j)
                for vl_d, c in rl.vloop(d, sew=32, lmul=LMUL):
                    acc = rl.var(o.vload(h, i, c) * corr)
                    for t in rl.range(vl):
                        acc += p[j + t] * v.vload(g, j + t, c)
                    o.vstore(acc.value, h, i, c)
            total = l.value
            inv = rl.where(total > 0.0, 1.0 / total, 0.0)
            for vl, c in rl.vloop(d, sew=32, lmul=LMUL):
                o.vstore(o.vload(h, i, c) * inv, h, i, c)
