"""M's division and remainder, and the scalar FP compares, min/max, fclass
and arithmetic, in translated blocks against the interpreter (the
reference), functional and timed, every block translated at its first
entry: operands drawn where the rules bite (zero divisors, the most
negative dividend over -1 in both widths; NaNs quiet and signalling with
payloads, +-0, +-inf, subnormals, narrower values not NaN-boxed), fflags
and frm drawn as starting values, every register, fflags and instret
compared; division also against the ISA specification's table."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_translate import EDGES, fp_text
from rvai.emu.isa import table
from test_translate_fscalar import SPECIALS, both, fbits, v_boxed

jit_llvm = pytest.importorskip("rvai.emu.jit_llvm")

DIVS = ["div", "divu", "rem", "remu", "divw", "divuw", "remw", "remuw"]
XREGS = ["a0", "a1", "a2", "a3", "t0", "t1"]
# Dividends and divisors: zero, -1 and the most negative values of both widths, beside EDGES and any.
ivalue = st.one_of(st.sampled_from(EDGES + [(1 << 64) - 1, 1 << 63, 0x80000000, 0xFFFFFFFF80000000, 0xFFFFFFFF,
                                            0x1FFFFFFFF, 0]),
                   st.integers(0, (1 << 64) - 1))


def spec_div(name, a, c):
    """The RISC-V M extension's result of ``name`` on register values a, c
    (the ISA manual's table for division by zero and overflow), as 64 bits."""
    bits = 32 if name.endswith("w") else 64
    mask = (1 << bits) - 1
    a, c = a & mask, c & mask
    signed = "u" not in name
    if signed:
        a, c = (a - (1 << bits) if a >> bits - 1 else a), (c - (1 << bits) if c >> bits - 1 else c)
    rem = name.startswith("rem")
    if c == 0:
        r = a if rem else -1
    elif signed and a == -(1 << bits - 1) and c == -1:
        r = 0 if rem else a
    else:
        q = abs(a) // abs(c) * (1 if (a < 0) == (c < 0) else -1)   # toward zero
        r = a - q * c if rem else q
    r &= mask
    if bits == 32 and r >> 31:
        r |= ((1 << 64) - 1) ^ mask
    return r


@st.composite
def div_program(draw):
    """Division ops on the six seeded registers, each result logged, looped by run()."""
    items = []
    for k in range(draw(st.integers(1, 16))):
        name, rd = draw(st.sampled_from(DIVS)), draw(st.sampled_from(XREGS + ["zero"]))
        items += [f"{name} {rd}, {draw(st.sampled_from(XREGS))}, {draw(st.sampled_from(XREGS))}",
                  f"sd {rd}, {8 * k}(s5)"]
    return items + ["addi s2, s2, -1", ("to", "bne s2, zero, {off}", 0, len(items) + 1), "ebreak"]


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(DIVS), a=ivalue, c=ivalue)
def test_division_follows_the_specification_translated(name, a, c):
    """One division in a loop that runs translated: its result is the spec's."""
    items = [f"{name} a2, a0, a1", "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 0, 2), "ebreak"]
    t, i, m = both(items, 10**6, bytes(64), [a, c, 0, 0, 0, 0], 128)
    assert t["x"][12] == spec_div(name, a, c)
    assert m.translation["ran"] == 3 * 3 == t["instret"]   # (ebreak retires not)


FREG = st.sampled_from(["ft0", "ft1", "fa1", "fa2"])
# f register values: often one of each width's special values (NaN-boxed,
# and the single ones also unboxed), so that pairs of them (+0 and -0, a
# NaN and a number, two NaNs) meet often; else test_translate_fscalar's.
POOL = [v_boxed(v, 16) for v in SPECIALS[16]] + [v_boxed(v, 32) for v in SPECIALS[32]] + SPECIALS[32] + SPECIALS[64]
fvalue = st.one_of(st.sampled_from(POOL), st.sampled_from(POOL), fbits)
FCOMPARE = sorted(jit_llvm.FCMP) + sorted(jit_llvm.FMINMAX) + sorted(jit_llvm.FCLASS)


def fp_start(draw):
    """fflags and frm set at the program's start (not part of the loop): NX
    set or not, NV set or not (a set NV hides a missing raise, so drawn
    rarely), any legal rounding mode."""
    flags = draw(st.sampled_from([0, 0, 1, 1, 0x10, 0x1F]) | st.integers(0, 31))
    frm = draw(st.integers(0, 4) | st.integers(0, 7))   # (5-7 reserved: an op using frm is illegal)
    return [f"fsflagsi {flags}", f"fsrmi {frm}"]


@st.composite
def fcompare_program(draw, ops=FCOMPARE):
    """FP ops of ``ops`` on the four f registers run() seeds, each result
    logged (x results, and f results whole, so a NaN box shows); now and then
    fflags read (interpreted: a block ends before it) and cleared, so a raise
    is seen where it happens; looped by run() after the start's CSR writes."""
    start = fp_start(draw)
    items = []
    for k in range(draw(st.integers(1, 20))):
        name = draw(st.sampled_from(ops + ["csr"]))
        if name == "csr":
            items += ["frflags a3", f"sd a3, {8 * k}(s5)", "fsflagsi 0"]
        elif name in jit_llvm.FCALL:
            text = fp_text(draw, name, draw(st.sampled_from(["a0", "a1", "t0", "zero"])), "a2", draw(FREG), FREG)
            store = "sd" if table()[name].operands[0] == "d" else "fsd"
            items += [text, f"{store} {text.split()[1].rstrip(',')}, {8 * k}(s5)"]
        elif name in jit_llvm.FMINMAX or name in jit_llvm.FSGNJ:
            rd = draw(FREG)
            items += [f"{name} {rd}, {draw(FREG)}, {draw(FREG)}", f"fsd {rd}, {8 * k}(s5)"]
        else:
            rd = draw(st.sampled_from(["a0", "a1", "t0", "zero"]))
            srcs = f"{draw(FREG)}" if name in jit_llvm.FCLASS else f"{draw(FREG)}, {draw(FREG)}"
            items += [f"{name} {rd}, {srcs}", f"sd {rd}, {8 * k}(s5)"]
    body = len(start) + len(items)
    return start + items + ["addi s2, s2, -1", ("to", "bne s2, zero, {off}", len(start), body + 1), "ebreak"]


WIDTH = {"h": 16, "s": 32, "d": 64}


@pytest.mark.parametrize("name", FCOMPARE)
@settings(max_examples=100, deadline=None)
@given(data=st.data(), nx=st.booleans())
def test_each_fp_compare_on_special_pairs_matches_the_interpreter(name, data, nx):
    """One op on two of its width's special values (NaN-boxed), fflags
    starting clear or NX only: every pair of specials meets often here
    (+0 against -0, a signalling NaN against a quiet one), which the random
    programs above draw rarely."""
    bits = WIDTH[name.rsplit(".", 1)[1]]
    pick = st.sampled_from([v_boxed(v, bits) if bits < 64 else v for v in SPECIALS[bits]])
    a, c = data.draw(pick), data.draw(pick)
    out = "ft0" if name in jit_llvm.FMINMAX else "a0"
    srcs = "ft1" if name in jit_llvm.FCLASS else "ft1, fa1"
    items = [f"fsflagsi {int(nx)}", f"{name} {out}, {srcs}", "addi s2, s2, -1",
             ("to", "bne s2, zero, {off}", 1, 3), "ebreak"]
    t, i, m = both(items, 10**6, bytes(64), [0, 0, 0, 0, c, a], 128)   # (f registers: reversed, ft1 = a)
    assert t == i
    assert m.translation["ran"] == 2 * 3   # (the first pass, reached by falling through, interpreted)


FARITH = sorted(jit_llvm.FCALL)


@pytest.mark.parametrize("name", FARITH)
@settings(max_examples=15, deadline=None)
@given(data=st.data(), regs=st.lists(fvalue, min_size=6, max_size=6), flags=st.sampled_from([0, 1]),
       frm=st.integers(0, 7))
def test_each_fp_arithmetic_op_runs_translated_as_interpreted(name, data, regs, flags, frm):
    """One op in a loop, every pass of it after the first translated (or, with
    a reserved mode, the stop at it from the translated block)."""
    text = fp_text(data.draw, name, "a0", "a2", "ft0", st.sampled_from(["ft1", "fa1", "fa2"]))
    items = [f"fsflagsi {flags}", f"fsrmi {frm}", text, "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 2, 4),
             "ebreak"]
    t, i, m = both(items, 10**6, bytes(64), regs, 128)
    assert t == i
    if t["stop"] == i["stop"] and t["instret"] == 2 + 3 * 3:   # ran to its end: every later pass translated
        assert m.translation["ran"] == 2 * 3


# Each test program kind above and the register values it is run on.
KINDS = {"division": (div_program(), ivalue), "compares": (fcompare_program(), fvalue),
         "arithmetic": (fcompare_program(ops=FARITH + FCOMPARE), fvalue)}


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=200, deadline=None)
@given(data=st.data(), budget=st.one_of(st.integers(1, 500), st.just(10**6)))
def test_the_new_ops_match_the_interpreter(kind, data, budget):
    """Results, fflags, instret and the stop the interpreter's; arithmetic in
    every rounding mode (static, or frm's: a reserved one stops as illegal
    before the op).  A loop whose body starts with one of them and runs to its
    ebreak ran translated from that op on."""
    program, values = KINDS[kind]
    items, regs = data.draw(program), data.draw(st.lists(values, min_size=6, max_size=6))
    t, i, m = both(items, budget, bytes(64), regs, 128)
    assert t == i
    first = next(x for x in items if not x.startswith(("fsflagsi", "fsrmi")))
    if budget == 10**6 and t["stop"][0] == "Breakpoint" and not first.startswith("frflags"):
        assert m.translation["ran"] > 0


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=40, deadline=None)
@given(data=st.data(), budget=st.one_of(st.integers(1, 500), st.just(10**6)),
       preset=st.sampled_from(["spacemit-x60", "xuantie-c930", "generic"]))
def test_the_new_ops_time_the_same_translated(kind, data, budget, preset):
    """Timed blocks charge these ops as the timed loop does: cycles, per-pc
    cycles and the profile the interpreter's, with every other observable."""
    program, values = KINDS[kind]
    items, regs = data.draw(program), data.draw(st.lists(values, min_size=6, max_size=6))
    t, i, _ = both(items, budget, bytes(64), regs, 128, timed=preset)
    assert t == i
