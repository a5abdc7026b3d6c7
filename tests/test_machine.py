"""The Machine API: calls by the psABI, memory, and every kind of bad stop
surfacing as a clear exception."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import (BudgetExceeded, FetchFault, IllegalInstruction, LoadFault, Machine,
                      StoreFault, f32)
from tests.conftest import CODE, load_program

U64 = st.integers(0, 2**64 - 1)


@given(a=U64, b=U64)
@settings(max_examples=50, deadline=None)
def test_call_passes_integer_args_and_returns_a0(a, b):
    m = Machine(vlen=128)
    load_program(m, ["add a0, a0, a1", "jalr zero, 0(ra)"])
    assert m.call(CODE, a, b, ret="u64") == (a + b) % 2**64


def test_call_spills_integer_args_past_a7_to_the_stack():
    m = Machine(vlen=128)
    # Sum of the 9th and 10th arguments, which the psABI puts at 0(sp) and 8(sp).
    load_program(m, ["ld a0, 0(sp)", "ld a1, 8(sp)", "add a0, a0, a1", "jalr zero, 0(ra)"])
    assert m.call(CODE, *range(8), 1000, 234) == 1234


def test_float_args_are_nan_boxed_singles():
    m = Machine(vlen=128)
    load_program(m, ["jalr zero, 0(ra)"])
    m.call(CODE, f32(1.5), 2.5, ret=None)
    assert m.f(10) == 0xFFFFFFFF_3FC00000          # 1.5f boxed
    assert m.f(11) == np.float64(2.5).view(np.uint64)


def test_alloc_write_read_round_trip():
    m = Machine(vlen=128)
    a = np.arange(1000, dtype=np.float32)
    addr = m.alloc(a)
    assert addr % 64 == 0
    np.testing.assert_array_equal(m.read(addr, np.float32, a.shape), a)
    big = m.alloc(3 << 20)   # grows the arena past one chunk
    m.write(big + (3 << 20) - 4, np.array([7], np.int32))
    assert m.read(big + (3 << 20) - 4, np.int32, 1)[0] == 7


def test_load_from_unmapped_memory_names_pc_and_address():
    m = Machine(vlen=128)
    load_program(m, ["ld a0, 0(a0)", "jalr zero, 0(ra)"])
    with pytest.raises(LoadFault) as e:
        m.call(CODE, 0xDEAD0000)
    assert e.value.addr == 0xDEAD0000 and e.value.pc == CODE
    assert "ld\ta0, 0(a0)" in str(e.value)


def test_store_to_text_faults():
    m = Machine(vlen=128)
    load_program(m, ["sw zero, 0(a0)", "jalr zero, 0(ra)"])
    with pytest.raises(StoreFault) as e:
        m.call(CODE, CODE)
    assert e.value.addr == CODE


def test_wild_jump_is_a_fetch_fault():
    m = Machine(vlen=128)
    load_program(m, ["jalr zero, 0(a0)"])
    with pytest.raises(FetchFault) as e:
        m.call(CODE, 0x123456780)
    assert e.value.pc == 0x123456780


def test_illegal_instruction():
    m = Machine(vlen=128)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.array([0xFFFFFFFF, 0], np.uint32))
    with pytest.raises(IllegalInstruction) as e:
        m.call(CODE)
    assert "0xffffffff" in str(e.value)


def test_runaway_loop_hits_the_budget():
    m = Machine(vlen=128)
    load_program(m, ["jal zero, 0"])
    with pytest.raises(BudgetExceeded):
        m.call(CODE, budget=100_000)
    assert m.instret == 100_000


def test_self_modifying_store_is_seen_by_the_next_fetch():
    m = Machine(vlen=128)
    from rvai.emu.isa import assemble
    # The code page is rwx: patch the instruction at CODE+12 then run it.
    words = [assemble("sw a1, 12(a0)"), assemble("fence.i"), assemble("jal zero, 4"),
             assemble("addi a0, zero, 1"), assemble("jalr zero, 0(ra)")]
    m.map(CODE, 4096, "rwx")
    m.write(CODE, np.array(words, np.uint32))
    assert m.call(CODE, CODE, assemble("addi a0, zero, 42")) == 42
