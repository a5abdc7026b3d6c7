"""Cold compiles of DSL kernels: trace, lower, LLVM O3, object (and, before asm53, assembly).

    python bench/cold_compile.py [--tree DIR] [--repeat R] [--target T] [--read-asm] [--checked 0|1]

Each round empties the compile caches (a fresh ``$RVAI_CACHE_DIR``, the in-memory ones)
and compiles each kernel once through ``Kernel.compile``: gemm (``matmul``), gemm_packed
(plain; and KTILE, whose frame touches compiled it 2-3 times before cc66: f16 KC 256, and
the tuned f32 and f16 entries of xuantie-c930 and sifive-x280), attention in three of the
tuned configurations (prefill, decode, the one-block tile), softmax and rmsnorm, on
``--target`` (default spacemit-x60). Printed per kernel: the least thread CPU time and wall
time over R rounds (after a warm-up compile that loads LLVM), the LLVM runs (parse, O3,
object) its compile took, and a digest of the object's non-DWARF sections (code, data,
symbols: the DWARF holds the checkout's path), to compare the objects of two trees. ``--read-asm`` also reads ``.asm`` after each compile
and counts that in. ``--tree`` imports rvai from DIR (default: this checkout), to run the
same measurement against another checkout with its own venv. ``--checked 0`` compiles unchecked
builds (default 1, ``RVAI_CHECKED=1`` as the test suite compiles).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (label, kernel name, compile keywords)
KERNELS = [
    ("gemm", "matmul", {"types": {"a": "f32", "b": "f32", "bp": "f32", "ap": "f32"}}),
    ("gemm_packed", "gemm_packed", {"types": {"a": "f32", "bp": "f32", "ap": "f32"}}),
    ("gemm_packed KTILE", "gemm_packed", {"types": {"a": "f16", "bp": "f16", "ap": "f16"}, "KC": 256, "KTILE": True,
                                          "WIDEN": True}),
    ("KTILE f32 MR7 PF1", "gemm_packed", {"types": {"a": "f32", "bp": "f32", "ap": "f32"}, "MR": 7, "KC": 1024,
                                          "PF": 1, "KTILE": True}),
    ("KTILE f16 MR6", "gemm_packed", {"types": {"a": "f16", "bp": "f16", "ap": "f16"}, "MR": 6, "KC": 1024,
                                      "KTILE": True, "WIDEN": True}),
    ("attention prefill", "attention", {"CAUSAL": True, "BM": 7, "KU": 1, "LMUL": 4, "ML": 1, "NB": 8, "PF": 2,
                                        "PU": 1, "PV": 1, "SP": 2}),
    ("attention decode", "attention", {"BM": 7, "KU": 1, "LMUL": 4, "NB": 8, "PF": 2, "PK": 1}),
    ("attention one-block", "attention", {"CAUSAL": True, "BM": 7, "EO": 0, "KS": 1, "KU": 1, "LMUL": 4, "ML": 1,
                                          "NB": 4, "NR": 1, "OD": 1, "PF": 2, "PT": 1, "PU": 1, "PV": 1, "QD": 2,
                                          "QL": 1, "QP": 4, "QR": 1, "SP": 2}),
    ("softmax", "softmax", {}),
    ("rmsnorm", "rmsnorm", {}),
]


def _digest(elf: bytes) -> str:
    """A digest of the object's sections other than DWARF's (and their relocations)."""
    from rvai.codegen.lines import _sections
    h = hashlib.sha256()
    for name, (_, off, size, *_rest) in sorted(_sections(elf).items()):
        if ".debug" not in name and name:
            h.update(name.encode() + elf[off:off + size])
    return h.hexdigest()[:12]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=HERE.parent)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--target", default="spacemit-x60")
    ap.add_argument("--read-asm", action="store_true")
    ap.add_argument("--checked", choices=("0", "1"), default="1")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.tree.resolve()))
    os.environ["RVAI_CHECKED"] = args.checked
    import rvai.lang as rl
    from rvai import codegen, kernels, runner
    from rvai.target import Target
    assert Path(codegen.__file__).resolve().is_relative_to(args.tree.resolve()), codegen.__file__
    target = Target.preset(args.target)
    runs = [0]
    module = codegen._compile_module

    def counted(*a, **kw):
        runs[0] += 1
        return module(*a, **kw)
    codegen._compile_module = counted
    llvm_runs: dict[str, int] = {}
    best: dict[str, list[float]] = {}
    digests: dict[str, str] = {}
    for r in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["RVAI_CACHE_DIR"] = cache
            codegen._MEMORY.clear()
            runner._COMPILED.clear()
            kernels.softmax.compile(target, LMUL=1)          # warm-up: LLVM, the target probe
            for label, name, kw in KERNELS:
                kw = dict(kw)
                if "types" in kw:
                    kw["types"] = {k: getattr(rl, v) for k, v in kw["types"].items()}
                c0, w0, runs[0] = time.thread_time(), time.perf_counter(), 0
                compiled = getattr(kernels, name).compile(target, **kw)
                if args.read_asm:
                    compiled.asm
                cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
                old = best.get(label, [cpu, wall])
                best[label] = [min(cpu, old[0]), min(wall, old[1])]
                digests[label], llvm_runs[label] = _digest(compiled.elf), runs[0]
        print(f"round {r + 1}/{args.repeat} done", file=sys.stderr)
    print(f"{'kernel':22} {'cpu s':>7} {'wall s':>7} {'LLVM':>4}  object")
    for label, _, _ in KERNELS:
        cpu, wall = best[label]
        print(f"{label:22} {cpu:7.3f} {wall:7.3f} {llvm_runs[label]:4}  {digests[label]}")
    print(f"{'total':22} {sum(v[0] for v in best.values()):7.3f} {sum(v[1] for v in best.values()):7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
