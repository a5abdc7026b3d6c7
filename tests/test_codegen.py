"""Compiler output: intrinsics used, no libm or stray symbols, caching, VLEN specialisation, running, layering."""
import ast
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from kernel_runners import RUNNERS, VLENS, run, target
from rvai import codegen, ir
from rvai import runner as runner_mod
from rvai.codegen import backend
from rvai.kernels import attention, matmul, rmsnorm, softmax
from rvai.target import Target

ALLOWED_UNDEFINED = {"memcpy", "memset", "memmove"}


@pytest.mark.parametrize("preset", Target.presets())
def test_kernels_compile_for_every_preset_without_foreign_symbols(preset):
    target = Target.preset(preset)
    f16 = rl.f16 if "novfh" not in preset else rl.f32
    types = {"a": f16, "b": f16, "bp": f16, "ap": f16}
    for c in (matmul.compile(target, types=types), softmax.compile(target), rmsnorm.compile(target),
              attention.compile(target, CAUSAL=True)):
        assert set(c.undefined_symbols()) <= ALLOWED_UNDEFINED, c.undefined_symbols()
        assert c.elf[:4] == b"\x7fELF" and f"{c.name}:" in c.asm


def test_matmul_inner_loop_is_vfmacc_vf_and_vector_length_agnostic():
    c = matmul.compile(Target.preset("generic"), types={"a": rl.f32, "b": rl.f16, "bp": rl.f16, "ap": rl.f32})
    assert "vfmacc.vf" in c.asm and "vfwcvt.f.f.v" in c.asm and "vsetvli" in c.asm
    assert "llvm.riscv.vfmacc" in c.llvm_ir_unoptimized and "vscale" in c.llvm_ir
    assert "vlenb" not in c.asm or "csrr" in c.asm  # VLA code reads vlenb at run time, never assumes it
    assert c.asm.count("vfmacc.vf") >= 7  # MR = 7 accumulators
    w = matmul.compile(Target.preset("generic"), types={"a": rl.f16, "b": rl.f16, "bp": rl.f16, "ap": rl.f16}, WIDEN=True)
    assert w.asm.count("vfwmacc.vf") >= 7 and "vfwcvt" not in w.asm


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
    first.asm   # made at the first read, and kept in the cache too (tests/test_codegen_asm.py)
    monkeypatch.setattr(codegen, "_MEMORY", {})
    monkeypatch.setattr(codegen, "_compile_module", lambda *a, **k: pytest.fail("cache missed"))
    again = codegen.compile_function(softmax.trace(LMUL=2), target)
    assert again.elf == first.elf and again.asm == first.asm
    other = softmax.trace(LMUL=1)
    monkeypatch.undo()
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))
    assert codegen.compile_function(other, target).elf != first.elf


@rl.kernel
def saxpy(a: rl.f32, x: rl.Tensor[rl.f32], y: rl.Tensor[rl.f32]):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=4):
        y.vstore(a * x.vload(i) + y.vload(i), i)


@rl.kernel
def iaxpy(a: rl.i32, x: rl.Tensor[rl.i32], y: rl.Tensor[rl.i32]):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=2):
        y.vstore(a * x.vload(i) + y.vload(i), i)


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("kern, dtype", [(saxpy, np.float32), (iaxpy, np.int32)])
def test_one_object_runs_at_every_vlen(runner, kern, dtype):
    n = 1000
    objects, instret = set(), []
    for vlen in VLENS:
        x, y = np.arange(n, dtype=dtype), np.ones(n, dtype)
        record = run(kern, 3, x, y, runner=runner, vlen=vlen)
        np.testing.assert_array_equal(y, 3 * x + 1)
        assert record.vlen == vlen and record.compiled.vlen is None
        objects.add(id(record.compiled))
        instret.append(record.instret)
    assert len(objects) == 1     # the same vector-length-agnostic object at every VLEN
    if runner == "emu":          # strip-mining: each doubling of VLEN halves the trips
        assert all(a > b > 0 for a, b in zip(instret, instret[1:])), instret


def test_specialised_object_folds_vlmax():
    target = Target.preset("generic")
    vla, fixed = softmax.compile(target), softmax.compile(target, vlen=512)
    assert fixed.vlen == 512 and vla.vlen is None
    assert "vscale_range(8,8)" in fixed.llvm_ir_unoptimized and "vscale_range" not in vla.llvm_ir_unoptimized
    assert "zvl512b" in backend.enabled_extensions(fixed.asm) and "zvl512b" not in backend.enabled_extensions(vla.asm)
    # VLMAX at e32/m1 is a constant 16 when VLEN is 512, read from vsetvli when it is not known
    assert "vsetivli\tzero, 16, e32, m1" in fixed.asm and "vsetivli\tzero, 16, e32, m1" not in vla.asm
    with pytest.raises(ValueError, match="needs VLEN >= 128"):
        softmax.compile(target, vlen=64)


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("vlen", VLENS)
def test_specialised_object_runs_at_its_vlen_only(runner, vlen):
    x, y = np.arange(300, dtype=np.int32), np.ones(300, np.int32)
    record = run(iaxpy, 5, x, y, runner=runner, vlen=vlen, specialise=True)
    np.testing.assert_array_equal(y, 5 * x + 1)
    assert record.compiled.vlen == vlen
    other = 256 if vlen != 256 else 512
    with pytest.raises(ValueError, match=f"specialised for VLEN {vlen}"):
        runner_mod.run_compiled(record.compiled, [("ptr", x)], target(runner, other), runner)


def test_lang_imports_only_ir():
    """DESIGN.md layering: the DSL knows no compiler or emulator."""
    lang = Path(rl.__file__).parent
    for path in lang.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith("rvai.") or name.startswith(("rvai.ir", "rvai.lang")), \
                    f"{path.name} imports {name}"


@rl.kernel
def _block_sum(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32], UNROLL: bool = True):
    """o[0] = sum(x): whole LMUL-4 blocks in a runtime loop, then the tail."""
    n = x.shape[0]
    with rl.vector(n, sew=32, lmul=4) as vl0:
        acc = rl.var(rl.zeros(rl.f32))
        for j in rl.range(0, n - n % vl0, vl0, unroll=UNROLL):
            acc += x.vload(j)
        head = acc.value.sum()
    with rl.vector(n % vl0, sew=32, lmul=4):
        o[0] = head + x.vload(n - n % vl0).sum()


def test_range_unroll_false_keeps_llvm_from_unrolling_the_loop():
    """sifive-x280's cost model makes LLVM unroll a block loop 8 times (8 vle32 in the
    object besides the tail's); ``rl.range(unroll=False)`` marks that loop
    ``llvm.loop.unroll.disable`` and it stays one load a trip. The IR without the hint is
    unchanged (no loop metadata)."""
    t = Target.preset("sifive-x280")
    plain, kept = _block_sum.compile(t, UNROLL=True), _block_sum.compile(t, UNROLL=False)
    assert plain.asm.count("vle32") == 8 + 1 and kept.asm.count("vle32") == 1 + 1
    assert "llvm.loop" not in plain.llvm_ir_unoptimized
    assert '!{!"llvm.loop.unroll.disable"}' in kept.llvm_ir_unoptimized
    with pytest.raises(rl.KernelError, match="unroll must be True or False"):
        @rl.kernel
        def bad(x: rl.Tensor[rl.f32]):
            for i in rl.range(3, unroll=0):
                x[i] = 1.0
        bad.trace()


def test_rmsnorm_unroll_false_keeps_the_row_loop_rolled_too():
    """On sifive-x280 LLVM unrolls rmsnorm's row loop too (each copy of a memory
    instruction then walks every other row, a prefetch stream that retrains at each row);
    with ``UNROLL=False`` one copy of the row's fused loop and its tail store remains,
    beside the store of the row loop LLVM keeps for rows of no whole block (the shipped,
    unchecked, build)."""
    t = Target.preset("sifive-x280")
    for lmul in (4, 8):
        asm = {u: rmsnorm.compile(t, LMUL=lmul, FUSE=True, UNROLL=u, checked=False).asm for u in (True, False)}
        assert asm[True].count("vse32") > 3 and asm[False].count("vse32") == 2 + 1


@rl.kernel
def _block_sum_as(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32], CPU: str = ""):
    """:data:`_block_sum` compiled with ``CPU``'s LLVM tuning (none if "")."""
    if CPU:
        rl.schedule_as(CPU)
    _block_sum.fn(x, o)


def test_schedule_as_compiles_with_another_cpus_tuning():
    """``rl.schedule_as(cpu)`` gives the function LLVM's ``tune-cpu`` attribute: on a
    sifive-x280 target the block loop is unrolled 8 times by its own cost model (see above)
    and stays rolled with generic-rv64's, and a generic-rv64 target scheduled as
    sifive-x280 unrolls it (its instructions stay generic's: the object is VLEN-agnostic
    and runs at VLEN 128). The printed IR, the compile cache's key, names the cpu. A second,
    different cpu is an error at the author's line, an unknown name one when compiling."""
    x280, generic = Target.preset("sifive-x280"), Target.preset("generic")
    own, as_generic = _block_sum_as.compile(x280), _block_sum_as.compile(x280, CPU="generic-rv64")
    assert own.asm.count("vle32") == 8 + 1 and as_generic.asm.count("vle32") == 1 + 1
    assert '"tune-cpu"="generic-rv64"' in as_generic.llvm_ir and "tune-cpu" not in own.llvm_ir
    assert "tune_cpu='generic-rv64'" in as_generic.ir and "tune_cpu" not in own.ir
    assert _block_sum_as.compile(generic, CPU="sifive-x280").asm.count("vle32") == 8 + 1
    assert _block_sum_as.compile(generic).asm.count("vle32") == 1 + 1
    with pytest.raises(rl.KernelError, match="cpu must be one of .*not 'sifive-u74'"):
        _block_sum_as.compile(x280, CPU="sifive-u74")

    @rl.kernel
    def twice(x: rl.Tensor[rl.f32]):
        rl.schedule_as("generic-rv64")
        rl.schedule_as("generic-rv64")   # the same cpu again is fine
        rl.schedule_as("sifive-x280")
        x[0] = 1.0
    with pytest.raises(rl.KernelError, match="already scheduled as 'generic-rv64'"):
        twice.trace()


@rl.kernel
def _prefetch_or_not(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32]):
    """o[0] = 1 where the target has Zicbop (after a loop of prefetches over x), else 2."""
    if rl.target_has("zicbop"):
        for i in rl.range(0, x.shape[0], 16):
            x.prefetch(i)
        o[0] = 1.0
    else:
        o[0] = 2.0


@pytest.mark.parametrize("preset", ["generic", "spacemit-x60", "sifive-x280", "xuantie-c930"])
def test_target_has_answers_for_the_target_compiled_for(preset):
    """``rl.target_has(ext)`` is a trace-time bool from the target's extensions (the oracle:
    the cpus' lists in rvai.target, held to LLVM by test_target): the kernel takes the
    Zicbop branch, with its prefetches, only on presets with Zicbop, and elsewhere has no
    loop at all (not an empty one)."""
    t = Target.preset(preset)
    x, o = np.zeros(100, np.float32), np.zeros(1, np.float32)
    _prefetch_or_not(x, o, target=t)
    has = "zicbop" in t.extensions
    assert o[0] == (1.0 if has else 2.0)
    asm = _prefetch_or_not.compile(t, checked=False).asm   # unchecked: no bounds tests, whose branches would count
    assert ("prefetch.r" in asm) == has
    assert bool(re.search(r"\tb(ne|eq|lt|ge)", asm)) == has


def test_target_has_rejects_unknown_names_and_traces_for_no_target():
    """A name rvai does not know (a typo would otherwise read as "absent") and a trace made
    for no target are errors at the author's line; a trace given extensions answers."""
    @rl.kernel
    def ask(o: rl.Tensor[rl.f32], EXT: str = "zicbop"):
        o[0] = 1.0 if rl.target_has(EXT) else 0.0
    with pytest.raises(rl.KernelError, match="'zicbopp' is not an extension name"):
        ask.compile(Target.preset("generic"), EXT="zicbopp")
    with pytest.raises(rl.KernelError, match="'Zicbop' is not an extension name"):
        ask.compile(Target.preset("generic"), EXT="Zicbop")
    with pytest.raises(rl.KernelError, match="the extension must be a str"):
        ask.compile(Target.preset("generic"), EXT=None)
    with pytest.raises(rl.KernelError, match="this trace is for no target"):
        ask.trace()
    assert "value=1.0" in str(ask.trace(has_extension=runner_mod.extension_query(Target.preset("spacemit-x60"))))
    assert "value=0.0" in str(ask.trace(has_extension=runner_mod.extension_query(Target.preset("sifive-x280"))))


@rl.kernel
def _dispatch(h: rl.Tensor[rl.i64], o: rl.Tensor[rl.f32], TABLES: bool = True):
    """o[0] = 1.5 * h + 0.25 for h in 1..6 by one branch per value (a switch to LLVM), else o unchanged."""
    if not TABLES:
        rl.no_jump_tables()
    for v in range(1, 7):
        for _ in rl.range(rl.where(h[0] == v, 1, 0)):
            o[0] = 1.5 * v + 0.25


@pytest.mark.parametrize("runner", RUNNERS)
def test_no_jump_tables_dispatches_by_branches(runner):
    """``rl.no_jump_tables()`` compiles a switch to compares and branches: LLVM's jump table
    (a ``.LJTI`` label in .rodata, an indirect ``jr``) is there without it and gone with it,
    the printed IR names the setting, and both objects give every value's result."""
    t = Target.preset("generic")
    tables, branches = _dispatch.compile(t), _dispatch.compile(t, TABLES=False)
    assert ".LJTI" in tables.asm and ".LJTI" not in branches.asm
    assert '"no-jump-tables"="true"' in branches.llvm_ir and "no-jump-tables" not in tables.llvm_ir
    assert "no_jump_tables=True" in branches.ir and "no_jump_tables" not in tables.ir
    for use_tables in (True, False):
        for v in range(0, 8):
            o = np.full(1, -1.0, np.float32)
            run(_dispatch, np.array([v], np.int64), o, TABLES=use_tables, runner=runner, vlen=128)
            assert o[0] == (1.5 * v + 0.25 if 1 <= v <= 6 else -1.0)


@rl.kernel
def _plus_bits(x: rl.Tensor[rl.f32], o: rl.Tensor[rl.f32], s: rl.f32, BOUND: bool):
    """o = x + s, with s broadcast as its bits and read back as f32 (``rl.full(bound=BOUND)``)."""
    for vl, i in rl.vloop(x.shape[0]):
        o.vstore(x.vload(i) + rl.full(s.bitcast(rl.i32), rl.i32, bound=BOUND).bitcast(rl.f32), i)


def test_bound_splat_stays_the_vl_bound_vmv_v_x():
    """``rl.full(bound=True)`` is the ``vl``-bound ``vmv.v.x`` intrinsic, which LLVM does not
    fold: a generic splat of a float's bits, read back as f32, becomes a splat of the
    float (``vfmv.v.f``), so no integer splat is left (softmax's ``BITS`` relies on the
    difference)."""
    t = Target.preset("generic")
    plain, bound = _plus_bits.compile(t, BOUND=False), _plus_bits.compile(t, BOUND=True)
    assert "vmv.v.x" not in plain.asm and "vfmv.v.f" in plain.asm
    assert "vmv.v.x" in bound.asm and "vfmv.v.f" not in bound.asm
    assert "llvm.riscv.vmv.v.x" in bound.llvm_ir_unoptimized


@pytest.mark.parametrize("runner", RUNNERS)
@settings(max_examples=8, deadline=None)
@given(vlen=st.sampled_from(VLENS), n=st.integers(1, 300), bound=st.booleans(), seed=st.integers(0, 2**16))
def test_bound_and_generic_splats_add_like_numpy(runner, vlen, n, bound, seed):
    """Both splats put s in every element the loop's vl covers (the bound one at that vl):
    x + s rounded once to f32, as float64 NumPy's sum rounded to f32."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 100).astype(np.float32)
    s = np.float32(rng.standard_normal() * 100)
    o = np.zeros_like(x)
    run(_plus_bits, x, o, s, BOUND=bound, runner=runner, vlen=vlen)
    np.testing.assert_array_equal(o, (x.astype(np.float64) + np.float64(s)).astype(np.float32))


@pytest.mark.parametrize("runner", RUNNERS)
@settings(max_examples=8, deadline=None)
@given(vlen=st.sampled_from(VLENS), n=st.integers(1, 700), cpu=st.sampled_from(["", "generic-rv64", "sifive-x280"]),
       seed=st.integers(0, 2**16))
def test_block_sum_under_each_schedule_sums_like_numpy(runner, vlen, n, cpu, seed):
    """The block sum compiled with each cpu's tuning, at VLEN 128-1024, within the bound of
    the float64 sum."""
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    o = np.zeros(1, np.float32)
    run(_block_sum_as, x, o, CPU=cpu, runner=runner, vlen=vlen)
    assert abs(o[0] - x.astype(np.float64).sum()) <= 1e-6 * np.abs(x).astype(np.float64).sum() * 8 + 1e-30


@pytest.mark.parametrize("runner", RUNNERS)
@settings(max_examples=8, deadline=None)
@given(vlen=st.sampled_from(VLENS), n=st.integers(1, 700), unroll=st.booleans(), seed=st.integers(0, 2**16))
def test_range_with_and_without_unrolling_sums_like_numpy(runner, vlen, n, unroll, seed):
    """The loop with and without the hint (unrolled 8 times on sifive-x280, VLEN >= 512)."""
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    o = np.zeros(1, np.float32)
    preset = "sifive-x280" if runner == "emu" and vlen >= 512 else None
    run(_block_sum, x, o, UNROLL=unroll, runner=runner, vlen=vlen, preset=preset)
    assert abs(o[0] - x.astype(np.float64).sum()) <= 1e-6 * np.abs(x).astype(np.float64).sum() * 8 + 1e-30
