"""``rvai demo``: run matmul, softmax, rmsnorm and attention, checked against NumPy, with cycles."""
from __future__ import annotations

import argparse

import numpy as np

from rvai import ops
from rvai.target import Target


def _cases(rng: np.random.Generator):
    a = rng.standard_normal((24, 64)).astype(np.float32)
    b = rng.standard_normal((64, 40)).astype(np.float32)
    x = rng.standard_normal((4, 896)).astype(np.float32)
    w = rng.standard_normal(896).astype(np.float32)
    q = rng.standard_normal((14, 4, 64)).astype(np.float32)      # Qwen2-0.5B: 14 query heads, d=64
    k = rng.standard_normal((2, 32, 64)).astype(np.float32)      # 2 KV heads, a 32-entry KV cache
    v = rng.standard_normal((2, 32, 64)).astype(np.float32)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    kk, vv = np.repeat(k, 7, 0).astype(np.float64), np.repeat(v, 7, 0).astype(np.float64)
    s = q @ kk.transpose(0, 2, 1) / 8.0
    s = np.where(np.arange(32)[None, :] <= np.arange(4)[:, None] + 28, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return [
        ("matmul 24x64 @ 64x40 f32", lambda **kw: ops.matmul(a, b, **kw), a.astype(np.float64) @ b),
        ("matmul f16 inputs", lambda **kw: ops.matmul(a.astype(np.float16), b.astype(np.float16), **kw),
         a.astype(np.float16).astype(np.float64) @ b.astype(np.float16)),
        ("softmax 4x896", lambda **kw: ops.softmax(x, **kw), e / e.sum(-1, keepdims=True)),
        ("rmsnorm 4x896", lambda **kw: ops.rmsnorm(x, w, 1e-6, **kw),
         x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * w),
        ("attention GQA 14q/2kv causal", lambda **kw: ops.attention(q, k, v, causal=True, **kw),
         p @ vv / p.sum(-1, keepdims=True)),
    ]


def main(args: list[str] | None = None) -> int:
    """Run the demo; ``args`` as on the command line (``--target``, ``--runner``). Returns 0 if all agree."""
    parser = argparse.ArgumentParser(prog="rvai demo", description=__doc__)
    parser.add_argument("--target", default="generic", help=f"preset: {', '.join(Target.presets())}")
    parser.add_argument("--runner", default="emu", choices=["emu", "qemu"])
    parser.add_argument("--vlen", type=int, default=None, help="emulated VLEN (default: the target's)")
    opts = parser.parse_args(args)
    target = Target.preset(opts.target)
    if opts.vlen:
        target = target.with_vlen(opts.vlen)
    print(f"target {target.name} (cpu {target.cpu}, VLEN {target.vlen}), runner {opts.runner}")
    ok = True
    for name, fn, want in _cases(np.random.default_rng(0)):
        got = fn(target=target, runner=opts.runner)
        err = float(np.max(np.abs(got - want)))
        tol = 1e-4 * max(1.0, float(np.max(np.abs(want))))
        run = ops.last_run
        cycles = f"{run.cycles:>10} cycles {run.instret:>10} instret" if run.cycles is not None else "(no cycle count)"
        status = "ok" if err <= tol else "MISMATCH"
        ok &= err <= tol
        print(f"  {name:<30} max |err| {err:.2e}  {status:<8} {cycles}")
    return 0 if ok else 1
