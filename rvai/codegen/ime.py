"""SpacemiT IME (XSMTVDot) instructions in LLVM output, through a placeholder.

LLVM 22 assembles ``smt.vmadot*`` but has no intrinsic for them, and inline assembly is
no way out: llvmlite registers no RISC-V asm parser, so a function holding inline asm
makes LLVM abort the process ("Inline asm not supported by this streamer"), for object
and assembly output alike (docs: /work/shared/DESIGN.md). So the lowering of ``mma``
calls a stand-in with the same register shape, SiFive's custom-instruction intrinsic
``sf.vc.v.vvw`` (XSfvcp, which LLVM emits only when asked): an LMUL-2 accumulator
``vd`` (an even pair, tied, never overlapping the sources) and two LMUL-1 sources
``vs2``, ``vs1``, in the same instruction fields as ``smt.vmadot vd, vs1, vs2``. Its
2-bit immediate carries the IME signedness variant. After LLVM has allocated registers,
:func:`patch` rewrites each stand-in word of the object into the ``smt.vmadot*`` word
(opcode bits from rvai's instruction table, register fields kept) and each line of the
assembly text to match; a count mismatch between the two raises instead of leaving a
stand-in behind.
"""
from __future__ import annotations

import re
import struct

from rvai.codegen.lines import _sections

#: The intrinsic the lowering calls (its overload suffix follows).
PLACEHOLDER = "llvm.riscv.sf.vc.v.vvw"
#: The LLVM feature that lets LLVM select it (compile-time only: no stand-in survives).
FEATURE = "+xsfvcp"

# sf.vc.v.vvw: custom-2 opcode, funct3 0, funct6 = 0b1111 + the 2-bit immediate, vm = 0.
_VVW_MASK, _VVW_MATCH = 0xF200707F, 0xF000005B
_ASM = re.compile(r"\bsf\.vc\.v\.vvw\t(?:0x)?(\d), v(\d+), v(\d+), v(\d+)")
#: IME mnemonic by the signedness immediate (A = vs1, B = vs2), as in csrc/insns_ai.def.
_MNEMONIC = {0: "smt.vmadotu", 1: "smt.vmadotus", 2: "smt.vmadotsu", 3: "smt.vmadot"}


def tile_shape(vlen: int) -> tuple[int, int, int] | None:
    """The (M, N, K) int8 tile of one ``smt.vmadot`` at ``vlen`` (None: IME defines none)."""
    return {256: (4, 4, 8), 1024: (8, 8, 16)}.get(vlen)


def variant(signed_a: bool, signed_b: bool) -> int:
    """The stand-in's immediate for the signedness of A and B."""
    return {(False, False): 0, (False, True): 1, (True, False): 2, (True, True): 3}[(signed_a, signed_b)]


def patch(obj: bytes, asm: str) -> tuple[bytes, str]:
    """``obj`` and ``asm`` with every stand-in replaced by its ``smt.vmadot*`` instruction."""
    from rvai.emu.isa import table
    rows = table()
    text = _sections(obj).get(".text")
    out = bytearray(obj)
    words = 0
    if text is not None:
        _, off, size = text[:3]
        pos = off
        while pos + 2 <= off + size:
            half, = struct.unpack_from("<H", out, pos)
            if half & 3 != 3:                   # a compressed instruction
                pos += 2
                continue
            word, = struct.unpack_from("<I", out, pos)
            if word & _VVW_MASK == _VVW_MATCH:
                row = rows[_MNEMONIC[(word >> 26) & 3]]
                struct.pack_into("<I", out, pos, (word & ~row.mask & 0xFFFFFFFF) | row.match)
                words += 1
            pos += 4

    lines = 0

    def spell(m: re.Match) -> str:
        nonlocal lines
        lines += 1
        imm, vd, vs2, vs1 = (int(g) for g in m.groups())
        return f"{_MNEMONIC[imm]}\tv{vd}, v{vs1}, v{vs2}"
    asm = _ASM.sub(spell, asm).replace("_xsfvcp1p0", "")   # nor in the arch attribute line
    if words != lines or "sf.vc" in asm:
        raise RuntimeError(f"IME stand-ins: {words} in the object, {lines} in the assembly; refusing to guess")
    return bytes(out), asm
