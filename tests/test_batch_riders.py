"""Which blocks of the loops around a due block are compiled with it
(rvai.emu.translate.Translator._loop_around): those a taken branch entered or
a branch falls into, on a path back to the due block, each estimated to cost
at most RIDE_COST to compile, counted as its instructions with a vector op
VEC_COST each.  The test builds a loop nest whose outer path holds one block
of its chosen size and mix, and checks whether it rode along against that
rule, and every run's observables against the interpreter's."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE, resume
from test_timed_due import counted
from test_translate import encode
from rvai.emu import Machine
from rvai.target import Target

pytest.importorskip("llvmlite")

INNER, OUTER = 30, 40
#: The inner loop's block (three instructions, entered by its taken branch) is
#: due after DUE_ENTRIES entries: the 18th outer pass, with the outer block
#: (item 0, entered by the outer branch) asked about on the way.
DUE_ENTRIES = 500


def nest(scalars: int, vectors: int) -> tuple[list, int]:
    """The loop nest: an outer block (items 0-3: the inner count, then the
    inner loop's three instructions), the inner loop (items 1-3) and, where
    the inner loop falls through, block B: ``scalars`` addi, ``vectors``
    vector ops (a vsetvli, then vadd.vv), the outer count and its branch back
    to item 0.  The program and B's instruction count."""
    vec = ["vsetvli t1, zero, e32, m1, ta, ma"] + ["vadd.vv v8, v8, v16"] * (vectors - 1) if vectors else []
    b = ["addi a3, a3, 1"] * scalars + vec + ["addi a2, a2, -1"]
    items = [f"addi a0, zero, {INNER}", "addi a1, a1, 3", "addi a0, a0, -1", ("to", "bne a0, zero, {off}", 1, 3),
             *b]
    items += [("to", "bne a2, zero, {off}", 0, len(items)), "ebreak"]
    return items, len(b) + 1


def nest_run(items, tier: str, preset: str, vlen: int) -> tuple[dict, Machine]:
    """``items`` run functionally from CODE with OUTER outer passes: what it
    leaves (registers, v8, pc, instret) and the machine."""
    m = Machine(Target.preset(preset), vlen=vlen, tier=tier)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.frombuffer(encode(items), dtype=np.uint8))
    m.x(12, OUTER)
    m.pc = CODE
    stop = resume(m, 10**7)
    return {"x": [m.x(i) for i in range(32)], "v8": m.v(8), "pc": m.pc, "stop": stop, "instret": m.instret}, m


@settings(max_examples=25, deadline=None)
@given(scalars=st.integers(0, 14), vectors=st.integers(0, 4),
       preset=st.sampled_from(["spacemit-x60", "xuantie-c930", "generic"]), vlen=st.sampled_from([128, 256]))
def test_a_loop_block_rides_along_when_it_costs_at_most_ride_cost(scalars, vectors, preset, vlen):
    """B (its instructions n, v of them vector ops) is compiled with the
    inner loop's block when n + (VEC_COST - 1) v <= RIDE_COST, and not
    otherwise (entered only by a fall-through, it is never due itself); the
    outer block (four scalar instructions) always.  Results the
    interpreter's."""
    from rvai.emu import translate
    items, n = nest(scalars, vectors)
    b_pc = CODE + 4 * 4
    with counted(DUE_ENTRIES * 3) as mp:
        mp.setenv("RVAI_JIT_CACHE", "0")
        got, m = nest_run(items, "translate", preset, vlen)
    installed = m._translator.installed
    assert CODE + 4 in installed and CODE in installed, installed   # the due block and the outer one
    rides = n + (translate.VEC_COST - 1) * vectors <= translate.RIDE_COST
    assert (b_pc in installed) == rides, (n, vectors, sorted(map(hex, installed)))
    assert got == nest_run(items, "interpret", preset, vlen)[0]
