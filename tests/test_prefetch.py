"""Zicbop's prefetch.r/w: the ISA's rules (a hint: never a fault, no architectural
effect), the timing model's (on a target with Zicbop the line is filled while the core
goes on, its first use hits, its DRAM bytes are counted; elsewhere nothing), and the
DSL's ``Tensor.prefetch`` (LLVM's prefetch intrinsic: prefetch.r/w with Zicbop, nothing
without)."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rvai.lang as rl
from rvai.emu import Machine
from rvai.emu.profile import timing_params
from rvai.target import Target
from tests.conftest import CODE, load_program

WITH = Target.preset("spacemit-x60")   # RVA22: Zicbop (rvai/target.py, CPU_EXTENSIONS)
WITHOUT = dataclasses.replace(WITH, name="x60-nozicbop", features=WITH.features + ("-zicbop",))
PREFETCHES = ["prefetch.r", "prefetch.w", "prefetch.i"]


def timed(target: Target, **model) -> Machine:
    m = Machine(target)
    m.set_timed(True, {**target.model, **model})
    return m


def test_the_targets_say_who_has_zicbop():
    assert "zicbop" in WITH.extensions and "zicbop" not in WITHOUT.extensions
    assert "zicbop" in Target.preset("xuantie-c930").extensions       # RVA23
    assert "zicbop" not in Target.preset("sifive-x280").extensions    # LLVM's x280 has none


# ---- the ISA: a hint never faults and changes nothing ----------------------------

@settings(max_examples=30, deadline=None)
@given(kinds=st.lists(st.sampled_from(PREFETCHES), min_size=1, max_size=12),
       offsets=st.lists(st.integers(-64, 63).map(lambda k: 32 * k), min_size=12, max_size=12),
       where=st.sampled_from(["buffer", "unmapped", "page0", "code", "readonly"]),
       target=st.sampled_from([WITH, WITHOUT]), is_timed=st.booleans())
def test_a_prefetch_never_faults_and_has_no_architectural_effect(kinds, offsets, where, target, is_timed):
    m = Machine(target, timed=is_timed)
    buf = m.alloc(np.arange(2048, dtype=np.uint64), align=4096)
    ro = m.alloc(4096, align=4096)
    m.protect(ro, 4096, "r")
    base = {"buffer": buf + 4096, "unmapped": 0x3_0000_0000, "page0": 64, "code": CODE + 2048,
            "readonly": ro + 2048}[where]
    lines = [f"{k} {off}(a0)" for k, off in zip(kinds, offsets)]
    load_program(m, lines + ["jalr zero, 0(ra)"])
    before = m.read(buf, np.uint64, 2048).copy()
    m.call(CODE, base, 11, 22, ret=None)
    # ori x0 writes nothing: a0..a2 keep their arguments, memory its contents
    assert [m.x(10), m.x(11), m.x(12)] == [base, 11, 22] and m.x(0) == 0
    assert np.array_equal(m.read(buf, np.uint64, 2048), before)
    assert m.instret == len(lines) + 1


# ---- the timing model -----------------------------------------------------------

def _prefetch_then_load(kind: str, wait: int) -> list[str]:
    """A prefetch of a1's line, `wait` cycles of a counted loop, then a load of it used at once."""
    return [f"{kind} 0(a1)", f"addi t0, zero, {wait}", "addi t0, t0, -1", "bne t0, zero, -4",
            "ld a0, 0(a1)", "add a0, a0, a0", "jalr zero, 0(ra)"]


@pytest.mark.parametrize("kind", ["prefetch.r", "prefetch.w"])
def test_a_prefetched_line_then_hits_and_its_bytes_are_counted(kind):
    runs = {}
    for target in (WITH, WITHOUT):
        m = timed(target, prefetch_degree=0)   # only the program's prefetch
        p = timing_params(m.model)
        buf = m.alloc(4096, align=4096)
        load_program(m, _prefetch_then_load(kind, 2 * (p.l2_latency + p.dram_latency)))
        m.reset_counters()
        m.call(CODE, 0, buf + 128, ret=None)
        runs[target.name] = m.profile()
    on, off = runs[WITH.name], runs[WITHOUT.name]
    # with Zicbop the load hits the line the prefetch brought, which came from DRAM once
    assert on.caches["L1"]["misses"] == 0 and on.caches["prefetches"]["software"] == 1
    assert on.dram_bytes["read"] == p.line
    assert on.stalls["memory"] <= p.l1_latency
    # without it the prefetch is an ori: the load misses and waits for memory
    assert off.caches["L1"]["misses"] == 1 and off.caches["prefetches"]["software"] == 0
    assert off.dram_bytes["read"] == p.line
    assert off.stalls["memory"] >= p.l2_latency + p.dram_latency - p.l1_latency
    assert on.cycles < off.cycles and on.instret == off.instret


@pytest.mark.parametrize("preset", ["spacemit-x60", "xuantie-c930"])
def test_prefetches_do_not_stall_the_pipe_and_book_dram(preset):
    target = Target.preset(preset)
    m = timed(target, prefetch_degree=0)
    p = timing_params(m.model)
    n = 2048 // p.line
    buf = m.alloc(4096, align=4096)
    load_program(m, [f"prefetch.r {k * p.line}(a0)" for k in range(n)] + ["jalr zero, 0(ra)"])
    m.reset_counters()
    m.call(CODE, buf, ret=None)
    cold = m.profile()
    assert cold.caches["prefetches"]["software"] == n and cold.dram_bytes["read"] == n * p.line
    assert sum(cold.stalls.values()) == 0    # nothing waits for the lines
    # the lines took the DRAM channel's time: the run ends when the last is in
    assert cold.cycles >= n * p.line / p.dram_bytes_per_cycle
    m.reset_counters()
    m.call(CODE, buf, ret=None)
    warm = m.profile()   # all in L1 now: nothing to fetch
    assert warm.caches["prefetches"]["software"] == 0 and warm.dram_bytes["read"] == 0


@pytest.mark.parametrize("where", ["unmapped", "readonly-w"])
def test_a_prefetch_of_an_address_it_may_not_touch_does_nothing(where):
    m = timed(WITH, prefetch_degree=0)
    ro = m.alloc(4096, align=4096)
    m.protect(ro, 4096, "r")
    kind, addr = ("prefetch.r", 0x3_0000_0000) if where == "unmapped" else ("prefetch.w", ro)
    load_program(m, [f"{kind} 0(a0)", "jalr zero, 0(ra)"])
    m.reset_counters()
    m.call(CODE, addr, ret=None)
    prof = m.profile()
    assert prof.caches["prefetches"]["software"] == 0 and prof.dram_bytes["read"] == 0


@pytest.mark.parametrize("kind", ["prefetch.r", "prefetch.w"])
def test_a_prefetched_code_page_still_sees_a_store_to_its_code(kind):
    """A prefetch puts the page it found mapped into the TLB (so the next
    prefetches and loads of the page skip the region search), with the rules a
    load or store would put it there by: a writable code page stays out of the
    write TLB, so the store that patches an instruction still reaches the
    decode cache (the ISA: after fence.i the fetch sees the store)."""
    from rvai.emu.isa import assemble
    m = timed(WITH, prefetch_degree=0)
    words = [f"{kind} 0(a0)", "sw a1, 0(a0)", "fence.i", "jal zero, 4", "addi a0, zero, 1", "jalr zero, 0(ra)"]
    m.map(CODE, 4096, "rwx")
    m.write(CODE, np.array([assemble(w) for w in words], np.uint32))
    patched = CODE + 16   # the addi
    m.reset_counters()
    # the first call rewrites the addi with itself: it runs (and is decoded) as it was
    assert m.call(CODE, patched, assemble("addi a0, zero, 1")) == 1
    assert m.profile().caches["prefetches"]["software"] == 1   # the prefetch did search the regions
    assert m.call(CODE, patched, assemble("addi a0, zero, 42")) == 42


def test_a_load_of_a_write_only_page_a_prefetch_w_found_still_faults():
    """The page prefetch.w found mapped goes into the write TLB only: a load of
    it still meets the region's permissions (the ISA: an access fault)."""
    from rvai.emu.errors import LoadFault
    m = timed(WITH, prefetch_degree=0)
    wo = m.alloc(4096, align=4096)
    m.protect(wo, 4096, "w")
    load_program(m, ["prefetch.w 0(a0)", "lw a0, 0(a0)", "jalr zero, 0(ra)"])
    with pytest.raises(LoadFault):
        m.call(CODE, wo)
    assert m.profile().caches["prefetches"]["software"] == 1


# ---- the DSL ----------------------------------------------------------------------

@rl.kernel
def copy_ahead(x: rl.Tensor[rl.f32], y: rl.Tensor[rl.f32], DIST=64, WRITE=False):
    for vl, i in rl.vloop(x.shape[0], sew=32, lmul=1):
        x.prefetch(i + DIST)        # past the end on the last strips: a hint never faults
        y.prefetch(i + DIST, write=True)
        y.vstore(x.vload(i) * 2.0, i)


@pytest.mark.parametrize("target,has", [(WITH, True), (WITHOUT, False), (Target.preset("generic"), False)])
def test_tensor_prefetch_lowers_to_zicbop_or_to_nothing(target, has):
    asm = copy_ahead.compile(target, types={"x": rl.f32, "y": rl.f32}).asm
    mnemonics = {line.split()[0] for line in asm.splitlines() if line.startswith("\t") and line.split()}
    assert ("prefetch.r" in mnemonics and "prefetch.w" in mnemonics) == has
    assert has or not any(name.startswith("prefetch") for name in mnemonics)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(0, 300), dist=st.integers(-100, 5000), vlen=st.sampled_from([128, 256, 512, 1024]),
       checked=st.booleans())
def test_a_kernel_that_prefetches_computes_what_numpy_does(n, dist, vlen, checked):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    y = np.zeros_like(x)
    copy_ahead(x, y, DIST=dist, target=WITH.with_vlen(max(vlen, WITH.min_vlen)), checked=checked)
    np.testing.assert_array_equal(y, x * np.float32(2))


def test_prefetch_rejects_a_non_bool_write():
    @rl.kernel
    def bad(x: rl.Tensor[rl.f32]):
        x.prefetch(0, write=1)
    with pytest.raises(rl.KernelError, match="True or False"):
        bad.compile(types={"x": rl.f32})
