"""The disassembler against llvm-mc (19 for the base rows, 22 for the
extension rows) on random encodings of every table row and every alias, the
assembler as its inverse, and the assembler against llvm-mc's encoder."""
import random
import re

import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import disasm_word
from rvai.emu.isa import _place, aliases, assemble, table
from tests import llvm_mc
from tests.llvm_mc import needs_llvm_mc, needs_llvm_mc22, normalise

# Register fields and the I-immediate: clearing them makes the zero-register
# and zero-offset aliases (mv, ret, csrr, beqz, ...) common among random words.
_FIELDS = [0x1F << 7, 0x1F << 15, 0x1F << 20, 0xFFF << 20]


def _legal(row, word: int) -> int:
    """Pin the fields that the spec reserves but our decoder accepts on
    purpose (the rows' masks leave them free, as the spec asks base
    implementations to ignore them) and that LLVM refuses to decode."""
    if row.name == "fence":
        word &= ~(0x1F << 7 | 0x1F << 15)            # rd, rs1: reserved
        if (word >> 20) & 0xFF != 0x33:
            word &= 0x0FFFFFFF                         # fm=1000 only as fence.tso
        elif word >> 28 not in (0, 8):
            word &= 0x0FFFFFFF
    if row.name == "fence.i":
        word &= 0x7F | 7 << 12                         # imm, rs1, rd: reserved
    if row.ext == "xsmtvdot":
        word &= ~(1 << 7)                              # vd must be even (an odd one is illegal)
    if "m" in row.operands and (word >> 12) & 7 in (5, 6):
        word |= 7 << 12                                # rm 5, 6 are reserved (illegal when run)
    group = re.fullmatch(r"v(?:[ls](\d)r(?:e\d+)?|mv(\d)r)\.v", row.name)
    if group:                                          # whole-register groups must be aligned
        n = int(group[1] or group[2])
        word &= ~((n - 1) << 7 | ((n - 1) << 20 if group[2] else 0))
    return word


def _words(rng, ext: bool = False) -> list[int]:
    """One word per table row and one per alias (its condition applied), the
    free bits random, all zeros or all ones, and some fields cleared: of the
    base rows, or (ext) of the extension rows."""
    def fill():
        bits = rng.choice([0, 2**32 - 1, rng.getrandbits(32), rng.getrandbits(32)])
        return bits & ~sum(m for m in _FIELDS if rng.random() < 0.3)

    def wanted(row):
        return (row.ext != "base") == ext

    out = [_legal(row, row.match | (fill() & ~row.mask)) for row in table().values() if wanted(row)]
    for alias in aliases():
        row = table()[alias.row]
        if not wanted(row):
            continue
        word = row.match | (fill() & ~row.mask)
        for term in filter(None, alias.cond.split(",")):
            letter, _, want = term.partition("=")
            value = int(want, 0) if not want.isalpha() else _field(word, want)
            word = word & ~_place(letter, -1) | _place(letter, value)
        out.append(_legal(row, word))
    return out


def _field(word: int, letter: str) -> int:
    """A register field's value (for conditions like S=T)."""
    return (word >> {"d": 7, "D": 7, "V": 7, "s": 15, "S": 15, "U": 15,
                     "t": 20, "T": 20, "W": 20}[letter]) & 0x1F


# A seed for the words of one batch: each example checks every row at once, so
# that one llvm-mc process serves hundreds of words.
seeds = st.integers(0, 2**64 - 1)


def _mismatches(words: list[int], ext: bool = False) -> list[str]:
    ours = [normalise(disasm_word(w)) for w in words]
    theirs = llvm_mc.disassemble(words, ext)
    return [f"{w:08x}: rvai {o!r} llvm {t!r}"
            for w, o, t in zip(words, ours, theirs) if o != (t or "<unknown>")]


@needs_llvm_mc
@given(seeds)
@settings(max_examples=25, deadline=None)
def test_every_row_and_alias_prints_as_llvm_does(seed):
    words = _words(random.Random(seed))
    assert _mismatches(words) == []


@needs_llvm_mc22
@given(seeds)
@settings(max_examples=25, deadline=None)
def test_every_extension_row_prints_as_llvm22_does(seed):
    words = _words(random.Random(seed), ext=True)
    assert words and _mismatches(words, ext=True) == []


@given(seeds)
@settings(max_examples=25, deadline=None)
def test_assemble_inverts_disassemble(seed):
    for word in _words(random.Random(seed)) + _words(random.Random(seed), ext=True):
        text = disasm_word(word)
        assert assemble(text) == word, f"{word:08x} printed {text!r}"


@needs_llvm_mc
@given(seeds)
@settings(max_examples=10, deadline=None)
def test_assemble_agrees_with_llvm_encoder(seed):
    # LLVM's assembler also checks RVV operand constraints (a masked vd may not
    # be v0, a widening vd may not overlap its sources, ...) that the decoder
    # leaves to execution: vector lines it refuses are not compared, scalar
    # ones must all be accepted.
    texts = [disasm_word(w) for w in _words(random.Random(seed))]
    theirs = llvm_mc.assemble(texts)
    bad = [f"{t!r}: rvai {assemble(t):08x} llvm {e}" for t, e in zip(texts, theirs)
           if (e is None and not t.startswith("v")) or (e is not None and assemble(t) != e)]
    assert bad == []


@needs_llvm_mc22
@given(seeds)
@settings(max_examples=10, deadline=None)
def test_assemble_agrees_with_llvm22_encoder_on_extension_rows(seed):
    texts = [disasm_word(w) for w in _words(random.Random(seed), ext=True)]
    theirs = llvm_mc.assemble(texts, ext=True)
    bad = [f"{t!r}: rvai {assemble(t):08x} llvm {e}" for t, e in zip(texts, theirs)
           if (e is None and not t.startswith("v")) or (e is not None and assemble(t) != e)]
    assert bad == []


# Spellings checked without llvm-mc: each from llvm-mc-19 --disassemble.
KNOWN = [
    (0x00000013, "nop"), (0xFFB00513, "li a0, -5"), (0x00058513, "mv a0, a1"),
    (0x00008067, "ret"), (0x00850067, "jr 8(a0)"), (0xFF5FF0EF, "jal -12"),
    (0x0000006F, "j 0"), (0x0FF0000F, "fence"), (0x0310000F, "fence rw, w"),
    (0x8330000F, "fence.tso"), (0x1605A52F, "lr.w.aqrl a0, (a1)"),
    (0xC2202573, "csrr a0, vlenb"), (0xC0202573, "rdinstret a0"), (0x0805853B, "zext.w a0, a1"),
    (0xFE050EE3, "beqz a0, -4"), (0xFFFFF537, "lui a0, 1048575"), (0xC0001073, "unimp"),
    (0xC8002573, "csrr a0, 3200"), (0x0FF57513, "andi a0, a0, 255"), (0x00356073, "csrsi fcsr, 10"),
    (0x0505, "addi a0, a0, 1"), (0x8082, "ret"), (0x0005, "c.nop 1"), (0x0000, "unimp"),
]


@pytest.mark.parametrize("word,text", KNOWN)
def test_known_spellings(word, text):
    assert normalise(disasm_word(word)) == text
