"""Where the DSL tests run kernels: the rvai emulator (the main path) and qemu-user (an oracle).

Each test takes ``runner`` from :data:`RUNNERS` and a VLEN; one compiled object per
kernel, target and dtypes serves every VLEN (the compile cache key has no VLEN).
QEMU 7.2 lacks Zvfh, so under QEMU kernels are compiled for ``generic-novfh``; the
emulator runs the default ``generic`` target, whose f16 vector paths are therefore
checked against NumPy references only.
"""
import contextlib

import pytest

from rvai import emu
from rvai.codegen import qemu
from rvai.target import Target

VLENS = [128, 256, 512, 1024]
RUNNERS = ["emu", pytest.param("qemu", marks=pytest.mark.skipif(
    not qemu.available(), reason="needs clang-19, ld.lld-19 and qemu-riscv64"))]
_PRESET = {"emu": "generic", "qemu": "generic-novfh"}


def target(runner: str, vlen: int, preset: str | None = None) -> Target:
    """The target a test compiles for under ``runner`` (or ``preset``), emulated at ``vlen``."""
    return Target.preset(preset or _PRESET[runner]).with_vlen(vlen)


def run(fn, *args, runner: str, vlen: int, preset: str | None = None, **kw):
    """Call a kernel or an ``rvai.ops`` function under ``runner`` at ``vlen``; return its result."""
    with emulator_gaps():
        return fn(*args, target=target(runner, vlen, preset), runner=runner, **kw)


@contextlib.contextmanager
def emulator_gaps():
    """Skip (naming the instruction) when the emulator stops at an instruction it does not
    implement yet: the vector and scalar FP parts of the core are still landing. Remove
    once they have; every other emulator error fails the test."""
    try:
        yield
    except emu.IllegalInstruction as exc:
        pytest.skip(f"the emulator does not implement this yet: {exc}")
