"""Zfa (fli, fminm/fmaxm, fround/froundnx, fleq/fltq, fcvtmod.w.d) in its
single, double and half forms against models written from the specification's
text (riscv-isa-manual, src/zfa.adoc) over test_fp's exact rational oracle:
NaNs quiet and signalling, signed zeros, every rounding mode (static and
dynamic) and the fflags each raises.  Encodings and disassembly are held to
llvm-mc-22 by tests/test_disasm.py (its extension rows include these)."""
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine, disasm_word
from rvai.emu.isa import assemble, fli_constants
from rvai.target import Target
from tests.conftest import CODE, clang22_object, loaded
from tests.llvm_mc import LLVM_MC22, needs_llvm_mc22
from tests.test_fp import (D, FMTS, NV, NX, RTZ, batches, box, check, check_drawn, decode, encode,
                           o_minmax, o_to_int, round_int, round_to, run_batch, sext, unbox)
from tests.vec_util import run

# ---- models from the spec text ------------------------------------------------------

# The spec's table of FLI.S: (sign, biased exponent, the two leading significand bits);
# entry 1 is the minimum positive normal, 30 +inf and 31 the canonical NaN.
FLI_S_TABLE = [(1, 127, 0), (0, 1, 0), (0, 111, 0), (0, 112, 0), (0, 119, 0), (0, 120, 0), (0, 123, 0),
               (0, 124, 0), (0, 125, 0), (0, 125, 1), (0, 125, 2), (0, 125, 3), (0, 126, 0), (0, 126, 1),
               (0, 126, 2), (0, 126, 3), (0, 127, 0), (0, 127, 1), (0, 127, 2), (0, 127, 3), (0, 128, 0),
               (0, 128, 1), (0, 128, 2), (0, 129, 0), (0, 130, 0), (0, 131, 0), (0, 134, 0), (0, 135, 0),
               (0, 142, 0), (0, 143, 0), (0, 255, 0), (0, 255, 2)]


def fli_model(index: int, f) -> int:
    """FLI.<fmt>: entry `index` of the single table, carried to format f as the
    spec says: entry 1 is f's own minimum normal, 2^16 is +inf in half (entry
    29), 2^-16 and 2^-15 are half subnormals, 30 and 31 are +inf and the
    canonical NaN."""
    sign, exp, top = FLI_S_TABLE[index]
    if index == 1:
        return 1 << f.fbits
    if exp == 255:
        return f.cnan if top else f.inf
    mag = Fraction(4 + top, 4) * Fraction(2) ** (exp - 127)
    if mag >= Fraction(2) ** (f.emax + 1):
        return f.inf
    return encode(mag, bool(sign), f)


def o_minmax_nan(a, b, f, want_max):
    """FMINM/FMAXM: FMIN/FMAX, except that a NaN operand gives the canonical NaN."""
    x, y = decode(a, f), decode(b, f)
    if x[0] == "nan" or y[0] == "nan":
        return f.cnan, NV if any(v[0] == "nan" and v[1] for v in (x, y)) else 0
    return o_minmax(a, b, f, want_max)


def o_round(a, f, rm, exact):
    """FROUND/FROUNDNX: round to an integer in f; zeros and infinities unchanged;
    NV only for a signalling NaN; NX only for froundnx when the value changed."""
    x = decode(a, f)
    if x[0] == "nan":
        return f.cnan, NV if x[1] else 0
    if x[0] == "inf" or x[2] == 0:
        return a, 0
    n, inexact = round_int(x[2], bool(x[1]), rm)
    return encode(Fraction(n), bool(x[1]), f), NX if exact and inexact else 0


def o_compare_quiet(a, b, f, or_equal):
    """FLEQ/FLTQ: FLE/FLT, except that quiet NaNs raise no flag."""
    x, y = decode(a, f), decode(b, f)
    if x[0] == "nan" or y[0] == "nan":
        return 0, NV if any(v[0] == "nan" and v[1] for v in (x, y)) else 0

    def val(v):
        return (Fraction(10) ** 400 if v[0] == "inf" else v[2]) * (-1 if v[1] else 1)
    return int(val(x) <= val(y) if or_equal else val(x) < val(y)), 0


def o_cvtmod(a):
    """FCVTMOD.W.D: bits 31:0 of the value truncated (unbounded), sign-extended;
    infinities and NaN give 0; flags as FCVT.W.D with RTZ."""
    x = decode(a, D)
    flags = o_to_int(a, D, "w", RTZ)[1]
    if x[0] != "num":
        return 0, flags
    n = int(x[2])   # floor of a nonnegative magnitude: truncation
    return sext(-n if x[1] else n, 32), flags


# ---- the instructions against the models ---------------------------------------------

@pytest.mark.parametrize("fmt", "hsd")
def test_fli_loads_the_specs_constants_and_sets_no_flags(fmt):
    f = FMTS[fmt]
    for i, name in enumerate(fli_constants()):
        m = Machine(vlen=128)
        run(m, ["csrrwi zero, fflags, 0", f"fli.{fmt} fa0, {name}", "csrrs a0, fflags, zero"])
        want = fli_model(i, f)
        assert hex(m.f(10)) == hex(box(want, f) if f.width < 64 else want), (fmt, i, name)
        assert m.x(10) == 0
    # half: entry 1 (the minimum normal) is above the subnormals 2^-16 and 2^-15, and 2^16 is +inf
    if fmt == "h":
        assert fli_model(1, f) > fli_model(3, f) > fli_model(2, f) and fli_model(29, f) == f.inf


@pytest.mark.parametrize("fmt", "hsd")
@pytest.mark.parametrize("want_max", [False, True])
@given(data=st.data())
@settings(max_examples=25, deadline=None)
def test_fminm_fmaxm_propagate_nan(fmt, want_max, data):
    f = FMTS[fmt]
    name = f"{'fmaxm' if want_max else 'fminm'}.{fmt}"
    check_drawn(name, f, data, 2, lambda a, b, rm: o_minmax_nan(a, b, f, want_max), result_fmt=f)


@pytest.mark.parametrize("fmt", "hsd")
@pytest.mark.parametrize("exact", [False, True])
@given(data=st.data())
@settings(max_examples=25, deadline=None)
def test_fround_rounds_to_an_integer_in_every_mode(fmt, exact, data):
    f = FMTS[fmt]
    name = f"{'froundnx' if exact else 'fround'}.{fmt}"
    check_drawn(name, f, data, 1, lambda a, rm: o_round(a, f, rm, exact), result_fmt=f)


@pytest.mark.parametrize("fmt", "hsd")
@pytest.mark.parametrize("or_equal", [False, True])
@given(data=st.data())
@settings(max_examples=25, deadline=None)
def test_fleq_fltq_are_quiet(fmt, or_equal, data):
    f = FMTS[fmt]
    name = f"{'fleq' if or_equal else 'fltq'}.{fmt}"
    check_drawn(name, f, data, 2, lambda a, b, rm: o_compare_quiet(a, b, f, or_equal))


@given(ops=batches(D, 1))
@settings(max_examples=40, deadline=None)
def test_fcvtmod_keeps_the_low_32_bits(ops):
    a = [o[0] for o in ops]
    check("fcvtmod.w.d", run_batch("fcvtmod.w.d", a, rm=RTZ), [o_cvtmod(x) for x in a])


def bits_of(x: float, f) -> int:
    return round_to(Fraction(x), f, 0)[0] if x else 0


@pytest.mark.parametrize("fmt", "hsd")
def test_fround_corner_cases(fmt):
    """The spec's named cases, written out: signed zeros from rounding, halves
    in each mode, zeros and infinities copied, the signalling NaN."""
    f = FMTS[fmt]
    neg = f.sign
    cases = [  # (input, rm, expected, froundnx flags)
        (bits_of(0.3, f) | neg, 0, neg, NX),                  # -0.3 rne -> -0
        (bits_of(0.7, f) | neg, 3, neg, NX),                  # -0.7 rup -> -0
        (bits_of(0.3, f), 2, 0, NX),                          # 0.3 rdn -> +0
        (bits_of(2.5, f), 0, bits_of(2.0, f), NX),            # ties to even
        (bits_of(2.5, f), 4, bits_of(3.0, f), NX),            # ties away
        (bits_of(2.5, f) | neg, 1, bits_of(2.0, f) | neg, NX),
        (bits_of(7.0, f), 0, bits_of(7.0, f), 0),             # already an integer
        (neg, 3, neg, 0), (f.inf | neg, 0, f.inf | neg, 0),   # copied unmodified
        (f.inf | 1, 0, f.cnan, NV),                           # signalling NaN
        (f.cnan | neg, 0, f.cnan, 0),                         # quiet NaN: canonical, no flag
    ]
    for exact in (False, True):
        name = f"{'froundnx' if exact else 'fround'}.{fmt}"
        for a, rm, want, nx in cases:
            res, fl = run_batch(name, [box(a, f)], rm=rm)
            assert (hex(unbox(res[0], f)), fl[0]) == (hex(want), nx if exact or nx == NV else 0), (name, hex(a), rm)


def test_fcvtmod_corner_cases():
    cases = [(2.0 ** 32 + 5, 5, NV), (-(2.0 ** 32) - 5, sext(-5, 32), NV), (2.0 ** 31, sext(2 ** 31, 32), NV),
             (-(2.0 ** 31), sext(-(2 ** 31), 32), 0), (-1.75, sext(-1, 32), NX), (2.0 ** 80, 0, NV),
             (3.0 * 2.0 ** 60 + 2.0 ** 31, sext(2 ** 31, 32), NV)]
    for x, want, fl in cases:
        res, flags = run_batch("fcvtmod.w.d", [bits_of(abs(x), D) | (D.sign if x < 0 else 0)], rm=RTZ)
        assert (hex(res[0]), flags[0]) == (hex(want), fl), x
    res, flags = run_batch("fcvtmod.w.d", [D.inf, D.cnan, D.inf | 1], rm=RTZ)
    assert res == [0, 0, 0] and flags == [NV, NV, NV]


# ---- encodings the spec reserves or gives to RV32 only --------------------------------

def run_words(words):
    """Run raw instruction words followed by ret on a fresh machine."""
    m = Machine(vlen=128)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.array(list(words) + [0x00008067], np.uint32))
    m.call(CODE, ret=None)


def test_fcvtmod_other_rounding_modes_are_reserved():
    word = assemble("fcvtmod.w.d a0, fa1, rtz")
    for rm in (0, 2, 3, 4, 7):
        bad = word & ~(7 << 12) | rm << 12
        assert disasm_word(bad) == "<unknown>"
        with pytest.raises(IllegalInstruction):
            run_words([bad])
    with pytest.raises(ValueError, match="fixes"):
        assemble("fcvtmod.w.d a0, fa1, rne")


# fmvh.x.d a0, fa1 and fmvp.d.x fa0, a1, a2: RV32-only moves (the spec's "For RV32 only").
RV32_ONLY = {"fmvh.x.d a0, fa1": 0xE2158553, "fmvp.d.x fa0, a1, a2": 0xB2C58553}


@pytest.mark.parametrize("text", RV32_ONLY)
def test_rv32_only_moves_are_illegal_on_rv64(text):
    with pytest.raises(IllegalInstruction):
        run_words([RV32_ONLY[text]])


@needs_llvm_mc22
@pytest.mark.parametrize("text", RV32_ONLY)
def test_rv32_only_moves_encode_so_in_llvm(text):
    """llvm-mc-22 encodes them to these words for riscv32 and refuses them for riscv64."""
    def mc(triple):
        return subprocess.run([LLVM_MC22, f"-triple={triple}", "-mattr=+d,+zfa", "--show-encoding"],
                              input=text + "\n", capture_output=True, text=True)
    out = mc("riscv32")
    enc = out.stdout.split("encoding: [")[1].split("]")[0]
    assert int.from_bytes(bytes(int(b, 16) for b in enc.split(",")), "little") == RV32_ONLY[text]
    assert "RV32I" in mc("riscv64").stderr


def test_a_target_without_zfa_refuses_it():
    target = Target(name="no-zfa", cpu="generic-rv64", features=("+v", "+d"))
    with pytest.raises(IllegalInstruction, match=r"fli\.d"):
        run(Machine(target), ["fli.d fa0, 1.0"])
    run(Machine(Target(name="zfa", cpu="generic-rv64", features=("+v", "+zfa"))), ["fli.d fa0, 1.0"])



# ---- clang-22's Zfa code against NumPy -------------------------------------------------

ZFA_C = Path(__file__).parent / "rvv_programs" / "zfa.c"


@pytest.fixture(scope="module")
def zfa_obj(tmp_path_factory):
    return clang22_object(tmp_path_factory, ZFA_C, "rv64gc_zfh_zfa")


def test_clang_emits_zfa(zfa_obj):
    m = loaded(zfa_obj, 128)
    names = {text.split()[0] for fn in ("round_d", "round_s", "trunc_h", "min_max_s", "to_int32")
             for _, _, text in m.disassemble(m.symbols[fn], 48)}
    assert {"fround.d", "froundnx.d", "fround.s", "fround.h", "fminm.s", "fmaxm.s", "fli.s",
            "fcvtmod.w.d"} <= names


def special_values(rng, n, dtype):
    """Random values, halves and integers near the rounding boundaries, signed zeros,
    infinities, NaNs and values too large to have a fraction."""
    big = float(np.finfo(dtype).max)
    with np.errstate(over="ignore"):   # values beyond half's range become infinities on purpose
        return _special_values(rng, n, dtype, big)


def _special_values(rng, n, dtype, big):
    pool = np.array([0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.7, 3.0, np.inf, -np.inf,
                     np.nan, 2.0 ** 23 + 0.5 if dtype != np.float16 else 1000.5, big, -big, 2.0 ** 31, -2.0 ** 31,
                     2.0 ** 31 - 0.5, 2.0 ** 32 + 7, -(2.0 ** 40) - 3, 1e300 if dtype == np.float64 else 1e30],
                    np.float64).astype(dtype)
    wide = (rng.standard_normal(n) * rng.choice([1, 10, 1e3, 1e6], n)).astype(dtype)
    return np.where(rng.random(n) < 0.4, rng.choice(pool, n), wide).astype(dtype)


def bits(a):
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize])


def canonical_nan_where_nan(want, got_bits):
    """NaN results are the canonical NaN (Zfa's fround and fminm/fmaxm give it)."""
    cnan = {2: 0x7E00, 4: 0x7FC00000, 8: 0x7FF8000000000000}[want.itemsize]
    nan = np.isnan(want)
    assert np.all(got_bits[nan] == cnan)
    return bits(want)[~nan], got_bits[~nan]


def call_on(obj, fn, out_dtype, out_len, *arrays, n):
    m = loaded(obj, 128)
    ptrs = []
    for a in arrays:
        p = m.alloc(max(a.nbytes, 8))
        m.write(p, a)
        ptrs.append(p)
    out = m.alloc(max(np.dtype(out_dtype).itemsize * out_len, 8))
    m.call(fn, out, *ptrs, n, ret=None)
    return m.read(out, out_dtype, out_len)


def round_half_away(x):
    t = np.trunc(x)
    return np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t)


def ieee_minmax(a, b, want_max):
    """IEEE 754-2019 minimum / maximum: NaN if either is NaN, -0 below +0."""
    pick_a = np.where(a == b, np.signbit(a) != want_max, (a > b) == want_max)
    return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(pick_a, a, b)).astype(a.dtype)


@given(n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10, deadline=None)
def test_clang_rounding_functions(zfa_obj, n, seed):
    rng = np.random.default_rng(seed)
    x = special_values(rng, n, np.float64)
    got = call_on(zfa_obj, "round_d", np.uint64, 5 * n, x, n=n).reshape(n, 5)
    with np.errstate(invalid="ignore"):
        for k, want in enumerate([np.floor(x), np.ceil(x), np.trunc(x), round_half_away(x), np.rint(x)]):
            w, g = canonical_nan_where_nan(want, got[:, k])
            assert np.array_equal(w, g), k
    xs = special_values(rng, n, np.float32)
    got = call_on(zfa_obj, "round_s", np.uint32, 3 * n, xs, n=n).reshape(n, 3)
    for k, want in enumerate([np.floor(xs), np.rint(xs), np.rint(xs)]):
        w, g = canonical_nan_where_nan(want, got[:, k])
        assert np.array_equal(w, g), k
    xh = special_values(rng, n, np.float16)
    w, g = canonical_nan_where_nan(np.trunc(xh), call_on(zfa_obj, "trunc_h", np.uint16, n, xh, n=n))
    assert np.array_equal(w, g)


@given(n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10, deadline=None)
def test_clang_minimum_maximum(zfa_obj, n, seed):
    rng = np.random.default_rng(seed)
    a, b = special_values(rng, n, np.float32), special_values(rng, n, np.float32)
    b[: n // 3] = -a[: n // 3]   # equal magnitudes: signed zeros and x vs -x
    got = call_on(zfa_obj, "min_max_s", np.uint32, 2 * n, a, b, n=n).reshape(n, 2)
    with np.errstate(invalid="ignore", over="ignore"):
        for k, want in enumerate([ieee_minmax(a, b, False), ieee_minmax(a, b, True) * np.float32(0.25)]):
            w, g = canonical_nan_where_nan(want, got[:, k])
            assert np.array_equal(w, g), k


@given(n=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10, deadline=None)
def test_clang_toint32(zfa_obj, n, seed):
    rng = np.random.default_rng(seed)
    x = special_values(rng, n, np.float64)
    want = [0 if not np.isfinite(v) else (int(v) + 2**31) % 2**32 - 2**31 for v in x]
    assert list(call_on(zfa_obj, "to_int32", np.int64, n, x, n=n)) == want
