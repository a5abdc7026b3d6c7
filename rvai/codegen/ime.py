"""SpacemiT IME (XSMTVDot) instructions in LLVM output, through a stand-in.

LLVM 22 assembles ``smt.vmadot*`` but has no intrinsic for them (nor can llvmlite take
inline asm: :mod:`rvai.codegen.standin`). So the lowering of ``mma`` calls a stand-in
with the same register shape, SiFive's custom-instruction intrinsic ``sf.vc.v.vvw``: an
LMUL-2 accumulator ``vd`` (an even pair, tied, never overlapping the sources) and two
LMUL-1 sources ``vs2``, ``vs1``, in the same instruction fields as ``smt.vmadot vd, vs1,
vs2``. Its 2-bit immediate carries the IME signedness variant. After LLVM,
:func:`rvai.codegen.standin.patch_object` rewrites each stand-in (:data:`STANDIN`) into the
``smt.vmadot*`` instruction, and ``patch_assembly`` its line of assembly.
"""
from __future__ import annotations

import re

from rvai.codegen.standin import StandIn

#: The intrinsic the lowering calls (its overload suffix follows).
PLACEHOLDER = "llvm.riscv.sf.vc.v.vvw"

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


#: The stand-in's words and assembly lines and the ``smt.vmadot*`` they become.
STANDIN = StandIn(PLACEHOLDER, _VVW_MASK, _VVW_MATCH, lambda word: _MNEMONIC[(word >> 26) & 3], _ASM,
                  lambda m: f"{_MNEMONIC[int(m.group(1))]}\tv{m.group(2)}, v{m.group(4)}, v{m.group(3)}")
