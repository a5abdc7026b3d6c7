"""``rl.touch_frame`` compiled once: placeholder loads, their offsets patched in after LLVM.

The touches load a byte of each cache line of the stack the kernel's code uses above sp (its
frame and the stack arguments it reads), a size LLVM settles only in codegen. So the
lowering emits, at each touch, ``n`` volatile byte loads at placeholder offsets from sp
(:func:`marker`: 2047, 2046, ..., one per index; LLVM gives each one ``lbu zero, m(sp)``,
as the value is unused), and once the object is made, :func:`patch_object` reads the extent
its own code uses (its disassembly: :func:`object_extent`) and rewrites placeholder i of
every touch into a load at :func:`offsets`' i-th offset, and those past the last into nops.
The code around the placeholders does not depend on their offsets, so one LLVM run gives
the kernel's code (before, each extent was compiled in and the kernel compiled again until
its touches matched the extent they produced, 2-3 LLVM runs). :func:`patch_assembly` does
the same to the assembly text's lines.

An extent needing more loads than a touch has raises :class:`TooFew` (compile again with
:attr:`TooFew.needed` placeholders). A load reaches sp + 2047 at most (a 12-bit offset), and
the extent is read from accesses at sp + offset, so stack past that is neither seen nor
touched (LLVM reaches it through another base register).
"""
from __future__ import annotations

import re
import struct

from rvai.codegen.standin import instructions

#: Placeholders of each touch in the first compile: an extent of up to 15 lines (960 bytes).
PLACEHOLDERS = 16
#: The farthest byte a load reaches from sp: its offset is a signed 12-bit immediate.
REACH = 2047
LINE = 64
#: The most placeholders a touch can need: the lines of REACH + 1 bytes at any sp.
MOST = (REACH + 1) // LINE + 1
#: The comment the lowering writes before a touch's placeholders in the LLVM IR.
TAG = "; touch_frame placeholders"

# ``lbu zero, imm(sp)``: LOAD (0x03), funct3 4, rd x0, rs1 x2; the immediate is bits 20-31.
_LBU_ZERO_SP, _IMM_MASK = 0x14003, 0xFFF00000
_NOP = 0x00000013                                   # addi zero, zero, 0
_TOUCH_LINE = re.compile(r"^(\s*)lbu\s+zero,\s*(\d+)\(sp\)", re.M)


class TooFew(Exception):
    """The object's extent needs more loads a touch than its placeholders (:attr:`needed`)."""

    def __init__(self, needed: int):
        super().__init__(f"touch_frame needs {needed} loads a touch")
        self.needed = needed


def marker(i: int) -> int:
    """The placeholder offset from sp of a touch's load ``i``."""
    return REACH - i


def offsets(extent: int) -> list[int]:
    """Offsets from sp that load a byte of every cache line [sp, sp + ``extent``) falls in,
    wherever sp lies in a line (it is only 16-byte aligned): one every 64 bytes and the last
    byte; none for an extent of 0."""
    return sorted({*range(0, extent, LINE), extent - 1}) if extent else []


def used(llvm_text: str) -> bool:
    """Whether LLVM IR from :func:`rvai.codegen.lower.lower` holds touches to patch."""
    return TAG in llvm_text


#: A load or store through sp, other than a touch: (f)l/s, its width, its offset.
_SP_ACCESS = re.compile(r"^\s*(?!lbu\s+zero,)f?[ls]([bhwd])u?\s+[^,\s]+,\s*(-?\d+)\(sp\)", re.M)
_SP_WIDTH = {"b": 1, "h": 2, "w": 4, "d": 8}


def stack_extent(asm: str) -> int:
    """The bytes above sp that the code of ``asm`` (assembly text or a disassembly) uses: its
    frame (the prologue's ``addi sp, sp, -N``; a frame past addi's reach is counted by its
    accesses only) and the stack slots and arguments it loads and stores at sp + offset. The
    touches (``lbu zero, off(sp)``) are not counted: they follow the extent, not make it."""
    ends = [int(off) + _SP_WIDTH[w] for w, off in _SP_ACCESS.findall(asm)]
    ends += [int(n) for n in re.findall(r"addi\s+sp, sp, -(\d+)", asm)]
    return max(ends, default=0)


def object_extent(obj: bytes) -> int:
    """:func:`stack_extent` of the object's own code (its ``.text`` disassembled)."""
    from rvai.emu.machine import disasm_word
    return stack_extent("\n".join(disasm_word(word) for _, word in instructions(obj)))


def _placeholders(obj: bytes) -> list[tuple[int, int]]:
    """(file offset, index) of every placeholder word in the object; raises ``RuntimeError``
    unless every touch kept all of its loads (each index as often as the others)."""
    found = [(pos, REACH - (word >> 20)) for pos, word in instructions(obj) if word & ~_IMM_MASK == _LBU_ZERO_SP]
    found = [(pos, i) for pos, i in found if 0 <= i < MOST]
    counts = [sum(1 for _, i in found if i == k) for k in range(max((i for _, i in found), default=-1) + 1)]
    if len(set(counts)) > 1:
        raise RuntimeError(f"touch_frame: placeholder loads per index {counts}; refusing to guess")
    return found


def patch_object(obj: bytes) -> tuple[bytes, int, int]:
    """``obj`` with every touch's placeholders loading at :func:`offsets` of the extent its
    code uses, and those left over made nops; that extent and how many words it rewrote
    (for :func:`patch_assembly`)."""
    extent = min(object_extent(obj), REACH + 1)   # a doubleword at sp + 2040 ends at 2048
    found = _placeholders(obj)
    if not found:   # LLVM deleted every touch (unreachable code): nothing to patch
        return obj, extent, 0
    want = offsets(extent)
    have = max((i for _, i in found), default=-1) + 1
    if len(want) > have:
        raise TooFew(len(want))
    out = bytearray(obj)
    for pos, i in found:
        word = _LBU_ZERO_SP | want[i] << 20 if i < len(want) else _NOP
        struct.pack_into("<I", out, pos, word)
    return bytes(out), extent, len(found)


def patch_assembly(asm: str, extent: int, words: int) -> str:
    """``asm`` with the touches' placeholder lines rewritten as :func:`patch_object` rewrote
    their ``words`` words for ``extent``; raises ``RuntimeError`` if the lines are not as many."""
    want, lines = offsets(extent), 0

    def spell(m: re.Match) -> str:
        nonlocal lines
        i = marker(0) - int(m.group(2))
        if not 0 <= i < MOST:
            return m.group(0)
        lines += 1
        return f"{m.group(1)}lbu\tzero, {want[i]}(sp)" if i < len(want) else f"{m.group(1)}nop"
    asm = _TOUCH_LINE.sub(spell, asm)
    if lines != words:
        raise RuntimeError(f"touch_frame: {words} placeholders in the object, {lines} in the assembly")
    return asm
