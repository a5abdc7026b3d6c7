"""Timed mode in the translating tier against the timed interpreter, its
reference: the same programs run timed in both tiers must give the same
registers, memory, stops, cycles and profile (per-pc cycles, stalls, pipes,
cache counters) bit for bit.  Translated blocks charge each instruction
through the model's own step (a plain op's inline, csrc/timing.h's tm_step
written in the block's IR), so any difference is a bug of the block's step."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE
from test_translate import program, run, value
from rvai import ops
from rvai.emu import EmulatorError, Machine
from rvai.target import Target

pytestmark = pytest.mark.usefixtures("timed_translation")

pytest.importorskip("llvmlite")

PRESETS = ["spacemit-x60", "xuantie-c930", "generic"]


@pytest.fixture
def timed_translation(monkeypatch):
    """Timed machines of the translating tier translate (RVAI_JIT_TIMED, off by default)."""
    monkeypatch.setenv("RVAI_JIT_TIMED", "1")


def timed_run(items, tier, budget, seeds, regs, preset):
    """test_translate.run on a timed machine of ``preset``, with its profile."""
    m = Machine(Target.preset(preset), vlen=128, tier=tier, timed=True)
    out = run(items, tier, budget, seeds, regs, machine=m)
    p = m.profile()
    out.update(cycles=m.cycles, profile=p.to_dict(), pc_cycles=p.pc_cycles)
    return out, m


@settings(max_examples=60, deadline=None)
@given(items=program(), budget=st.one_of(st.integers(1, 3000), st.just(10**6)),
       seeds=st.binary(min_size=64, max_size=64), regs=st.lists(value, min_size=6, max_size=6),
       preset=st.sampled_from(PRESETS))
def test_random_programs_time_the_same_translated(items, budget, seeds, regs, preset):
    with pytest.MonkeyPatch.context() as mp:   # every block translated at its first entry
        mp.setenv("RVAI_JIT_HOT", "0")
        mp.setenv("RVAI_JIT_TIMED", "1")   # (hypothesis examples run outside function-scoped fixtures)
        t, m = timed_run(items, "translate", budget, seeds, regs, preset)
    i, _ = timed_run(items, "interpret", budget, seeds, regs, preset)
    assert t == i


def kernel_call(name, target):
    """An ops call of kernel ``name`` small enough for a test (inputs fixed by a seed)."""
    rng = np.random.default_rng(1)
    if name == "gemm":
        x = rng.standard_normal((4, 256)).astype(np.float32)
        w = ops.pack_weights(rng.standard_normal((96, 256)).astype(np.float32), target=target)
        return lambda: ops.linear(x, w, target=target, harts=1)
    q = rng.standard_normal((2, 24, 64)).astype(np.float32)
    kv = rng.standard_normal((1, 40, 64)).astype(np.float32)
    return lambda: ops.attention(q, kv, kv * 0.5, causal=True, target=target)


@pytest.mark.parametrize("name", ["gemm", "attention"])
@settings(max_examples=4, deadline=None)
@given(scale=st.sampled_from([1, 2, 4]), preset=st.sampled_from(PRESETS[:2]))
def test_kernels_time_the_same_translated(name, scale, preset):
    """At several VLEN: the target's least, twice and four times it."""
    target = Target.preset(preset)
    target = target.with_vlen(target.min_vlen * scale)
    results = {}
    for tier in ("interpret", "translate"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("RVAI_TIER", tier)
            mp.setenv("RVAI_JIT_HOT", "0")
            mp.setenv("RVAI_JIT_TIMED", "1")
            out = kernel_call(name, target)()
            r = ops.last_run
            results[tier] = (np.asarray(out).tobytes(), r.cycles, r.instret, r.profile.to_dict(),
                             r.profile.pc_cycles)
    assert results["translate"] == results["interpret"]


def test_switching_the_mode_forgets_the_translations(monkeypatch):
    """A block translated in one mode never runs in the other: a functional
    block would charge the model nothing, a timed one charge a model that is off."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    items = ["addi a0, a0, 1", "add a1, a1, a0", "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 0, 3), "ebreak"]
    seeds, regs = bytes(64), (0,) * 6

    def again(m):   # the program once more on the same machine
        m.x(10, 0)
        m.x(11, 0)
        m.x(18, 3)
        m.pc = CODE
        with pytest.raises(EmulatorError):
            m.resume(budget=10**6)
        return m.x(11)

    m = Machine(Target.preset("spacemit-x60"), vlen=256, tier="translate")
    run(items, "translate", 10**6, seeds, regs, machine=m)   # functional: blocks without the model's step
    functional = m.translation["blocks"]
    assert functional >= 1
    m.set_timed(True)
    assert again(m) == 6
    timed = m.translation["blocks"]
    assert timed > functional   # translated again, for the timed mode
    ref = Machine(Target.preset("spacemit-x60"), vlen=256, timed=True)
    run(items, "interpret", 10**6, seeds, regs, machine=ref)
    assert (m.cycles, m.profile().pc_cycles) == (ref.cycles, ref.profile().pc_cycles)
    m.set_timed(False)
    assert again(m) == 6
    assert m.translation["blocks"] > timed   # and again for the functional one
