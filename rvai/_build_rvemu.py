"""cffi build script: compiles csrc/ into the extension module ``rvai._rvemu``.

``pip install .`` runs it through setuptools' ``cffi_modules``; the public C
API is read from ``csrc/api.h`` so the declarations live in one place.
"""
import pathlib

from cffi import FFI

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
# Every C file in csrc/ is part of the core; headers and instruction tables are
# listed as dependencies so that editing an exec_*.h or insns_*.def rebuilds.
SOURCES = sorted(p.relative_to(ROOT).as_posix() for p in CSRC.glob("*.c"))
DEPENDS = sorted(p.relative_to(ROOT).as_posix() for p in [*CSRC.glob("*.h"), *CSRC.glob("*.def")])

ffibuilder = FFI()
ffibuilder.cdef((CSRC / "api.h").read_text())
# The translating tier's call into Python (csrc/jit.c, rvai/emu/translate.py).
ffibuilder.cdef('extern "Python+C" int64_t rv_jit_translate_hook(void *handle, uint64_t pc, uint64_t entries);')
ffibuilder.set_source(
    "rvai._rvemu",
    '#include <stdint.h>\n#include "api.h"\n',
    sources=SOURCES,
    depends=DEPENDS,
    include_dirs=[str(CSRC.relative_to(ROOT))],
    # -ffp-contract=off: the host must never fuse a*b+c where the guest did not.
    # -frounding-math: guest rounding modes live in the host FPU's control word.
    # -fvisibility=hidden: only PyInit_ is looked up; calls between the C files go
    # straight to their targets rather than through the PLT.
    # -O2 in separate units on purpose: -flto, -O3 and GCC's PGO were measured on the
    # timed GEMM, memcpy and loop nest and none paid (docs/performance.md, pgo65).
    extra_compile_args=["-O2", "-std=gnu11", "-fno-strict-aliasing", "-ffp-contract=off",
                        "-frounding-math", "-fno-math-errno", "-fvisibility=hidden", "-Wall", "-Wno-unused-label",
                        "-Wno-unused-variable"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
