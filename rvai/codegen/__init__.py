"""rvai IR -> LLVM IR -> RVV object code and assembly, with a memory and disk cache."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from pathlib import Path

import llvmlite

from rvai import ir
from rvai.codegen.backend import compile_llvm_ir
from rvai.codegen.lower import lower
from rvai.target import Target

__all__ = ["CompiledKernel", "compile_function", "cache_dir"]


@dataclasses.dataclass(frozen=True)
class CompiledKernel:
    """A compiled kernel: symbol ``name``, its rvai IR, LLVM IR, assembly and ELF object.

    ``vlen`` is None for vector-length-agnostic code (runs at every VLEN >= the target's
    ``min_vlen``), else the one VLEN the code was specialised for. ``checks`` is the
    bounds-check table of a checked kernel: (tensor, axis, file, line) per trap id.
    """

    name: str
    ir: str
    llvm_ir: str
    llvm_ir_unoptimized: str
    asm: str
    elf: bytes
    target: Target
    vlen: int | None = None
    checks: tuple = ()

    def undefined_symbols(self) -> list[str]:
        """Names of undefined symbols the object references (only memcpy/memset/memmove are allowed)."""
        from rvai.codegen.elfsyms import undefined_symbols
        return undefined_symbols(self.elf)


def cache_dir() -> Path:
    """Where compiled objects are kept: ``$RVAI_CACHE_DIR`` or ``~/.cache/rvai``."""
    return Path(os.environ.get("RVAI_CACHE_DIR") or Path.home() / ".cache" / "rvai") / "kernels"


@functools.cache
def _compiler_version() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256(llvmlite.__version__.encode())
    for f in sorted(here.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


_MEMORY: dict[str, CompiledKernel] = {}


def compile_function(fn: ir.Function, target: Target, vlen: int | None = None) -> CompiledKernel:
    """Compile a verified IR function for ``target``, reusing cached results keyed by IR and target.

    With ``vlen`` the code is specialised for exactly that VLEN: LLVM is told
    ``+zvl<vlen>b`` and that vscale is ``vlen / 64``, so VLMAX and ``vlenb`` fold to constants.
    """
    llvm_target = target
    if vlen is not None:
        if vlen < target.min_vlen:
            raise ValueError(f"cannot specialise for VLEN {vlen}: target {target.name!r} needs "
                             f"VLEN >= {target.min_vlen}")
        llvm_target = dataclasses.replace(target, min_vlen=vlen, vlen=vlen)   # validated by Target
    text = str(fn)
    key = hashlib.sha256("\0".join([text, llvm_target.key, str(vlen), _compiler_version()]).encode()).hexdigest()
    if key in _MEMORY:
        return dataclasses.replace(_MEMORY[key], target=target)
    folder = cache_dir() / key[:2] / key
    try:
        meta = json.loads((folder / "meta.json").read_text())
        compiled = CompiledKernel(meta["name"], text, (folder / "opt.ll").read_text(),
                                  (folder / "input.ll").read_text(), (folder / "kernel.s").read_text(),
                                  (folder / "kernel.o").read_bytes(), target, meta["vlen"],
                                  tuple(tuple(c) for c in meta["checks"]))
    except (OSError, ValueError, KeyError):
        llvm_text, checks = lower(fn, vlen)
        opt, obj, asm = compile_llvm_ir(llvm_text, llvm_target)
        compiled = CompiledKernel(fn.name, text, opt, llvm_text, asm, obj, target, vlen, checks)
        _store(folder, compiled)
    _MEMORY[key] = compiled
    return compiled


def _store(folder: Path, c: CompiledKernel) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        tmp.mkdir(exist_ok=True)
        (tmp / "opt.ll").write_text(c.llvm_ir)
        (tmp / "input.ll").write_text(c.llvm_ir_unoptimized)
        (tmp / "kernel.s").write_text(c.asm)
        (tmp / "kernel.o").write_bytes(c.elf)
        (tmp / "rvai.ir").write_text(c.ir)
        (tmp / "meta.json").write_text(json.dumps({"name": c.name, "vlen": c.vlen, "checks": c.checks}))
        for f in tmp.iterdir():
            os.replace(f, folder / f.name)
        tmp.rmdir()
    except OSError:
        pass  # the disk cache is an optimisation: a read-only home must not break compiling
