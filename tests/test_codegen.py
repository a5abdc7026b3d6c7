"""Compiler output: intrinsics used, no libm or stray symbols, caching, and the emulator path."""
import numpy as np
import pytest

import rvai.lang as rl
from rvai import codegen, ir
from rvai.kernels import attention, matmul, rmsnorm, softmax
from rvai.target import Target

ALLOWED_UNDEFINED = {"memcpy", "memset", "memmove"}


@pytest.mark.parametrize("preset", Target.presets())
def test_kernels_compile_for_every_preset_without_foreign_symbols(preset):
    target = Target.preset(preset)
    types = {"a": rl.f16 if "novfh" not in preset else rl.f32, "b": rl.f32}
    for c in (matmul.compile(target, types=types), softmax.compile(target), rmsnorm.compile(target),
              attention.compile(target, CAUSAL=True)):
        assert set(c.undefined_symbols()) <= ALLOWED_UNDEFINED, c.undefined_symbols()
        assert c.elf[:4] == b"\x7fELF" and f"{c.name}:" in c.asm


def test_matmul_inner_loop_is_vfmacc_vf_and_vector_length_agnostic():
    c = matmul.compile(Target.preset("generic"), types={"a": rl.f32, "b": rl.f16})
    assert "vfmacc.vf" in c.asm and "vfwcvt.f.f.v" in c.asm and "vsetvli" in c.asm
    assert "llvm.riscv.vfmacc" in c.llvm_ir_unoptimized and "vscale" in c.llvm_ir
    assert "vlenb" not in c.asm or "csrr" in c.asm  # VLA code reads vlenb at run time, never assumes it
    assert c.asm.count("vfmacc.vf") >= 4  # MR = 4 accumulators


def test_ir_printer_and_verifier():
    fn = softmax.trace()
    text = str(fn)
    assert text.startswith("func @softmax(") and "vloop" in text and "vreduce op='max'" in text
    ir.verify(fn)
    p = ir.Value(ir.ScalarType(ir.f32))
    bad = ir.Function("f", [p], ir.Block(ops=[ir.Op("bin", [p, p], {"op": "xor"}, ir.Value(p.type))]))
    with pytest.raises(ir.IRError, match="xor is not defined on float"):
        ir.verify(bad)
    stray = ir.Function("f", [], ir.Block(ops=[ir.Op("bin", [p, p], {"op": "add"}, ir.Value(p.type))]))
    with pytest.raises(ir.IRError, match="not visible"):
        ir.verify(stray)


def test_disk_cache_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(codegen, "_MEMORY", {})
    target = Target.preset("spacemit-x60")
    first = codegen.compile_function(softmax.trace(LMUL=2), target)
    files = list(tmp_path.rglob("kernel.o"))
    assert len(files) == 1 and files[0].read_bytes() == first.elf
    monkeypatch.setattr(codegen, "_MEMORY", {})
    monkeypatch.setattr(codegen, "compile_llvm_ir", lambda *a: pytest.fail("cache missed"))
    again = codegen.compile_function(softmax.trace(LMUL=2), target)
    assert again.elf == first.elf and again.asm == first.asm
    other = softmax.trace(LMUL=1)
    monkeypatch.undo()
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))
    assert codegen.compile_function(other, target).elf != first.elf


def test_emulator_runs_saxpy():
    emu = pytest.importorskip("rvai.emu")

    @rl.kernel
    def saxpy(a: rl.f32, x: rl.Tensor[rl.f32], y: rl.Tensor[rl.f32]):
        for vl, i in rl.vloop(x.shape[0], sew=32, lmul=4):
            y.vstore(a * x.vload(i) + y.vload(i), i)

    x = np.arange(100, dtype=np.float32)
    y = np.ones(100, np.float32)
    try:
        run = saxpy(3.0, x, y)
    except emu.IllegalInstruction as exc:
        pytest.skip(f"the emulator does not execute RVV yet: {exc}")
    np.testing.assert_array_equal(y, 3 * x + 1)
    assert run.instret > 0 and run.cycles > 0
