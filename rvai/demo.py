"""``rvai demo``: run matmul, softmax, rmsnorm and attention, checked against NumPy, with cycles.

Each case calls an ``rvai.ops`` function: the DSL kernel in ``rvai.kernels`` is compiled
by LLVM (through llvmlite) to vector-length-agnostic RVV 1.0 code for the target and
run in the rvai emulator (or under qemu-user with ``--runner qemu``). The result is
compared with the same computation done by NumPy in float64 on the same inputs.
"""
from __future__ import annotations

import argparse

import numpy as np

from rvai import ops
from rvai.target import Target

#: A result passes when max |result - float64 reference| <= RTOL * max(1, max |reference|).
RTOL = 1e-4


def _cases(rng: np.random.Generator):
    """(name, shapes, call, float64 reference) for each demo case."""
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
    s = np.where(np.arange(32)[None, :] <= np.arange(4)[:, None] + 28, s, -np.inf)   # bottom-right causal
    p = np.exp(s - s.max(-1, keepdims=True))
    a16, b16 = a.astype(np.float16), b.astype(np.float16)
    return [
        ("matmul f32", "(24,64) @ (64,40)", lambda **kw: ops.matmul(a, b, **kw), a.astype(np.float64) @ b),
        ("matmul f16 in, f32 acc", "(24,64) @ (64,40)", lambda **kw: ops.matmul(a16, b16, **kw),
         a16.astype(np.float64) @ b16),
        ("softmax", "(4,896) rows", lambda **kw: ops.softmax(x, **kw), e / e.sum(-1, keepdims=True)),
        ("rmsnorm", "(4,896) rows", lambda **kw: ops.rmsnorm(x, w, 1e-6, **kw),
         x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * w),
        ("attention GQA causal", "q (14,4,64) kv (2,32,64)", lambda **kw: ops.attention(q, k, v, causal=True, **kw),
         p @ vv / p.sum(-1, keepdims=True)),
    ]


def main(args: list[str] | None = None) -> int:
    """Run the demo; ``args`` as on the command line (``--target``, ``--runner``, ``--vlen``). 0 if all agree."""
    parser = argparse.ArgumentParser(prog="rvai demo", description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="generic", help=f"preset: {', '.join(Target.presets())}")
    parser.add_argument("--runner", default="emu", choices=["emu", "qemu"])
    parser.add_argument("--vlen", type=int, default=None, help="emulated VLEN (default: the target's)")
    opts = parser.parse_args(args)
    try:
        target = Target.of(opts.target)
    except ValueError as exc:   # an unknown preset: one usage line naming the presets
        parser.error(str(exc))
    if opts.vlen:
        target = target.with_vlen(opts.vlen)
    where = ("the rvai emulator, cycles from the target's timing model" if opts.runner == "emu"
             else "qemu-user (no cycle counts)")
    print(f"rvai demo: DSL kernels (rvai.kernels) compiled by LLVM to vector-length-agnostic RVV 1.0\n"
          f"  target {target.name} (LLVM cpu {target.cpu}), run at VLEN {target.vlen} in {where}\n"
          f"  check: max |err| against NumPy in float64 on the same inputs, "
          f"ok if <= {RTOL:g} * max(1, max |ref|)\n")
    print(f"  {'kernel':<24}{'inputs':<26}{'max |err|':>10}{'tol':>9}  {'check':<8}"
          f"{'cycles':>9}{'instructions':>14}{'vector':>8}")
    ok = True
    for name, shapes, fn, want in _cases(np.random.default_rng(0)):
        got = fn(target=target, runner=opts.runner)
        err = float(np.max(np.abs(got - want)))
        tol = RTOL * max(1.0, float(np.max(np.abs(want))))
        run = ops.last_run
        passed = got.shape == want.shape and err <= tol
        ok &= passed
        if run.cycles is not None:
            vec = f"{run.profile.vector['ops'] / run.instret:.0%}"
            counts = f"{run.cycles:>9}{run.instret:>14}{vec:>8}"
        else:
            counts = f"{'-':>9}{'-':>14}{'-':>8}"
        print(f"  {name:<24}{shapes:<26}{err:>10.1e}{tol:>9.0e}  {'ok' if passed else 'MISMATCH':<8}{counts}")
    if opts.runner == "emu":
        print(f"\n  cycles: the {target.name} timing model at {target.model.get('clock_ghz', '?')} GHz; "
              "instructions: retired RISC-V instructions; vector: share of them that are RVV")
    print("all results agree with NumPy" if ok else "MISMATCH: some results differ from NumPy")
    return 0 if ok else 1
