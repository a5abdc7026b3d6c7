"""The instruction table as the Python side sees it, and a small assembler.

The rows come from the C core (csrc/insns_*.def through ``rvai._rvemu``), so
the decoder, the disassembler and this assembler share one table.  The
assembler takes one instruction in the disassembler's spelling, e.g.
``"addi a0, a1, -5"``, ``"lw a0, 8(sp)"``, ``"beq a0, a1, 16"`` (branch and jump
targets are offsets from the instruction), ``"vadd.vv v1, v2, v3, v0.t"``; it
exists for tests and for the few hand-written runtime routines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rvai._rvemu import ffi, lib

XREGS = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1"] + \
        [f"a{i}" for i in range(8)] + [f"s{i}" for i in range(2, 12)] + [f"t{i}" for i in range(3, 7)]
FREGS = [f"ft{i}" for i in range(8)] + ["fs0", "fs1"] + [f"fa{i}" for i in range(8)] + \
        [f"fs{i}" for i in range(2, 12)] + [f"ft{i}" for i in range(8, 12)]
ROUNDING = ["rne", "rtz", "rdn", "rup", "rmm", None, None, "dyn"]
CSRS = {"fflags": 0x001, "frm": 0x002, "fcsr": 0x003, "vstart": 0x008, "vxsat": 0x009,
        "vxrm": 0x00A, "vcsr": 0x00F, "cycle": 0xC00, "time": 0xC01, "instret": 0xC02,
        "vl": 0xC20, "vtype": 0xC21, "vlenb": 0xC22}


@dataclass(frozen=True)
class Insn:
    """One row of the instruction table."""
    op: int
    name: str
    match: int
    mask: int
    operands: str
    cls: str


@lru_cache(maxsize=None)
def table() -> dict[str, Insn]:
    """Every instruction of the C core's table, by mnemonic."""
    rows = {}
    for op in range(1, lib.rv_num_ops()):
        name = ffi.string(lib.rv_op_name(op)).decode()
        rows[name] = Insn(op, name, lib.rv_op_match(op), lib.rv_op_mask(op),
                          ffi.string(lib.rv_op_operands(op)).decode(),
                          ffi.string(lib.rv_class_name(lib.rv_op_class(op))).decode())
    return rows


def _reg(text: str, names: list[str], prefix: str) -> int:
    text = text.strip()
    if text in names:
        return names.index(text)
    m = re.fullmatch(prefix + r"(\d+)", text)
    if m and int(m.group(1)) < 32:
        return int(m.group(1))
    raise ValueError(f"not a register: {text!r}")


def _bits(value: int, hi: int, lo: int) -> int:
    return (value >> lo) & ((1 << (hi - lo + 1)) - 1)


def _vtype(text: str) -> int:
    """e32, m4, ta, ma -> the vtype immediate."""
    parts = [p.strip() for p in text.split(",")]
    sew = {"e8": 0, "e16": 1, "e32": 2, "e64": 3}[parts[0]]
    lmul = {"m1": 0, "m2": 1, "m4": 2, "m8": 3, "mf8": 5, "mf4": 6, "mf2": 7}[parts[1]]
    ta = parts[2] == "ta" if len(parts) > 2 else False
    ma = parts[3] == "ma" if len(parts) > 3 else False
    return lmul | sew << 3 | ta << 6 | ma << 7


def _place(letter: str, value: int) -> int:
    """Put an operand's value in its instruction fields."""
    if letter in "dDV":
        return value << 7
    if letter in "sSUzkK":
        return (value & 0x1F) << 15
    if letter in "tTW<":
        return (value & 0x1F) << 20
    if letter == "0":   # the fixed v0 operand of vadc/vmerge...: no field
        return 0
    if letter == "R":
        return value << 27
    if letter == ">":
        return (value & 0x3F) << 20
    if letter in "io":
        return (value & 0xFFF) << 20
    if letter == "c":
        return (value & 0xFFF) << 20
    if letter == "q":
        return _bits(value, 11, 5) << 25 | _bits(value, 4, 0) << 7
    if letter == "b":
        return (_bits(value, 12, 12) << 31 | _bits(value, 10, 5) << 25 |
                _bits(value, 4, 1) << 8 | _bits(value, 11, 11) << 7)
    if letter == "j":
        return (_bits(value, 20, 20) << 31 | _bits(value, 10, 1) << 21 |
                _bits(value, 11, 11) << 20 | _bits(value, 19, 12) << 12)
    if letter == "u":
        return (value & 0xFFFFF) << 12
    if letter == "m":
        return value << 12
    if letter == "M":
        return value << 25
    if letter == "Z":
        return (value & 0x7FF) << 20
    if letter == "Y":
        return (value & 0x3FF) << 20
    raise ValueError(f"unknown operand letter {letter!r}")


def _split_operands(text: str) -> list[str]:
    """Split at commas, keeping a trailing vtype list (e32, m1, ta, ma) as one."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    for i, p in enumerate(parts):
        if re.fullmatch(r"e\d+", p):
            return parts[:i] + [", ".join(parts[i:])]
    return parts


def assemble(text: str) -> int:
    """Encode one instruction (disassembler spelling) into its 32-bit word."""
    text = text.strip()
    mnemonic, _, rest = text.partition(" ")
    aqrl = 0
    for suffix, bits in ((".aqrl", 3), (".aq", 2), (".rl", 1)):
        if mnemonic.endswith(suffix) and mnemonic[: -len(suffix)] in table():
            mnemonic, aqrl = mnemonic[: -len(suffix)], bits
            break
    if mnemonic not in table():
        raise ValueError(f"unknown instruction {mnemonic!r}")
    row = table()[mnemonic]
    word = row.match | aqrl << 25
    letters = [c for c in row.operands if c.isalnum() or c in "<>"]
    ops = _split_operands(rest.replace("(", ",").replace(")", ""))
    if "M" in letters:   # the mask operand is optional: vm=1 unless ", v0.t"
        masked = bool(ops) and ops[-1] == "v0.t"
        if masked:
            ops = ops[:-1]
        word |= _place("M", 0 if masked else 1)
        letters.remove("M")
    if "m" in letters and len(ops) == len(letters) - 1:
        ops.append("dyn")
    if len(ops) != len(letters):
        raise ValueError(f"{mnemonic} takes operands {row.operands!r}, got {rest!r}")
    for letter, op in zip(letters, ops):
        if letter in "dst":
            value = _reg(op, XREGS, "x")
        elif letter in "DSTR":
            value = _reg(op, FREGS, "f")
        elif letter == "0":
            if op != "v0":
                raise ValueError(f"{mnemonic} takes v0 here, not {op!r}")
            value = 0
        elif letter in "VUW":
            value = _reg(op, [], "v")
        elif letter == "m":
            value = ROUNDING.index(op)
        elif letter == "c":
            value = CSRS[op] if op in CSRS else int(op, 0)
        elif letter in "ZY":
            value = _vtype(op)
        else:
            value = int(op, 0)
        word |= _place(letter, value)
    return word
