"""Whole-register loads and stores in the timing model against RVV 1.0 §7.9:
``vl<nf>re<eew>.v vd`` writes the nf registers vd..vd+nf-1 and ``vs<nf>r.v vs3``
reads the nf registers vs3..vs3+nf-1 (so it waits for a write of any); each moves nf·VLEN bits whatever its EEW, so it takes nf·VLEN/W beats
of its pipe (W the pipe's width, docs/timing-model.md) and counts nf register
groups in a cost row's ``lmul`` term.  The oracle is that arithmetic, not the
model's code."""
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu.profile import PIPES
from tests.conftest import load_program
from tests.test_timing import _class_index, params, run, timed

PRESETS = ["generic", "small-inorder", "spacemit-x60"]   # chaining or not, DLEN 64-128, an ls pipe width
VD = 8


def _cycles_reading(preset, vlen, nf, eew, src):
    """Cycles of a cold ``vl<nf>re<eew>.v v8`` followed by an add reading
    ``src`` and a chain of adds on its result: the chain waits for the load
    only when the load writes ``src``, and is long enough to show it."""
    m = timed(preset=preset, vlen=vlen)
    buf = m.alloc(nf * vlen // 8, align=4096)
    load_program(m, ["vsetvli t0, zero, e32, m1, ta, ma", f"vl{nf}re{eew}.v v{VD}, (a0)",
                     f"vadd.vv v24, v{src}, v{src}"] + ["vadd.vv v24, v24, v24"] * 40 + ["jalr zero, 0(ra)"])
    return run(m, buf).cycles


@given(preset=st.sampled_from(PRESETS), nf=st.sampled_from([1, 2, 4, 8]),
       eew=st.sampled_from([8, 16, 32, 64]), vlen=st.sampled_from([128, 256, 512, 1024]))
@settings(max_examples=40, deadline=None)
def test_a_whole_register_load_writes_its_nf_registers_and_no_more(preset, nf, eew, vlen):
    untouched = _cycles_reading(preset, vlen, nf, eew, 24)   # v24: never written by the load
    written = _cycles_reading(preset, vlen, nf, eew, VD)
    assert written > untouched                               # the probe sees the cold load
    for src in range(VD, VD + 9):                            # one past the largest group (nf = 8)
        want = written if src < VD + nf else untouched
        assert _cycles_reading(preset, vlen, nf, eew, src) == want, f"v{src}"


def _store_start(preset, vlen, nf, src):
    """The cycle a ``vs<nf>r.v v8`` starts after a chain of LMUL-1 adds
    writing ``src``: later than after a chain on an unrelated register only
    when the store reads ``src``."""
    m = timed(preset=preset, vlen=vlen)
    buf = m.alloc(nf * vlen // 8, align=4096)
    load_program(m, ["vsetvli t0, zero, e32, m1, ta, ma"] + [f"vadd.vv v{src}, v{src}, v{src}"] * 20
                 + [f"vs{nf}r.v v{VD}, (a0)", "jalr zero, 0(ra)"])
    start, _end, _pc, _op, pipe, _unit = run(m, buf).trace[-1]   # the store, the last vector op
    assert pipe == PIPES[params(m).vpipe[_class_index("VSTORE")]]
    return start


@given(preset=st.sampled_from(PRESETS), nf=st.sampled_from([1, 2, 4, 8]),
       vlen=st.sampled_from([128, 256, 512, 1024]))
@settings(max_examples=25, deadline=None)
def test_a_whole_register_store_waits_for_a_write_of_any_of_its_nf_registers(preset, nf, vlen):
    untouched = _store_start(preset, vlen, nf, 24)            # v24: never read by the store
    read = _store_start(preset, vlen, nf, VD)
    assert read > untouched                                   # the probe sees the chain
    for src in range(VD, VD + 9):                             # one past the largest group (nf = 8)
        want = read if src < VD + nf else untouched
        assert _store_start(preset, vlen, nf, src) == want, f"v{src}"


def _pipe_busy(preset, vlen, insn, n=16, model=None):
    m = timed(model, preset=preset, vlen=vlen)
    buf = m.alloc(8 * vlen // 8, align=4096)
    load_program(m, ["vsetvli t0, zero, e32, m1, ta, ma"] + [insn] * n + ["jalr zero, 0(ra)"])
    return m, run(m, buf).pipe_busy


@given(preset=st.sampled_from(PRESETS + ["sifive-x280"]), nf=st.sampled_from([1, 2, 4, 8]),
       eew=st.sampled_from([8, 16, 32, 64]), vlen=st.sampled_from([128, 256, 512, 1024]),
       store=st.booleans())
@settings(max_examples=40, deadline=None)
def test_a_whole_register_move_takes_nf_vlen_bits_of_beats(preset, nf, eew, vlen, store):
    n = 16
    insn = f"vs{nf}r.v v{VD}, (a0)" if store else f"vl{nf}re{eew}.v v{VD}, (a0)"
    m, busy = _pipe_busy(preset, vlen, insn, n)
    p = params(m)
    pipe = p.vpipe[_class_index("VSTORE" if store else "VLOAD")]
    width = p.pipe_width[pipe] or p.dlen
    assert busy[PIPES[pipe]] == n * max(1, nf * vlen // width)
    assert sum(busy.values()) == busy[PIPES[pipe]]


@pytest.mark.parametrize("nf", [1, 2, 4, 8])
@pytest.mark.parametrize("store", [False, True])
def test_a_cost_rows_lmul_term_counts_nf_registers(nf, store):
    n, per_register = 16, 3
    insn, row = (f"vs{nf}r.v", f"vs{nf}r.v") if store else (f"vl{nf}re32.v", f"vl{nf}re32.v")
    _, busy = _pipe_busy("generic", 256, f"{insn} v{VD}, (a0)", n,
                         model={"vcost": {row: {"occ": {"lmul": per_register}}}})
    assert sum(busy.values()) == n * per_register * nf
