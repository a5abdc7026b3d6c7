"""rvai: write AI kernels for RISC-V vector machines, and run and profile them
without the hardware.  See README.md and docs/.

The names a kernel author needs first: ``rvai.kernel`` (the decorator, see
docs/dsl.md), ``rvai.Target`` (cpu, features, VLEN, machine model), ``rvai.ops``
(ready kernels on NumPy arrays) and ``rvai.emu.Machine`` (the emulator).
"""
import importlib

from rvai.lang import kernel
from rvai.lang.kernel import set_backend as _set_backend
from rvai.target import Target

__version__ = "0.1.0"
__all__ = ["kernel", "Target", "ops", "emu", "lang"]


def __getattr__(name):
    # Submodules load on first use, so `import rvai` stays light for emulator-only users.
    if name in ("ops", "emu", "lang"):
        return importlib.import_module(f"rvai.{name}")
    raise AttributeError(f"module 'rvai' has no attribute {name!r}")


# Calling or compiling a kernel goes through rvai.runner (which imports llvmlite and the
# emulator): installed here, loaded on first use, so rvai.lang itself imports only rvai.ir.
_set_backend(lambda: importlib.import_module("rvai.runner"))
