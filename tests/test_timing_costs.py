"""Per-instruction cost tables and `rvai calibrate`: what a table row says is what
the microbenchmark driver measures (the oracle is the row's formula, evaluated
here independently), calibration gives a table's numbers back, and the shipped
presets match the references they cite."""
import dataclasses
import math
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import rvai
from rvai import calibrate
from rvai.calibrate import Row, read_table
from rvai.cli import main as cli_main
from rvai.microbench import Cell, cycles_per_insn
from rvai.target import Target

MEASURED = Path(rvai.__file__).parent / "targets" / "measured"


def _with(preset="generic", **model):
    t = Target.preset(preset)
    return dataclasses.replace(t, model={**t.model, **model})


def _form_cycles(form, vlen, sew, lmul):
    """The cycles a cost form gives, computed from its definition (docs/timing-model.md)."""
    vl = vlen * lmul // sew
    x = form.get("const", 0) + form.get("lmul", 0) * lmul + form.get("lmul2", 0) * lmul ** 2 \
        + form.get("elem", 0) * vl
    return max(1, math.floor(x + 0.5))


@given(const=st.integers(0, 6), per_lmul=st.integers(0, 5), per_l2=st.integers(0, 3),
       per_elem=st.sampled_from([0, 0.25, 0.5, 1]), sew=st.sampled_from([8, 32, 64]),
       insn=st.sampled_from(["vrgather.vv", "vadd.vv", "vfredosum.vs", "vle{sew}.v"]))
@settings(max_examples=15, deadline=None)
def test_a_cost_row_sets_cycles_per_instruction_at_every_lmul(const, per_lmul, per_l2, per_elem, sew, insn):
    insn = insn.format(sew=sew)
    if insn.startswith("vf") and sew == 8:
        sew = 32
    form = {k: v for k, v in {"const": const, "lmul": per_lmul, "lmul2": per_l2, "elem": per_elem}.items() if v}
    target = _with(vcost={insn: {"occ": form or 1}})
    for lmul in (1, 2, 4, 8):
        want = _form_cycles(form or {"const": 1}, target.vlen, sew, lmul)
        assert cycles_per_insn(target, Cell(insn, sew, lmul)) == pytest.approx(want, abs=0.02)


@pytest.mark.parametrize("masked,e64", [(2.0, 1.0), (1.0, 2.0), (2.0, 3.0), (1.5, 1.0)])
def test_masked_and_e64_factors_scale_occupancy_the_larger_applying(masked, e64):
    target = _with(vcost={"VALU": {"occ": {"lmul": 2}, "masked": masked, "e64": e64}})
    for lmul in (1, 4):
        base = cycles_per_insn(target, Cell("vsub.vv", 32, lmul))
        assert base == pytest.approx(2 * lmul, abs=0.02)
        assert cycles_per_insn(target, Cell("vsub.vv", 32, lmul, masked=True)) == pytest.approx(
            round(base * masked), abs=0.02)
        assert cycles_per_insn(target, Cell("vsub.vv", 64, lmul, masked=True)) == pytest.approx(
            round(base * max(masked, e64)), abs=0.02)


def test_a_mnemonic_row_overrides_its_prefix_and_class_rows_and_inherits_their_factors():
    target = _with(vcost={"VPERM": {"occ": 7, "masked": 2.0}, "vrgather*": {"occ": 5},
                          "vrgather.vx": {"occ": 3}})
    assert cycles_per_insn(target, Cell("vslidedown.vi", 32, 1)) == pytest.approx(7, abs=0.02)
    assert cycles_per_insn(target, Cell("vrgather.vv", 32, 1)) == pytest.approx(5, abs=0.02)
    assert cycles_per_insn(target, Cell("vrgather.vx", 32, 1)) == pytest.approx(3, abs=0.02)
    assert cycles_per_insn(target, Cell("vrgather.vx", 32, 1, masked=True)) == pytest.approx(6, abs=0.02)


def test_without_a_row_the_dlen_rule_holds_and_pipe_width_sets_the_beat():
    t = Target.preset("generic")
    dlen = t.model.get("dlen", 128)
    for lmul in (1, 8):
        assert cycles_per_insn(t, Cell("vadd.vv", 32, lmul)) == pytest.approx(t.vlen * lmul / dlen, abs=0.02)
        wide = _with(pipe_width={"arith": 2 * dlen})
        assert cycles_per_insn(wide, Cell("vadd.vv", 32, lmul)) == pytest.approx(
            max(1, t.vlen * lmul / (2 * dlen)), abs=0.02)


@pytest.mark.parametrize("occ", [2, 3, 5])
def test_scalar_occupancy_spaces_independent_multiplies(occ):
    assert cycles_per_insn(_with(occupancy={"MUL": occ}), Cell("mul")) == pytest.approx(occ, abs=0.02)
    # the adds around them are not held up: independent adds issue at full width
    issue = Target.preset("generic").model["issue_width"]
    assert cycles_per_insn(_with(occupancy={"MUL": occ}), Cell("add")) == pytest.approx(1 / issue, abs=0.02)


@pytest.mark.parametrize("row", [
    {"vfoo.vv": {"occ": 1}}, {"vadd.vv": {"occ": {"cubic": 1}}}, {"vadd.vv": {"speed": 1}},
    {"ALU": {"occ": 1}}, {"vadd.vv": {"masked": -1}}, {"vadd.vv": {"pipe": "dsp"}}, {"vzz*": {"occ": 1}},
    {3: {"occ": 1}}])
def test_bad_cost_rows_are_rejected_with_a_clear_error(row):
    from rvai.emu import Machine
    with pytest.raises(ValueError, match="vcost"):
        Machine(_with(vcost=row), timed=True)


CELLS = [Cell("vadd.vv", s, m) for s in (8, 32) for m in (1, 2, 4, 8)] + \
        [Cell("vadd.vv", 32, m, True) for m in (1, 2, 4, 8)] + \
        [Cell("vrgather.vv", 32, m) for m in (1, 2, 4, 8)] + \
        [Cell("vfredosum.vs", 32, m) for m in (1, 2, 4, 8)] + \
        [Cell("vle32.v", 32, m) for m in (1, 2, 4, 8)] + [Cell("mul")]


@pytest.mark.parametrize("preset", ["generic", "spacemit-x60", "sifive-x280"])
def test_calibrating_from_a_presets_own_table_gives_its_numbers_back(preset):
    t = Target.preset(preset)
    rows = [Row(c, cycles_per_insn(t, c)) for c in CELLS]
    fitted = calibrate.calibrated(rows, dataclasses.replace(Target.preset("generic"), vlen=t.vlen,
                                                              min_vlen=t.min_vlen))
    for r in rows:
        assert cycles_per_insn(fitted, r.cell) == pytest.approx(r.cycles, rel=0.02, abs=0.02), r.cell


@given(factors=st.lists(st.sampled_from([0.5, 1.5, 2, 3, 4]), min_size=4, max_size=4),
       mul=st.integers(1, 6))
@settings(max_examples=6, deadline=None)
def test_calibrating_from_a_perturbed_table_gives_the_perturbation(factors, mul):
    base = Target.preset("spacemit-x60")
    scale = dict(zip(("vadd.vv", "vrgather.vv", "vfredosum.vs", "vle32.v"), factors))
    rows = [Row(c, mul if not c.vector else max(1.0, round(cycles_per_insn(base, c) * scale[c.insn])))
            for c in CELLS]
    fitted = calibrate.calibrated(rows, base)
    for r in rows:
        assert cycles_per_insn(fitted, r.cell) == pytest.approx(r.cycles, rel=0.10, abs=0.5), r.cell


@pytest.mark.parametrize("preset", ["spacemit-x60", "sifive-x280"])
def test_shipped_presets_match_their_cited_tables_on_nine_cells_in_ten(preset):
    rows = read_table(MEASURED / f"{preset}.csv")
    assert all(r.source for r in rows)         # every reference row says where it comes from
    pairs = calibrate.compare(Target.preset(preset), rows)
    ok = sum(abs(got / r.cycles - 1) <= calibrate.TOLERANCE for r, got in pairs)
    assert ok >= 0.9 * len(pairs)


def test_rvai_calibrate_writes_a_target_that_loads_and_prints_the_fit(tmp_path, capsys):
    table = tmp_path / "m.csv"
    table.write_text("# made up\ninsn,masked,sew,lmul,cycles\nvrgather.vv,0,32,1,6\nvrgather.vv,0,32,2,12\n"
                     "vrgather.vv,0,32,4,24\nvrgather.vv,0,32,8,48\nmul,0,,,4\n")
    out = tmp_path / "new.toml"
    assert cli_main(["calibrate", str(table), "--base", "spacemit-x60", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "within ±10%: 5 of 5 cells" in text
    new = Target.from_toml(out)
    assert new.model["vcost"]["vrgather.vv"]["occ"] == {"lmul": 6.0}
    assert new.model["occupancy"]["MUL"] == 4
    assert cycles_per_insn(new, Cell("vrgather.vv", 8, 4)) == pytest.approx(24, abs=0.02)


@pytest.mark.parametrize("text", ["insn,cycles\nvadd.vv,1\n", "insn,masked,sew,lmul,cycles\nvadd.vv,0,32,3,1\n",
                                  "insn,masked,sew,lmul,cycles\nvadd.vv,0,32,1,-1\n"])
def test_rvai_calibrate_rejects_bad_tables_with_one_error_line(tmp_path, capsys, text):
    table = tmp_path / "bad.csv"
    table.write_text(text)
    assert cli_main(["calibrate", str(table), "-o", str(tmp_path / "x.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rvai: error:") and err.count("\n") == 1


@pytest.mark.parametrize("lmul", [1, 4])
def test_a_separate_store_pipe_overlaps_stores_with_loads(lmul):
    # alternating loads and stores of one group: on one ls pipe their cycles add up,
    # with stores on the st pipe they overlap (each pipe busy half as long)
    from rvai.emu import Machine
    from rvai.emu.isa import assemble
    import numpy as np
    cycles = {}
    for vpipe in ({}, {"VSTORE": "st"}):
        m = Machine(_with(vpipe=vpipe), timed=True)
        body = [f"vsetvli t0, zero, e32, m{lmul}, ta, ma"] + ["vle32.v v8, (a0)", "vse32.v v16, (a0)"] * 32
        m.map(0x10000, 4096, "rx")
        m.write(0x10000, np.array([assemble(t) for t in body + ["jalr zero, 0(ra)"]], dtype=np.uint32))
        buf = m.alloc(4096, align=4096)
        m.call(0x10000, buf)
        m.reset_counters()
        m.call(0x10000, buf)
        cycles[bool(vpipe)] = m.profile()
    one, two = cycles[False], cycles[True]
    assert two.pipe_busy["st"] == one.pipe_busy["ls"] / 2 == two.pipe_busy["ls"]
    assert two.cycles < 0.6 * one.cycles
