"""Vector register groups in the timing model against RVV 1.0: a vector op
waits for a write of any register of each of its source groups, and its
result marks only its destination group as written.  Each operand's group
follows the spec (§5.2): element i of an operand of element width EEW based
at register b lives in register b + i·EEW // VLEN, so a read of vl elements
touches those registers and no others; EEW is SEW for most operands, 2·SEW
for a ``.w`` or narrowing source and a widening result or accumulator,
SEW/f for ``vzext.vf<f>``, 16 for ``vrgatherei16``'s index, the width's EEW
for an indexed access's index; a mask (v0, ``vcompress``'s vs1, a mask op's
source or result), a reduction's scalar and ``vmv.x.s``'s source are one
register; ``vmv<nr>r.v`` moves nr registers; a segment's NF fields are NF
groups one after the other.  The oracle is that arithmetic, not the model's
code: the probe writes one register at LMUL 1 with a slow chain and sees
whether the op under test starts later than when the chain writes a
register no operand of it touches.  Both tiers: the translating one runs
the op's step written in its block with the plan's source groups."""
import pytest
from hypothesis import given, settings, strategies as st

from tests.conftest import CODE, load_program
from rvai.emu import Machine
from rvai.target import Target

PRESETS = ["generic", "small-inorder", "spacemit-x60"]   # chaining or not, several DLENs
TIERS = ["interpret", "translate"]
CHAIN = 12   # dependent LMUL-1 multiplies writing the probed register: long enough to show a wait
FAR = 4      # a register no case's operands touch (they use v0 and v8 up): the probe's baseline


def touched(base, eew, vl, vlen):
    """The registers vl elements of EEW bits from register `base` occupy (RVV 1.0 §5.2)."""
    return {base + i * eew // vlen for i in range(vl)}


def fields(base, nf, eew, sew, lmul, vl, vlen):
    """A segment access's NF field groups, each of EMUL = EEW/SEW·LMUL registers (§7.8)."""
    emul = max(1, eew * lmul // sew)
    return set().union(*(touched(base + f * emul, eew, vl, vlen) for f in range(nf)))


def machine(tier, preset, vlen, monkeypatch):
    """A timed machine of `tier`; a translating one translates each block at its first entry."""
    monkeypatch.setenv("RVAI_JIT_TIMED", "1")
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    m = Machine(Target.preset(preset), vlen=vlen, tier=tier)
    m.set_timed(True)
    return m


def blocks(*parts):
    """The parts of a program each a block of its own (a jump to the next
    ends each): each is entered, and translated, under the vtype and vl the
    part before it set, so a translated one runs its vector steps written
    with their plans (the chain's and the op's, which read and write vsplit)."""
    return [line for part in parts[:-1] for line in part + ["jal zero, 4"]] + parts[-1]


def op_start(tier, preset, vlen, probe, vtype, vl, op, monkeypatch):
    """The cycle `op` (under `vtype` and vl) starts after a chain of LMUL-1
    multiplies writing v`probe`; a0 points at zeroed memory (an indexed op's
    indices are the zero registers' zeros)."""
    m = machine(tier, preset, vlen, monkeypatch)
    buf = m.alloc(64 * vlen, align=4096)
    chain = [f"vfmul.vv v{probe}, v{probe}, v{probe}"] * CHAIN
    load_program(m, blocks(["vsetvli t0, zero, e32, m1, ta, ma"], chain + [f"vsetvli t0, a1, {vtype}, ta, ma"],
                           [op, "jalr zero, 0(ra)"]))
    m.reset_counters()
    m.call(CODE, buf, vl)
    if tier == "translate":
        assert m.translation["blocks"] > 0
    return m.profile().trace[-1][0]   # the op under test: the last vector op


def draw_vtype(draw, sews, lmuls):
    """A drawn SEW, LMUL, VLEN and vl (VLMAX or below), and VLMAX."""
    sew, lmul, vlen = draw(st.sampled_from(sews)), draw(st.sampled_from(lmuls)), draw(st.sampled_from([128, 256]))
    vlmax = vlen * lmul // sew
    return sew, lmul, vlen, draw(st.sampled_from([vlmax, draw(st.integers(1, vlmax))])), vlmax


@st.composite
def case(draw):
    """An op under a drawn SEW, LMUL and vl, with the registers its sources
    occupy by the spec.  vd's group is v8, vs2's v16, vs1's v24 (aligned at
    every legal EMUL)."""
    sew, lmul, vlen, vl, vlmax = draw_vtype(draw, [8, 16, 32, 64], [1, 2, 4, 8])
    at = lambda base, eew: touched(base, eew, vl, vlen)   # noqa: E731
    kinds = ["vv", "masked", "merge", "red", "index", "compress", "cpop", "xs", "wholemove", "store"]
    if 16 * lmul // sew <= 8:
        kinds += ["ei16"]
    if sew <= 32 and lmul <= 4:
        kinds += ["wv", "narrow"]
    if sew >= 16:
        kinds += ["zext"]
    if sew >= 32:
        kinds += ["fmacc"]
    if sew == 32 and lmul <= 4:
        kinds += ["fwmacc"]
    if vl == vlmax and 8 * lmul // sew <= 4:   # a field of EEW 8 fits twice
        kinds += ["segment"]   # a short vl: see docs/timing-model.md (the model takes the fields' span)
    kind = draw(st.sampled_from(kinds))
    if kind == "vv":
        op, srcs = "vadd.vv v8, v16, v24", at(16, sew) | at(24, sew)
    elif kind == "masked":
        op, srcs = "vadd.vv v8, v16, v24, v0.t", at(16, sew) | at(24, sew) | {0}
    elif kind == "merge":
        op, srcs = "vmerge.vvm v8, v16, v24, v0", at(16, sew) | at(24, sew) | {0}
    elif kind == "red":   # vs1 and vd: element 0 (§14)
        op, srcs = "vredsum.vs v8, v16, v24", at(16, sew) | {24}
    elif kind == "ei16":  # the index EMUL = 16/SEW·LMUL (§16.4)
        op, srcs = "vrgatherei16.vv v8, v16, v24", at(16, sew) | at(24, 16)
    elif kind == "index":  # the index EMUL = EEW/SEW·LMUL (§7.3); the data's is LMUL (a load: not a source)
        eew = draw(st.sampled_from([e for e in (8, 16, 32, 64) if e * lmul // sew <= 8]))
        op, srcs = f"vluxei{eew}.v v8, (a0), v16", at(16, eew)
    elif kind == "compress":   # vs1 is a mask (§16.5)
        op, srcs = "vcompress.vm v8, v16, v24", at(16, sew) | {24}
    elif kind == "cpop":
        op, srcs = "vcpop.m a2, v16", {16}
    elif kind == "xs":
        op, srcs = "vmv.x.s a2, v16", {16}
    elif kind == "wholemove":  # nr registers whatever vtype and vl (§16.6)
        nr = draw(st.sampled_from([1, 2, 4, 8]))
        op, srcs = f"vmv{nr}r.v v8, v16", set(range(16, 16 + nr))
    elif kind == "store":  # vs3: the data EMUL = EEW/SEW·LMUL (§7.3)
        eew = draw(st.sampled_from([e for e in (8, 16, 32, 64) if e * lmul // sew <= 8]))
        op, srcs = f"vse{eew}.v v8, (a0)", at(8, eew)
    elif kind == "wv":
        op, srcs = "vwadd.wv v8, v16, v24", at(16, 2 * sew) | at(24, sew)
    elif kind == "narrow":
        op, srcs = "vnsrl.wv v8, v16, v24", at(16, 2 * sew) | at(24, sew)
    elif kind == "zext":
        f = draw(st.sampled_from([f for f in (2, 4, 8) if sew // f >= 8]))
        op, srcs = f"vzext.vf{f} v8, v16", at(16, sew // f)
    elif kind == "fmacc":  # vd is read too (§13.6)
        op, srcs = "vfmacc.vv v8, v24, v16", at(8, sew) | at(16, sew) | at(24, sew)
    elif kind == "fwmacc":  # a 2·SEW accumulator (§13.7)
        op, srcs = "vfwmacc.vv v8, v24, v16", at(8, 2 * sew) | at(16, sew) | at(24, sew)
    else:  # segment store: NF fields of EMUL registers each, NF·EMUL <= 8
        eew = draw(st.sampled_from([e for e in (8, 16, 32, 64) if e * lmul // sew <= 4]))
        emul = max(1, eew * lmul // sew)
        nf = draw(st.integers(2, 8 // emul))
        op, srcs = f"vsseg{nf}e{eew}.v v8, (a0)", fields(8, nf, eew, sew, lmul, vl, vlen)
    return f"e{sew}, m{lmul}", vl, vlen, op, srcs


def near_misses(srcs):
    """Registers the op does not read next to ones it does: the one past each
    run of its sources, v0 and vd's first register (read by some ops only)."""
    return ({r + 1 for r in srcs if r + 1 < 32} | {0, 8}) - srcs


def assert_waits_exactly(start, probes, want, what):
    """start(r): a probed op's start when v`r` was written late; it is later
    than when untouched v`FAR` was for the registers in `want` only."""
    free = start(FAR)
    for r in sorted(probes):
        got = start(r)
        assert (got > free) == (r in want), f"{what}: v{r} (start {got}, free {free})"


@given(c=case(), preset=st.sampled_from(PRESETS), tier=st.sampled_from(TIERS))
@settings(max_examples=60, deadline=None)
def test_an_op_waits_for_a_write_of_any_register_of_its_source_groups(c, preset, tier):
    vtype, vl, vlen, op, srcs = c
    with pytest.MonkeyPatch.context() as mp:
        assert_waits_exactly(lambda r: op_start(tier, preset, vlen, r, vtype, vl, op, mp),
                             srcs | near_misses(srcs), srcs, f"{op} under {vtype}, vl {vl}")


def reader_start(tier, preset, vlen, vtype, vl, op, probe, monkeypatch):
    """The cycle a store of v`probe` (vs1r.v: one register, on the load/store
    pipe) starts after `op` (under `vtype` and vl), which a chain of
    multiplies on its sources v16 and v24 holds back: later than a store of
    an untouched register only when op wrote v`probe`."""
    m = machine(tier, preset, vlen, monkeypatch)
    chain = ["vfmul.vv v16, v16, v16", "vfmul.vv v24, v24, v24"] * (CHAIN // 2)
    load_program(m, blocks(["vsetvli t0, zero, e32, m1, ta, ma"], chain + [f"vsetvli t0, a1, {vtype}, ta, ma"],
                           [op, "vsetvli t0, zero, e32, m1, ta, ma"], [f"vs1r.v v{probe}, (a0)", "jalr zero, 0(ra)"]))
    m.reset_counters()
    m.call(CODE, m.alloc(64 * vlen, align=4096), vl)
    return m.profile().trace[-1][0]


@st.composite
def writer(draw):
    """An op writing vd = v8 under a drawn SEW, LMUL and vl, with the
    registers its result occupies by the spec."""
    sew, lmul, vlen, vl, _ = draw_vtype(draw, [8, 16, 32], [1, 2, 4])
    at = lambda eew: touched(8, eew, vl, vlen)   # noqa: E731
    op, dst = draw(st.sampled_from([
        ("vadd.vv v8, v16, v24", at(sew)),
        ("vwadd.vv v8, v16, v24", at(2 * sew)),      # a 2·SEW result (§11.2)
        ("vnsrl.wi v8, v16, 1", at(sew)),            # a SEW result of a 2·SEW source (§11.7)
        ("vredsum.vs v8, v16, v24", {8}),            # the scalar in element 0 (§14)
        ("vmseq.vv v8, v16, v24", {8}),              # a mask (§11.8)
        ("vmand.mm v8, v16, v24", {8}),              # a mask (§15.1)
    ]))
    return f"e{sew}, m{lmul}", vl, vlen, op, dst


@given(w=writer(), preset=st.sampled_from(PRESETS), tier=st.sampled_from(TIERS))
@settings(max_examples=40, deadline=None)
def test_an_op_marks_only_its_destination_group_written(w, preset, tier):
    vtype, vl, vlen, op, dst = w
    with pytest.MonkeyPatch.context() as mp:   # v8's largest group (v16 is the chain's)
        assert_waits_exactly(lambda r: reader_start(tier, preset, vlen, vtype, vl, op, r, mp),
                             range(8, 16), dst, f"{op} under {vtype}, vl {vl}")
