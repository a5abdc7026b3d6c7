"""``CompiledKernel.asm``, made at its first read instead of at every compile: whichever way
it is made (from the module the compile kept, from the disk cache's ``kernel.s``, or by
compiling the kernel's LLVM IR again), it is the text the eager compile gives, and the
object is that compile's byte for byte. The oracle is the compile every kernel had before: parse,
optimise, emit the object and then the assembly in one go (:func:`_eager`)."""
import dataclasses
import pickle

import llvmlite.binding as llvm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from rvai import codegen, kernels, ops, runner
from rvai.codegen import backend, frame, ime, standin
from rvai.target import TRIPLE, Target

#: (kernel, preset, compile keywords): plain kernels, stand-ins (c930's cbo.zero in the norms,
#: the X60's IME tiles at VLEN 256), a kernel touching its frame (gemm_packed's KTILE)
#: and attention; VLA, and specialised for a VLEN (rmsnorm at 512 on generic, whose least is 128).
CASES = [
    (kernels.softmax, "generic", {"LMUL": 2}),
    (kernels.softmax, "xuantie-c930", {"ZERO": "row"}),
    (kernels.rmsnorm, "xuantie-c930", {"LMUL": 2}),
    (kernels.rmsnorm, "generic", {"vlen": 512}),
    (kernels.gemm_packed, "generic", {"types": {"a": rl.f32, "bp": rl.f32, "ap": rl.f32}, "MR": 4, "KC": 64}),
    (kernels.gemm_packed, "sifive-x280", {"types": {"a": rl.f16, "bp": rl.f16, "ap": rl.f16}, "MR": 7, "KC": 256,
                                          "KTILE": True, "WIDEN": True}),
    (kernels.gemm_i8_tiles, "spacemit-x60", {"types": {"ap": rl.i8, "bp": rl.i8}, "vlen": 256}),
    (kernels.attention, "spacemit-x60", {"CAUSAL": True, "BM": 4}),
]


def _eager(compiled: codegen.CompiledKernel) -> tuple[bytes, str]:
    """The object and assembly that compiling ``compiled``'s LLVM IR gives the way every compile
    did before the text was deferred: parse, O3, the object, then the assembly, in one go
    (and the stand-ins and frame touches patched in both)."""
    target = compiled.target
    if compiled.vlen is not None:
        target = dataclasses.replace(target, min_vlen=compiled.vlen, vlen=compiled.vlen)
    standins = standin.used(compiled.llvm_ir_unoptimized, [ime.STANDIN, standin.CBO_ZERO])
    tm = backend._machine(target.cpu, ",".join((target.llvm_features,) + ((standin.FEATURE,) if standins else ())))
    with backend._LOCK:
        module = llvm.parse_assembly(compiled.llvm_ir_unoptimized)
        module.triple = TRIPLE
        module.data_layout = str(tm.target_data)
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = pto.slp_vectorization = True
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(module, pb)
        obj, asm = tm.emit_object(module), backend._without_debug_sections(tm.emit_assembly(module))
    if standins:
        obj, words = standin.patch_object(obj, standins)
        asm = standin.patch_assembly(asm, standins, words)
    if frame.used(compiled.llvm_ir_unoptimized):   # the touches' offsets, from the object's own extent
        obj, extent, words = frame.patch_object(obj)
        asm = frame.patch_assembly(asm, extent, words)
    return obj, asm


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty compile cache, in memory and on disk (``tmp_path``)."""
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(codegen, "_MEMORY", {})
    monkeypatch.setattr(runner, "_COMPILED", {})
    return tmp_path


def _compile(case) -> codegen.CompiledKernel:
    kernel, preset, kw = case
    return kernel.compile(Target.preset(preset), checked=False, **kw)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].name}-{c[1]}")
@settings(max_examples=2, deadline=None)
@given(others=st.integers(0, 2))
def test_the_assembly_made_at_the_first_read_is_the_eager_compiles(case, others, tmp_path_factory):
    """Read after ``others`` other compiles (which use the same LLVM target machine), from the
    module the compile kept: the eager compile's text, and its object."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setattr(codegen, "_MEMORY", {})
        mp.setattr(runner, "_COMPILED", {})
        compiled = _compile(case)
        assert compiled._assembly.text is None and compiled._assembly.emit is not None   # not made yet
        for lmul in (1, 4)[:others]:
            kernels.softmax.compile(Target.preset(case[1]), checked=False, LMUL=lmul)
    obj, asm = _eager(compiled)
    assert compiled.elf == obj
    assert compiled.asm == asm


@pytest.mark.parametrize("case", CASES[1:4] + CASES[6:7], ids=lambda c: f"{c[0].name}-{c[1]}")
def test_a_kernel_from_the_disk_cache_gives_its_assembly(case, fresh, monkeypatch):
    """Loaded from the disk cache before its text was ever made: made by compiling its LLVM IR
    again (checked against the object), kept as kernel.s, and read from there the next time
    without compiling."""
    first = _compile(case)
    assert not list(fresh.rglob("kernel.s"))        # a compile writes no text
    monkeypatch.setattr(codegen, "_MEMORY", {})
    monkeypatch.setattr(runner, "_COMPILED", {})
    loaded = _compile(case)
    assert loaded is not first and loaded._assembly.emit is None
    obj, asm = _eager(first)
    assert loaded.elf == obj and loaded.asm == asm
    files = list(fresh.rglob("kernel.s"))
    assert len(files) == 1 and files[0].read_text() == asm
    monkeypatch.setattr(codegen, "_MEMORY", {})
    monkeypatch.setattr(runner, "_COMPILED", {})
    monkeypatch.setattr(codegen, "_compile_module", lambda *a, **k: pytest.fail("compiled again"))
    assert _compile(case).asm == asm
    assert first.asm == asm                          # its kept module, or kernel.s: the same


def test_an_old_compiles_module_is_dropped_and_its_text_made_again(fresh, monkeypatch):
    """Past :data:`rvai.codegen._LIVE_MODULES` later compiles a kernel's module is no longer
    kept; its text then comes from a compile again, the same."""
    monkeypatch.setattr(codegen, "_LIVE_MODULES", 1)
    first = _compile(CASES[0])
    assert first._assembly.emit is not None
    second = _compile(CASES[2])
    assert first._assembly.emit is None and second._assembly.emit is not None
    assert not list(fresh.rglob("kernel.s"))
    assert first.asm == _eager(first)[1]


def test_copies_share_one_text_and_a_pickled_kernel_keeps_its_own(fresh):
    """A kernel found in memory for another target of the same code (another VLEN) is a copy that
    shares the text (made once); a pickled kernel carries the text if made, else makes it."""
    plain = codegen.compile_function(kernels.softmax.trace(LMUL=2), "generic")
    copy = codegen.compile_function(kernels.softmax.trace(LMUL=2), Target.preset("generic").with_vlen(1024))
    assert copy is not plain and copy._assembly is plain._assembly
    unmade = pickle.loads(pickle.dumps(plain))
    assert unmade._assembly.emit is None and unmade._assembly.text is None
    text = plain.asm
    assert copy._assembly.text is text and pickle.loads(pickle.dumps(plain)).asm == text == unmade.asm


def test_stand_in_counts_are_checked_when_the_text_is_made():
    """patch_assembly refuses a text whose stand-ins are not as many as the object's."""
    with pytest.raises(RuntimeError, match="stand-ins: 1 in the object, 0 in the assembly"):
        standin.patch_assembly("\tret\n", [standin.CBO_ZERO], 1)
    line = "\tsf.vc.x\t3, 31, 31, a0\n"
    assert standin.patch_assembly(line, [standin.CBO_ZERO], 1) == "\tcbo.zero\t(a0)\n"


#: Targets with Zvfh, without, through the cpu, and with Zvfhmin alone.
ZVFH_TARGETS = {name: Target.preset(name) for name in ("generic", "generic-novfh", "sifive-x280", "xuantie-c930")}
ZVFH_TARGETS["zvfhmin"] = dataclasses.replace(ZVFH_TARGETS["generic-novfh"], name="zvfhmin",
                                              features=ZVFH_TARGETS["generic-novfh"].features + ("+zfhmin", "+zvfhmin"))


@pytest.mark.parametrize("name", ZVFH_TARGETS)
def test_zvfh_is_read_from_the_targets_arch_string_as_from_a_gemm_kernels(name):
    """ops decides vfwmacc by the target's extensions, as it did by the arch line of a compiled
    gemm_packed (the oracle: that line, as the old probe read it)."""
    target = ZVFH_TARGETS[name]
    arch = [ln for ln in kernels.gemm_packed.compile(target, types={"a": rl.f32, "bp": rl.f32, "ap": rl.f32})
            .asm.splitlines() if ".attribute\t5" in ln]
    assert ops._has_zvfh(target) == (bool(arch) and "zvfh1p0" in arch[0])
