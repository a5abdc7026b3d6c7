"""The AVX2+FMA path of vector FP (csrc/vfp_simd.c): vfadd/vfsub/vfrsub/vfmul/
vfdiv/vfrdiv, vfmin/vfmax and the eight multiply-adds, .vv and .vf, SEW 32 and 64.

Each drawn instruction runs on three machines, one per path (Machine.vfp_path:
"simd", "portable" with RVAI_VFP_SIMD=0, "exact" with RVAI_VFP_EXACT=1), which
must end bit-identical in every vector register, fflags and vstart, or raise
the same exception; and the simd machine's result is checked against the
exact Fraction oracle of test_fp.py (correct rounding in every mode, RISC-V's
NaN and flag rules, tininess after rounding) and the RVV mask and tail
policies, computed here element by element from the spec.  Operands lean on
what a host path gets wrong: NaNs of both kinds with payloads, infinities,
zeros of both signs, subnormals, products that round to tiny values (UF
and its absence when exact), values near overflow; plus every frm (5..7
reserved: illegal), masks, vl < VLMAX, vstart > 0 (and >= vl), tu/ta, mu/ma
with and without ones-filled agnostic elements, LMUL 1..8, VLEN 64..512,
vd the same group as a source."""
import contextlib
import os
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import IllegalInstruction, Machine
from tests.test_fp import FMTS, NX, RNE, RTZ, UF, box, specials, unbox
from tests.test_qemu_rvv import CLANG, QEMU, outputs
from tests.test_vfp import OPS, FMA
from tests.vec_util import lmul_name, run

RVV_PROGRAMS = Path(__file__).parent / "rvv_programs"
SEW_FMT = {32: FMTS["s"], 64: FMTS["d"]}
UINT = {32: np.uint32, 64: np.uint64}
PATH_ENV = {"simd": {}, "portable": {"RVAI_VFP_SIMD": "0"}, "exact": {"RVAI_VFP_EXACT": "1"}}
# The ops the simd path runs, with their forms ("v": .vv, "f": .vf).
SIMD_OPS = {n: OPS[n][1] for n in ("vfadd", "vfsub", "vfrsub", "vfmul", "vfdiv", "vfrdiv", "vfmin", "vfmax", *FMA)}


@contextlib.contextmanager
def path_env(path):
    """The environment a machine of vfp path ``path`` is created in."""
    saved = {k: os.environ.pop(k, None) for k in ("RVAI_VFP_SIMD", "RVAI_VFP_EXACT")}
    os.environ.update(PATH_ENV[path])
    try:
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v


def machine(path, vlen, tail_ones=False):
    """A Machine on vfp path ``path``."""
    with path_env(path):
        m = Machine(vlen=vlen, tail_ones=tail_ones)
    assert m.vfp_path == path
    return m


def host_has_simd():
    with path_env("simd"):
        return Machine(vlen=64).vfp_path == "simd"


needs_simd = pytest.mark.skipif(not host_has_simd(), reason="the host has no AVX2+FMA")


def pool(f, rng, n):
    """n operand bit patterns of format f: specials, arbitrary bits, moderate
    values, magnitudes whose products land around the subnormal range, and
    values within a few binades of overflow."""
    sp = np.array(specials(f), dtype=object)
    out = []
    for kind in rng.integers(0, 5, n):
        sign = int(rng.integers(0, 2)) << (f.width - 1)
        frac = int(rng.integers(0, 1 << 62)) & ((1 << f.fbits) - 1)
        if kind == 0:
            out.append(int(sp[rng.integers(0, len(sp))]))
        elif kind == 1:
            out.append(int(rng.integers(0, 1 << 62)) << 2 & f.mask | int(rng.integers(0, 4)))
        else:
            lo, hi = {2: (-3, 3), 3: ((f.emin - f.p) // 2 - 2, f.emin // 2 + 2), 4: (f.emax - 3, f.emax)}[int(kind)]
            e = int(rng.integers(lo, hi + 1))
            out.append(sign | (e + f.emax) << f.fbits | frac)
    return out


def draw_case(data):
    """A drawn instruction and machine state (see the module docstring)."""
    d = {"sew": data.draw(st.sampled_from([32, 64]), label="sew"),
         "lg": data.draw(st.integers(0, 3), label="lg"),
         "vlen": data.draw(st.sampled_from([64, 128, 256, 512]), label="vlen"),
         "name": data.draw(st.sampled_from(sorted(SIMD_OPS)), label="op")}
    d["form"] = data.draw(st.sampled_from(SIMD_OPS[d["name"]]), label="form")
    n = d["vlen"] * 2 ** d["lg"] // d["sew"]
    d["vl"] = data.draw(st.one_of(st.just(n), st.integers(0, n)), label="vl")
    d["vstart"] = data.draw(st.one_of(st.just(0), st.integers(0, n)), label="vstart")
    d["frm"] = data.draw(st.one_of(st.integers(0, 4), st.integers(5, 7)), label="frm")
    d["masked"] = data.draw(st.booleans(), label="masked")
    d["ta"], d["ma"], d["tail_ones"] = (data.draw(st.booleans(), label=k) for k in ("ta", "ma", "tail_ones"))
    groups = [8, 16, 24]
    d["vd"], d["vs2"], d["vs1"] = (data.draw(st.sampled_from(groups), label=k) for k in ("vd", "vs2", "vs1"))
    d["seed"] = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    d["boxed"] = data.draw(st.booleans(), label="boxed") or d["sew"] == 64
    return d


def state(d):
    """The register file (32 arrays of the element type) and f1 for case d."""
    f, sew, vlen = SEW_FMT[d["sew"]], d["sew"], d["vlen"]
    rng = np.random.default_rng(d["seed"])
    per = vlen // sew
    regs = [np.array(pool(f, rng, per), dtype=UINT[sew]) for _ in range(32)]
    regs[0] = rng.integers(0, 256, vlen // 8, dtype=np.uint8).view(UINT[sew])   # v0: the mask
    scalar = pool(f, rng, 1)[0]
    return regs, box(scalar, f) if d["boxed"] and sew < 64 else scalar | (0 if sew == 64 else 0x12345678 << 32)


def execute(path, d):
    """Run case d on a machine of ``path``: (exception, registers, fflags, vstart)."""
    regs, f1 = state(d)
    m = machine(path, d["vlen"], d["tail_ones"])
    for i, r in enumerate(regs):
        m.v(i, r.tobytes())
    m.f(1, f1)
    m.csr(2, d["frm"])
    src = f"v{d['vs1']}" if d["form"] == "v" else "ft1"
    mnem = f"{d['name']}.v{d['form']}"
    ops = f"v{d['vd']}, {src}, v{d['vs2']}" if d["name"] in FMA else f"v{d['vd']}, v{d['vs2']}, {src}"
    policy = f"{'ta' if d['ta'] else 'tu'}, {'ma' if d['ma'] else 'mu'}"
    lines = [f"vsetvli t0, a0, e{d['sew']}, {lmul_name(d['lg'])}, {policy}", "csrw vstart, a1",
             f"{mnem} {ops}" + (", v0.t" if d["masked"] else "")]
    exc = None
    try:
        run(m, lines, a0=d["vl"], a1=d["vstart"])
    except IllegalInstruction as e:
        exc = type(e)
    return exc, [m.v(i) for i in range(32)], m.csr(1), m.csr(8)


def oracle(d):
    """What case d must leave in the registers and fflags, element by element."""
    f, sew, vlen, lg = SEW_FMT[d["sew"]], d["sew"], d["vlen"], d["lg"]
    regs, f1 = state(d)
    if d["frm"] > 4:
        return IllegalInstruction, [r.tobytes() for r in regs], 0
    nregs = 2 ** lg
    group = lambda r: np.concatenate(regs[r:r + nregs])   # noqa: E731
    a, c, b = group(d["vs2"]), group(d["vd"]), group(d["vs1"])
    mask = np.unpackbits(regs[0].view(np.uint8), bitorder="little").astype(bool)
    s = unbox(f1, f)
    fn = OPS[d["name"]][0]
    out, flags, ones = c.copy(), 0, (1 << sew) - 1
    if d["vstart"] < d["vl"]:
        for i in range(d["vstart"], d["vl"]):
            if not d["masked"] or mask[i]:
                r, fl = fn(int(a[i]), int(b[i]) if d["form"] == "v" else s, int(c[i]), f, d["frm"])
                out[i], flags = r, flags | fl
            elif d["ma"] and d["tail_ones"]:
                out[i] = ones
        if d["ta"] and d["tail_ones"]:
            out[d["vl"]:] = ones
    per = vlen // sew
    for k in range(nregs):
        regs[d["vd"] + k] = out[k * per:(k + 1) * per]
    return None, [r.tobytes() for r in regs], flags


def check(d):
    """Case d on the three paths: identical to each other, and to the oracle."""
    runs = {p: execute(p, d) for p in PATH_ENV}
    assert runs["simd"] == runs["exact"], "simd vs exact"
    assert runs["portable"] == runs["exact"], "portable vs exact"
    exc, want_regs, want_flags = oracle(d)
    got_exc, got_regs, got_flags, vstart = runs["simd"]
    assert got_exc == exc
    if exc is None:
        assert vstart == 0
        for i, (g, w) in enumerate(zip(got_regs, want_regs)):
            assert g == w, f"v{i}: {np.frombuffer(g, UINT[d['sew']])} != {np.frombuffer(w, UINT[d['sew']])}"
        assert got_flags == want_flags


@needs_simd
@given(data=st.data())
@settings(max_examples=200, deadline=None)
def test_paths_bit_identical_and_exact(data):
    check(draw_case(data))


def below_min_normal(f):
    """Bits of normal a, b whose exact product lies in ((1 - 2^-(p+1)) 2^emin,
    2^emin): tiny before rounding, but 2^emin once rounded to nearest with
    an unbounded exponent (so tiny after rounding only in RTZ and RDN)."""
    lo, hi = 1 - Fraction(1, 2 ** (f.p + 1)), Fraction(1)
    for k in range(1, 1 << 12):
        a = 1 + Fraction(k, 2 ** f.fbits)                     # in [1, 2)
        b2 = Fraction(round((lo + hi) / a * 2 ** f.fbits), 2 ** f.fbits)   # in (1, 2), p bits
        if lo < a * b2 / 2 < hi:
            ea = f.emin // 2
            eb = f.emin - 1 - ea                               # a * b2 * 2^(ea + eb) = a * b2 / 2 * 2^emin
            return ((ea + f.emax) << f.fbits | k, (eb + f.emax) << f.fbits | int((b2 - 1) * 2 ** f.fbits))
    raise AssertionError("no such pair")


@needs_simd
@pytest.mark.parametrize("sew", [32, 64])
@pytest.mark.parametrize("frm", range(4))
def test_tiny_results_raise_uf_after_rounding(sew, frm):
    """x86 and RISC-V both detect tininess after rounding: a product just
    below the smallest normal that rounds to it raises NX but not UF (RNE,
    RUP for +), NX|UF where it rounds to a subnormal (RTZ, RDN for +); an
    exact subnormal product raises nothing.  The simd path against the oracle,
    whose view of the first pair is checked too."""
    f = SEW_FMT[sew]
    a, b = below_min_normal(f)
    r, fl = OPS["vfmul"][0](a, b, 0, f, RNE)
    assert (r, fl) == (1 << f.fbits, NX)   # 2^emin, inexact, not tiny
    r, fl = OPS["vfmul"][0](a, b, 0, f, RTZ)
    assert fl == NX | UF
    exact_sub, half = (f.emin + f.emax) << f.fbits, (f.emax - 1) << f.fbits   # 2^emin * 0.5
    n = 256 // sew
    for x, y in ((a, b), (exact_sub, half)):
        for sign in (0, f.sign):
            m = machine("simd", 256)
            m.v(8, np.full(n, x | sign, UINT[sew]).tobytes())
            m.v(16, np.full(n, y, UINT[sew]).tobytes())
            m.csr(2, frm)
            run(m, [f"vsetvli t0, a0, e{sew}, m1, tu, mu", "vfmul.vv v24, v8, v16"], a0=n)
            r, fl = OPS["vfmul"][0](x | sign, y, 0, f, frm)
            assert np.frombuffer(m.v(24), UINT[sew]).tolist() == [r] * n
            assert m.csr(1) == fl


@needs_simd
@pytest.mark.parametrize("sew", [32, 64])
@pytest.mark.parametrize("name", sorted(FMA))
def test_inf_times_zero_plus_qnan_raises_nv(sew, name):
    """The host raises no invalid for inf * 0 + qNaN; RISC-V does.  Whichever
    operand of the product the infinity is in, with the NaN as the addend, in
    one lane of a whole register, in place (vd a source) or not."""
    f = SEW_FMT[sew]
    n = 256 // sew
    on_vd = FMA[name][2] == "add"   # product vs1 * vd, addend vs2
    for lane in (0, n - 1):
        for inf_in_vs1 in (True, False):
            m = machine("simd", 256)
            x = np.full(n, 0x3f800000 if sew == 32 else 0x3ff0000000000000, UINT[sew])   # 1.0
            vs1, other, addend = x.copy(), x.copy(), x.copy()
            vs1[lane], other[lane] = (f.inf, 0) if inf_in_vs1 else (0, f.inf)
            addend[lane] = f.cnan
            m.v(16, vs1.tobytes())
            m.v(24, (other if on_vd else addend).tobytes())
            m.v(8, (addend if on_vd else other).tobytes())
            run(m, [f"vsetvli t0, a0, e{sew}, m1, tu, mu", f"{name}.vv v24, v16, v8"], a0=n)
            got = np.frombuffer(m.v(24), UINT[sew])
            assert got[lane] == f.cnan and m.csr(1) & 0x10, (lane, inf_in_vs1)


# ---- qemu-riscv64 agreement -------------------------------------------------

# name -> forms, as the assembler spells the operands: FMA ops take vd, vs1/rs1, vs2.
QEMU_OPS = [(n, f) for n in sorted(SIMD_OPS) for f in SIMD_OPS[n]]
QEMU_N = 67   # elements per array: strip-mined, so the last pass has vl < VLMAX

QEMU_DATA = r"""
#include "rt.h"
#define N 67
static uint32_t a32[N], b32[N], c32[N], r32[N], k32[N];
static uint64_t a64[N], b64[N], c64[N], r64[N], k64[N];
static uint32_t s32;
static uint64_t s64;
static uint64_t seed = 88172645463325252ull;
static uint64_t rnd(void) { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed; }
/* Specials, arbitrary bits, moderate values, magnitudes whose products fall
 * around the subnormal range, values near overflow (exponent offsets from
 * the bias: emin/2 - p/2 .. emin/2 for the tiny ones). */
static uint64_t operand(int w) {
    int fb = w == 32 ? 23 : 52, bias = w == 32 ? 127 : 1023, p = fb + 1;
    uint64_t sign = (rnd() & 1) << (w - 1), frac = rnd() & ((1ull << fb) - 1), e;
    static const uint64_t sp32[] = {0, 0x7f800000u, 0x7fc00000u, 0x7f800001u, 0x7fa00000u, 1, 0x007fffffu,
                                    0x00800000u, 0x3f800000u, 0x7f7fffffu};
    static const uint64_t sp64[] = {0, 0x7ff0000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000001ull,
                                    0x7ff4000000000000ull, 1, 0x000fffffffffffffull, 0x0010000000000000ull,
                                    0x3ff0000000000000ull, 0x7fefffffffffffffull};
    switch (rnd() % 5) {
    case 0: return sign | (w == 32 ? sp32 : sp64)[rnd() % 10];
    case 1: return w == 32 ? rnd() & 0xffffffffu : rnd();
    case 2: e = bias - 3 + rnd() % 7; break;
    case 3: e = bias + (1 - bias - p) / 2 - 2 + rnd() % (p / 2 + 4); break;
    default: e = 2 * bias - 3 + rnd() % 3; break;
    }
    return sign | e << fb | frac;
}
static void fill(void) {
    for (int i = 0; i < N; i++) {
        a32[i] = (uint32_t)operand(32); b32[i] = (uint32_t)operand(32); c32[i] = (uint32_t)operand(32);
        a64[i] = operand(64); b64[i] = operand(64); c64[i] = operand(64);
        k32[i] = (uint32_t)(rnd() & 1); k64[i] = rnd() & 1;
    }
    s32 = (uint32_t)operand(32); s64 = operand(64);
}
static uint64_t hash(const void *p, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}
static u64 frm_flags(u64 frm, void (*k)(void), uint64_t *h, void *r, int bytes) {
    u64 f;
    __asm__ volatile("fsrm %0\n csrw fflags, zero" : : "r"(frm) : "memory");
    k();
    __asm__ volatile("csrr %0, fflags" : "=r"(f) : : "memory");
    *h = hash(r, bytes);
    return f;
}
"""


def _qemu_kernel(fn, name, form, sew, lmul, masked):
    """A C function running one instruction over the arrays, strip-mined, in asm."""
    t, sh = ("32", 2) if sew == 32 else ("64", 3)
    src = "v16" if form == "v" else "ft0"
    ops = f"v24, {src}, v8" if name in FMA else f"v24, v8, {src}"
    body = [f"{'flw' if sew == 32 else 'fld'} ft0, 0(%[s])",
            "1:", f"vsetvli t0, %[n], e{sew}, m{lmul}, tu, mu",
            f"vle{sew}.v v24, (%[k])", "vmsne.vi v0, v24, 0",
            f"vle{sew}.v v8, (%[a])", f"vle{sew}.v v16, (%[b])", f"vle{sew}.v v24, (%[c])",
            f"{name}.v{form} {ops}" + (", v0.t" if masked else ""),
            f"vse{sew}.v v24, (%[r])", "sub %[n], %[n], t0", f"slli t0, t0, {sh}",
            *[f"add %[{p}], %[{p}], t0" for p in "kabcr"], "bnez %[n], 1b"]
    asm = "".join(f'"{line}\\n"\n' for line in body)
    return (f"static void {fn}(void) {{\n u64 n = N; void *a = a{t}, *b = b{t}, *c = c{t}, *r = r{t}, *k = k{t};\n"
            f" for (int i = 0; i < N; i++) r{t}[i] = c{t}[i];\n c = r;\n"
            f" __asm__ volatile({asm} : [n] \"+r\"(n), [a] \"+r\"(a), [b] \"+r\"(b), [c] \"+r\"(c), "
            f"[r] \"+r\"(r), [k] \"+r\"(k) : [s] \"r\"(&s{t}) : \"t0\", \"ft0\", \"memory\");\n}}\n")


def qemu_source():
    """The program: every simd op and form at SEW 32/64, LMUL 1/2/4/8, masked or
    not, in RNE..RMM; one line per op, form, SEW and LMUL: the hash of vd's
    elements and the fflags raised, for each mode and mask setting."""
    funcs, calls = [], []
    for name, form in QEMU_OPS:
        for sew in (32, 64):
            for lmul in (1, 2, 4, 8):
                fns = []
                for masked in (0, 1):
                    fn = f"k_{name}_{form}_{sew}_{lmul}_{masked}"
                    funcs.append(_qemu_kernel(fn, name, form, sew, lmul, masked))
                    fns.append(fn)
                t = "32" if sew == 32 else "64"
                calls.append(
                    f" {{ uint64_t v[11] = {{0}}; int j = 0;\n"
                    f"   for (u64 frm = 0; frm < 5; frm++) {{\n"
                    + "".join(f"     v[10] |= frm_flags(frm, {fn}, &v[j], r{t}, sizeof r{t}) << (5 * j); j++;\n"
                              for fn in fns)
                    + f"   }}\n   line(\"{name}.v{form} e{sew} m{lmul}\", v, 11, 8); }}\n")
    return (QEMU_DATA + "".join(funcs) + "void _start_c(void) {\n fill();\n" + "".join(calls)
            + " sys(64, 1, (long)out, (long)pos);\n sys(93, 0, 0, 0);\n}\n"
            + '__asm__(".globl _start\\n_start:\\n  call _start_c\\n");\n')


@pytest.fixture(scope="module")
def qemu_program(tmp_path_factory):
    """qemu_source() built for rv64gcv (skips without clang-19 and qemu-riscv64)."""
    if not (CLANG and QEMU):
        pytest.skip("needs clang-19 and qemu-riscv64")
    d = tmp_path_factory.mktemp("vfp_simd")
    src = d / "vfp_simd.c"
    src.write_text(qemu_source())
    subprocess.run([CLANG, "--target=riscv64-linux-gnu", "-march=rv64gcv", "-O2", "-static", "-fuse-ld=lld",
                    "-nostdlib", "-ffreestanding", "-fno-builtin", f"-I{RVV_PROGRAMS}", str(src), "-o",
                    str(d / "vfp_simd")], check=True, capture_output=True)
    return d / "vfp_simd"


@needs_simd
@pytest.mark.parametrize("vlen", [128, 256])
def test_simd_ops_match_qemu(qemu_program, vlen):
    """Every simd op's results and fflags on random and special operands match
    qemu-riscv64's, on the simd path (and the exact one: the same stdout)."""
    want, got = outputs(qemu_program, vlen)
    assert len(got) == len(QEMU_OPS) * 2 * 4
    assert got == want
    with path_env("exact"):
        assert outputs(qemu_program, vlen)[1] == got


@needs_simd
@pytest.mark.parametrize("sew", [32, 64])
@pytest.mark.parametrize("name", ["vfmin", "vfmax"])
def test_min_max_every_pair_of_specials(sew, name):
    """vfmin/vfmax.vv on every ordered pair of +-0, +-1, +-inf, a subnormal,
    qNaN and sNaN (both signs) in one instruction, against the oracle's
    minimumNumber/maximumNumber (the host's vminps/vmaxps return the second
    operand for equal operands and NaNs): results, and fflags NV only with a
    signalling NaN (a second instruction without sNaN must raise nothing)."""
    f = SEW_FMT[sew]
    vals = [0, f.sign, (f.emax << f.fbits), (f.emax << f.fbits) | f.sign, f.inf, f.inf | f.sign, 1, 1 | f.sign,
            f.cnan, f.cnan | f.sign, f.inf | 1, f.inf | 1 | f.sign]
    fn = OPS[name][0]
    for pool_ in (vals, vals[:-2]):
        pairs = [(a, b) for a in pool_ for b in pool_]
        vlen = 2048   # 144 pairs fit an LMUL-8 group at SEW 64
        n = vlen * 8 // sew
        a = np.zeros(n, UINT[sew])
        b = np.zeros(n, UINT[sew])
        a[:len(pairs)], b[:len(pairs)] = zip(*pairs)
        m = machine("simd", vlen)
        for k in range(8):
            per = vlen // sew
            m.v(8 + k, a[k * per:(k + 1) * per].tobytes())
            m.v(16 + k, b[k * per:(k + 1) * per].tobytes())
        run(m, [f"vsetvli t0, a0, e{sew}, m8, tu, mu", f"{name}.vv v24, v8, v16"], a0=len(pairs))
        got = np.frombuffer(b"".join(m.v(24 + k) for k in range(8)), UINT[sew])[:len(pairs)]
        want = [fn(x, y, 0, f, 0) for x, y in pairs]
        assert [hex(v) for v in got] == [hex(r) for r, _ in want]
        flags = 0
        for _, fl in want:
            flags |= fl
        assert m.csr(1) == flags
