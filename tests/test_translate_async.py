"""The translating tier's background thread (rvai.emu.translate,
RVAI_JIT_ASYNC): hot blocks are compiled off the guest's thread and
installed by that thread at a block boundary or before the next run.
Whenever a translation lands, everything the guest observes must be what
the interpreter gives: registers, memory, instret, per-op counts, stops and
their pcs, with budget stops and interrupts while the thread is busy, code
rewritten while its translation is pending, and a translation that fails
there; and no thread may keep a process from exiting."""
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE, load_program, resume
from rvai.emu import EmulatorError, Machine, translate
from rvai.emu.isa import assemble

pytest.importorskip("llvmlite")
from test_translate import BASES, BASELINE, DATA, FREGS, encode, interrupted_loop, program, value  # noqa: E402

#: The hotness threshold here: a block is due at its first ask (translate.ASK_EVERY entries).
HOT = 1000


@pytest.fixture
def background(monkeypatch):
    """Translating machines compile in the background, blocks due at their
    first ask, in an empty engine (code an earlier test compiled would be
    installed at once, held: Translator._held)."""
    from rvai.emu import jit_llvm
    monkeypatch.setattr(jit_llvm, "_engines", {})
    monkeypatch.setenv("RVAI_JIT_ASYNC", "1")
    monkeypatch.setenv("RVAI_JIT_HOT", str(HOT))


@pytest.fixture
def gate(monkeypatch):
    """Background compiles wait until the returned Event is set."""
    opened = threading.Event()
    real = translate._compile

    def gated(*args):
        assert opened.wait(60), "the test never opened the gate"
        return real(*args)
    monkeypatch.setattr(translate, "_compile", gated)
    yield opened
    opened.set()


def observe(m, stops) -> dict:
    return {"x": [m.x(i) for i in range(32)], "f": [m.f(i) for i in range(32)], "pc": m.pc,
            "instret": m.instret, "stops": stops, "mem": bytes(m.read(DATA, np.uint8, 4096)),
            "code": bytes(m.read(CODE, np.uint8, 4096)), "ops": m.op_counts()}


def segmented(m, items, seeds, regs, loops, budgets, waits, smc=False):
    """Run the random program ``items`` (tests/test_translate.py's) looping
    ``loops`` times in ``m``, a run of each budget in ``budgets`` while
    budget stops come, waiting for the background thread after run i when
    ``waits[i]``: every observable."""
    m.map(CODE, 4096, "rwx" if smc else "rx")
    m.write(CODE, np.frombuffer(encode(items), dtype=np.uint8))
    m.map(DATA, 4096, "rw")
    data = bytes(a ^ b for a, b in zip(seeds, BASELINE))
    m.write(DATA, np.frombuffer(data * (4096 // len(data)), dtype=np.uint8))
    for r, v in zip((10, 11, 12, 13, 5, 6), regs):
        m.x(r, v)
    for r, v in zip(FREGS.values(), reversed(regs)):
        m.f(r, v)
    for name, v in BASES.items():
        m.x({"s0": 8, "s1": 9, "s3": 19, "s4": 20, "s5": 21}[name], v)
    m.x(18, loops)   # s2: the loop count
    m.pc = CODE
    stops = []
    for budget, wait in zip(budgets, waits):
        stops.append(resume(m, budget))
        if not stops[-1] or stops[-1][0] != "BudgetExceeded":
            break
        if wait and m.tier == "translate":
            assert m._translator.wait(60)
    return observe(m, stops)


@settings(max_examples=60)
@given(items=program(), loops=st.integers(250, 1500),
       budgets=st.lists(st.one_of(st.integers(1, 20_000), st.just(10**6)), min_size=1, max_size=3),
       waits=st.lists(st.booleans(), min_size=3, max_size=3),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6))
def test_random_loops_match_the_interpreter_while_translations_land(items, loops, budgets, waits, seeds, regs):
    """Random blocks looped hundreds of times, so that they are queued and
    land part way through, in runs cut by drawn budgets (waiting for the
    background thread between some): every observable as interpreted."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_ASYNC", "1")
        mp.setenv("RVAI_JIT_HOT", str(HOT))
        m = Machine(vlen=128, tier="translate")
        assert m._translator.background
        t = segmented(m, items, seeds, regs, loops, budgets, waits)
    i = segmented(Machine(vlen=128, tier="interpret"), items, seeds, regs, loops, budgets, waits)
    assert t == i


@settings(max_examples=40)
@given(items=program(smc=True), loops=st.integers(250, 800),
       budgets=st.lists(st.one_of(st.integers(1, 20_000), st.just(10**6)), min_size=1, max_size=3),
       waits=st.lists(st.booleans(), min_size=3, max_size=3),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6))
def test_random_self_modifying_loops_match_the_interpreter_while_translations_land(items, loops, budgets, waits,
                                                                                      seeds, regs):
    """The same with stores into the code: blocks rewritten before, while
    and after their translation is pending."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVAI_JIT_ASYNC", "1")
        mp.setenv("RVAI_JIT_HOT", str(HOT))
        t = segmented(Machine(vlen=128, tier="translate"), items, seeds, regs, loops, budgets, waits, smc=True)
    i = segmented(Machine(vlen=128, tier="interpret"), items, seeds, regs, loops, budgets, waits, smc=True)
    assert t == i


def test_a_translation_lands_while_the_guest_runs(background):
    """An endless loop is queued, compiled in the background and installed
    by the running guest at a block boundary (csrc/jit.c polls the post
    flag): the run, stopped only once it runs translated, counts as
    interpreted (two instructions a pass)."""
    def stop_once_translated(m):
        end = time.monotonic() + 30
        while m._translator.blocks == 0 and time.monotonic() < end:
            time.sleep(0.005)
        m.interrupt()
    assert interrupted_loop(stop_once_translated).translation["blocks"] >= 1


def smc_lines(new: int, at: int) -> list[str]:
    """A loop of 2000 passes whose first instruction, at +28, adds 1 to a0;
    the guest stores word ``new`` over it when a1 (counting down) is ``at``."""
    return [
        "li a0, 0", "li a1, 2000", f"li a2, {new & 0x7ff}", f"lui a3, {(new + 0x800) >> 12}",
        "add a3, a3, a2", f"li a4, {at}", "auipc a5, 0",
        "addi a0, a0, 1",                 # +28: the instruction rewritten, the loop's first
        "addi a1, a1, -1",
        "bne a1, a4, 8", "sw a3, 4(a5)",  # at a1 == at: the guest stores over +28 (a5 = +24)
        "bnez a1, -16", "ebreak"]


@pytest.mark.parametrize("writer", ["guest", "host"])
def test_code_rewritten_while_its_translation_is_pending_is_never_run_translated(background, gate, writer):
    """The loop's block is queued (after 240 passes), then its first
    instruction is rewritten (by the guest's own store half way, or by the
    host) while the compile is held; the old code's translation, finished
    after, is dropped at install and the code there now translated: the
    last 1000 passes add 100 as interpreted."""
    new = assemble("addi a0, a0, 100")
    results = []
    for tier in ("translate", "interpret"):
        m = Machine(vlen=128, tier=tier)
        load_program(m, smc_lines(new, 1000 if writer == "guest" else -1))
        m.protect(CODE, 4096, "rwx")
        m.pc = CODE
        stops = [resume(m, 2000)]   # ~500 passes: queued, not rewritten
        if tier == "translate":
            assert m.translation["pending"] >= 1 and m.translation["blocks"] == 0
        if writer == "host":
            m.write(CODE + 28, np.array([new], np.uint32))
        else:
            stops.append(resume(m, 3000))   # past the guest's store at pass 1000
        if tier == "translate":
            gate.set()
            assert m._translator.wait(60)
        stops.append(resume(m, 10**6))
        results.append((m.x(10), m.instret, m.pc, stops))
        if tier == "translate":
            assert m.translation["stale"] == 1
            assert m._translator.wait(60)
    assert results[0] == results[1]
    # host: the first run ends after 498 passes and the 499th's first instruction
    assert results[0][0] == (1000 * 1 + 1000 * 100 if writer == "guest" else 499 + 1501 * 100)


def test_budget_stops_and_interrupts_while_the_thread_is_busy(background, gate):
    """With the loop's compile held: an interrupt and budget stops fall
    where they would interpreted; once it lands, the loop runs translated
    and still counts two instructions a pass."""
    m = interrupted_loop()
    assert m.translation["pending"] == 1 and m.translation["blocks"] == 0
    before = m.instret
    with pytest.raises(EmulatorError, match="budget|Budget"):
        m.resume(budget=12_345)
    assert m.instret == before + 12_345 and m.pc == CODE + 4
    gate.set()
    assert m._translator.wait(60)
    before = m.instret
    with pytest.raises(EmulatorError, match="budget|Budget"):
        m.resume(budget=1_000_001)
    assert m.translation["blocks"] == 1 and m.translation["pending"] == 0
    assert m.instret == before + 1_000_001 and m.pc == CODE
    assert m.x(10) == m.instret // 2


def test_a_translation_that_fails_in_the_background_leaves_its_block_interpreted(background, monkeypatch):
    """The compile raises on the background thread: the error is kept
    (translate.errors, the translator's error), the block is not queued
    again, and the run's result is the interpreter's."""
    from rvai.emu import jit_llvm

    def broken(*args, **kwargs):
        raise RuntimeError("planted")
    monkeypatch.setattr(jit_llvm, "compile_blocks", broken)
    lines = ["li a1, 2000", "addi a0, a0, 3", "addi a1, a1, -1", "bnez a1, -8", "ebreak"]
    results = []
    for tier in ("translate", "interpret"):
        m = Machine(vlen=128, tier=tier)
        load_program(m, lines)
        m.pc = CODE
        stops = [resume(m, 3000)]
        if tier == "translate":
            assert m._translator.wait(60)
        stops.append(resume(m, 10**6))
        results.append((m.x(10), m.x(11), m.instret, m.pc, stops, m.op_counts()))
        if tier == "translate":
            assert m.translation["blocks"] == 0 and m.translation["pending"] == 0
            assert isinstance(m._translator.error, RuntimeError)
    assert results[0] == results[1] and results[0][0] == 6000
    assert len(translate.errors) == 1 and "planted" in translate.errors[0]
    translate.errors.clear()


def test_synchronous_when_asked_or_when_every_block_is_translated(monkeypatch):
    """RVAI_JIT_ASYNC=0, and RVAI_JIT_HOT=0 (the tests' --tier=translate),
    translate on the guest's thread: reproducibly."""
    monkeypatch.setenv("RVAI_JIT_ASYNC", "1")
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    assert not Machine(tier="translate")._translator.background
    monkeypatch.setenv("RVAI_JIT_HOT", "1000")
    assert Machine(tier="translate")._translator.background
    monkeypatch.setenv("RVAI_JIT_ASYNC", "0")
    assert not Machine(tier="translate")._translator.background


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    from rvai.emu import Machine, translate
    from rvai.emu.isa import assemble
    real = translate._compile
    def slow(*args):   # the background thread stays busy for a second
        time.sleep(1.0)
        return real(*args)
    translate._compile = slow
    m = Machine(vlen=128, tier="translate")
    m.map(0x10000, 4096, "rx")
    m.write(0x10000, np.array([assemble("addi a0, a0, 1"), assemble("j -4")], np.uint32))
    m.pc = 0x10000
    if sys.argv[1] == "exit":
        try:
            m.resume(budget=100_000)
        except Exception as e:
            print(type(e).__name__, m.translation["pending"], flush=True)
        sys.exit(0)
    print("running", flush=True)
    m.resume(budget=1 << 60)
""")


@pytest.mark.parametrize("how", ["exit", "sigint"])
def test_a_busy_background_thread_does_not_keep_the_process(how):
    """A process exits (at its end, or on Ctrl-C in the guest) while its
    background thread is compiling: promptly, with the usual outcome."""
    import signal
    env = dict(os.environ, RVAI_JIT_ASYNC="1", RVAI_JIT_HOT=str(HOT), RVAI_TIER="translate")
    p = subprocess.Popen([sys.executable, "-c", CHILD, how], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    if how == "sigint":
        assert p.stdout.readline() == "running\n"
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    if how == "exit":
        assert (p.returncode, out) == (0, "BudgetExceeded 1\n")
    else:
        assert p.returncode != 0 and "KeyboardInterrupt" in err


FORKED = textwrap.dedent("""
    import os, sys
    import numpy as np
    from rvai.emu import Machine
    from rvai.emu.isa import assemble

    def translated_loop():
        m = Machine(vlen=128, tier="translate")
        m.map(0x10000, 4096, "rx")
        m.write(0x10000, np.array([assemble("addi a0, a0, 1"), assemble("j -4")], np.uint32))
        m.pc = 0x10000
        for _ in range(2):   # queued in the first run, installed before the second
            try:
                m.resume(budget=100_000)
            except Exception:
                pass
            assert m._translator.wait(30), "the background thread never finished"
        return m.translation["blocks"]

    assert translated_loop() == 1
    pid = os.fork()
    if pid == 0:
        os._exit(0 if translated_loop() == 1 else 3)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status))
""")


def test_a_forked_child_translates_in_the_background():
    """A child forked after the parent's worker thread started has no such
    thread: it makes its own (a stale pool would never run its jobs)."""
    env = dict(os.environ, RVAI_JIT_ASYNC="1", RVAI_JIT_HOT=str(HOT))
    p = subprocess.run([sys.executable, "-c", FORKED], env=env, capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout) == (0, "0\n"), p.stderr
