"""Source lines of a compiled kernel's instructions, read from its object's DWARF line table.

The lowering tags every LLVM instruction with the author's line (``!dbg``); LLVM emits a
DWARF v4 ``.debug_line`` program. :func:`line_table` runs that program over the
relocatable object (its one ``DW_LNE_set_address`` is patched by an ``R_RISCV_64``
relocation, as the target does no linker relaxation) and gives rows of (offset from the
function's start, file, line); :func:`line_at` looks an offset up. An object whose table
needs anything else (other relocations, DWARF 5) gives no rows rather than wrong ones.
"""
from __future__ import annotations

import bisect
import struct

__all__ = ["line_table", "line_at"]

_SHT_SYMTAB, _SHT_RELA, _R_RISCV_64 = 2, 4, 2


def _sections(elf: bytes) -> dict[str, tuple]:
    """Section headers by name: (type, offset, size, link, info, entsize) of each."""
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    raw = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names = raw[shstrndx][4]
    out = {}
    for i, (name, typ, _, _, off, size, link, info, _, entsize) in enumerate(raw):
        key = elf[names + name:elf.index(b"\0", names + name)].decode()
        out[key] = (typ, off, size, link, info, entsize, i)
    return out


def _symbol_values(elf: bytes, secs: dict) -> tuple[list[int], dict[str, int]]:
    """Values of the symbols by index, and by name."""
    symtab = next(s for s in secs.values() if s[0] == _SHT_SYMTAB)
    strtab = next(s for s in secs.values() if s[6] == symtab[3])
    values, named = [], {}
    for off in range(symtab[1], symtab[1] + symtab[2], symtab[5]):
        name, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", elf, off)
        values.append(value)
        named[elf[strtab[1] + name:elf.index(b"\0", strtab[1] + name)].decode()] = value
    return values, named


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _sleb(data: bytes, pos: int) -> tuple[int, int]:
    value, end = _uleb(data, pos)
    bits = 7 * (end - pos)
    return (value - (1 << bits) if value >> (bits - 1) & 1 else value), end


def _cstr(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode(errors="replace"), end + 1


def line_table(elf: bytes, function: str) -> tuple[tuple[int, str, int], ...]:
    """Rows (offset from ``function``'s start, file, line) in address order; () if unreadable."""
    try:
        return _line_table(elf, function)
    except (ValueError, KeyError, IndexError, StopIteration, struct.error):
        return ()


def _line_table(elf: bytes, function: str) -> tuple[tuple[int, str, int], ...]:
    secs = _sections(elf)
    if ".debug_line" not in secs:
        return ()
    _, off, size, *_ = secs[".debug_line"]
    data = elf[off:off + size]
    values, named = _symbol_values(elf, secs)
    patches = {}   # offset in .debug_line -> the address a relocation puts there
    rela = secs.get(".rela.debug_line")
    if rela:
        for r in range(rela[1], rela[1] + rela[2], 24):
            where, info, addend = struct.unpack_from("<QQq", elf, r)
            if info & 0xFFFFFFFF != _R_RISCV_64:
                return ()
            patches[where] = values[info >> 32] + addend
    start = named[function]
    rows: list[tuple[int, str, int]] = []
    pos = 0
    while pos < len(data):
        unit_length, version = struct.unpack_from("<IH", data, pos)
        end = pos + 4 + unit_length
        if version != 4:
            return ()
        header_length, min_inst, _, _, line_base, line_range, opcode_base = \
            struct.unpack_from("<IBBBbBB", data, pos + 6)
        program = pos + 10 + header_length
        p = pos + 16 + opcode_base - 1   # past the standard opcode lengths
        dirs = [""]
        while data[p]:
            d, p = _cstr(data, p)
            dirs.append(d)
        p += 1
        files = [""]
        while data[p]:
            name, p = _cstr(data, p)
            d, p = _uleb(data, p)
            _, p = _uleb(data, p)
            _, p = _uleb(data, p)
            files.append(f"{dirs[d]}/{name}" if d and dirs[d] else name)
        p = program
        address, file, line = 0, 1, 1
        while p < end:
            op = data[p]
            p += 1
            if op >= opcode_base:
                adj = op - opcode_base
                address += adj // line_range * min_inst
                line += line_base + adj % line_range
                rows.append((address - start, files[file], line))
            elif op == 0:
                n, p = _uleb(data, p)
                sub, body = data[p], p + 1
                if sub == 1:       # end_sequence
                    address, file, line = 0, 1, 1
                elif sub == 2:     # set_address (relocated)
                    address = patches[body] if body in patches else struct.unpack_from("<Q", data, body)[0]
                p += n
            elif op == 1:          # copy
                rows.append((address - start, files[file], line))
            elif op == 2:          # advance_pc
                n, p = _uleb(data, p)
                address += n * min_inst
            elif op == 3:          # advance_line
                n, p = _sleb(data, p)
                line += n
            elif op == 4:          # set_file
                file, p = _uleb(data, p)
            elif op == 8:          # const_add_pc
                address += (255 - opcode_base) // line_range * min_inst
            elif op == 9:          # fixed_advance_pc
                address += struct.unpack_from("<H", data, p)[0]
                p += 2
            elif op in (5, 12):    # set_column, set_isa
                _, p = _uleb(data, p)
            # 6, 7, 10, 11 (negate_stmt, basic_block, prologue_end, epilogue_begin) carry nothing
        pos = end
    return tuple(sorted(rows, key=lambda r: r[0]))


def line_at(rows: tuple, offset: int) -> tuple[str, int] | None:
    """(file, line) of the instruction at ``offset`` from the function's start: the last row
    at or before it that names a line (LLVM's line 0 marks code of no single line)."""
    i = bisect.bisect_right([r[0] for r in rows], offset)
    for _, file, line in reversed(rows[:i]):
        if line:
            return file, line
    return None
