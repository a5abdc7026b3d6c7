"""Minimal static RISC-V executables built in Python, for tests that must run
without a cross compiler: one ELF header, one PT_LOAD (rwx) holding the
assembled code followed by ``data``.  The layout follows the ELF-64 spec
(Elf64_Ehdr, Elf64_Phdr); nothing here comes from rvai.emu.elf."""
import struct

from rvai.emu.isa import assemble

VADDR = 0x10000
EHDR_SIZE, PHDR_SIZE = 64, 56
CODE_OFFSET = EHDR_SIZE + PHDR_SIZE


def executable(lines, data: bytes = b"", *, vaddr: int = VADDR, entry: int | None = None,
               memsz_extra: int = 0, bss: tuple = ()) -> bytes:
    """A static ET_EXEC whose code is ``lines`` (assembler spelling) at
    ``vaddr + CODE_OFFSET``, then ``data``; ``entry`` defaults to the first
    instruction.  ``bss`` adds zero-filled rw PT_LOADs as (vaddr, memsz) pairs
    after the first (the code then starts 56 bytes later per pair)."""
    code = b"".join(struct.pack("<I", assemble(t)) for t in lines)
    start = EHDR_SIZE + PHDR_SIZE * (1 + len(bss))
    body = code + data
    filesz = start + len(body)
    ehdr = struct.pack("<16sHHIQQQIHHHHHH",
                       b"\x7fELF\x02\x01\x01" + bytes(9),   # ELFCLASS64, little-endian, version 1
                       2, 243, 1,                               # ET_EXEC, EM_RISCV, EV_CURRENT
                       vaddr + start if entry is None else entry,
                       EHDR_SIZE, 0, 0, EHDR_SIZE, PHDR_SIZE, 1 + len(bss), 64, 0, 0)
    phdrs = struct.pack("<IIQQQQQQ", 1, 7, 0, vaddr, vaddr, filesz, filesz + memsz_extra, 0x1000)
    for at, memsz in bss:     # PT_LOAD, PF_R|PF_W, no file bytes
        phdrs += struct.pack("<IIQQQQQQ", 1, 6, 0, at, at, 0, memsz, 0x1000)
    return ehdr + phdrs + body


def data_address(lines, vaddr: int = VADDR) -> int:
    """Guest address of ``data`` in ``executable(lines, data, vaddr=vaddr)``."""
    return vaddr + CODE_OFFSET + 4 * len(lines)


def li(reg: str, value: int) -> list[str]:
    """Load a 32-bit constant with lui + addi (the assembler takes no pseudo-expansions)."""
    hi = (value + 0x800) >> 12
    lo = value - (hi << 12)
    return [f"lui {reg}, {hi & 0xFFFFF}", f"addi {reg}, {reg}, {lo}"]


def write_then_loop(message: bytes) -> bytes:
    """A program that writes ``message`` to stdout and then loops forever."""
    lines = [*li("a1", 0), "li a7, 64", "li a0, 1", f"li a2, {len(message)}", "ecall", "j 0"]
    addr = data_address(lines)
    lines[:2] = li("a1", addr)
    return executable(lines, message)
