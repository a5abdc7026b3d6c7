"""llvmlite backend: LLVM IR text -> optimised module -> ELF object and assembly text."""
from __future__ import annotations

import contextlib
import functools
import re
import threading
from typing import TYPE_CHECKING, Callable

from rvai.target import ABI, TRIPLE, Target

if TYPE_CHECKING:
    import llvmlite.binding as llvm

_LOCK = threading.Lock()   # also keeps a checked compile's unswitch threshold (below) to itself
_ARCH = re.compile(r'^\s*\.attribute\s+5,\s*"([^"]*)"', re.M)


@functools.cache
def _initialise() -> llvm.Target:
    # llvmlite.binding loads libLLVM (~30 ms): imported by the functions that compile, so
    # a process whose kernels all come from the disk cache never pays it.
    import llvmlite.binding as llvm
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    return llvm.Target.from_triple(TRIPLE)


@functools.cache
def _machine(cpu: str, features: str) -> llvm.TargetMachine:
    return _initialise().create_target_machine(
        cpu=cpu, features=features, opt=3, reloc="pic", codemodel="small", abiname=ABI)


def target_machine(target: Target) -> llvm.TargetMachine:
    """The llvmlite target machine for ``target`` (validated by ``Target`` beforehand)."""
    target = Target.of(target)
    return _machine(target.cpu, target.llvm_features)


def compile_llvm_ir(text: str, target: Target, *, optimize: bool = True,
                    extra_features: tuple[str, ...] = ()) -> tuple[str, bytes, str]:
    """Parse, verify and O3-optimise LLVM IR ``text``; return (optimised IR, object, asm).

    ``extra_features`` are LLVM features beyond the target's, for instruction selection
    only (the IME stand-in's ``+xsfvcp``, see :mod:`rvai.codegen.ime`).
    Raises ``RuntimeError`` carrying LLVM's message if the IR does not parse or verify.
    """
    opt, obj, assembly = _compile_module(text, target, optimize=optimize, extra_features=extra_features)
    return opt, obj, assembly()


def _compile_module(text: str, target: Target, *, optimize: bool = True,
                    extra_features: tuple[str, ...] = ()) -> tuple[str, bytes, Callable[[], str]]:
    """:func:`compile_llvm_ir`, with the assembly text left to be made: (optimised IR, object,
    ``assembly``), where ``assembly()`` gives the text :func:`compile_llvm_ir` gives (made at
    its first call, from the module kept until ``assembly`` is dropped).

    The text cannot be made again from the optimised IR: LLVM's code generation depends on
    the order of each value's uses, which the printed IR does not keep, and it changes the
    module it emits from (the object is emitted first; the assembly from what that left).
    """
    import llvmlite.binding as llvm   # loads libLLVM: see _initialise
    target = Target.of(target)
    with _LOCK:
        tm = _machine(target.cpu, ",".join((target.llvm_features,) + tuple(extra_features)))
        if "!llvm.dbg.cu" in text:
            # LLVM's parser aborts the process on a broken module that carries debug info
            # ("Broken module found"); without it the same mistake is a RuntimeError here.
            llvm.parse_assembly(_without_debug_info(text)).verify()
        module = llvm.parse_assembly(text)
        module.triple = TRIPLE
        module.data_layout = str(tm.target_data)
        module.verify()
        if optimize:
            with _unswitch_threshold(_CHECKED_THRESHOLD if _is_checked(text) else _DEFAULT_THRESHOLD):
                pto = llvm.create_pipeline_tuning_options(speed_level=3)
                pto.loop_vectorization = True
                pto.slp_vectorization = True
                pb = llvm.create_pass_builder(tm, pto)
                pb.getModulePassManager().run(module, pb)
            module.verify()
        opt, obj = str(module), tm.emit_object(module)

    @functools.cache
    def assembly() -> str:
        with _LOCK:
            return _without_debug_sections(tm.emit_assembly(module))
    return opt, obj, assembly


# O3's SimpleLoopUnswitch clones a loop (nest) to hoist a branch on a condition invariant in
# it. In a checked build (``RVAI_CHECKED``, the test suite) every tensor access is preceded by
# a bounds check, ``br i1 %ok, label %inbounds, label %trap`` (lower.op_bounds); a check whose
# condition does not change in an inner loop gets the loop nest cloned for it, again for the
# next check and again in the clones: 45-91 % of a checked kernel's O3 (docs/performance.md,
# "Checked compiles without non-trivial loop unswitching"). Threshold 1 stops every non-trivial
# unswitch (a candidate costs >= 1; 0 breaks an LLVM assertion, ``CostMultiplier <=
# threshold``) and keeps the trivial ones, which hoist a check without cloning. The option is
# process-global (LLVM's ``cl::opt``), read only by non-trivial unswitching, which runs in O3
# pipelines: ours, each built and run under _LOCK, so set and restored inside it; the
# translating tier's pipelines (rvai/emu/jit_llvm.py, its own lock) are O1 and never read it.
_DEFAULT_THRESHOLD, _CHECKED_THRESHOLD = 50, 1     # LLVM's default, and none non-trivial


def _is_checked(text: str) -> bool:
    """Whether LLVM IR ``text`` is a checked build's: lower.op_bounds stores a failed check in
    the kernel's ``<name>.bounds`` global, which only a function with checks has."""
    return '.bounds" = internal global' in text


@contextlib.contextmanager
def _unswitch_threshold(threshold: int):
    """LLVM's non-trivial unswitch cost threshold set to ``threshold`` for the block (call
    under _LOCK), then back to LLVM's default whatever the block raised."""
    if threshold == _DEFAULT_THRESHOLD:
        yield
        return
    import llvmlite.binding as llvm   # already loaded by the compile this runs in
    llvm.set_option("rvai", f"-unswitch-threshold={threshold}")
    try:
        yield
    finally:
        llvm.set_option("rvai", f"-unswitch-threshold={_DEFAULT_THRESHOLD}")


def _without_debug_sections(asm: str) -> str:
    """Assembly text without its DWARF sections (kept in the object; ``.loc`` lines stay)."""
    out, debug = [], False
    for line in asm.splitlines(keepends=True):
        if line.startswith("\t.section"):
            debug = line.startswith("\t.section\t.debug_")
        if not debug:
            out.append(line)
    return "".join(out)


def _without_debug_info(text: str) -> str:
    """LLVM IR text from :mod:`rvai.codegen.lower` with its debug metadata and ``!dbg`` tags removed."""
    return _DBG.sub("", text.split("!llvm.dbg.cu")[0])


_DBG = re.compile(r",? !dbg !\d+")


def enabled_extensions(asm: str) -> list[str]:
    """Extension names in the ``.attribute 5`` (arch) line of assembly text from LLVM."""
    match = _ARCH.search(asm)
    if match is None:
        raise ValueError("no '.attribute 5' arch line in the assembly")
    parts = match.group(1).split("_")
    names = [re.sub(r"\d+p\d+$", "", p) for p in parts]
    base = names[0]
    if not base.startswith("rv64"):
        raise ValueError(f"unexpected arch string {match.group(1)!r}")
    return [base[len("rv64"):]] + names[1:]


_EXTENSIONS: dict[str, frozenset[str]] = {}


def target_extensions(target: Target) -> frozenset[str]:
    """The extensions LLVM enables for ``target`` (its cpu's and the features), read from the
    arch attribute of a trivial compiled function; cached per target key."""
    target = Target.of(target)
    if target.key not in _EXTENSIONS:
        asm = compile_llvm_ir("define void @probe() {\n  ret void\n}\n", target)[2]
        _EXTENSIONS[target.key] = frozenset(enabled_extensions(asm))
    return _EXTENSIONS[target.key]
