"""The instruction table as the Python side sees it, and a small assembler.

The rows come from the C core (csrc/insns_*.def through ``rvai._rvemu``), so
the decoder, the disassembler and this assembler share one table; the
disassembler's aliases and CSR names come from the C core too.  The assembler
takes one instruction in the disassembler's spelling (llvm-objdump's), e.g.
``"addi a0, a1, -5"``, ``"li a0, 5"``, ``"lw a0, 8(sp)"``, ``"csrr a0, vlenb"``,
``"beq a0, a1, 16"`` (branch and jump targets are offsets from the
instruction), ``"vadd.vv v1, v2, v3, v0.t"``, ``"vsetvli a0, a1, e32, m4, ta, ma"``,
and returns the 32-bit word.  It exists for tests and for the few hand-written
runtime routines.  Compressed HINT spellings (``c.nop 1``) are not accepted:
it emits 32-bit words only.
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
_SEW = {"e8": 0, "e16": 1, "e32": 2, "e64": 3}
_LMUL = {"m1": 0, "m2": 1, "m4": 2, "m8": 3, "mf8": 5, "mf4": 6, "mf2": 7}


@dataclass(frozen=True)
class Insn:
    """One row of the instruction table; ``ext`` is the LLVM feature name of
    its extension, or ``"base"`` for the base ISA (rows that always decode)."""
    op: int
    name: str
    match: int
    mask: int
    operands: str
    cls: str
    ext: str


@dataclass(frozen=True)
class Alias:
    """A spelling the disassembler prints for ``row`` when ``cond`` holds.

    ``cond`` is a comma list of ``L=number`` or ``L=M`` over field letters (see
    csrc/disasm.c); assembling the alias sets those fields."""
    row: str
    name: str
    operands: str
    cond: str


@lru_cache(maxsize=None)
def table() -> dict[str, Insn]:
    """Every instruction of the C core's table, by mnemonic."""
    rows = {}
    for op in range(1, lib.rv_num_ops()):
        name = ffi.string(lib.rv_op_name(op)).decode()
        rows[name] = Insn(op, name, lib.rv_op_match(op), lib.rv_op_mask(op),
                          ffi.string(lib.rv_op_operands(op)).decode(),
                          ffi.string(lib.rv_class_name(lib.rv_op_class(op))).decode(),
                          ffi.string(lib.rv_extension_name(lib.rv_op_extension(op))).decode())
    return rows


@lru_cache(maxsize=None)
def extensions() -> tuple[str, ...]:
    """The extensions a machine can switch off (bit i of rv_set_extensions_off
    is extensions()[i]; entry 0 is the base ISA, always on)."""
    return tuple(ffi.string(lib.rv_extension_name(e)).decode() for e in range(lib.rv_num_extensions()))


@lru_cache(maxsize=None)
def aliases() -> tuple[Alias, ...]:
    """The disassembler's aliases whose row exists, in its order of preference."""
    out = []
    strs = [ffi.new("char *[1]") for _ in range(4)]
    for i in range(lib.rv_num_aliases()):
        lib.rv_alias(i, *strs)
        alias = Alias(*(ffi.string(s[0]).decode() for s in strs))
        if alias.row in table():
            out.append(alias)
    return tuple(out)


@lru_cache(maxsize=None)
def csr_numbers() -> dict[str, int]:
    """CSR name -> number, for every CSR the disassembler prints by name."""
    buf = ffi.new("char[]", 32)
    return {ffi.string(buf).decode(): n for n in range(4096) if lib.rv_csr_name(n, buf, 32)}


@lru_cache(maxsize=None)
def fli_constants() -> tuple[str, ...]:
    """Zfa's fli constants as the disassembler spells them, by index (the C core's
    table, read back by disassembling fli.s with each index)."""
    row = table()["fli.s"]
    return tuple(_disasm(row.match | i << 15).rsplit(",", 1)[1].strip() for i in range(32))


def _disasm(word: int) -> str:
    buf = ffi.new("char[]", 96)
    lib.rv_disasm(word, 0, buf, 96)
    return ffi.string(buf).decode()


def _reg(text: str, names: list[str], prefix: str) -> int:
    if text in names:
        return names.index(text)
    m = re.fullmatch(prefix + r"(\d+)", text)
    if m and int(m.group(1)) < 32:
        return int(m.group(1))
    raise ValueError(f"not a register: {text!r}")


def _bits(value: int, hi: int, lo: int) -> int:
    return (value >> lo) & ((1 << (hi - lo + 1)) - 1)


def _vtype(text: str) -> int:
    """``e32, m4, ta, ma`` (or a plain number) -> the vtype immediate."""
    if re.fullmatch(r"\d+", text):
        return int(text)
    parts = [p.strip() for p in text.split(",")]
    sew = _SEW[parts[0]]
    lmul = _LMUL[parts[1]] if len(parts) > 1 else 0
    ta = len(parts) > 2 and parts[2] == "ta"
    ma = len(parts) > 3 and parts[3] == "ma"
    return lmul | sew << 3 | ta << 6 | ma << 7


def _fence_set(text: str) -> int:
    """``rw`` -> the fence pred/succ bits (i=8, o=4, r=2, w=1); ``0`` -> 0."""
    return 0 if text == "0" else sum({"i": 8, "o": 4, "r": 2, "w": 1}[c] for c in text)


# The values each immediate letter can hold (inclusive), and the step a branch
# or jump offset must be a multiple of: out-of-range values are refused rather
# than silently truncated into another instruction.
_RANGES = {"i": (-2048, 2047), "o": (-2048, 2047), "q": (-2048, 2047),
           "b": (-4096, 4094, 2), "j": (-(1 << 20), (1 << 20) - 2, 2), "u": (0, 0xFFFFF),
           ">": (0, 63), "N": (0, 63), "<": (0, 31), "z": (0, 31), "K": (0, 31), "k": (-16, 15),
           "c": (0, 4095), "E": (0, 30, 2), "p": (-2048, 2016, 32), "Z": (0, 2047), "Y": (0, 1023), "m": (0, 7), "P": (0, 15), "Q": (0, 15)}


def _check_range(letter: str, value: int) -> None:
    lo, hi, *step = _RANGES.get(letter, (value, value))
    if not lo <= value <= hi or (step and value % step[0]):
        even = f", a multiple of {step[0]}" if step else ""
        raise ValueError(f"operand {value} out of range [{lo}, {hi}]{even}")


def _place(letter: str, value: int) -> int:
    """Put an operand's value in its instruction fields."""
    if letter in "dDV":
        return (value & 0x1F) << 7
    if letter in "sSUzkKl":
        return (value & 0x1F) << 15
    if letter == "N":   # vror.vi's uimm6: bit 5 in bit 26, bits 4:0 in the vs1 field
        return (value & 0x1F) << 15 | (value >> 5 & 1) << 26
    if letter in "tTW<":
        return (value & 0x1F) << 20
    if letter == "R":
        return (value & 0x1F) << 27
    if letter == "E":   # an even register in bits 19:16 (bit 15 belongs to the opcode)
        return (value >> 1 & 0xF) << 16
    if letter == "p":   # a prefetch offset: immediate bits 11:5 (bits 4:0 are the rs2 field)
        return (value & 0xFE0) << 20
    if letter == ">":
        return (value & 0x3F) << 20
    if letter in "ioc":
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
        return (value & 7) << 12
    if letter == "M":
        return (value & 1) << 25
    if letter == "Z":
        return (value & 0x7FF) << 20
    if letter == "Y":
        return (value & 0x3FF) << 20
    if letter == "P":
        return (value & 0xF) << 24
    if letter == "Q":
        return (value & 0xF) << 20
    if letter == "F":
        return (value & 0xF) << 28
    raise ValueError(f"unknown operand letter {letter!r}")


_NUMBER = r"(-?(?:0x[0-9a-fA-F]+|\d+))"
_VTYPE = r"(\d+|e\d+(?:\s*,\s*mf?\d)?(?:\s*,\s*t[au])?(?:\s*,\s*m[au])?)"
_GROUP = {"d": r"(\w+)", "s": r"(\w+)", "t": r"(\w+)", "D": r"(\w+)", "S": r"(\w+)",
          "T": r"(\w+)", "R": r"(\w+)", "V": r"(\w+)", "U": r"(\w+)", "W": r"(\w+)", "E": r"(\w+)",
          "l": r"([-\w.]+)",
          "c": r"([\w.]+)", "P": r"([iorw]+|0)", "Q": r"([iorw]+|0)", "Z": _VTYPE, "Y": _VTYPE}


@lru_cache(maxsize=None)
def _pattern(operands: str) -> tuple[re.Pattern, tuple[str, ...]]:
    """A regex for an operand list as the disassembler prints it, and the
    letters of its groups in order.  ``m`` (rounding mode) and ``M`` (mask)
    are optional, as the printer omits their defaults."""
    regex, letters = "", []
    for c in operands:
        if c == ",":
            regex += r"\s*,\s*"
        elif c == "(":
            regex += r"\s*\(\s*"
        elif c == ")":
            regex += r"\s*\)"
        elif c == "m":
            regex = regex.removesuffix(r"\s*,\s*") + r"(?:\s*,\s*(rne|rtz|rdn|rup|rmm|dyn|\d))?"
            letters.append(c)
        elif c == "M":
            regex = regex.removesuffix(r"\s*,\s*") + r"(\s*,\s*v0\.t)?"
            letters.append(c)
        elif c == "0":
            regex += "v0"   # the fixed mask operand of vmerge, vadc, ...
        elif c in _GROUP or c in "iobjpqu<>zkKN":
            regex += _GROUP.get(c, _NUMBER)
            letters.append(c)
        else:
            regex += re.escape(c)   # literal text, e.g. a fixed "v0"
    return re.compile(regex + r"\s*"), tuple(letters)


def _value(letter: str, text: str | None, row: Insn) -> int:
    """The field value of one operand's text."""
    if letter == "M":
        return 0 if text else 1
    if letter == "m":
        return lib.rv_default_rm(row.op) if text is None else \
            (int(text) if text.isdigit() else ROUNDING.index(text))
    if letter in "dst":
        return _reg(text, XREGS, "x")
    if letter in "DSTR":
        return _reg(text, FREGS, "f")
    if letter in "VUWE":
        return _reg(text, [], "v")
    if letter == "c":
        return csr_numbers()[text] if text in csr_numbers() else int(text, 0)
    if letter in "ZY":
        return _vtype(text)
    if letter in "PQ":
        return _fence_set(text)
    if letter == "l":
        if text not in fli_constants():
            raise ValueError(f"not an fli constant: {text!r}")
        return fli_constants().index(text)
    return int(text, 0)


def _encode(row: Insn, operands: str, cond: str, text: str, aqrl: int) -> int | None:
    """Encode ``text`` as ``row`` spelled with ``operands`` (and the fields
    ``cond`` fixes); None when the text does not fit that spelling."""
    regex, letters = _pattern(operands)
    m = regex.fullmatch(text)
    if not m:
        return None
    values = {}
    word = row.match | aqrl << 25
    for letter, group in zip(letters, m.groups()):
        values[letter] = _value(letter, group, row)
        _check_range(letter, values[letter])
        word = word & ~_place(letter, -1) | _place(letter, values[letter])
    if "M" in row.operands and "M" not in values:
        word |= _place("M", 1)
    for term in filter(None, cond.split(",")):
        letter, _, want = term.partition("=")
        value = values[want] if want.isalpha() else int(want, 0)
        word = word & ~_place(letter, -1) | _place(letter, value)
    if word & row.mask != row.match:   # e.g. fcvtmod.w.d, whose rm can only be rtz
        raise ValueError(f"operands of {row.name} change a field its encoding fixes")
    return word


def assemble(text: str) -> int:
    """Encode one instruction (disassembler spelling) into its 32-bit word."""
    mnemonic, rest = re.fullmatch(r"\s*(\S+)\s*(.*?)\s*", text).groups()
    aqrl = 0
    for suffix, bits in ((".aqrl", 3), (".aq", 2), (".rl", 1)):
        if mnemonic.endswith(suffix) and mnemonic[: -len(suffix)] in table():
            mnemonic, aqrl = mnemonic[: -len(suffix)], bits
            break
    spellings = [(table()[a.row], a.operands, a.cond) for a in aliases() if a.name == mnemonic]
    if mnemonic in table():
        spellings.append((table()[mnemonic], table()[mnemonic].operands, ""))
    if not spellings:
        raise ValueError(f"unknown instruction {mnemonic!r}")
    why = ""
    for row, operands, cond in spellings:
        try:
            word = _encode(row, operands, cond, rest, aqrl)
        except (ValueError, KeyError) as e:
            why = f" ({e})"
            continue
        if word is not None:
            return word
    raise ValueError(f"cannot encode {text!r}: {mnemonic} takes "
                     + " or ".join(repr(s[1]) for s in spellings) + why)
