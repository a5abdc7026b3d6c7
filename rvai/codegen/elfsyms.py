"""Minimal ELF64 symbol-table reader: which symbols an object leaves undefined."""
from __future__ import annotations

import struct


def undefined_symbols(elf: bytes) -> list[str]:
    """Names of the global undefined symbols of an ELF64 little-endian relocatable object."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("not an ELF64 little-endian object")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    out = []
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], sh[9]):
            name, info, _, shndx, _, _ = struct.unpack_from("<IBBHQQ", elf, off)
            if shndx == 0 and name and info >> 4 != 0:
                end = elf.index(b"\0", strtab[4] + name)
                out.append(elf[strtab[4] + name:end].decode())
    return out
