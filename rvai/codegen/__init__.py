"""rvai IR -> LLVM IR -> RVV object code and assembly, with a memory and disk cache."""
from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import json
import threading
from pathlib import Path
from typing import Callable

import llvmlite   # the package only (its version); llvmlite.binding, which loads LLVM, is not

from rvai import diskcache, ir
from rvai.codegen import backend, frame, ime, standin
from rvai.codegen.backend import _compile_module
from rvai.codegen.frame import stack_extent
from rvai.codegen.lines import line_at, line_table
from rvai.codegen.lower import lower
from rvai.target import Target

__all__ = ["CompiledKernel", "compile_function", "cache_dir", "stack_extent", "target_extensions"]


class _Assembly:
    """Where a :class:`CompiledKernel`'s assembly text comes from until it is first read (then
    ``text``): ``emit``, from the module it was compiled from while that is kept (see
    :data:`_LIVE`), else the kernel's disk-cache entry ``folder``'s ``kernel.s``, else a
    compile of the kernel's LLVM IR again. Copies of a kernel share one."""

    def __init__(self, text: str | None = None, emit: Callable[[], str] | None = None,
                 folder: str | None = None):
        self.text, self.emit, self.folder = text, emit, folder

    def __getstate__(self) -> dict:
        return {**vars(self), "emit": None}   # a live module stays in its process

    def get(self, kernel: CompiledKernel) -> str:
        """The text, made (and written to the disk cache) at the first call."""
        with _ASSEMBLY_LOCK:
            if self.text is None:
                text = _read_assembly(self.folder)
                if text is None:
                    text = self.emit() if self.emit is not None else _assemble_again(kernel)
                    _write_assembly(self.folder, text)
                self.text, self.emit = text, None
            return self.text


_ASSEMBLY_LOCK = threading.Lock()

#: The assemblies of the latest compiles whose modules are kept: reading ``asm`` soon after a
#: compile (what tests and the examples do) costs one emission, not a compile. Each
#: module holds memory; one older than these is dropped, and its text, should it be read,
#: comes from the disk cache or from compiling the kernel's LLVM IR again.
_LIVE: collections.deque[_Assembly] = collections.deque()
_LIVE_MODULES = 8


@dataclasses.dataclass(frozen=True)
class CompiledKernel:
    """A compiled kernel: symbol ``name``, its rvai IR, LLVM IR, ELF object and assembly (``asm``).

    ``vlen`` is None for vector-length-agnostic code (runs at every VLEN >= the target's
    ``min_vlen``), else the one VLEN the code was specialised for. ``checks`` is the
    bounds-check table of a checked kernel: (tensor, axis, file, line) per trap id.
    ``lines`` maps code to source: (offset from the kernel's start, file, line) rows (see
    :mod:`rvai.codegen.lines`); ``loops`` gives the innermost runtime loop around each
    source line: (file, line, loop file, loop line).
    """

    name: str
    ir: str
    llvm_ir: str
    llvm_ir_unoptimized: str
    elf: bytes
    target: Target
    vlen: int | None = None
    checks: tuple = ()
    lines: tuple = ()
    loops: tuple = ()
    _assembly: _Assembly = dataclasses.field(default_factory=_Assembly, repr=False, compare=False)

    @property
    def asm(self) -> str:
        """LLVM's assembly text of the kernel (``.s``; DWARF sections left out, ``.loc`` lines
        kept), made at the first read: emitting it costs about as much as the object, and
        most compiles never read it."""
        return self._assembly.get(self)

    def source_at(self, offset: int) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
        """The author's (file, line) of the instruction ``offset`` bytes into the kernel, and of
        the innermost runtime loop around it (each None where unknown)."""
        at = line_at(self.lines, offset)
        loop = next(((f, n) for f0, n0, f, n in self.loops if (f0, n0) == at), None)
        return at, loop

    def undefined_symbols(self) -> list[str]:
        """Names of undefined symbols the object references (only memcpy/memset/memmove are allowed)."""
        from rvai.codegen.elfsyms import undefined_symbols
        return undefined_symbols(self.elf)


def cache_dir() -> Path:
    """Where compiled objects are kept: ``$RVAI_CACHE_DIR/kernels`` (``~/.cache/rvai/kernels``
    unset), trimmed by :mod:`rvai.diskcache`."""
    return diskcache.root() / "kernels"


@functools.cache
def _compiler_version() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256(llvmlite.__version__.encode())
    for f in sorted(here.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


_EXTENSIONS: dict[str, frozenset[str]] = {}


def target_extensions(target: Target) -> frozenset[str]:
    """The extensions LLVM enables for ``target`` (:func:`rvai.codegen.backend.target_extensions`),
    kept on disk per target and compiler version like the kernels: tracing a kernel asks for
    them, and a process whose kernels all come from the disk cache then never loads LLVM
    (~30 ms import, ~9 ms probe compile)."""
    target = Target.of(target)
    if target.key not in _EXTENSIONS:
        key = hashlib.sha256(f"{target.key}\0{_compiler_version()}".encode()).hexdigest()
        path = diskcache.root() / "extensions" / f"{key}.json"
        names = _stored_extensions(path)
        if names is None:
            names = backend.target_extensions(target)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                diskcache.write_whole(path, json.dumps(sorted(names)))
            except OSError:
                pass   # a read-only cache: LLVM is asked again next process
        _EXTENSIONS[target.key] = names
    return _EXTENSIONS[target.key]


def _stored_extensions(path: Path) -> frozenset[str] | None:
    """The extension names kept in ``path``; None if it is missing or not a JSON list of names."""
    try:
        names = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return frozenset(names) if isinstance(names, list) and all(isinstance(n, str) for n in names) else None


_MEMORY: dict[str, CompiledKernel] = {}


def compile_function(fn: ir.Function, target: Target, vlen: int | None = None) -> CompiledKernel:
    """Compile a verified IR function for ``target``, reusing cached results keyed by IR and target.

    With ``vlen`` the code is specialised for exactly that VLEN: LLVM is told
    ``+zvl<vlen>b`` and that vscale is ``vlen / 64``, so VLMAX and ``vlenb`` fold to constants.
    """
    target = Target.of(target)
    llvm_target = target
    if vlen is not None:
        if vlen < target.min_vlen:
            raise ValueError(f"cannot specialise for VLEN {vlen}: target {target.name!r} needs "
                             f"VLEN >= {target.min_vlen}")
        llvm_target = dataclasses.replace(target, min_vlen=vlen, vlen=vlen)   # validated by Target
    text = str(fn)
    # The printed IR has no source locations, but the object's line table does.
    locs = []
    ir.walk(fn.body, lambda op: locs.append(op.loc))
    key = hashlib.sha256("\0".join([text, repr(locs), llvm_target.key, str(vlen), _compiler_version()])
                         .encode()).hexdigest()
    if key in _MEMORY:
        return dataclasses.replace(_MEMORY[key], target=target)
    folder = cache_dir() / key[:2] / key
    try:
        meta = json.loads((folder / "meta.json").read_text())
        compiled = CompiledKernel(meta["name"], text, (folder / "opt.ll").read_text(),
                                  (folder / "input.ll").read_text(), (folder / "kernel.o").read_bytes(), target,
                                  meta["vlen"], *(tuple(tuple(row) for row in meta[k]) for k in ("checks", "lines", "loops")),
                                  _Assembly(folder=str(folder)))
        diskcache.used(folder)
    except (OSError, ValueError, KeyError):
        check_half_precision(fn, llvm_target)
        llvm_text, opt, obj, emit, checks, loops = _compile_touching_frame(fn, llvm_target, vlen)
        assembly = _Assembly(emit=emit, folder=str(folder))
        _LIVE.append(assembly)
        while len(_LIVE) > _LIVE_MODULES:
            _LIVE.popleft().emit = None
        compiled = CompiledKernel(fn.name, text, opt, llvm_text, obj, target, vlen, checks, line_table(obj, fn.name),
                                  loops, assembly)
        _store(folder, compiled)
    _MEMORY[key] = compiled
    return compiled


def _compile(fn: ir.Function, target: Target, vlen: int | None, touches: int) -> tuple:
    """(LLVM IR, optimised IR, object, assembly, checks, loops) of ``fn``, each ``touch_frame``
    lowered to ``touches`` placeholder loads; the assembly a function making its text (once)."""
    llvm_text, checks, loops = lower(fn, vlen, target_extensions(target), target.min_vlen, touches)
    return (llvm_text, *_object(llvm_text, target), checks, loops)


def _object(llvm_text: str, target: Target) -> tuple[str, bytes, Callable[[], str]]:
    """(optimised IR, object, a function making the assembly text once) of LLVM IR
    ``llvm_text``, with its stand-ins (:mod:`rvai.codegen.standin`) and frame touches
    (:mod:`rvai.codegen.frame`) rewritten."""
    standins = standin.used(llvm_text, [ime.STANDIN, standin.CBO_ZERO])
    opt, obj, emit = _compile_module(llvm_text, target, extra_features=(standin.FEATURE,) if standins else ())
    patches = []
    if standins:
        obj, words = standin.patch_object(obj, standins)
        patches.append(functools.partial(standin.patch_assembly, standins=standins, words=words))
    if frame.used(llvm_text):
        obj, extent, words = frame.patch_object(obj)
        patches.append(functools.partial(frame.patch_assembly, extent=extent, words=words))
    return opt, obj, functools.cache(lambda: functools.reduce(lambda asm, patch: patch(asm), patches, emit()))


def _assemble_again(kernel: CompiledKernel) -> str:
    """``kernel``'s assembly text, from a compile of its LLVM IR as the first one did (LLVM is
    deterministic: the object must come out the same, or the text would not be its)."""
    target = kernel.target
    if kernel.vlen is not None:
        target = dataclasses.replace(target, min_vlen=kernel.vlen, vlen=kernel.vlen)
    _, obj, emit = _object(kernel.llvm_ir_unoptimized, target)
    if obj != kernel.elf:
        raise RuntimeError(f"kernel {kernel.name}: compiling its LLVM IR again gave another object; "
                           "its assembly cannot be made")
    return emit()


def _read_assembly(folder: str | None) -> str | None:
    """The ``kernel.s`` of the disk-cache entry ``folder``, if there is one."""
    try:
        return None if folder is None else (Path(folder) / "kernel.s").read_text()
    except OSError:
        return None


def _write_assembly(folder: str | None, text: str) -> None:
    """Keep ``text`` as the ``kernel.s`` of the disk-cache entry ``folder``, if it is still
    there (an entry is written without: its text is made when first read)."""
    if folder is None or not (Path(folder) / "meta.json").exists():
        return
    try:
        size = diskcache.write_whole(Path(folder) / "kernel.s", text).st_size
    except OSError:
        return   # a read-only or trimmed cache: the text is still the kernel's
    diskcache.stored(size)


def _compile_touching_frame(fn: ir.Function, target: Target, vlen: int | None) -> tuple:
    """:func:`_compile`, each ``touch_frame`` with :data:`frame.PLACEHOLDERS` loads, and
    compiled again with more only if the frame needs them (none of rvai's kernels does)."""
    touches = frame.PLACEHOLDERS
    while True:
        try:
            return _compile(fn, target, vlen, touches)
        except frame.TooFew as short:   # more each time, and at most frame.MOST: it ends
            if short.needed <= touches:   # a touch lost placeholders: more would not help
                raise RuntimeError(f"{short}, and had {touches}") from None
            touches = short.needed


# Vector ops that Zvfhmin allows on f16 vectors (with conversions only to and from f32);
# everything else on f16 vectors needs Zvfh. (Scalar f16 arithmetic without Zfh becomes
# calls of compiler-runtime routines: fine under qemu, a clear link error in the emulator.)
_ZVFHMIN_OPS = {"vload", "vstore", "vbitcast", "vcast"}


def check_half_precision(fn: ir.Function, target: Target) -> None:
    """Raise :class:`rvai.ir.IRError` at the first op using f16 vectors in a way ``target``
    cannot compile (LLVM would abort the process instead: "Scalarization of scalable vectors")."""
    target = Target.of(target)
    exts = target_extensions(target)

    def visit(op: ir.Op) -> None:
        types = [v.type for v in op.operands] + ([op.result.type] if op.result is not None else [])
        dtypes = {t.dtype for t in types if isinstance(t, (ir.VectorType, ir.ScalarType))}
        vector = any(isinstance(t, ir.VectorType) and t.dtype == ir.f16 for t in types)
        if vector and "zvfh" not in exts and not (
                "zvfhmin" in exts and op.opcode in _ZVFHMIN_OPS and dtypes <= {ir.f16, ir.f32, ir.i64}):
            raise ir.IRError(f"{op.opcode} on f16 vectors needs the Zvfh extension, which target "
                             f"{target.name!r} lacks: pass f32 tensors, or compile for a target with Zvfh", op.loc)
    ir.walk(fn.body, visit)


def _store(folder: Path, c: CompiledKernel) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files = {"opt.ll": c.llvm_ir, "input.ll": c.llvm_ir_unoptimized, "kernel.o": c.elf, "rvai.ir": c.ir,
                 # last: a reader takes an entry with meta.json as whole
                 "meta.json": json.dumps({"name": c.name, "vlen": c.vlen, "checks": c.checks, "lines": c.lines,
                                          "loops": c.loops})}
        size = sum(diskcache.write_whole(folder / name, data).st_size for name, data in files.items())
    except OSError:
        return  # the disk cache is an optimisation: a read-only home must not break compiling
    diskcache.stored(size)
