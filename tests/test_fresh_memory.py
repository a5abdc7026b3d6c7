"""Fresh guest memory from the process's pool of host blocks (csrc/mem.c).

A dropped machine's regions leave their host blocks in a bounded pool that the next
regions mapped (by any machine) take from.  Against plain oracles -- NumPy zeros with
the bytes poked in, the region table the test mapped, the bound it set -- memory that
was never written reads zero after machines that dirtied it (by guest stores and host
writes) were dropped, two live machines never share memory, accesses past a region's
end fault exactly there, and the pool never holds more than its bound (nor evicts more
than the bound asks when it is set) nor faults in the untouched pages of a sparse region.
"""
import gc
import os
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rvai.emu import LoadFault, Machine, StoreFault
from rvai.emu.machine import PAGE, lib
from tiny_elf import executable, li

MiB = 1 << 20
BASE = 0x2000_0000   # below 2^31, so that lui + addi reach it
SLOT = 0x100_0000    # regions of one test sit a slot (16 MiB) apart
EXIT = ["li a7, 93", "ecall"]


@pytest.fixture(autouse=True)
def pool_bound():
    """Each test starts with the default bound and leaves it as it found it."""
    saved = lib.rv_mem_pool_limit()
    yield
    lib.rv_mem_pool_set_limit(saved)


def store_ones(regions) -> list[str]:
    """Guest code that stores all-ones doublewords over each (address, size) region."""
    lines = ["addi a2, zero, -1"]
    for addr, size in regions:
        lines += [*li("a0", addr), *li("a1", size // 8),
                  "sd a2, 0(a0)", "addi a0, a0, 8", "addi a1, a1, -1", "bne a1, zero, -12"]
    return lines + ["li a0, 0", *EXIT]


def or_of(regions) -> list[str]:
    """Guest code that exits with 1 when any doubleword of the (address, size) regions is
    nonzero, else 0."""
    lines = ["li a4, 0"]
    for addr, size in regions:
        lines += [*li("a0", addr), *li("a1", size // 8),
                  "ld a3, 0(a0)", "or a4, a4, a3", "addi a0, a0, 8", "addi a1, a1, -1", "bne a1, zero, -16"]
    return lines + ["sltu a0, zero, a4", *EXIT]


def dirty_then_drop(pages: list[int], seed: int) -> None:
    """A machine maps regions of these page counts, dirties every byte of them (the guest's
    stores in the even ones, random host writes in the odd ones) and is dropped."""
    _dirty(pages, seed)
    gc.collect()   # (a machine that ran a process may sit in a reference cycle)


def _dirty(pages: list[int], seed: int) -> None:
    m = Machine(vlen=128)
    regions = [(BASE + i * SLOT, n * PAGE) for i, n in enumerate(pages)]
    rng = np.random.default_rng(seed)
    for i, (addr, size) in enumerate(regions):
        m.map(addr, size, "rw")
        if i % 2:
            m.write(addr, rng.integers(1, 256, size, dtype=np.uint8))
    assert m.run(["dirty"], program=executable(store_ones(regions[::2]))).exit_code == 0
    assert all(m.read(addr, np.uint8, size).all() for addr, size in regions)   # the test's own premise


pages_st = st.lists(st.integers(1, 300), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None)
@given(dirty=pages_st, fresh=st.lists(st.tuples(st.integers(1, 300), st.integers(0, 255)), min_size=1, max_size=5),
       pokes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=64)), max_size=6),
       seed=st.integers(0, 2**32 - 1))
def test_fresh_machine_reads_zero_where_it_was_not_written(dirty, fresh, pokes, seed):
    dirty_then_drop(dirty, seed)
    assert lib.rv_mem_pool_held() > 0   # the fresh regions may come from the pool
    m = Machine(vlen=128)
    regions = [(BASE + i * SLOT + skew * PAGE, n * PAGE) for i, (n, skew) in enumerate(fresh)]
    for addr, size in regions:   # drawn sizes at drawn page offsets in their slot
        m.map(addr, size, "rw")
        expect = np.zeros(size, np.uint8)
        for where, data in pokes:
            at = min(int(where * size), size - len(data)) if len(data) <= size else 0
            data = data[:size]
            m.write(addr + at, data)
            expect[at:at + len(data)] = np.frombuffer(data, np.uint8)
        np.testing.assert_array_equal(m.read(addr, np.uint8, size), expect)
    if not pokes:   # the guest's own loads see zeros too
        assert m.run(["check"], program=executable(or_of(regions))).exit_code == 0


@settings(max_examples=15, deadline=None)
@given(pages=pages_st, seed=st.integers(0, 2**32 - 1))
def test_two_live_machines_do_not_share_memory(pages, seed):
    dirty_then_drop(pages, seed)   # both may take their blocks from the pool
    a, b = Machine(vlen=128), Machine(vlen=128)
    rng = np.random.default_rng(seed)
    for i, n in enumerate(pages):
        addr, size = BASE + i * SLOT, n * PAGE
        a.map(addr, size, "rw")
        b.map(addr, size, "rw")
        data = rng.integers(1, 256, size, dtype=np.uint8)
        a.write(addr, data)
        np.testing.assert_array_equal(b.read(addr, np.uint8, size), np.zeros(size, np.uint8))
        b.write(addr, data ^ 0xFF)
        np.testing.assert_array_equal(a.read(addr, np.uint8, size), data)


def run_at_end(pages: int, lines: list[str]):
    """Run ``lines`` (a0 holding the end of a region of ``pages`` pages) on a fresh
    machine; the region's last doubleword reads 0x0102030405060708."""
    m = Machine(vlen=128)
    m.map(BASE, pages * PAGE, "rw")
    m.write(BASE + pages * PAGE - 8, np.array([0x0102030405060708], np.uint64))
    return m.run(["end"], program=executable([*li("a0", BASE + pages * PAGE), *lines, *EXIT]))


@settings(max_examples=15, deadline=None)
@given(bigger=st.integers(2, 64), pages=st.integers(1, 63), seed=st.integers(0, 2**32 - 1))
def test_accesses_fault_at_a_region_end(bigger, pages, seed):
    pages = min(pages, bigger - 1)   # a pooled block larger than the region, cut down to it
    end = BASE + pages * PAGE
    for op, fault in (("ld a1, 0(a0)", LoadFault), ("sd a0, 0(a0)", StoreFault), ("lbu a1, 0(a0)", LoadFault)):
        dirty_then_drop([bigger], seed)
        with pytest.raises(fault) as info:
            run_at_end(pages, [op])
        assert info.value.addr == end
    assert run_at_end(pages, ["ld a0, -8(a0)", "andi a0, a0, 255"]).exit_code == 8
    m = Machine(vlen=128)
    m.map(BASE, pages * PAGE, "rw")
    with pytest.raises(LoadFault):
        m.read(end, np.uint8, 1)


def drop_a_machine_with(pages: int) -> None:
    """A machine (with its 8 MiB stack) maps a region of ``pages`` pages, writes all of it
    and is dropped: its two host blocks go to the pool, as its bound allows."""
    m = Machine(vlen=128)
    m.map(BASE, pages * PAGE, "rw")
    m.write(BASE, np.ones(pages * PAGE, np.uint8))


@settings(max_examples=20, deadline=None)
@given(limit_mib=st.integers(0, 24), pages=st.lists(st.integers(1, 3000), min_size=1, max_size=8))
def test_the_pool_holds_no_more_than_its_bound(limit_mib, pages):
    lib.rv_mem_pool_set_limit(limit_mib * MiB)
    assert lib.rv_mem_pool_held() <= limit_mib * MiB   # setting the bound evicts at once
    for n in pages:
        drop_a_machine_with(n)
        assert lib.rv_mem_pool_held() <= limit_mib * MiB
    if limit_mib == 0:
        assert lib.rv_mem_pool_held() == 0


def resident() -> int:
    """The process's resident bytes (Linux /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads Linux's /proc")
def test_a_sparse_region_does_not_balloon_resident_memory():
    size = 48 * MiB   # within the pool's default bound, so its block is kept (and zeroed)
    m = Machine(vlen=128)
    m.map(BASE, size, "rw")
    for off in range(0, size, MiB):   # one page a MiB touched
        m.write(BASE + off, b"\x01")
    before = resident()
    del m
    assert resident() - before < 8 * MiB
    m = Machine(vlen=128)   # the kept block, taken again, is still sparse and zero
    m.map(BASE, size, "rw")
    assert not any(m.read(BASE + off, np.uint8, PAGE).any() for off in range(0, size, MiB))
    assert resident() - before < 8 * MiB


def test_machines_on_threads_get_zeroed_memory_of_their_own():
    errors = []

    def churn(k: int) -> None:
        for i in range(15):
            m = Machine(vlen=128)
            size = (1 + (i * 7 + k) % 40) * PAGE
            m.map(BASE, size, "rw")
            got = m.read(BASE, np.uint8, size)
            if got.any():
                errors.append((k, i, "not zero"))
            data = np.full(size, k + 1, np.uint8)
            m.write(BASE, data)
            if not np.array_equal(m.read(BASE, np.uint8, size), data):
                errors.append((k, i, "shared"))
            del m

    threads = [threading.Thread(target=churn, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@settings(max_examples=15, deadline=None)
@given(pages=st.lists(st.integers(1, 3000), min_size=1, max_size=4), slack=st.integers(0, 3 * PAGE))
def test_setting_the_bound_evicts_only_what_is_past_it(pages, slack):
    """A bound at or above what the pool holds evicts nothing; one byte below it evicts the
    oldest blocks until it holds no more, never more than one block past that (no block is
    larger than the largest region here: a pooled block is cut to the region it serves)."""
    gc.collect()   # no machine of an earlier test may release its blocks into the pool meanwhile
    gc.disable()
    try:
        lib.rv_mem_pool_set_limit(0)         # empty: only this test's blocks below
        lib.rv_mem_pool_set_limit(1 << 40)   # room for all of them
        for n in pages:
            drop_a_machine_with(n)
        held = lib.rv_mem_pool_held()
        assert held >= 8 * MiB + pages[-1] * PAGE   # the last machine's stack and region at least
        lib.rv_mem_pool_set_limit(held + slack)
        assert lib.rv_mem_pool_held() == held
        lib.rv_mem_pool_set_limit(held - 1)
        largest = max(8 * MiB, max(pages) * PAGE)
        assert held - 1 - largest < lib.rv_mem_pool_held() <= held - 1
    finally:
        gc.enable()
