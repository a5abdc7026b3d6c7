"""Segment loads and stores on the timing model: a preset's segment rows price them
(spacemit-x60: one field element a cycle, LLVM 22's X60 model), and a preset without
segment rows prices them by the general rule of docs/timing-model.md, as before the
rows existed.  The oracles are the formulas, evaluated here from the RVV spec's
definitions: a segment access moves vl segments of NF fields of EEW bits each."""
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import Machine
from rvai.emu.isa import assemble
from rvai.target import Target

CODE = 0x10000
RUNS = (8, 24)
#: mnemonic pattern -> operands after the register group (v8): unit-stride, strided, indexed
FORMS = {"vsseg{nf}e{eew}.v": "(a0)", "vlseg{nf}e{eew}.v": "(a0)", "vlseg{nf}e{eew}ff.v": "(a0)",
         "vlsseg{nf}e{eew}.v": "(a0), a1", "vssseg{nf}e{eew}.v": "(a0), a1",
         "vluxseg{nf}ei{eew}.v": "(a0), v16", "vloxseg{nf}ei{eew}.v": "(a0), v16",
         "vsuxseg{nf}ei{eew}.v": "(a0), v16", "vsoxseg{nf}ei{eew}.v": "(a0), v16"}


def _with_rows(preset, rows):
    t = Target.preset(preset)
    return dataclasses.replace(t, model={**t.model, "vcost": {**t.model.get("vcost", {}), **rows}})


def _cycles(target, insn, eew, lmul, vl):
    """Cycles per copy of `insn` (independent copies at SEW = EEW, the given LMUL and vl),
    the difference of two run lengths so that the fixed cost cancels; the index
    register v16 holds zeros, so indexed forms touch one segment's bytes."""
    m = Machine(target, timed=True)
    m.map(CODE, 4 * (RUNS[1] + 8), "rx")
    buf = m.alloc(64 * 1024, align=4096)
    elapsed = []
    for n in RUNS:
        lines = [f"vsetvli t2, a2, e{eew}, m{lmul}, ta, ma", "vmv.v.i v16, 0", "rdcycle a3"] + [insn] * n
        lines += ["rdcycle a4", "sub a0, a4, a3", "jalr zero, 0(ra)"]
        m.write(CODE, np.array([assemble(t) for t in lines], dtype=np.uint32))
        m.call(CODE, buf, eew // 8, vl)                       # warm caches and predictors
        elapsed.append(m.call(CODE, buf, eew // 8, vl, ret="u64"))
    return (elapsed[1] - elapsed[0]) / (RUNS[1] - RUNS[0])


def _text(form, nf, eew):
    return f"{form.format(nf=nf, eew=eew)} v8, {FORMS[form]}"


# NF and LMUL with NF * LMUL <= 8 (the spec's limit on a segment's register groups)
SHAPES = st.sampled_from([(nf, lmul) for nf in range(2, 9) for lmul in (1, 2, 4) if nf * lmul <= 8])


@given(form=st.sampled_from(sorted(FORMS)), shape=SHAPES, eew=st.sampled_from([8, 16, 32, 64]),
       frac=st.floats(0.01, 1.0))
@settings(max_examples=60, deadline=None)
def test_spacemit_x60_prices_a_segment_access_at_one_field_element_a_cycle(form, shape, eew, frac):
    nf, lmul = shape
    target = Target.preset("spacemit-x60")
    vl = max(1, int(frac * target.vlen * lmul // eew))        # 1 .. VLMAX
    # the preset's rows: occ = vl * NF, LLVM 22's "vl * nf" for X60 (one pipe, so per copy)
    assert _cycles(target, _text(form, nf, eew), eew, lmul, vl) == pytest.approx(vl * nf, abs=0.02)


def test_spacemit_x60_charges_vsseg7e32_at_lmul_1_what_llvm_mca_gives():
    # llvm-mca-22 -mtriple=riscv64 -mcpu=spacemit-x60: reciprocal throughput 56 at vl 8
    assert _cycles(Target.preset("spacemit-x60"), "vsseg7e32.v v8, (a0)", 32, 1, 8) == pytest.approx(56, abs=0.02)
    assert _cycles(Target.preset("spacemit-k1"), "vsseg7e32.v v8, (a0)", 32, 1, 8) == pytest.approx(56, abs=0.02)


def _general_rule(model, form, nf, eew, vl):
    """Occupancy per copy by the rule for accesses without a cost row: unit-stride
    segments ceil(vl * EEW * NF / W) beats of the pipe's width W, at least one a
    segment; strided and indexed ones vl * NF elements at strided_elems_per_cycle;
    spread over the pipe's units."""
    pipe = model.get("vpipe", {}).get("VSTORE" if form.startswith("vs") else "VLOAD", "ls")
    width = model.get("pipe_width", {}).get(pipe, model["dlen"])
    if FORMS[form] == "(a0)":
        occ = max(math.ceil(vl * eew * nf / width), vl)
    else:
        occ = math.ceil(vl * nf / model["strided_elems_per_cycle"])
    return occ / model.get("pipes", {}).get(pipe, 1)


@pytest.mark.parametrize("preset", ["generic", "sifive-x280", "xuantie-c930", "small-inorder"])
@given(form=st.sampled_from(sorted(FORMS)), shape=SHAPES, eew=st.sampled_from([8, 16, 32, 64]),
       frac=st.floats(0.01, 1.0))
@settings(max_examples=20, deadline=None)
def test_presets_without_segment_rows_price_segments_by_the_general_rule(preset, form, shape, eew, frac):
    # sifive-x280 has vle/vse rows: they do not price segments (as before the segment rows)
    nf, lmul = shape
    target = Target.preset(preset)
    vl = max(1, int(frac * target.vlen * lmul // eew))
    want = _general_rule(target.model, form, nf, eew, vl)
    assert _cycles(target, _text(form, nf, eew), eew, lmul, vl) == pytest.approx(want, abs=0.02)


def test_a_segment_mnemonic_row_overrides_its_prefix_row_and_reaches_no_other_segment():
    target = _with_rows("generic", {"vsseg*": {"occ": {"elem": 2.0}}, "vsseg3e16.v": {"occ": 5},
                                    "vlseg2e8.v": {"occ": {"const": 3, "elem": 0.5}}})
    assert _cycles(target, "vsseg3e16.v v8, (a0)", 16, 1, 16) == pytest.approx(5, abs=0.02)
    assert _cycles(target, "vsseg3e32.v v8, (a0)", 32, 1, 8) == pytest.approx(2 * 3 * 8, abs=0.02)
    assert _cycles(target, "vlseg2e8.v v8, (a0)", 8, 1, 10) == pytest.approx(3 + 0.5 * 2 * 10, abs=0.02)
    # the fault-only-first form and the strided one have rows of their own names
    assert _cycles(target, "vlseg2e8ff.v v8, (a0)", 8, 1, 32) == pytest.approx(32, abs=0.02)
    assert _cycles(target, "vssseg3e32.v v8, (a0), a1", 32, 1, 8) == pytest.approx(24, abs=0.02)


@pytest.mark.parametrize("row", ["vsseg9e32.v", "vsseg2e33.v", "vsseg9*", "vlseg2e32.vv", "vsxseg*"])
def test_unknown_segment_mnemonics_in_a_row_are_errors(row):
    with pytest.raises(ValueError, match="vcost"):
        Machine(_with_rows("generic", {row: {"occ": 1}}), timed=True)
