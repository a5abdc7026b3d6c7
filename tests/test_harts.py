"""Many harts at the Machine level (no compiler needed): threads made by
``call_threads`` share memory; LR/SC and AMOs are atomic across harts (the ISA
manual's A extension: a store by another hart to the reservation set makes
SC fail); message passing behaves as RVWMO allows; runs are deterministic;
a run whose every thread waits raises Deadlock."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import Deadlock, Machine
from rvai.emu.isa import assemble
from tiny_elf import executable, li

CODE = 0x10000
LINE = 64     # the reservation set: the aligned 64-byte block holding the address (docs/harts.md)


def machine(code_lines, harts=2, quantum=None, **kw) -> Machine:
    m = Machine(vlen=128, harts=harts, quantum=quantum, **kw)
    m.map(CODE, 4096, "rwx")
    m.write(CODE, np.array([assemble(t) for t in code_lines], np.uint32))
    return m


def delay(reg: str) -> list[str]:
    """Spin `reg` times (two instructions an iteration); nothing when reg is 0."""
    return [f"beq {reg}, zero, 12", f"addi {reg}, {reg}, -1", f"bne {reg}, zero, -4"]


# ---- message passing (the MP litmus test) -------------------------------------------
def mp_code(fenced: bool) -> list[str]:
    """a0 = role (0 writer, 1 reader), a1 = &data, a2 = &flag, a3 = &out, a4 = delay.
    The writer stores data then flag; the reader loads flag (r1) then data (r2)."""
    nop = "addi zero, zero, 0"
    return [*delay("a4"), "bne a0, zero, 24",
            "addi t0, zero, 1", "sw t0, 0(a1)", "fence w, w" if fenced else nop, "sw t0, 0(a2)",
            "jalr zero, 0(ra)",
            "lw t1, 0(a2)", "fence r, r" if fenced else nop, "lw t2, 0(a1)",
            "sw t1, 0(a3)", "sw t2, 4(a3)", "jalr zero, 0(ra)"]


def mp_outcomes(fenced: bool) -> set:
    seen = set()
    for quantum in (1, 2, 3, 5):
        for d0 in range(6):
            for d1 in range(6):
                m = machine(mp_code(fenced), quantum=quantum)
                buf = m.alloc(256)
                m.call_threads(CODE, [(0, buf, buf + 64, buf + 128, d0), (1, buf, buf + 64, buf + 128, d1)])
                seen.add(tuple(int(v) for v in m.read(buf + 128, np.uint32, 2)))
    return seen


def test_message_passing_with_fences_never_shows_the_forbidden_outcome():
    """RVWMO forbids r1 = 1, r2 = 0 when fence w,w orders the writer and fence r,r
    the reader; the three outcomes it allows all occur under some interleaving."""
    assert mp_outcomes(fenced=True) == {(0, 0), (0, 1), (1, 1)}


def test_message_passing_without_fences_stays_sequentially_consistent():
    """Without fences RVWMO also allows r1 = 1, r2 = 0; the model interleaves whole
    instructions with no store buffer or reordering (sequential consistency, one
    of the executions RVWMO allows), so it never shows it (docs/harts.md)."""
    assert mp_outcomes(fenced=False) == {(0, 0), (0, 1), (1, 1)}


# ---- LR/SC across harts ---------------------------------------------------------------
STORES = {   # what the other hart does at a2 (a3 = a value), and how many bytes it writes
    "sw": (["sw a3, 0(a2)"], 4),
    "sd": (["sd a3, 0(a2)"], 8),
    "amoadd.w": (["amoadd.w t0, a3, (a2)"], 4),
    "lr/sc": (["lr.w t0, (a2)", "sc.w t1, a3, (a2)"], 4),
    "vse32": (["vsetivli zero, 4, e32, m1, ta, ma", "vse32.v v0, (a2)"], 16),
}


def lrsc_code(store: list[str]) -> list[str]:
    """Role 0: lr.w at a1, spin a4 times, sc.w 7 there, return sc's result (0 = success).
    Role 1: the store at a2, return 0."""
    role1 = 2 + len(delay("a4")) + 3
    return ["bne a0, zero, %d" % (4 * role1),
            "lr.w t0, (a1)", *delay("a4"), "addi t2, zero, 7", "sc.w a0, t2, (a1)", "jalr zero, 0(ra)",
            *store, "addi a0, zero, 0", "jalr zero, 0(ra)"]


@pytest.mark.parametrize("kind", sorted(STORES))
@pytest.mark.parametrize("offset", [0, 4, 60, 64, 200, 4096])
def test_a_store_by_another_hart_to_the_reservation_set_makes_sc_fail(kind, offset):
    store, nbytes = STORES[kind]
    m = machine(lrsc_code(store), quantum=4)
    buf = m.alloc(3 * 4096, align=4096)
    target = buf + offset
    ok, _ = m.call_threads(CODE, [(0, buf, 0, 0, 50), (1, 0, target, 5)])
    overlaps = target < buf + LINE and buf < target + nbytes
    assert ok == (1 if overlaps else 0)
    assert (int(m.read(buf, np.uint32, 1)[0]) == 7) == (not overlaps)   # a failed sc.w stores nothing


def test_sc_succeeds_when_the_other_harts_store_came_before_the_lr():
    """Role 0 spins first, so the other hart's store lands before its lr.w."""
    code = ["bne a0, zero, 32", *delay("a4"), "lr.w t0, (a1)", "addi t2, zero, 7", "sc.w a0, t2, (a1)",
            "jalr zero, 0(ra)", "sw a3, 0(a2)", "addi a0, zero, 0", "jalr zero, 0(ra)"]
    m = machine(code, quantum=2)
    buf = m.alloc(64)
    assert m.call_threads(CODE, [(0, buf, 0, 0, 20), (1, 0, buf, 5)]) == [0, 0]
    assert int(m.read(buf, np.uint32, 1)[0]) == 7


COUNTERS = {   # one increment of the word at a1; t0, t1 scratch
    "amoadd": ["addi t1, zero, 1", "amoadd.w zero, t1, (a1)"],
    "lr/sc": ["lr.w t0, (a1)", "addi t0, t0, 1", "sc.w t1, t0, (a1)", "bne t1, zero, -12"],
    "plain": ["lw t0, 0(a1)", "addi t0, t0, 1", "sw t0, 0(a1)"],
}


def counter_code(kind: str) -> list[str]:
    """a0 = iterations, a1 = &counter: increment it a0 times."""
    body = COUNTERS[kind]
    return ["beq a0, zero, %d" % (4 * (len(body) + 3)), *body, "addi a0, a0, -1",
            "bne a0, zero, %d" % (-4 * (len(body) + 1)), "jalr zero, 0(ra)"]


@settings(max_examples=25, deadline=None)
@given(threads=st.integers(1, 6), harts=st.sampled_from([1, 2, 4, 8]), quantum=st.integers(1, 9),
       iters=st.integers(1, 300), kind=st.sampled_from(["amoadd", "lr/sc"]))
def test_atomic_counters_lose_no_increment(threads, harts, quantum, iters, kind):
    m = machine(counter_code(kind), harts=harts, quantum=quantum)
    word = m.alloc(np.zeros(1, np.uint32))
    m.call_threads(CODE, [(iters, word)] * threads)
    assert int(m.read(word, np.uint32, 1)[0]) == threads * iters


def test_plain_increments_race_when_harts_interleave():
    """The same loop with lw/addi/sw loses updates once two harts interleave
    finely: the harts really share memory, instruction by instruction."""
    m = machine(counter_code("plain"), harts=2, quantum=1)
    word = m.alloc(np.zeros(1, np.uint32))
    m.call_threads(CODE, [(1000, word)] * 2)
    assert int(m.read(word, np.uint32, 1)[0]) < 2000
    m = machine(counter_code("plain"), harts=1, quantum=1000)   # one hart, quanta longer than the loop
    word = m.alloc(np.zeros(1, np.uint32))
    m.call_threads(CODE, [(300, word)] * 2)
    assert int(m.read(word, np.uint32, 1)[0]) == 600


# ---- scheduling -------------------------------------------------------------------------
def test_threads_spread_over_the_harts_and_more_threads_time_share():
    m = machine(counter_code("amoadd"), harts=3, quantum=5)
    word = m.alloc(np.zeros(1, np.uint32))
    m.call_threads(CODE, [(100, word)] * 5)
    assert [t["hart"] for t in m.threads()] == [0, 1, 2, 0, 1]
    # each hart ran its threads' instructions: 2 + 2 + 1 calls of equal length
    per_call = m.instret // 5
    assert m.hart_cycles() == [2 * per_call, 2 * per_call, per_call]


@pytest.mark.parametrize("timed", [False, True])
def test_the_same_run_twice_gives_the_same_counters(timed):
    def once():
        m = machine(counter_code("lr/sc"), harts=4, quantum=7, timed=timed)
        word = m.alloc(np.zeros(1, np.uint32))
        m.call_threads(CODE, [(500, word)] * 6)
        return m.instret, m.cycles, m.hart_cycles(), [t["instret"] for t in m.threads()]
    first = once()
    assert first == once()
    assert first[0] > 6 * 500 * 4


def test_call_threads_runs_again_on_the_same_machine():
    m = machine(counter_code("amoadd"), harts=2)
    word = m.alloc(np.zeros(1, np.uint32))
    for _ in range(3):
        m.call_threads(CODE, [(10, word)] * 4)
    assert int(m.read(word, np.uint32, 1)[0]) == 120
    assert m.call(CODE, 5, word) == 0 and int(m.read(word, np.uint32, 1)[0]) == 125


def test_bad_hart_counts_are_refused():
    for bad in (0, -1, 65):
        with pytest.raises(ValueError, match="harts"):
            Machine(harts=bad)
    with pytest.raises(ValueError, match="quantum"):
        Machine(quantum=0)


# ---- deadlock ---------------------------------------------------------------------------
def test_a_futex_wait_nobody_can_wake_is_a_deadlock():
    """futex(&word, FUTEX_WAIT_PRIVATE, word's value) in the only thread."""
    lines = [*li("a0", 0x200000), "li a1, 128", "li a2, 0", "li a3, 0", "li a7, 98", "ecall",
             "li a0, 0", "li a7, 93", "ecall"]
    m = Machine(vlen=128)
    with pytest.raises(Deadlock, match="thread 0 on hart 0 blocked .futex 0x200000"):
        m.run(["prog"], program=executable(lines, bss=((0x200000, 4096),)))
