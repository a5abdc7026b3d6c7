"""The C extension: every 16-bit word's expansion (seen through the
disassembler) against llvm-mc's decoding, each compressed instruction behaving
as its 32-bit twin, and the reserved encodings trapping."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rvai.emu import BudgetExceeded, EmulatorError, IllegalInstruction, Machine, disasm_word
from rvai.emu.isa import assemble, table
from tests import llvm_mc
from tests.llvm_mc import needs_llvm_mc, normalise
from tests.conftest import CODE

COMPRESSED = [w for w in range(1 << 16) if w & 3 != 3]


def _reserved_lui(word: int) -> bool:
    """c.lui with nzimm = 0: reserved by the spec, decoded as lui by LLVM."""
    return word & 0xE003 == 0x6001 and word & 0x107C == 0 and (word >> 7) & 31 != 2


@needs_llvm_mc
def test_every_compressed_word_prints_as_llvm_does():
    theirs = llvm_mc.disassemble(COMPRESSED)
    bad = []
    for word, text in zip(COMPRESSED, theirs):
        ours = normalise(disasm_word(word))
        if ours == "<unknown>" and (_reserved_lui(word) or
                                    (text or "").split(" ")[0] not in table()):
            continue   # reserved here, or an extension's rows not in the table yet (fld, fsd)
        if ours != (text or "<unknown>"):
            bad.append(f"{word:04x}: rvai {ours!r} llvm {text!r}")
    assert bad == []


def _state(m: Machine, rng_words, buf: int, pointers: bool):
    """Set x1..x31 (and f0..f31) from the words; with pointers, every x register
    holds an 8-aligned address inside buf so that loads and stores land there."""
    for i in range(1, 32):
        value = rng_words[i]
        m.x(i, buf + 2048 + (value & 0x3F8) - 512 if pointers else value)
        m.f(i, rng_words[32 + i])


def _step(m: Machine):
    """Run one instruction from CODE: the resulting registers, pc and memory,
    or the kind of stop."""
    m.pc = CODE
    try:
        m.resume(budget=1)
    except BudgetExceeded:
        pass
    except EmulatorError as e:
        return type(e).__name__
    return [m.x(i) for i in range(32)], [m.f(i) for i in range(32)], m.pc


# Every valid compressed word but the HINTs (printed as c.*, which assemble() does not take).
valid = [w for w in COMPRESSED if disasm_word(w) != "<unknown>" and not disasm_word(w).startswith("c.")]


@given(word=st.sampled_from(valid), regs=st.lists(st.integers(0, 2**64 - 1), min_size=64, max_size=64),
       pointers=st.booleans())
@settings(max_examples=300, deadline=None)
def test_compressed_instruction_behaves_as_its_expansion(word, regs, pointers):
    twin = assemble(disasm_word(word))
    results = []
    for code, length in ((word, 2), (twin, 4)):
        m = Machine(vlen=128)
        m.map(CODE, 4096, "rx")
        m.write(CODE, np.array([code], np.uint32 if length == 4 else np.uint16))
        buf = m.alloc(4096)
        m.write(buf, np.arange(4096, dtype=np.uint8))
        _state(m, regs, buf, pointers)
        out = _step(m)
        if not isinstance(out, str):
            x, f, pc = out
            # Fall-through and link addresses differ by the lengths; normalise to the 32-bit form.
            text = disasm_word(word)
            if length == 2 and text.split()[0] in ("jal", "jalr"):
                rd = twin >> 7 & 31
                if rd:
                    x[rd] += 2
            if pc == CODE + 2 and length == 2:
                pc = CODE + 4
            out = (x, f, pc, m.read_bytes(buf, 4096))
        results.append(out)
    assert results[0] == results[1], disasm_word(word)


RESERVED = {
    0x0000: "c.unimp (all zeros)",
    0x0008: "c.addi4spn with nzuimm = 0",
    0x2001: "c.addiw with rd = x0",
    0x6101: "c.addi16sp with nzimm = 0",
    0x6501: "c.lui with nzimm = 0",
    0x4002: "c.lwsp with rd = x0",
    0x6002: "c.ldsp with rd = x0",
    0x8002: "c.jr with rs1 = x0",
    0x9C79: "funct6 100111, funct2 11, unary op 110 (reserved in Zcb's c.zext.b ... space)",
    0x9C7D: "funct6 100111, funct2 11, unary op 111 (reserved)",
    0x8C40: "Zcb's c.sh with instruction bit 6 set (reserved)",
    0x9000: "quadrant 0, funct3 100 beyond Zcb's loads and stores (reserved)",
}


@pytest.mark.parametrize("word", sorted(RESERVED))
def test_reserved_compressed_encodings_are_illegal(word):
    m = Machine(vlen=128)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.array([word, 0x8082], np.uint16))   # then c.ret
    with pytest.raises(IllegalInstruction) as e:
        m.call(CODE)
    assert e.value.pc == CODE
