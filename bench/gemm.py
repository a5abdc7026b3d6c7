"""GEMM and GEMV on the timing model: rvai's kernels beside a hand-written C RVV kernel and LLVM's
auto-vectorised loop, as fractions of the modelled peak, measured in one run.

Rows (each result checked against float64 NumPy):
  * ``rvai``     -- ``rvai.ops.linear`` on weights packed once (``pack_weights``): the GEMM
                    micro-kernels alone, tuned configuration if the cache has one.
  * ``rvai+pack``-- ``rvai.ops.matmul`` on row-major B: the packing of B is inside the call
                    (first shape only, like ``autovec``: emulation time).
  * ``a @ w.T``  -- ``rvai.ops.matmul(a, w.T)`` on a row-major w (N, K), torch's layout: the
                    kernel transposes w into panels inside the call (``matmul_t``), or for
                    M = 1 reads w's rows as dot products (``gemv_t``); first shape only for GEMM.
  * ``C ref``    -- bench/gemm_ref.c built by clang-19 -O3: OpenBLAS/XNNPACK-style intrinsics,
                    7 rows x one e32 m4 strip in registers, vfmacc.vf, B in the same panels.
  * ``autovec``  -- plain ikj loops on row-major B, vectorised by clang-19 -O3.
Percent of peak = 2MNK / cycles / ``Profile.peak_flops_per_cycle()``. GEMV (M = 1) rows
report the DRAM-bound rate instead: the bytes that must come from memory (A, B, C)
divided by the preset's ``dram_bytes_per_cycle``, over the cycles taken.
Every call runs on a fresh machine (cold caches). "4096 x 4096 sliced" computes the
first --slice columns (default 1024) of the product (the K = 4096 reduction is whole).

The autotuner part tunes ``gemm_packed`` per preset at M = 16, K = N = 896 over its
candidates, reports the best beside the best of a hand-picked grid and how many of the
candidates were distinct code (the tuner runs only those), then times a second call (a
cache hit) in milliseconds.

    python bench/gemm.py [--targets generic spacemit-x60 ...] [--quick] [--slice 1024]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from rvai import kernels, ops, tune
from rvai.emu import Machine
from rvai.target import Target

CLANG = shutil.which("clang-19")
PRESETS = ["generic", "spacemit-x60", "sifive-x280", "xuantie-c930"]
#: (K, N, columns computed): the last is 4096 x 4096 with only the first --slice columns of C.
SHAPES = [(896, 896, None), (896, 4864, None), (3584, 512, None), (4096, 4096, "slice")]
#: The hand-picked grid the tuner must match or beat (gemm_packed's LMUL is the packed one, 4;
#: what a configuration leaves open runs at gemm_packed's declared defaults, whatever is tuned).
GRID = [{"MR": mr, "KC": kc} for mr in (4, 7) for kc in (256, 512)]


def build_reference(workdir: Path) -> bytes | None:
    """bench/gemm_ref.c as a relocatable RV64GCV+Zvfh object, or None without clang-19."""
    if not CLANG:
        return None
    out = workdir / "gemm_ref.o"
    subprocess.run([CLANG, "--target=riscv64-linux-gnu", "-march=rv64gcv_zfh_zvfh", "-mabi=lp64d", "-O3",
                    "-c", str(Path(__file__).with_name("gemm_ref.c")), "-o", str(out)], check=True)
    return out.read_bytes()


def run_c(obj: bytes, symbol: str, target: Target, arrays: list[np.ndarray], sizes: list[int]):
    """Call ``symbol`` of the object on a fresh timed machine; returns (cycles, arrays after)."""
    m = Machine(target, vlen=target.vlen, timed=True)
    m.load_elf(obj)
    addrs = []
    for arr in arrays:
        addr = m.alloc(max(arr.nbytes, 1), align=64)
        m.write(addr, np.ascontiguousarray(arr))
        addrs.append(addr)
    m.reset_counters()
    m.call(symbol, *addrs, *sizes, ret=None)
    return m.cycles, [m.read(a, x.dtype, x.shape) for a, x in zip(addrs, arrays)]


def check(c, a, b, want):
    """c must be within gamma(K + 2) * |a| @ |b| of the float64 product (any summation order)."""
    k = a.shape[1]
    bound = (k + 2) * 2.0 ** -24 * (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64))
    assert np.all(np.abs(c - want) <= bound), f"result differs from NumPy by {np.abs(c - want).max()}"


def gemm_rows(target: Target, obj: bytes | None, m: int, k: int, n: int, dtype, extra: bool):
    """Cycles of each implementation at (m, k, n); returns {name: cycles}."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64)
    out = {}
    w = ops.pack_weights(np.ascontiguousarray(b.T), target=target)
    check(ops.linear(a, w, target=target), a, b, want)
    out["rvai"] = ops.last_run.cycles
    if extra or m == 1:   # the slower comparisons, on the first shape only (emulation time)
        check(ops.matmul(a, b, target=target), a, b, want)
        out["rvai+pack"] = ops.last_run.cycles
        check(ops.matmul(a, np.ascontiguousarray(b.T).T, target=target), a, b, want)
        out["a @ w.T"] = ops.last_run.cycles
    if obj is not None:
        nr = kernels.panel_width(target.vlen, 4)
        bp = kernels.pack_panels(b, nr)
        c = np.zeros((m, n), np.float32)
        sym = "ref_gemm_f32" if dtype == np.float32 else "ref_gemm_f16"
        cycles, (_, _, c) = run_c(obj, sym, target, [a, bp, c], [m, k, n, nr])
        check(c, a, b, want)
        out["C ref"] = cycles
        if extra and m > 1:
            cycles, (_, _, c) = run_c(obj, "autovec_gemm_f32", target, [a, b, np.zeros((m, n), np.float32)], [m, k, n])
            check(c, a, b, want)
            out["autovec"] = cycles
    return out


def peak(target: Target) -> float:
    """The modelled f32 peak FLOP/cycle, as the profile reports it."""
    ops.linear(np.ones((1, 1), np.float32), np.ones((1, 1), np.float32), target=target)
    return ops.last_run.profile.peak_flops_per_cycle()


def table(targets, obj, args) -> None:
    names = ["rvai", "rvai+pack", "a @ w.T", "C ref", "autovec"]
    print("\n## f32 / f16 GEMM: % of modelled peak FLOP/cycle (cycles in parentheses for rvai)")
    print("| target | dtype | M | K x N | " + " | ".join(names) + " | rvai / C ref speed |")
    print("|---|---|---:|---|" + "---:|" * len(names) + "---:|")
    for tname in targets:
        t = Target.preset(tname)
        pk = peak(t)
        for dtype in (np.float32, np.float16):
            for m in (16, 64):
                for k, n, sliced in SHAPES:
                    if args.quick and (m, k, n) != (16, 896, 896):
                        continue
                    nn = min(n, args.slice) if sliced else n
                    res = gemm_rows(t, obj, m, k, nn, dtype, dtype == np.float32 and (k, n) == SHAPES[0][:2])
                    fl = 2 * m * k * nn
                    cells = [f"{100 * fl / res[x] / pk:.1f}" if x in res else "-" for x in names]
                    cells[0] += f" ({res['rvai']:,})"
                    speed = f"{res['C ref'] / res['rvai']:.4f}x" if "C ref" in res else "-"   # "never slower": 4 places
                    label = f"{k} x {n}" + (f" (first {nn})" if nn < n else "")
                    print(f"| {tname} | {np.dtype(dtype).name} | {m} | {label} | " + " | ".join(cells)
                          + f" | {speed} |", flush=True)


def gemv_table(targets, obj, args) -> None:
    print("\n## GEMV (M = 1, f32): % of the DRAM-bound rate (A, B and C once from memory)")
    print("| target | K x N | rvai (packed weights) | rvai+pack (row-major b) | a @ w.T (row-major w) | C ref |")
    print("|---|---|---:|---:|---:|---:|")
    for tname in targets:
        t = Target.preset(tname)
        bw = t.model.get("dram_bytes_per_cycle", 8.0)
        for k, n, sliced in SHAPES:
            if args.quick and (k, n) != (896, 896):
                continue
            nn = min(n, args.slice) if sliced else n
            res = gemm_rows(t, obj, 1, k, nn, np.float32, (k, n) == SHAPES[0][:2])
            bound = 4 * (k + k * nn + nn) / bw
            cells = [f"{100 * bound / res[x]:.1f}" if x in res else "-"
                     for x in ("rvai", "rvai+pack", "a @ w.T", "C ref")]
            label = f"{k} x {n}" + (f" (first {nn})" if nn < n else "")
            print(f"| {tname} | {label} | " + " | ".join(cells) + " |", flush=True)


def tuner_table(targets) -> None:
    print("\n## Autotuner (gemm_packed, M = 16, K = N = 896, f32)")
    print("| target | best of hand-picked grid (cycles) | tuner's best (cycles, config) | candidates (distinct code, run) "
          "| second call |")
    print("|---|---:|---:|---:|---:|")
    for tname in targets:
        t = Target.preset(tname)
        args = tune._gemm_packed_call((16, 896, 896), np.dtype(np.float32), t)
        grid = tune.tune(kernels.gemm_packed, args, target=t, configs=GRID, force=True)
        res = tune.tune(kernels.gemm_packed, args, target=t, force=True)
        start = time.perf_counter()
        again = tune.tune(kernels.gemm_packed, args, target=t)
        ms = (time.perf_counter() - start) * 1e3
        assert again.cached and again.best == res.best
        cfg = " ".join(f"{k}={v}" for k, v in sorted(res.best.items()))
        run = sum(t.same_as is None for t in res.trials)
        print(f"| {tname} | {grid.best_cycles:,} | {res.best_cycles:,} ({cfg}) | {len(res.trials)} ({run}) | "
              f"{ms:.2f} ms (cache hit) |", flush=True)


def main(argv=None) -> None:
    """Print the GEMM, GEMV and autotuner tables for the chosen presets."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=PRESETS)
    ap.add_argument("--quick", action="store_true", help="one shape per table")
    ap.add_argument("--slice", type=int, default=1024, help="columns computed of the 4096 x 4096 case")
    ap.add_argument("--only", nargs="+", choices=["gemm", "gemv", "tune"], default=["gemm", "gemv", "tune"])
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        obj = build_reference(Path(tmp))
    if obj is None:
        print("clang-19 not found: the C reference and autovec columns are skipped")
    if "tune" in args.only:
        tuner_table(args.targets)
    if "gemm" in args.only:
        table(args.targets, obj, args)
    if "gemv" in args.only:
        gemv_table(args.targets, obj, args)


if __name__ == "__main__":
    main()
