"""rvai: write AI kernels for RISC-V vector machines, and run and profile them
without the hardware.  See README.md and docs/.

The names a kernel author needs first: ``rvai.kernel`` (the decorator, see
docs/dsl.md), ``rvai.Target`` (cpu, features, VLEN, machine model), ``rvai.ops``
(ready kernels on NumPy arrays) and ``rvai.emu.Machine`` (the emulator).
"""
import importlib

__version__ = "0.1.0"
__all__ = ["kernel", "Target", "ops", "emu", "lang"]

# Every name loads on first use, so `import rvai` (and `rvai run`, which needs
# only the emulator) stays light: the language, NumPy and llvmlite load when a
# kernel is written or called.
_LAZY = {"kernel": ("rvai.lang", "kernel"), "Target": ("rvai.target", "Target"),
         "ops": ("rvai.ops", None), "emu": ("rvai.emu", None), "lang": ("rvai.lang", None)}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'rvai' has no attribute {name!r}")
    module, attr = _LAZY[name]
    loaded = importlib.import_module(module)
    return getattr(loaded, attr) if attr else loaded


def _kernel_backend():
    """The compile-and-run backend of ``rvai.lang`` kernels: ``rvai.runner``, which
    imports llvmlite and the emulator, so it loads on the first kernel call.  The
    language finds it here; it never imports it itself."""
    return importlib.import_module("rvai.runner")
