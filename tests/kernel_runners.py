"""Where the DSL tests run kernels: the rvai emulator (the main path) and qemu-user (an oracle).

Each test takes ``runner`` from :data:`RUNNERS` and a VLEN; one compiled object per
kernel, target and dtypes serves every VLEN (the compile cache key has no VLEN, and
:func:`run` checks that the object that ran was vector-length agnostic). Every
instruction the kernels use is implemented by the emulator, so any emulator error
fails the test. QEMU 7.2 lacks Zvfh, so under QEMU kernels are compiled for
``generic-novfh``; the emulator runs the default ``generic`` target, whose f16 vector
arithmetic is therefore checked against NumPy references only.
"""
import pytest

from rvai import ops
from rvai.codegen import qemu
from rvai.runner import Run
from rvai.target import Target

VLENS = [128, 256, 512, 1024]
RUNNERS = ["emu", pytest.param("qemu", marks=pytest.mark.skipif(
    not qemu.available(), reason="needs clang-19, ld.lld-19 and qemu-riscv64"))]
_PRESET = {"emu": "generic", "qemu": "generic-novfh"}


def target(runner: str, vlen: int, preset: str | None = None) -> Target:
    """The target a test compiles for under ``runner`` (or ``preset``), emulated at ``vlen``."""
    return Target.preset(preset or _PRESET[runner]).with_vlen(vlen)


def run(fn, *args, runner: str, vlen: int, preset: str | None = None, specialise: bool = False, **kw):
    """Call a kernel or an ``rvai.ops`` function under ``runner`` at ``vlen``; return its result.

    The run record (the kernel's result, or ``ops.last_run`` after an ``rvai.ops`` call)
    must say it ran at ``vlen`` an object compiled for every VLEN unless ``specialise``.
    """
    ops.last_run = None
    extra = {"specialise": True} if specialise else {}
    out = fn(*args, target=target(runner, vlen, preset), runner=runner, **kw, **extra)
    record = out if isinstance(out, Run) else ops.last_run
    if record is not None:
        assert record.vlen == vlen and record.runner == runner
        assert record.compiled.vlen == (vlen if specialise else None)
    return out
