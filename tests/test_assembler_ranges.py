"""The test assembler refuses immediates its fields cannot hold, instead of
truncating them into a different instruction; the values at each edge survive
a trip through the C decoder and disassembler."""
import pytest

from rvai.emu import disasm_word
from rvai.emu.isa import assemble

# (template, smallest, largest) from the ISA manual's immediate widths.
EDGES = [
    ("addi a0, a1, {}", -2048, 2047),
    ("lw a0, {}(a1)", -2048, 2047),
    ("sd a0, {}(a1)", -2048, 2047),
    ("slli a0, a1, {}", 0, 63),
    ("slliw a0, a1, {}", 0, 31),
    ("lui a0, {}", 0, 0xFFFFF),
    ("csrrwi a0, fflags, {}", 0, 31),
    ("vadd.vi v1, v2, {}", -16, 15),
    ("vslideup.vi v1, v2, {}", 0, 31),
]


@pytest.mark.parametrize("template,lo,hi", EDGES)
def test_edges_round_trip_and_beyond_is_refused(template, lo, hi):
    for v in (lo, hi):
        text = disasm_word(assemble(template.format(v)))
        assert str(v) in text.replace("\t", " "), text
    for v in (lo - 1, hi + 1):
        with pytest.raises(ValueError, match="out of range"):
            assemble(template.format(v))


@pytest.mark.parametrize("template,lo,hi", [("beq a0, a1, {}", -4096, 4094), ("jal ra, {}", -(1 << 20), (1 << 20) - 2)])
def test_branch_offsets_are_even_and_bounded(template, lo, hi):
    for v in (lo, hi):
        assert disasm_word(assemble(template.format(v))).replace(",", " ").split()[-1] == str(v)
    for v in (lo - 2, hi + 2, 3):
        with pytest.raises(ValueError, match="out of range"):
            assemble(template.format(v))
