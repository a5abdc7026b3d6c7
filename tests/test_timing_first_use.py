"""The first use of a prefetched line by a translated block's scalar access.

A timed translated block probes L1's hit filter inline; when the way it finds
holds the line and the prefetcher brought it in, the block calls the model's
lean entry (csrc/timing.c's tm_first_use) with that way, its exits counting
the access's L1 hit and bytes as for any hit (rvai/emu/jit_llvm.py's _tmem and
_tcount).  Each test runs the same program three times: translated timed,
interpreted timed (the reference of the translating tier) and interpreted in
the model's reference mode (``RVAI_TIMING_REFERENCE=1``: the general paths,
no memos); every cycle, counter, per-pc count, trace event, register and
byte must be equal in all three.  The programs stream through memory as a
scalar copy does, so that almost every new line is a prefetched one's first
use: by loads and by stores, several accesses to a line in one pass, lines a
small L1 evicts between their prefetch and their use, dirty victims, a fault
part way through a block after a first use, the budget ending mid-block, and
two harts on the same lines."""
import contextlib
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE
from test_timed_translate import BIG, BIG_SIZE, loop_machine, resumed
from test_translate import encode
from rvai.emu import Machine
from rvai.target import Target

pytest.importorskip("llvmlite")

PRESETS = ["generic", "spacemit-x60", "xuantie-c930"]
ACCESS = {"ld": 8, "lw": 4, "lhu": 2, "lbu": 1, "flw": 4, "sd": 8, "sw": 4, "sh": 2, "sb": 1}
STORE_OF = {"ld": "sd", "lw": "sw", "lhu": "sh", "lbu": "sb", "flw": "fsw"}
#: L1s (bytes, ways): the presets' own, and ones small enough that a stream's
#: lines 16 ahead are evicted before their first use (1-way: the way just used too)
L1S = [None, (1024, 1), (1024, 2), (2048, 4)]


def target(preset, l1):
    """``preset``'s target, with L1 of (size, ways) ``l1`` unless None."""
    t = Target.preset(preset)
    if l1 is None:
        return t
    return dataclasses.replace(t, model={**t.model, "l1_size": l1[0], "l1_assoc": l1[1]})


@contextlib.contextmanager
def model_env(reference, hot="0"):
    """The environment the timing model and the translator read when a
    machine is made: the model's reference mode or not, the translator's
    hotness, and timed blocks translated."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_TIMING_REFERENCE", reference)
        mp.setenv("RVAI_JIT_HOT", hot)
        mp.setenv("RVAI_JIT_TIMED", "1")
        yield


def run_three(items, budget, a0, tgt, hot="0"):
    """The loop at CODE (test_timed_translate's loop_machine: BIG mapped and
    filled, a0 set) run translated, interpreted, and interpreted in the
    reference mode: each run's observables (resumed's, and the trace), and
    the translated run's machine."""
    runs = []
    for tier, reference in (("translate", "0"), ("interpret", "0"), ("interpret", "1")):
        with model_env(reference, hot):
            m = loop_machine(items, tier, a0, tgt)
            out = resumed(m, budget)
        out["trace"] = m.profile().trace
        runs.append((out, m))
    return [out for out, _ in runs], runs[0][1]


@st.composite
def copy_loop(draw):
    """A copy loop as a scalar memcpy's: 1 to 4 loads of drawn widths and
    offsets from s0, their stores to s1 (a drawn distance past s0), and
    maybe a store back to the loads' own line in the same pass (s0: a line
    first used by a load, then stored to), both pointers bumped by a drawn
    stride.  The items and the passes; the passes may carry s1 past BIG's
    end, so that a store faults part way through a pass, after its loads'
    first uses."""
    n = draw(st.integers(1, 4))
    loads = [draw(st.sampled_from(sorted(STORE_OF))) for _ in range(n)]
    offs = [draw(st.integers(0, 63)) for _ in range(n)]
    regs = ["t0", "t1", "t2", "t3"]
    dst = ["ft0" if op == "flw" else r for op, r in zip(loads, regs)]
    stride = draw(st.sampled_from([8, 16, 24, 32, 64, 72, 128]))
    gap = draw(st.sampled_from([0x8000, 0x10000 + 3 * 64, 0x18000 + 8]))
    head = ["lui s0, 0x100", f"lui s1, {(BIG + gap) >> 12:#x}", f"addi s1, s1, {gap & 0xfff}"]
    body = [f"{op} {r}, {off}(s0)" for op, r, off in zip(loads, dst, offs)]
    body += [f"{STORE_OF[op]} {r}, {off}(s1)" for op, r, off in zip(loads, dst, offs)]
    if draw(st.booleans()):   # a store to the line the pass's first load used
        body.append(f"sb t0, {offs[0] // 8 * 8}(s0)")
    body += [f"addi s0, s0, {stride}", f"addi s1, s1, {stride}", "addi a0, a0, -1"]
    start = len(head)
    items = head + body + [("to", "bne a0, zero, {off}", start, start + len(body)), "ebreak"]
    fits = (BIG_SIZE - gap - 128) // stride
    passes = draw(st.one_of(st.integers(1, min(fits, 4000)), st.just(fits + 40)))   # the latter faults
    return items, passes


@settings(max_examples=60, deadline=None)
@given(copy=copy_loop(), budget=st.one_of(st.integers(1, 30000), st.just(10**6)), preset=st.sampled_from(PRESETS),
       l1=st.sampled_from(L1S), hot=st.sampled_from(["0", "1"]))
def test_copies_first_using_prefetched_lines_time_the_same(copy, budget, preset, l1, hot):
    """Scalar copy loops, stopped by the budget (anywhere in a block), at the
    end, or by a store faulting past BIG after the pass's loads: translated,
    interpreted and the reference mode agree on every observable."""
    items, passes = copy
    (t, i, r), m = run_three(items, budget, passes, target(preset, l1), hot)
    assert t == i
    assert i == r
    assert budget < 50 or hot != "0" or m.translation["blocks"] >= 1


def test_a_copy_faulting_after_first_uses_stops_at_the_same_pc_with_the_same_counts():
    """A copy whose destination runs off BIG's end: its store faults in the
    middle of the block, after the pass's loads first used their prefetched
    lines; all three runs stop there with the same registers, cycles and
    counters (the hits of the faulting pass's loads counted by the block's
    fault exit), and the loads' stream met prefetched lines on the way."""
    gap = BIG_SIZE - 64 * 300   # the destination: 300 lines before BIG's end
    items = ["lui s0, 0x100", f"lui s1, {(BIG + gap) >> 12:#x}", f"addi s1, s1, {gap & 0xfff}",
             "ld t0, 0(s0)", "lw t1, 12(s0)", "sd t0, 0(s1)", "sw t1, 12(s1)",
             "addi s0, s0, 16", "addi s1, s1, 16", "addi a0, a0, -1",
             ("to", "bne a0, zero, {off}", 3, 10), "ebreak"]
    (t, i, r), m = run_three(items, 10**6, 10**5, target("generic", None))
    assert t == i == r
    assert t["stop"] is not None and t["pc"] == CODE + 4 * 5   # the sd, after the ld and lw of its pass
    assert m.translation["blocks"] >= 1
    caches = t["profile"]["caches"]
    assert caches["prefetches"]["issued"] > 100 and caches["L1"]["hits"] > 10 * caches["L1"]["misses"]


@settings(max_examples=30, deadline=None)
@given(copy=copy_loop(), preset=st.sampled_from(["spacemit-k1", "xuantie-c930-cluster"]),
       apart=st.sampled_from([0, 8, 64, 4096]), l1=st.sampled_from(L1S))
def test_two_harts_copying_over_shared_lines_time_the_same(copy, preset, apart, l1):
    """Two harts running the same copy loop over the same buffers (``apart``
    bytes from each other: the same words, the same lines, or not), so that
    the lines one hart's stream prefetched are stored to by the other (its
    store invalidates them) and its own stores find them shared:
    translated, interpreted and the reference mode give the same cycles,
    profile, invalidations and bytes."""
    items, passes = copy
    # the loop with its pointers from a1 and a2 (the same number of items before it: its branch's offset holds)
    code = encode(["addi s0, a1, 0", "addi s1, a2, 0", "addi zero, zero, 0"] + items[3:-1] + ["jalr zero, 0(ra)"])
    passes = min(passes, 400)   # (each walk stays within its half of the buffer)

    def run(tier, reference):
        with model_env(reference):
            m = Machine(target(preset, l1), timed=True, harts=2, quantum=50, tier=tier)
            m.map(CODE, 4096, "rx")
            m.write(CODE, np.frombuffer(code, dtype=np.uint8))
            buf = m.alloc(1 << 18, align=4096)
            m.write(buf, (np.arange(1 << 18) * 37 % 251).astype(np.uint8))
            m.reset_counters()
            half = buf + (1 << 17)   # each hart copies from the half the other copies to
            m.call_threads(CODE, [(passes, buf, half), (passes, half + apart, buf + apart)])
            p = m.profile()
            return (m.cycles, p.coherence_invalidations, p.to_dict(), p.pc_cycles, p.trace,
                    bytes(m.read(buf, np.uint8, 1 << 18)))

    assert run("translate", "0") == run("interpret", "0") == run("interpret", "1")
