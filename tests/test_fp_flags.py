"""Accrued FP flags (fflags) across instructions, for the host-MXCSR fast path
(csrc/fp.h's invariant): most FP instructions no longer read or clear the
host's flags, so fflags is right only if the host's sticky flags never hold
one fflags lacks, and a result that can carry a new flag is always looked at.

Guest programs run sequences of scalar (fadd/fsub/fmul/fdiv/fsqrt/fmadd) and
vector (vfadd/vfmul/vfdiv/vfmacc .vv/.vf) instructions on operands at the
"special" boundaries (the smallest normal and its neighbours, the largest
finite, products that round to exactly the smallest normal, overflow
thresholds, zeros, infinities, NaNs), under every rounding mode, with guest
writes and partial clears of fflags/fcsr between them, recording fflags
after each step.  The oracle is test_fp.py's exact Fraction arithmetic,
simulated step by step here (flags accrue, the guest's writes replace them).
Everything runs in both tiers; foreign code between guest instructions (the
translate hook into Python, Python between calls, the timing model's double
arithmetic, another thread) must not leak host flags into fflags."""
from __future__ import annotations

import platform
import shutil
import struct
import subprocess
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import Machine, translate
from rvai.emu.isa import assemble
from rvai.target import Target
from tests.conftest import CODE, load_program
from tests.test_fp import (DZ, FMTS, NV, NX, OF, RDN, RM_NAMES, RNE, RTZ, RUP, UF, box, o_add, o_div,
                           o_fma, o_mul, o_sqrt, o_sub, round_to, specials)

TIERS = ["interpret", "translate"]
VLEN = 256
SRC = ["ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7"]   # f0..f7: operands; fs0: results
VSRC = [1, 2, 3, 4, 5]                                           # v1..v5: operands; v8: results / accumulator


def machine(tier, monkeypatch, **kw):
    """A machine of ``tier``; translate: every block on its first entry."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    return Machine(vlen=VLEN, tier=tier, **kw)


def value_bits(f, q, rm=RNE):
    return round_to(Fraction(q), f, rm)[0]


def boundary(f):
    """Operands whose results land on the special boundaries of format f, or just inside."""
    mn = 1 << f.fbits
    big = f.inf - 1
    vals = [value_bits(f, 1 - Fraction(2) ** -f.p),         # times the smallest normal: rounds up to it (UF)
            value_bits(f, 1 + Fraction(2) ** (1 - f.p)),     # times the largest finite: overflows
            value_bits(f, Fraction(2) ** (f.emax - f.p)),    # half an ulp of the largest finite: a tie at overflow
            mn, mn + 1, mn - 1, big, big - 1, value_bits(f, Fraction(1, 3)), value_bits(f, 3), value_bits(f, 1),
            value_bits(f, 2), value_bits(f, Fraction(1, 2)), 0, 1]
    return sorted({v | s for v in vals for s in (0, f.sign)})


def pool(f):
    return sorted(set(boundary(f) + specials(f)))


# ---- the step-by-step oracle ------------------------------------------------------

SCALAR = {"fadd": (o_add, 2), "fsub": (o_sub, 2), "fmul": (o_mul, 2), "fdiv": (o_div, 2),
          "fsqrt": (o_sqrt, 1), "fmadd": (o_fma, 3)}
VECTOR = ["vfadd.vv", "vfmul.vv", "vfdiv.vv", "vfmacc.vv", "vfmacc.vf"]


def vector_oracle(name, f, vs2, vs1, fs, vd, active, rm):
    """vd after `name` and the flags its active elements raise."""
    out, fl = list(vd), 0
    for i, on in enumerate(active):
        if not on:
            continue
        if name == "vfadd.vv":
            r, e = o_add(vs2[i], vs1[i], f, rm)
        elif name == "vfmul.vv":
            r, e = o_mul(vs2[i], vs1[i], f, rm)
        elif name == "vfdiv.vv":
            r, e = o_div(vs2[i], vs1[i], f, rm)
        elif name == "vfmacc.vv":
            r, e = o_fma(vs1[i], vs2[i], vd[i], f, rm)
        else:
            r, e = o_fma(fs, vs2[i], vd[i], f, rm)
        out[i], fl = r, fl | e
    return out, fl


class Sequence:
    """A guest program of steps over registers f0..f7, v1..v5 and v8 (the
    vector destination and accumulator) of format f, vl elements, mask v0;
    fflags start at flags0.  Each step appends its instruction(s) and the
    fflags the oracle expects after it, which the program records."""

    def __init__(self, f, fregs, vregs, v8, mask, vl, flags0):
        self.f, self.fregs, self.vregs, self.v8, self.mask, self.vl = f, fregs, vregs, list(v8), mask, vl
        self.v8_start = list(v8)   # self.v8 follows the steps
        self.flags0 = self.flags = flags0
        self.frm = RNE
        self.lines, self.steps, self.want = [], [], []

    def _record(self, text):
        self.lines += ["csrrs t0, fflags, zero", f"sd t0, {8 * len(self.want)}(a0)"]
        self.steps.append(text)
        self.want.append(self.flags)

    def scalar(self, name, srcs, rm):
        fn, arity = SCALAR[name]
        _, fl = fn(*[self.fregs[s] for s in srcs[:arity]], self.f, self.frm if rm is None else rm)
        ops = ", ".join(["fs0"] + [SRC[s] for s in srcs[:arity]] + ([RM_NAMES[rm]] if rm is not None else []))
        self.lines.append(f"{name}.{self.f.name} {ops}")
        self.flags |= fl
        self._record(self.lines[-1])

    def vector(self, name, a, b, s, masked):
        """name with vs2 = v[a], vs1 = v[b] or the scalar f[s]."""
        active = [(self.mask >> i) & 1 if masked else 1 for i in range(self.vl)]
        fs = self.fregs[s]
        self.v8[:self.vl], fl = vector_oracle(name, self.f, self.vregs[a], self.vregs[b], fs, self.v8[:self.vl],
                                              active, self.frm)
        if name == "vfmacc.vv":
            ops = f"v8, v{VSRC[b]}, v{VSRC[a]}"   # vd = vs1 * vs2 + vd
        elif name == "vfmacc.vf":
            ops = f"v8, {SRC[s]}, v{VSRC[a]}"
        else:
            ops = f"v8, v{VSRC[a]}, v{VSRC[b]}"
        self.lines.append(f"{name} {ops}" + (", v0.t" if masked else ""))
        self.flags |= fl
        self._record(self.lines[-1])

    def write(self, how, v):
        """A guest write of fflags: csrrci (clear bits v), csrrwi / fsflags / fcsr (set to v)."""
        if how == "clear":
            self.lines.append(f"csrrci zero, fflags, {v}")
            self.flags &= ~v
        elif how == "fsflags":
            self.lines += [f"addi t1, zero, {v}", "csrrw zero, fflags, t1"]
            self.flags = v
        elif how == "fcsr":
            self.lines.append(f"csrrwi zero, fcsr, {v}")   # frm becomes 0 (RNE): v < 32
            self.flags, self.frm = v, RNE
        else:
            self.lines.append(f"csrrwi zero, fflags, {v}")
            self.flags = v
        self._record(self.lines[-1])

    def copy_to_v8(self, b):
        """vmv.v.v v8, v[b]: a fresh accumulator."""
        self.lines.append(f"vmv.v.v v8, v{VSRC[b]}")
        self.v8[:self.vl] = self.vregs[b][:self.vl]

    def set_frm(self, rm):
        self.lines.append(f"csrrwi zero, frm, {rm}")
        self.frm = rm

    def run(self, m, loaded=None):
        """Set the registers, run the steps, check fflags after each.  loaded:
        a dict the caller keeps per machine, to load the program only when
        its lines differ from the last one's."""
        f = self.f
        for i, v in enumerate(self.fregs):
            m.f(i, box(v, f) if f.width < 64 else v)
        dt, pad = (np.uint32 if f.width == 32 else np.uint64), VLEN // f.width
        for r, vals in zip(VSRC + [8], self.vregs + [self.v8_start]):
            m.v(r, np.array(list(vals) + [0] * (pad - len(vals)), dt).tobytes())
        m.v(0, int(self.mask).to_bytes(VLEN // 8, "little"))
        m.csr(1, self.flags0)
        m.csr(2, RNE)
        if loaded is None or loaded.get("lines") != self.lines:
            lines = [f"vsetvli t2, a1, e{f.width}, m1, tu, mu"] + self.lines + ["jalr zero, 0(ra)"]
            if loaded:   # mapped already: a new program over the old one
                m.write(CODE, np.array([assemble(t) for t in lines], dtype=np.uint32))
            else:
                load_program(m, lines)
            if loaded is not None:
                loaded["lines"] = list(self.lines)
        out = m.alloc(8 * len(self.want))
        m.call(CODE, out, self.vl, ret=None)
        got = [int(x) for x in m.read(out, np.uint64, len(self.want))]
        for k, (g, w) in enumerate(zip(got, self.want)):
            assert g == w, f"after step {k} ({self.steps[k]}) of {self.steps}: fflags {g:#x}, want {w:#x}"


# ---- drawn sequences ----------------------------------------------------------------

@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("fmt", "sd")
@given(data=st.data())
@settings(max_examples=30, deadline=None)
def test_drawn_sequences_accrue_flags_exactly(tier, fmt, data):
    """Random mixes of boundary operations, rounding-mode changes and guest
    writes of fflags: fflags after every step as the oracle accrues them."""
    f = FMTS[fmt]
    p, n = pool(f), VLEN // f.width
    elems = st.lists(st.sampled_from(p), min_size=n, max_size=n)
    seq = Sequence(f, data.draw(st.lists(st.sampled_from(p), min_size=len(SRC), max_size=len(SRC))),
                   [data.draw(elems) for _ in VSRC], data.draw(elems), data.draw(st.integers(0, 2 ** n - 1)),
                   data.draw(st.integers(1, n)), data.draw(st.sampled_from([0, NX, NX | OF, NX | UF | NV])))
    for _ in range(data.draw(st.integers(3, 10))):
        kind = data.draw(st.sampled_from(["scalar", "scalar", "vector", "vector", "write", "frm"]))
        if kind == "scalar":
            srcs = [data.draw(st.integers(0, len(SRC) - 1)) for _ in range(3)]
            seq.scalar(data.draw(st.sampled_from(sorted(SCALAR))), srcs,
                       data.draw(st.sampled_from([None, RNE, RTZ, RDN, RUP])))
        elif kind == "vector":
            seq.vector(data.draw(st.sampled_from(VECTOR)), data.draw(st.integers(0, len(VSRC) - 1)),
                       data.draw(st.integers(0, len(VSRC) - 1)), data.draw(st.integers(0, len(SRC) - 1)),
                       data.draw(st.booleans()))
        elif kind == "write":
            seq.write(data.draw(st.sampled_from(["clear", "set", "fsflags", "fcsr"])), data.draw(st.integers(0, 31)))
        else:
            seq.set_frm(data.draw(st.sampled_from([RNE, RNE, RTZ, RDN, RUP])))
    if seq.want:
        with pytest.MonkeyPatch.context() as mp:
            seq.run(machine(tier, mp))


# ---- the boundary classes, one by one -----------------------------------------------

def boundary_cases(f):
    """(op, operands): results in every special class, and just inside them."""
    def b(q):   # a positive value
        return value_bits(f, q)
    mn, big = 1 << f.fbits, f.inf - 1
    below_one, above_one = b(1 - Fraction(2) ** -f.p), b(1 + Fraction(2) ** (1 - f.p))
    return [("fmul", [mn, below_one]),           # rounds to the smallest normal (RNE, RUP) or below: UF
            ("fmul", [mn, b(1)]),                # exactly the smallest normal: no flag
            ("fmul", [mn, b(Fraction(1, 2))]),   # an exact subnormal: no UF
            ("fmul", [mn, b(Fraction(1, 3))]),   # an inexact subnormal: UF
            ("fmul", [big, above_one]),          # overflow: inf, or the largest finite (RTZ, RDN)
            ("fmul", [big, b(1)]),               # the largest finite, exact
            ("fadd", [big, b(Fraction(2) ** (f.emax - f.p))]),   # a tie at overflow
            ("fsub", [b(3), b(3)]),              # an exact zero
            ("fadd", [mn + 1, (mn - 1) | f.sign]),   # an exact subnormal difference of normals
            ("fdiv", [b(1), 0]),              # DZ
            ("fdiv", [0, 0]),              # NV
            ("fdiv", [mn, b(3)]),                # tiny and inexact: UF
            ("fdiv", [big, b(Fraction(1, 2))]),  # overflow by division
            ("fsqrt", [b(1) | f.sign]),                  # NV
            ("fsqrt", [f.inf]),                  # an exact infinity: no flag
            ("fmadd", [f.inf, 0, b(1)]),      # inf * 0: NV
            ("fmadd", [mn, below_one, 0]),    # the product rounded once: UF
            ("fmadd", [big, b(2), big | f.sign])]   # 2 big - big = big exactly: no flag


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("rm", [RNE, RTZ, RDN, RUP])
@pytest.mark.parametrize("fmt", "sd")
def test_scalar_boundaries_after_guest_clears(tier, rm, fmt, monkeypatch):
    """Every flag raised (so the host holds OE, UE, IE, ZE too), the guest
    clears all but NX, then each special class twice, negated and not: its
    flags exactly, never one the guest cleared."""
    m, loaded = machine(tier, monkeypatch), {}
    for seq in scalar_boundary_sequences(FMTS[fmt], rm):
        seq.run(m, loaded)


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("rm", [RNE, RTZ, RDN, RUP])
@pytest.mark.parametrize("fmt", "sd")
@pytest.mark.parametrize("name", VECTOR)
def test_vector_boundaries_after_guest_clears(tier, rm, fmt, name, monkeypatch):
    """The same classes as vector elements, each alone in the first or the
    last lane (the other lanes inexact only), masked and not, at a short vl."""
    f = FMTS[fmt]
    n = VLEN // f.width
    big, mn, third, one = f.inf - 1, 1 << f.fbits, value_bits(f, Fraction(1, 3)), value_bits(f, 1)
    m = machine(tier, monkeypatch)
    loaded = {}
    for _, ops in boundary_cases(f):
        a, b = ops[0], ops[1] if len(ops) > 1 else one
        c = ops[2] if len(ops) > 2 else 0
        for masked in (False, True):
            for lane in (0, n - 1):
                vs2, vs1, vd = [third] * n, [third] * n, [one] * n
                vs2[lane], vs1[lane], vd[lane] = a, b, c
                seq = Sequence(f, [b, big, mn, 0, 0, 0, 0, 0], [vs2, vs1, [big] * n, [mn] * n, vd], vd,
                               1 << lane | 0b10, max(lane + 1, 2), 0)
                seq.vector("vfmul.vv", 2, 2, 0, False)   # OF
                seq.vector("vfmul.vv", 3, 3, 0, False)   # UF
                seq.write("clear", OF | UF | NV | DZ)
                seq.copy_to_v8(4)
                seq.set_frm(rm)
                seq.vector(name, 0, 1, 0, masked)
                seq.vector(name, 0, 1, 0, masked)
                seq.run(m, loaded)


# ---- foreign code between guest instructions ------------------------------------------

def dirty_host_flags():
    """Raise the host's overflow, underflow and invalid flags from Python, as
    any foreign code running inside or between guest runs may."""
    big, tiny, inf = 1e308, 1e-308, float("inf")
    return big * 10.0, tiny * 1e-10, inf - inf


SPECIAL_EXACT = ["fmul.d fs0, fa0, fa0",   # 1/3 * 1/3: NX
                 "fsub.d fs1, fa1, fa1"]   # 3 - 3: an exact zero, a special result: the host is read


def test_the_exported_fp_constants_are_the_ieee_values():
    """What the extension exports of csrc/fp.h to the translator (rv_fp_consts,
    read by jit_llvm): the bounds of a special result, NX's bit and whether the
    MXCSR invariant exists, against values made here without the extension:
    IEEE 754's largest finite and smallest normal magnitudes (NumPy's finfo,
    packed to bits by struct), test_fp's NX (the RISC-V spec's fflags bit 0),
    and whether this host is an x86 (the invariant is MXCSR's)."""
    pytest.importorskip("llvmlite")
    from rvai.emu import jit_llvm

    for sew, ftype, fmt in ((32, np.float32, "<f"), (64, np.float64, "<d")):
        fi = np.finfo(ftype)
        bits = [int.from_bytes(struct.pack(fmt, float(v)), "little") for v in (fi.max, fi.tiny)]
        assert jit_llvm.FP_SPECIAL[sew] == tuple(bits), sew
    assert jit_llvm.FP_NX == NX
    assert jit_llvm.VFP_HOST == (platform.machine().lower() in ("x86_64", "amd64", "i386", "i686"))


def test_python_between_calls_leaks_nothing(monkeypatch):
    """NX from the first call; Python raises OE/UE/IE; the second call's special
    result reads the host: only NX (rv_run's entry resets the host)."""
    m = machine("interpret", monkeypatch)
    load_program(m, SPECIAL_EXACT[:1] + ["jalr zero, 0(ra)"])
    load_program(m, SPECIAL_EXACT[1:] + ["csrrs a0, fflags, zero", "jalr zero, 0(ra)"], addr=CODE + 0x1000)
    m.call(CODE, 1 / 3, 3.0, ret=None)
    dirty_host_flags()
    assert m.call(CODE + 0x1000, 1 / 3, 3.0) == NX


def test_translate_hook_leaks_nothing(monkeypatch):
    """The translate hook runs Python between two guest instructions of one run:
    host flags it raises must not reach fflags."""
    original = translate.Translator.translate
    calls = []

    def dirty_translate(self, pc, entries):
        calls.append(pc)
        dirty_host_flags()
        return original(self, pc, entries)

    monkeypatch.setattr(translate.Translator, "translate", dirty_translate)
    m = machine("translate", monkeypatch)
    # the jump ends the first block: the hook runs for the second, after the NX
    load_program(m, [SPECIAL_EXACT[0], "jal zero, 8", "ebreak", SPECIAL_EXACT[1],
                     "csrrs a0, fflags, zero", "jalr zero, 0(ra)"])
    assert m.call(CODE, 1 / 3, 3.0) == NX
    assert CODE + 12 in calls


@pytest.mark.parametrize("tier", TIERS)
def test_min_max_of_a_quiet_nan_leaves_no_invalid(tier, monkeypatch):
    """vfmax/vfmin of a quiet NaN raise nothing (the host's vmaxps raises IE):
    a later special result, read from the host, must not bring NV."""
    m = machine(tier, monkeypatch)
    for name in ("vfmax.vv", "vfmin.vv"):
        m.v(1, np.array([0x7fc00000, 0x3f800000] * 4, np.uint32).tobytes())   # qNaN, 1.0
        m.v(2, np.array([0x3f800000] * 8, np.uint32).tobytes())
        m.csr(1, 0)
        load_program(m, [SPECIAL_EXACT[0], "vsetvli t0, zero, e32, m1, tu, mu", f"{name} v3, v1, v2",
                         SPECIAL_EXACT[1], "csrrs a0, fflags, zero", "jalr zero, 0(ra)"],
                     addr=CODE + (0x1000 if name == "vfmin.vv" else 0))
        assert m.call(CODE + (0x1000 if name == "vfmin.vv" else 0), 1 / 3, 3.0) == NX, name


@pytest.mark.parametrize("field,value", [("dram_bytes_per_cycle", 1e-300), ("l2_bytes_per_cycle", float("inf")),
                                         ("dram_bytes_per_cycle", 2.0 ** 41)])
def test_timing_parameters_that_could_raise_host_flags_are_refused(field, value):
    """The model's double arithmetic must raise at most the host's PE (fp.h's
    invariant): a bandwidth that would overflow or underflow it is refused
    with a clear error, and one inside the range is taken."""
    model = dict(Target.preset("spacemit-x60").model)
    m = Machine(vlen=VLEN)
    with pytest.raises(ValueError, match="2\\^-20 to 2\\^40"):
        m.set_timed(True, {**model, field: value})
    m.set_timed(True, {**model, field: 2.0 ** -20})
    assert m.timed


@pytest.mark.parametrize("tier", TIERS)
def test_timed_mode_exact_ops_raise_nothing(tier, monkeypatch):
    """The timing model's double arithmetic (here: the cache fills of a strided
    walk) runs between guest ops and raises the host's PE: exact ops, a zero
    among them, must leave NX clear, before and after an inexact op whose NX
    the guest cleared."""
    m = machine(tier, monkeypatch, target=Target.preset("spacemit-x60"), timed=True)
    exact = ["fld fs7, 0(a0)", "addi a0, a0, 64", "fadd.d fs0, fa0, fa1", "fmul.d fs1, fa0, fa1",
             "fsub.d fs2, fa0, fa0", "fdiv.d fs3, fa0, fa1", "fmadd.d fs4, fa0, fa1, fa0", "fsqrt.d fs5, fa2"]
    loop = ["addi t0, zero, 100", *exact, "addi t0, t0, -1", f"bne t0, zero, {-4 * (len(exact) + 1)}"]
    load_program(m, loop + ["csrrs a1, fflags, zero", "fdiv.d fs6, fa0, fa3",   # 2/3: NX
                            "csrrwi zero, fflags, 0"] + loop
                 + ["csrrs a0, fflags, zero", "slli a1, a1, 5", "or a0, a0, a1", "jalr zero, 0(ra)"])
    buf = m.alloc(64 * 200)
    assert m.call(CODE, buf, 2.0, 4.0, 16.0, 3.0) == 0


@pytest.mark.parametrize("tier", TIERS)
def test_threads_keep_their_own_flags(tier, monkeypatch):
    """Two threads, one hart each or interleaved on one: one overflows again and
    again, the other has NX only and reads the host on each exact zero."""
    monkeypatch.setenv("RVAI_JIT_HOT", "0")
    for harts, quantum in ((1, 3), (2, 5)):
        m = Machine(vlen=VLEN, tier=tier, harts=harts, quantum=quantum)
        # a0 = 0: overflow (fa0 * fa0 with fa0 huge); a0 = 1: exact zeros after one inexact op
        load_program(m, ["csrrwi zero, fflags, 0", "addi t0, zero, 40", "fmul.d fs0, fa1, fa1",
                         "bne a0, zero, 12", "fmul.d fs1, fa0, fa0", "jal zero, 8",
                         "fsub.d fs1, fa2, fa2", "addi t0, t0, -1", "bne t0, zero, -20",
                         "csrrs a0, fflags, zero", "jalr zero, 0(ra)"])
        got = m.call_threads(CODE, [(0, 1e300, 1 / 3, 3.0), (1, 1e300, 1 / 3, 3.0)])
        assert got == [OF | NX, NX], (harts, quantum, got)


# ---- differential: qemu-riscv64 ----------------------------------------------------

def scalar_boundary_sequences(f, rm):
    """test_scalar_boundaries_after_guest_clears's sequences for format f and mode rm."""
    big, mn, third = f.inf - 1, 1 << f.fbits, value_bits(f, Fraction(1, 3))
    out = []
    for name, ops in boundary_cases(f):
        for negate in (0, f.sign):
            regs = ([ops[0] ^ negate] + ops[1:] + [0, 0, 0])[:3] + [big, mn, 0, third, 0]
            seq = Sequence(f, regs, [[0]] * len(VSRC), [0], 0, 1, 0)
            seq.scalar("fmul", [3, 3], RNE)      # OF
            seq.scalar("fmul", [4, 4], RNE)      # UF
            seq.scalar("fdiv", [5, 5], RNE)      # NV
            seq.scalar("fdiv", [6, 5], RNE)      # DZ
            seq.write("clear", OF | UF | NV | DZ)
            seq.scalar(name, [0, 1, 2], rm)
            seq.scalar(name, [0, 1, 2], rm)
            seq.write("set", 0)
            seq.scalar("fmul", [6, 6], RNE)      # 1/9: NX alone
            seq.scalar(name, [0, 1, 2], rm)
            out.append(seq)
    return out


def qemu_sequence_program(seqs, path):
    """C source running each scalar sequence's very instruction words (the
    project's assembler) on QEMU, printing fflags after each step."""
    lines = ["#include <stdio.h>", "#include <stdint.h>", "int main(void) {"]
    for i, seq in enumerate(seqs):
        regs = ", ".join(f"{box(v, seq.f) if seq.f.width < 64 else v}ull" for v in seq.fregs)
        body = [f"fld {SRC[k]}, {8 * k}(a1)" for k in range(len(SRC))] + ["csrwi fflags, 0", "csrwi frm, 0"]
        body += [f".4byte 0x{assemble(t):08x}" for t in seq.lines]
        asm = "\\n ".join(body)
        lines.append(
            f'  {{ static const uint64_t regs[] = {{{regs}}}; uint64_t out[{len(seq.want)}];\n'
            f'    register uint64_t *a0 __asm__("a0") = out; register const uint64_t *a1 __asm__("a1") = regs;\n'
            f'    __asm__ volatile("{asm}" : : "r"(a0), "r"(a1) : "t0", "t1", "ft0", "ft1", "ft2", "ft3", "ft4",'
            f' "ft5", "ft6", "ft7", "fs0", "memory");\n'
            f'    printf("{i}"); for (int k = 0; k < {len(seq.want)}; k++) printf(" %llx", (unsigned long long)out[k]);'
            f' printf("\\n"); }}')
    lines.append("  return 0; }")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.skipif(not (shutil.which("qemu-riscv64") and shutil.which("riscv64-linux-gnu-gcc")),
                    reason="needs qemu-riscv64 and riscv64-linux-gnu-gcc")
@pytest.mark.parametrize("tier", TIERS)
def test_scalar_sequences_against_qemu(tier, tmp_path, monkeypatch):
    """The boundary sequences on QEMU: fflags after every step as the oracle
    says, and so as the emulator's (checked against the oracle as it runs)."""
    seqs = [s for fmt in "sd" for rm in (RNE, RTZ, RDN, RUP) for s in scalar_boundary_sequences(FMTS[fmt], rm)]
    qemu_sequence_program(seqs, tmp_path / "t.c")
    subprocess.run(["riscv64-linux-gnu-gcc", "-O1", "-static", "-march=rv64gc", "-o", str(tmp_path / "t"),
                    str(tmp_path / "t.c")], check=True, capture_output=True)
    run = subprocess.run(["qemu-riscv64", str(tmp_path / "t")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()
    assert len(rows) == len(seqs)
    m, loaded = machine(tier, monkeypatch), {}
    for seq, row in zip(seqs, rows):
        assert [int(v, 16) for v in row.split()[1:]] == seq.want, seq.steps
        seq.run(m, loaded)
