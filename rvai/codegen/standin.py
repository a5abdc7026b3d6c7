"""Instructions LLVM has no intrinsic for, emitted through stand-ins and rewritten after LLVM.

Inline assembly is no way out: llvmlite registers no RISC-V asm parser, so a function
holding inline asm makes LLVM abort the process ("Inline asm not supported by this
streamer"), for object and assembly output alike (docs: /work/shared/DESIGN.md). So a
lowering that needs such an instruction calls one of SiFive's custom-instruction
intrinsics (XSfvcp, which LLVM emits only when asked) whose register fields sit where the
wanted instruction's do, with immediates that mark it. After LLVM has allocated
registers, :func:`patch_object` rewrites each stand-in word of the object into the wanted
word (opcode bits from rvai's instruction table, register fields kept) and
:func:`patch_assembly` each line of the assembly text to match (when the text is made: see
:class:`rvai.codegen.CompiledKernel`); a count mismatch between the two raises instead of
leaving a stand-in behind.

The stand-ins: IME's ``smt.vmadot*`` (:mod:`rvai.codegen.ime`) and Zicboz's
``cbo.zero`` (:data:`CBO_ZERO`).
"""
from __future__ import annotations

import dataclasses
import re
import struct
from typing import Callable

from rvai.codegen.lines import _sections

#: The LLVM feature that lets LLVM select the stand-ins (compile-time only: none survives).
FEATURE = "+xsfvcp"


@dataclasses.dataclass(frozen=True)
class StandIn:
    """One stand-in: the intrinsic the lowering calls, its words and assembly lines, and
    what they become."""

    intrinsic: str                       #: the intrinsic's name (its overload suffix follows)
    mask: int                            #: the stand-in's words are those w with w & mask == match
    match: int
    mnemonic: Callable[[int], str]       #: the real instruction's mnemonic for a stand-in word
    asm: re.Pattern                      #: a stand-in's line of assembly
    spell: Callable[[re.Match], str]     #: the real instruction's line for that match


# sf.vc.x 3, 31, 31, rs1 (custom-2, funct3 4, vm 1; immediates all ones) becomes
# cbo.zero (rs1): rs1 sits in the same field.
#: ``cbo.zero (rs1)`` (Zicboz), standing in as the side-effecting ``sf.vc.x.se``: LLVM
#: orders it against every load and store (an intrinsic with side effects and no
#: stated memory behaviour may touch any memory).
CBO_ZERO = StandIn("llvm.riscv.sf.vc.x.se", 0xFFF07FFF, 0x0FF04FDB, lambda word: "cbo.zero",
                   re.compile(r"\bsf\.vc\.x\t3, 31, 31, (\w+)"), lambda m: f"cbo.zero\t({m.group(1)})")


def instructions(obj: bytes):
    """(file offset, word) of each instruction of the object's ``.text``: 16 bits for a
    compressed one, else 32."""
    text = _sections(obj).get(".text")
    if text is None:
        return
    _, off, size = text[:3]
    pos = off
    while pos + 2 <= off + size:
        half, = struct.unpack_from("<H", obj, pos)
        if half & 3 != 3:
            yield pos, half
            pos += 2
        else:
            yield pos, struct.unpack_from("<I", obj, pos)[0]
            pos += 4


def patch_object(obj: bytes, standins: list[StandIn]) -> tuple[bytes, int]:
    """``obj`` with every stand-in word of ``standins`` replaced by its instruction's, and how
    many it replaced (for :func:`patch_assembly`)."""
    from rvai.emu.isa import table
    rows = table()
    out = bytearray(obj)
    words = 0
    for pos, word in instructions(obj):
        for s in standins:
            if word & s.mask == s.match:
                row = rows[s.mnemonic(word)]
                struct.pack_into("<I", out, pos, (word & ~row.mask & 0xFFFFFFFF) | row.match)
                words += 1
                break
    return bytes(out), words


def patch_assembly(asm: str, standins: list[StandIn], words: int) -> str:
    """``asm`` with every stand-in line of ``standins`` spelt as its instruction; raises
    ``RuntimeError`` unless they are as many as the ``words`` :func:`patch_object` replaced in
    the object and none is left."""
    lines = 0

    def count(spell):
        def f(m: re.Match) -> str:
            nonlocal lines
            lines += 1
            return spell(m)
        return f
    for s in standins:
        asm = s.asm.sub(count(s.spell), asm)
    asm = asm.replace("_xsfvcp1p0", "")   # nor in the arch attribute line
    if words != lines or "sf.vc" in asm:
        raise RuntimeError(f"stand-ins: {words} in the object, {lines} in the assembly; refusing to guess")
    return asm


def used(llvm_text: str, standins: list[StandIn]) -> list[StandIn]:
    """The stand-ins whose intrinsics the LLVM module calls."""
    return [s for s in standins if s.intrinsic + "." in llvm_text]
