"""When a timed machine's block is due (rvai.emu.translate.TIMED_DUE, Translator._hint):
TIMED_DUE times RVAI_JIT_HOT weighted instructions, a functional machine's at RVAI_JIT_HOT,
and RVAI_JIT_HOT itself when an earlier machine left the block's batch in the object cache.
Each count is checked against a loop whose passes the test chooses, and every run's
observables against the interpreter's."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE, resume
from test_translate import encode
from rvai.emu import Machine
from rvai.target import Target

pytest.importorskip("llvmlite")

PRESETS = ["spacemit-x60", "xuantie-c930", "generic"]
#: One block of three instructions up to its branch (weight 3: no vector op), entered
#: again by each taken branch (how many of those the C loop counts: counted_entries).
LOOP = ["addi a1, a1, 3", "addi a0, a0, -1", ("to", "bne a0, zero, {off}", 0, 2), "ebreak"]
WEIGHT = 3


def loop_run(tier: str, timed: bool, passes: int, preset: str) -> tuple[dict, Machine]:
    """LOOP run ``passes`` times on a machine of ``preset``: what it leaves (registers,
    pc, instret, and the cycles when timed) and the machine."""
    m = Machine(Target.preset(preset), vlen=128, tier=tier, timed=timed)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.frombuffer(encode(LOOP), dtype=np.uint8))
    m.x(10, passes)
    m.pc = CODE
    stop = resume(m, 10**7)
    out = {"x": [m.x(i) for i in range(32)], "pc": m.pc, "stop": stop, "instret": m.instret}
    if timed:
        out["cycles"] = m.cycles
    return out, m


@contextlib.contextmanager
def counted(hot: int):
    """A MonkeyPatch context for one example: RVAI_JIT_HOT ``hot``, blocks
    asked about every 4 entries (translate.ASK_EVERY), timed ones translated,
    the process's engines and hotness counts empty (nothing held or counted
    from another test or example)."""
    from rvai.emu import jit_llvm, translate
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(translate, "ASK_EVERY", 4)
        mp.setattr(jit_llvm, "_engines", {})
        mp.setattr(translate, "_ran", {})   # a functional machine's block counts its own entries
        mp.setenv("RVAI_JIT_TIMED", "1")
        mp.setenv("RVAI_JIT_HOT", str(hot))
        yield mp


def counted_entries(timed: bool, passes: int, preset: str) -> int:
    """The entries of LOOP's block the C loop counts in ``passes`` passes
    (what a due is compared with: csrc/jit.c's jit_hot), on a machine
    whose block is never due: whole asks' worth of its taken branches
    (test_the_c_loop_counts_every_entry_of_a_block)."""
    from rvai._rvemu import lib
    with counted(10**12):
        _, m = loop_run("translate", timed, passes, preset)
        return lib.rv_jit_entries(m._m, CODE)


@settings(max_examples=30, deadline=None)
@given(passes=st.integers(100, 1500), where=st.sampled_from(["short", "between", "past"]),
       preset=st.sampled_from(PRESETS))
def test_a_timed_block_is_due_at_timed_due_times_hot(passes, where, preset):
    """LOOP's block counted E entries: at RVAI_JIT_HOT = twice E passes'
    weight (short) neither machine translates it; at half of it (between) a
    functional one does and a timed one (object cache off) not, as its due
    is TIMED_DUE times that; at half of E / TIMED_DUE (past) both do.
    Results the interpreter's."""
    from rvai.emu import translate
    factor = translate.TIMED_DUE
    assert factor > 1
    for timed in (False, True):
        e = counted_entries(timed, passes, preset)
        hot = {"short": 2 * e, "between": e // 2, "past": e // (2 * factor)}[where] * WEIGHT
        with counted(hot) as mp:
            mp.setenv("RVAI_JIT_CACHE", "0")
            got, m = loop_run("translate", timed, passes, preset)
        assert got == loop_run("interpret", timed, passes, preset)[0]
        translated = where == "past" or (where == "between" and not timed)
        assert (m.translation["blocks"] > 0) == translated, (timed, e, m.translation)


@settings(max_examples=10, deadline=None)
@given(passes=st.integers(100, 1000), preset=st.sampled_from(PRESETS))
def test_a_timed_block_cached_before_is_due_at_hot(tmp_path_factory, passes, preset):
    """A first timed machine translates LOOP's block (counted E entries) at
    a timed due within E and leaves its batch in the object cache; a later
    one (the process's engines emptied: a new process's) at RVAI_JIT_HOT =
    half of E passes' weight, so due at E / 2 and not at TIMED_DUE times
    that, loads it from the cache, and one with the cache off translates
    nothing.  Results the interpreter's."""
    from rvai.emu import jit_llvm, translate
    e = counted_entries(True, passes, preset)
    want = loop_run("interpret", True, passes, preset)[0]
    with counted(e // (2 * translate.TIMED_DUE) * WEIGHT) as mp:
        mp.setenv("RVAI_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("RVAI_JIT_CACHE")
        _, first = loop_run("translate", True, passes, preset)
        assert first.translation["blocks"] == 1 and first.translation["cached"] == 0
        mp.setenv("RVAI_JIT_HOT", str(e // 2 * WEIGHT))
        mp.setattr(jit_llvm, "_engines", {})
        got, later = loop_run("translate", True, passes, preset)
        assert later.translation["blocks"] == later.translation["cached"] == 1
        assert got == want
        mp.setattr(jit_llvm, "_engines", {})
        mp.setenv("RVAI_JIT_CACHE", "0")
        got, off = loop_run("translate", True, passes, preset)
        assert off.translation["blocks"] == 0 and got == want


@pytest.mark.parametrize("text, hinted", [("zz", False), ("{code:x} 7fff0000 {code_plus:x}", True), ("", False),
                                          ("10 {code:x}", False)])
def test_a_damaged_or_foreign_hint_changes_no_result(tmp_path, text, hinted):
    """A hint that does not parse, is empty, or names another block first
    is ignored (the block waits for the timed due); one naming pcs past the
    block's, unmapped or mid-loop, compiles what is decoded there now, and
    nothing else: no translation error, every result the interpreter's."""
    from rvai.emu import jit_llvm, translate
    passes, preset = 400, "xuantie-c930"
    e = counted_entries(True, passes, preset)
    want = loop_run("interpret", True, passes, preset)[0]
    with counted(e // (2 * translate.TIMED_DUE) * WEIGHT) as mp:
        mp.setenv("RVAI_CACHE_DIR", str(tmp_path))
        mp.delenv("RVAI_JIT_CACHE")
        loop_run("translate", True, passes, preset)
        (hint,) = (tmp_path / "translated" / "due").iterdir()
        hint.write_text(text.format(code=CODE, code_plus=CODE + 4))
        mp.setenv("RVAI_JIT_HOT", str(e // 2 * WEIGHT))
        mp.setattr(jit_llvm, "_engines", {})
        got, m = loop_run("translate", True, passes, preset)
    assert got == want
    assert m._translator.error is None
    assert (m.translation["blocks"] > 0) == hinted


@settings(max_examples=20, deadline=None)
@given(passes=st.integers(2, 3000), timed=st.booleans(), preset=st.sampled_from(PRESETS))
def test_the_c_loop_counts_every_entry_of_a_block(passes, timed, preset):
    """LOOP's block is entered by its taken branches, passes - 1 of them (its first
    pass starts at the machine's pc); the C loop counts them in its slot and hands
    them to jit_hot every ASK_EVERY (4) entries: the count is the entries up to the
    last whole ask, in both modes (it counted 4 for every 5 before: 796 of 999)."""
    assert counted_entries(timed, passes, preset) == (passes - 1) // 4 * 4
