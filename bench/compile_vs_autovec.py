"""The DSL matmul beside the same product written as plain scalar LLVM IR and left to LLVM's
loop vectoriser (O3, the same target features), run in the rvai emulator on the same target.

Two scalar loop nests are measured:
  * ``ijk`` - the DSL kernel's own nest (columns, rows, then a K-long dot product per
    element). Its inner loop is a float reduction, which LLVM may not reorder without
    fast-math, so this shows what the vectoriser makes of the naive nest.
  * ``ikj`` - the order a C programmer writes for a compiler: the inner loop updates a
    row of C along N, unit-stride, which the vectoriser turns into a tail-folded RVV loop.
Both use ``llvm.fmuladd`` (C's ``-ffp-contract=on``) and ``noalias`` pointers, as the DSL does.

Cycles come from the emulator's timing model for the target's ``[model]`` table; retired
instructions and FLOP per cycle / per instruction are printed beside them.

The DSL's other kernels are then timed on the shapes of one Qwen2-0.5B decoder layer
(hidden 896, 14 query / 2 KV heads of dim 64): RMSNorm, a decode step's attention over a
KV cache, and a short causal prefill, each checked against NumPy too.

    python bench/compile_vs_autovec.py [--target generic] [--vlen 256]
"""
from __future__ import annotations

import argparse

import numpy as np

from rvai import ops
from rvai.codegen.backend import compile_llvm_ir
from rvai.emu import Machine
from rvai.target import Target

#: (M, K, N): a square tile, a Qwen2-0.5B projection slice over a few tokens, and decode (one row).
SHAPES = [(64, 64, 64), (8, 896, 128), (1, 896, 896)]

_HEADER = """
declare float @llvm.fmuladd.f32(float, float, float)

define void @{name}(ptr noalias nocapture readonly %a, ptr noalias nocapture readonly %b,
                    ptr noalias nocapture %c, i64 %M, i64 %K, i64 %N) #0 {{
entry:
{body}
}}

attributes #0 = {{ nounwind "frame-pointer"="none" }}
"""


def _loop(var: str, bound: str, body: str, pre: str = "", post: str = "") -> str:
    """A canonical counted loop ``for var in 0..bound`` (bound >= 1 is checked by the caller)."""
    return f"""  br label %{var}.head
{var}.head:
  %{var} = phi i64 [ 0, %{var}.pre ], [ %{var}.next, %{var}.latch ]
{pre}{body}  br label %{var}.latch
{var}.latch:
{post}  %{var}.next = add nuw nsw i64 %{var}, 1
  %{var}.done = icmp eq i64 %{var}.next, %{bound}
  br i1 %{var}.done, label %{var}.exit, label %{var}.head
{var}.exit:
"""


def scalar_matmul_ir(order: str) -> str:
    """LLVM IR of ``c = a @ b`` (f32, row-major, M, K, N >= 1) as plain scalar loops in ``order``."""
    if order == "ikj":   # c[i, :] += a[i, k] * b[k, :]
        inner = """  %bkj = getelementptr inbounds float, ptr %b, i64 %kj.idx
  %bv = load float, ptr %bkj
  %cij = getelementptr inbounds float, ptr %c, i64 %ij.idx
  %cv = load float, ptr %cij
  %cn = call float @llvm.fmuladd.f32(float %aik, float %bv, float %cv)
  store float %cn, ptr %cij
"""
        j_loop = _loop("j", "N", inner, pre="  %kj.idx = add i64 %kN, %j\n  %ij.idx = add i64 %iN, %j\n")
        k_body = ("  %kN = mul i64 %k, %N\n  %ik.idx = add i64 %iK, %k\n"
                  "  %aik.p = getelementptr inbounds float, ptr %a, i64 %ik.idx\n  %aik = load float, ptr %aik.p\n"
                  "  br label %j.pre\nj.pre:\n" + j_loop)
        k_loop = _loop("k", "K", k_body)
        i_body = "  %iK = mul i64 %i, %K\n  %iN = mul i64 %i, %N\n  br label %k.pre\nk.pre:\n" + k_loop
        body = "  br label %i.pre\ni.pre:\n" + _loop("i", "M", i_body)
    elif order == "ijk":  # c[i, j] = sum_k a[i, k] * b[k, j], columns outermost like the DSL kernel
        k_body = """  %ik.idx = add i64 %iK, %k
  %aik.p = getelementptr inbounds float, ptr %a, i64 %ik.idx
  %aik = load float, ptr %aik.p
  %kN = mul i64 %k, %N
  %kj.idx = add i64 %kN, %j
  %bkj = getelementptr inbounds float, ptr %b, i64 %kj.idx
  %bv = load float, ptr %bkj
  %acc.next = call float @llvm.fmuladd.f32(float %aik, float %bv, float %acc)
"""
        k_loop = _loop("k", "K", k_body, pre="  %acc = phi float [ 0.0, %k.pre ], [ %acc.next, %k.latch ]\n")
        i_body = ("  %iK = mul i64 %i, %K\n  br label %k.pre\nk.pre:\n" + k_loop +
                  "  %iN = mul i64 %i, %N\n  %ij.idx = add i64 %iN, %j\n"
                  "  %cij = getelementptr inbounds float, ptr %c, i64 %ij.idx\n  store float %acc.next, ptr %cij\n")
        j_body = "  br label %i.pre\ni.pre:\n" + _loop("i", "M", i_body)
        body = "  br label %j.pre\nj.pre:\n" + _loop("j", "N", j_body)
    else:
        raise ValueError(f"unknown loop order {order!r}")
    return _HEADER.format(name=f"matmul_{order}", body=body + "  ret void")


def run_scalar(obj: bytes, name: str, a, b, target: Target):
    """Run an autovectorised object in the emulator; returns (c, cycles, instret)."""
    m = Machine(target, vlen=target.vlen, timed=True)
    m.load_elf(obj)
    c = np.zeros((a.shape[0], b.shape[1]), np.float32)
    pa, pb, pc = m.alloc(a), m.alloc(b), m.alloc(c)
    m.reset_counters()
    m.call(name, pa, pb, pc, a.shape[0], a.shape[1], b.shape[1], ret=None)
    return m.read(pc, np.float32, c.shape), m.cycles, m.instret


def _attention_ref(q, k, v):
    """Causal (bottom-right) grouped-query attention in float64 for (H, Lq, d) and (H_kv, Lk, d) arrays."""
    group = q.shape[0] // k.shape[0]
    k, v = (np.repeat(t, group, axis=0).astype(np.float64) for t in (k, v))
    s = q.astype(np.float64) @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    lq, lk = q.shape[1], k.shape[1]
    s = np.where(np.arange(lk)[None, :] <= np.arange(lq)[:, None] + lk - lq, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return p @ v / p.sum(-1, keepdims=True)


def _visible_keys(lq: int, lk: int) -> int:
    """(query, key) pairs a bottom-right causal mask lets through: 2 d FLOP each for QK^T and for PV."""
    return sum(min(lk, max(0, i + 1 + lk - lq)) for i in range(lq))


def qwen_layer(target: Target, rng: np.random.Generator) -> bool:
    """Print cycles of the DSL kernels on Qwen2-0.5B shapes; True if all match NumPy."""
    x = rng.standard_normal((1, 896)).astype(np.float32)
    w = rng.standard_normal(896).astype(np.float32)
    x64 = x.astype(np.float64)
    cases = [("rmsnorm 1x896", lambda: ops.rmsnorm(x, w, 1e-6, target=target),
              x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * w, 0)]
    for lq, lk in ((1, 128), (1, 512), (16, 16)):
        q = rng.standard_normal((14, lq, 64)).astype(np.float32)
        k, v = (rng.standard_normal((2, lk, 64)).astype(np.float32) for _ in range(2))
        what = "decode" if lq == 1 else "prefill"
        cases.append((f"attention {what} q {lq} kv {lk}", lambda q=q, k=k, v=v: ops.attention(q, k, v, causal=True,
                                                                                          target=target),
                      _attention_ref(q, k, v), 4 * 14 * 64 * _visible_keys(lq, lk)))
    print("\nQwen2-0.5B layer shapes (14 q / 2 kv heads, d 64), causal attention:")
    print(f"{'kernel':>32} {'cycles':>10} {'instret':>10} {'FLOP/cyc':>9}")
    ok = True
    for name, fn, want, flops in cases:
        got = fn()
        run = ops.last_run
        ok &= bool(np.allclose(got, want, rtol=1e-4, atol=1e-4))
        rate = f"{flops / run.cycles:>9.2f}" if flops else f"{'':>9}"
        print(f"{name:>32} {run.cycles:>10} {run.instret:>10} {rate}")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table; returns 0 if every result matches NumPy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="generic")
    parser.add_argument("--vlen", type=int, default=None)
    opts = parser.parse_args(argv)
    target = Target.preset(opts.target)
    target = target.with_vlen(opts.vlen) if opts.vlen else target
    objects = {}
    for order in ("ijk", "ikj"):
        _, obj, asm = compile_llvm_ir(scalar_matmul_ir(order), target)
        objects[order] = obj
        print(f"autovec {order}: {asm.count('vsetvli') + asm.count('vsetivli')} vsetvli, "
              f"{sum(asm.count(f'vfmacc.{s}') + asm.count(f'vfmadd.{s}') for s in ('vv', 'vf'))} vector FMA "
              "instructions in the object")
    print(f"target {target.name} (cpu {target.cpu}), VLEN {target.vlen}; cycles from the timing model\n")
    cols = f"{'M x K x N':>14} {'kernel':>10} {'cycles':>10} {'instret':>10} {'FLOP/cyc':>9} {'FLOP/ins':>9} {'vs DSL':>7}"
    print(cols)
    rng = np.random.default_rng(0)
    ok = True
    for m_, k_, n_ in SHAPES:
        a = rng.standard_normal((m_, k_)).astype(np.float32)
        b = rng.standard_normal((k_, n_)).astype(np.float32)
        want = a.astype(np.float64) @ b
        flops = 2 * m_ * k_ * n_
        c = ops.matmul(a, b, target=target)   # packs b inside the call, like the loops' row-major b
        run = ops.last_run
        rows = [("DSL", c, run.cycles, run.instret)]
        for order, obj in objects.items():
            rows.append((f"autovec {order}", *run_scalar(obj, f"matmul_{order}", a, b, target)))
        for name, got, cycles, instret in rows:
            ok &= bool(np.allclose(got, want, rtol=1e-4, atol=1e-3 * np.sqrt(k_)))
            print(f"{f'{m_}x{k_}x{n_}':>14} {name:>10} {cycles:>10} {instret:>10} {flops / cycles:>9.2f} "
                  f"{flops / instret:>9.2f} {cycles / rows[0][2]:>6.2f}x")
    print("\n'vs DSL' is cycles relative to the DSL kernel (above 1: the DSL kernel is faster).")
    ok &= qwen_layer(target, rng)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
