"""ELF loading for the RV64 emulator: link relocatable objects, load static executables.

Pure Python (stdlib only), so it can be reasoned about and fuzzed on its own.

* :func:`link_relocatable` places every ``SHF_ALLOC`` section of an ``ET_REL``
  object (what llvmlite and ``clang -c`` emit) at guest addresses and applies its
  RISC-V relocations, like a tiny static linker.
* :func:`load_executable` reads the ``PT_LOAD``/``PT_TLS`` segments of a static
  ``ET_EXEC`` (gcc ``-static``, clang/lld ``-static``).
* :func:`load` dispatches on ``e_type``.

Every malformed or unsupported input raises :class:`ElfError` whose message names
what is wrong and where (section, offset, relocation index); the parser never lets
``IndexError``/``struct.error`` escape and never loops on input-controlled counts
without first checking them against the file size.
"""
from __future__ import annotations

import bisect
import struct
from collections import namedtuple
from collections.abc import Callable

from rvai.emu.record import Record


class ElfError(ValueError):
    """Malformed or unsupported ELF input; the message says what and where."""


class Segment(Record):
    """A contiguous piece of guest memory to map: ``data`` then zeros up to ``memsz``."""

    __slots__ = ("addr", "data", "memsz", "perms", "name", "align")

    def __init__(self, addr: int, data: bytes, memsz: int, perms: str, name: str, align: int = 1):
        self.addr = addr    # guest virtual address (the real vaddr, not rounded to a page)
        self.data = data    # initialised bytes
        self.memsz = memsz  # total size in memory (>= len(data)); the rest is zero-filled
        self.perms = perms  # subset of "rwx" in that order, e.g. "rx", "r", "rw"
        self.name = name    # section name (".text") for objects, "PT_LOAD[i]"/"PT_TLS" for executables
        self.align = align  # required alignment (needed to lay out a TLS block)


class Image(Record):
    """The result of loading: what to map, where the symbols are, how to start."""

    __slots__ = ("kind", "segments", "symbols", "symbol_sizes", "entry", "phdr_addr", "phent", "phnum", "tls")

    def __init__(self, kind: str, segments: list[Segment], symbols: dict[str, int], symbol_sizes: dict[str, int],
                 entry: int | None = None, phdr_addr: int | None = None, phent: int = 0, phnum: int = 0,
                 tls: Segment | None = None):
        self.kind = kind                  # "rel" or "exec"
        self.segments = segments
        self.symbols = symbols            # defined FUNC/OBJECT (and global NOTYPE) symbols -> address
        self.symbol_sizes = symbol_sizes
        self.entry = entry
        self.phdr_addr = phdr_addr        # for auxv AT_PHDR (executables)
        self.phent = phent                # AT_PHENT
        self.phnum = phnum                # AT_PHNUM
        self.tls = tls                    # PT_TLS initialisation template (executables)

    def symbol_at(self, addr: int) -> tuple[str, int] | None:
        """Return ``(name, offset)`` of the nearest symbol at or before ``addr``.

        A sized symbol only matches addresses inside it; when several symbols start
        at the same address the sized one wins, then the alphabetically first name.
        Returns None when no symbol covers ``addr`` (used for fault messages).
        For many addresses, make one :class:`SymbolIndex` and ask it.
        """
        return SymbolIndex(self.symbols, self.symbol_sizes).at(addr)


class SymbolIndex:
    """An image's symbols sorted by address once, for many :meth:`Image.symbol_at`
    questions (a timed profile asks one per counted pc: thousands on an attention
    kernel, each of which sorted the whole table)."""

    def __init__(self, symbols: dict[str, int], sizes: dict[str, int]):
        by_start: dict[int, list[tuple[str, int]]] = {}
        for name, start in sorted(symbols.items()):
            by_start.setdefault(start, []).append((name, sizes.get(name, 0)))
        self.starts = sorted(by_start)
        self.named = [by_start[start] for start in self.starts]   # (name, size) by name, per start

    def at(self, addr: int) -> tuple[str, int] | None:
        """:meth:`Image.symbol_at`'s answer for addr: of the symbols that cover it
        (an unsized one from its start on), those of the highest start; of
        them a sized one, then the alphabetically first."""
        i = bisect.bisect_right(self.starts, addr)
        while i:
            i -= 1
            start, named = self.starts[i], self.named[i]
            sized = [name for name, size in named if size and addr < start + size]
            unsized = [name for name, size in named if not size]
            if sized or unsized:
                return (sized or unsized)[0], addr - start
        return None


class SymbolFinder:
    """``name+0xoff`` (or ``name`` at offset 0) of the symbol :meth:`Image.symbol_at`
    finds for an address in the first of ``images`` that has one, None when none
    does: Machine.symbol_at's answer, with each image's table sorted once.  Plain
    data, so a profile that keeps one can be pickled."""

    def __init__(self, images: list[Image]):
        self.indexes = [SymbolIndex(image.symbols, image.symbol_sizes) for image in images]

    def __call__(self, addr: int) -> str | None:
        hit = self.nearest(addr)
        if hit is None:
            return None
        name, off = hit
        return f"{name}+0x{off:x}" if off else name

    def function(self, addr: int) -> str | None:
        """The name alone of the symbol that covers addr (what a loop's two ends must share)."""
        hit = self.nearest(addr)
        return None if hit is None else hit[0]

    def nearest(self, addr: int) -> tuple[str, int] | None:
        """(name, offset) from the first image whose symbols cover addr."""
        for index in self.indexes:
            hit = index.at(addr)
            if hit:
                return hit
        return None


# --- ELF constants and raw structures -------------------------------------------------

ET_REL, ET_EXEC, ET_DYN = 1, 2, 3
EM_RISCV = 243
SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS, SHT_REL = 2, 3, 4, 8, 9
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 0x1, 0x2, 0x4, 0x400
SHN_UNDEF, SHN_ABS, SHN_COMMON, SHN_XINDEX = 0, 0xFFF1, 0xFFF2, 0xFFFF
STB_LOCAL, STB_WEAK = 0, 2
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_PHDR, PT_TLS = 1, 2, 3, 6, 7
PF_X, PF_W, PF_R = 1, 2, 4
PAGE = 4096
# Relocation kinds the linker treats specially (all kinds are in _KINDS below).
R_GOT_HI20, R_PCREL_HI20, R_GOT32_PCREL, R_ALIGN = 20, 23, 41, 43
R_SET_ULEB128, R_SUB_ULEB128 = 60, 61

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_PHDR = struct.Struct("<IIQQQQQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
_U64 = 1 << 64


_Header = namedtuple("_Header", "type entry phoff shoff phentsize phnum shentsize shnum shstrndx")


class _Section(namedtuple("_Section", "index name type flags offset size link info addralign entsize")):
    __slots__ = ()

    def where(self) -> str:
        return f"section [{self.index}] {self.name}"


_Sym = namedtuple("_Sym", "index name bind type shndx value size")


def _unpack(st: struct.Struct, data: bytes, off: int, what: str) -> tuple:
    if off < 0 or off + st.size > len(data):
        raise ElfError(f"{what}: {st.size} bytes at offset {off:#x} run past the end "
                       f"of the file ({len(data):#x} bytes)")
    return st.unpack_from(data, off)


def _table(data: bytes, off: int, count: int, entsize: int, what: str) -> None:
    """Check that ``count`` entries of ``entsize`` bytes at ``off`` lie inside the file."""
    if off + count * entsize > len(data):
        raise ElfError(f"{what}: {count} entries of {entsize} bytes at offset {off:#x} "
                       f"run past the end of the file ({len(data):#x} bytes)")


def _cstr(table: bytes, off: int, what: str) -> str:
    if off >= len(table):
        raise ElfError(f"{what}: name offset {off:#x} is outside its string table "
                       f"({len(table):#x} bytes)")
    end = table.find(b"\0", off)
    if end < 0:
        raise ElfError(f"{what}: name at offset {off:#x} is not NUL-terminated")
    return table[off:end].decode("utf-8", "backslashreplace")


def _signed64(v: int) -> int:
    return (v + (1 << 63)) % _U64 - (1 << 63)


def _header(data: bytes) -> _Header:
    if len(data) < _EHDR.size:
        raise ElfError(f"file is {len(data)} bytes, shorter than the 64-byte ELF header")
    (ident, e_type, machine, _version, entry, phoff, shoff, _flags, _ehsize, phentsize,
     phnum, shentsize, shnum, shstrndx) = _EHDR.unpack_from(data)
    if ident[:4] != b"\x7fELF":
        raise ElfError(f"bad magic {ident[:4]!r} at offset 0: not an ELF file")
    if ident[4] != 2:
        raise ElfError(f"EI_CLASS is {ident[4]} at offset 4: only ELFCLASS64 (2) is supported")
    if ident[5] != 1:
        raise ElfError(f"EI_DATA is {ident[5]} at offset 5: only little-endian (1) is supported")
    if machine != EM_RISCV:
        raise ElfError(f"e_machine is {machine} at offset 0x12: expected EM_RISCV ({EM_RISCV})")
    return _Header(e_type, entry, phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx)


def _sections(data: bytes, h: _Header) -> list[_Section]:
    """Parse and bounds-check the section header table (empty if there is none)."""
    if h.shoff == 0:
        return []
    if h.shentsize != _SHDR.size:
        raise ElfError(f"e_shentsize is {h.shentsize}, expected {_SHDR.size}")
    first = _unpack(_SHDR, data, h.shoff, "section header [0]")
    # Extended numbering: counts that do not fit the header live in section 0.
    shnum = first[5] if h.shnum == 0 else h.shnum
    shstrndx = first[6] if h.shstrndx == SHN_XINDEX else h.shstrndx
    _table(data, h.shoff, shnum, _SHDR.size, "section header table")
    raw = [_SHDR.unpack_from(data, h.shoff + i * _SHDR.size) for i in range(shnum)]
    for i, (_n, typ, _f, _a, off, size, _l, _i, align, _e) in enumerate(raw):
        if typ != SHT_NOBITS and off + size > len(data):
            raise ElfError(f"section [{i}]: contents at offset {off:#x} size {size:#x} run "
                           f"past the end of the file ({len(data):#x} bytes)")
        if align & (align - 1):
            raise ElfError(f"section [{i}]: sh_addralign {align} is not a power of two")
    if not 0 < shstrndx < shnum or raw[shstrndx][1] != SHT_STRTAB:
        raise ElfError(f"e_shstrndx {shstrndx} does not name a string table section")
    _n, _t, _f, _a, off, size, *_ = raw[shstrndx]
    names = data[off:off + size]
    return [_Section(i, _cstr(names, r[0], f"section [{i}]"), r[1], r[2], r[4], r[5], r[6],
                     r[7], r[8], r[9]) for i, r in enumerate(raw)]


def _linked(secs: list[_Section], sec: _Section, index: int, types: tuple | None,
            what: str) -> _Section:
    if not 0 < index < len(secs) or types is not None and secs[index].type not in types:
        raise ElfError(f"{sec.where()}: {what} {index} is not a valid section index")
    return secs[index]


def _symbols(data: bytes, secs: list[_Section]) -> list[_Sym]:
    """Parse the (single) SHT_SYMTAB; [] when the file has none (stripped)."""
    tabs = [s for s in secs if s.type == SHT_SYMTAB]
    if not tabs:
        return []
    if len(tabs) > 1:
        raise ElfError(f"{len(tabs)} SHT_SYMTAB sections; expected one")
    tab = tabs[0]
    if tab.entsize != _SYM.size or tab.size % _SYM.size:
        raise ElfError(f"{tab.where()}: entsize {tab.entsize} / size {tab.size:#x} do not "
                       f"describe {_SYM.size}-byte symbols")
    strsec = _linked(secs, tab, tab.link, (SHT_STRTAB,), "sh_link")
    strtab = data[strsec.offset:strsec.offset + strsec.size]
    syms = []
    for i in range(tab.size // _SYM.size):
        name, info, _other, shndx, value, size = _SYM.unpack_from(data, tab.offset + i * _SYM.size)
        where = f"{tab.where()} symbol #{i}"
        if shndx == SHN_XINDEX:
            raise ElfError(f"{where}: SHN_XINDEX section indices are not supported")
        syms.append(_Sym(i, _cstr(strtab, name, where), info >> 4, info & 0xF, shndx, value, size))
    return syms


def _exported(syms: list[_Sym], address: Callable[[_Sym], int | None]) -> tuple[dict, dict]:
    """Symbol and size dicts of the defined function/object symbols; globals win over locals."""
    addrs, sizes = {}, {}
    wanted = sorted(syms, key=lambda s: s.bind != STB_LOCAL)
    for s in wanted:
        # ".L" names are assembler temporaries kept only for relaxation; ld drops them too.
        named = s.name and not s.name.startswith(".L") and (s.type in (STT_FUNC, STT_OBJECT)
                            or (s.type == STT_NOTYPE and s.bind != STB_LOCAL))
        addr = address(s) if named and s.shndx != SHN_UNDEF else None
        if addr is not None:
            addrs[s.name], sizes[s.name] = addr, s.size
    return addrs, sizes


# --- relocation arithmetic ------------------------------------------------------------
# Each relocation kind is a value formula (the psABI "Calculation" column) and a patch
# that stores the value into the place's bytes, range-checking it like ld.lld does.


# sec: the _Section being patched; batch: which SHT_RELA section (index into _Linker.rels);
# index: the relocation's number within it; offset: the place's offset within sec.
_Rel = namedtuple("_Rel", "sec batch index offset type sym addend")


def _fits(v: int, bits: int) -> bool:
    return -(1 << (bits - 1)) <= v < (1 << (bits - 1))


def _need(ok: bool, msg: str) -> None:
    if not ok:
        raise ElfError(msg)


def _load(buf: bytearray, off: int, n: int) -> int:
    _need(0 <= off and off + n <= len(buf),
          f"{n}-byte field at offset {off:#x} is past the section end ({len(buf):#x})")
    return int.from_bytes(buf[off:off + n], "little")


def _store(buf: bytearray, off: int, n: int, v: int) -> None:
    buf[off:off + n] = (v % (1 << (8 * n))).to_bytes(n, "little")


def _word(n: int, check: Callable[[int], bool] | None = None):
    def patch(buf, off, v):
        _load(buf, off, n)
        _need(check is None or check(v), f"value {v:#x} does not fit in {8 * n} bits")
        _store(buf, off, n, v)
    return patch


def _add(n: int, sign: int):
    def patch(buf, off, v):
        _store(buf, off, n, _load(buf, off, n) + sign * v)
    return patch


def _six(sub: bool):
    def patch(buf, off, v):
        old = _load(buf, off, 1)
        low = (old - v) if sub else v
        _store(buf, off, 1, (old & 0xC0) | (low & 0x3F))
    return patch


def _hi20(v: int) -> int:
    _need(_fits(v + 0x800, 32), f"value {v:#x} is out of range of a 32-bit hi20/lo12 pair")
    return ((v + 0x800) >> 12) & 0xFFFFF


def _u_type(buf, off, v):
    _store(buf, off, 4, (_load(buf, off, 4) & 0xFFF) | (_hi20(v) << 12))


def _i_type(buf, off, v):
    _store(buf, off, 4, (_load(buf, off, 4) & 0xFFFFF) | ((v & 0xFFF) << 20))


def _s_type(buf, off, v):
    insn = _load(buf, off, 4) & ~0xFE000F80
    _store(buf, off, 4, insn | ((v & 0xFE0) << 20) | ((v & 0x1F) << 7))


def _pcrel_range(v: int, bits: int) -> None:
    _need(_fits(v, bits), f"offset {v:#x} is out of range (±{1 << (bits - 1):#x})")
    _need(v % 2 == 0, f"offset {v:#x} is not 2-byte aligned")


def _bits(v: int, hi: int, lo: int, to: int) -> int:
    """Bits ``v[hi:lo]`` moved to start at bit ``to``."""
    return ((v >> lo) & ((1 << (hi - lo + 1)) - 1)) << to


def _b_type(buf, off, v):
    _pcrel_range(v, 13)
    insn = _load(buf, off, 4) & 0x01FFF07F
    _store(buf, off, 4, insn | _bits(v, 12, 12, 31) | _bits(v, 10, 5, 25)
           | _bits(v, 4, 1, 8) | _bits(v, 11, 11, 7))


def _j_type(buf, off, v):
    _pcrel_range(v, 21)
    insn = _load(buf, off, 4) & 0xFFF
    _store(buf, off, 4, insn | _bits(v, 20, 20, 31) | _bits(v, 10, 1, 21)
           | _bits(v, 11, 11, 20) | _bits(v, 19, 12, 12))


def _call(buf, off, v):
    _load(buf, off, 8)  # auipc + jalr: check both words exist before patching either
    _u_type(buf, off, v)
    _i_type(buf, off + 4, v)


def _cb_type(buf, off, v):
    _pcrel_range(v, 9)
    insn = _load(buf, off, 2) & 0xE383
    _store(buf, off, 2, insn | _bits(v, 8, 8, 12) | _bits(v, 4, 3, 10) | _bits(v, 7, 6, 5)
           | _bits(v, 2, 1, 3) | _bits(v, 5, 5, 2))


def _cj_type(buf, off, v):
    _pcrel_range(v, 12)
    insn = _load(buf, off, 2) & 0xE003
    _store(buf, off, 2, insn | _bits(v, 11, 11, 12) | _bits(v, 4, 4, 11) | _bits(v, 9, 8, 9)
           | _bits(v, 10, 10, 8) | _bits(v, 6, 6, 7) | _bits(v, 7, 7, 6) | _bits(v, 3, 1, 3)
           | _bits(v, 5, 5, 2))


def _uleb128(buf, off, v):
    """Overwrite the ULEB128 already in place, keeping its length (as ld.lld does)."""
    n = 1
    while _load(buf, off + n - 1, 1) & 0x80:
        n += 1
    _need(0 <= v < 1 << (7 * n), f"value {v:#x} does not fit the {n}-byte ULEB128 in place")
    for k in range(n):
        _store(buf, off + k, 1, ((v >> (7 * k)) & 0x7F) | (0x80 if k < n - 1 else 0))


def _nops(buf, off, v):
    """Check that the ``v`` bytes at ``off`` (R_RISCV_ALIGN padding) are all NOPs."""
    end = off + v
    while off < end:
        if _load(buf, off, 2) == 0x0001:  # c.nop
            off += 2
        else:
            _need(_load(buf, off, 4) == 0x00000013,
                  f"R_RISCV_ALIGN padding at {off:#x} is not NOPs")
            off += 4
    _need(off == end, f"R_RISCV_ALIGN padding overruns its {v} bytes")


def _skip(buf, off, v):
    pass


# value(linker, rel) -> int: the psABI calculation; patch(buf, offset, value) stores it.
_Kind = namedtuple("_Kind", "name value patch")


def _s_a(lk, r):
    return lk.address(r.sym) + r.addend


def _s_a_p(lk, r):
    return lk.address(r.sym) + r.addend - lk.place(r)


def _g_a_p(lk, r):
    return lk.got_slot(r) + r.addend - lk.place(r)


def _pcrel_lo(lk, r):
    # The symbol labels the auipc; the value is that of its hi20 relocation.
    # Like ld.lld, the lo12's own addend is ignored.
    hi = lk.hi20.get(lk.address(r.sym))
    _need(hi is not None, f"no R_RISCV_PCREL_HI20/GOT_HI20 at {lk.address(r.sym):#x} "
                          f"({r.sym.name or 'section symbol'}) to pair with")
    return _KINDS[hi.type].value(lk, hi)


def _uleb_set(lk, r):
    # SET_ULEB128 writes S+A minus the paired SUB_ULEB128 at the same place.
    sub = lk.next_rel(r)
    _need(sub is not None and sub.type == R_SUB_ULEB128 and sub.offset == r.offset,
          "R_RISCV_SET_ULEB128 is not followed by an R_RISCV_SUB_ULEB128 at the same offset")
    return _s_a(lk, r) - _s_a(lk, sub)


def _uleb_sub(lk, r):
    prev = lk.prev_rel(r)
    _need(prev is not None and prev.type == R_SET_ULEB128 and prev.offset == r.offset,
          "R_RISCV_SUB_ULEB128 is not preceded by an R_RISCV_SET_ULEB128 at the same offset")
    return 0


def _zero(lk, r):
    return 0


def _fits_int_or_uint32(v):
    return -(1 << 31) <= v < (1 << 32)


def _fits_int32(v):
    return _fits(v, 32)


_KINDS: dict[int, _Kind] = {
    0: _Kind("R_RISCV_NONE", _zero, _skip),
    1: _Kind("R_RISCV_32", _s_a, _word(4, _fits_int_or_uint32)),
    2: _Kind("R_RISCV_64", _s_a, _word(8)),
    16: _Kind("R_RISCV_BRANCH", _s_a_p, _b_type),
    17: _Kind("R_RISCV_JAL", _s_a_p, _j_type),
    18: _Kind("R_RISCV_CALL", _s_a_p, _call),
    19: _Kind("R_RISCV_CALL_PLT", _s_a_p, _call),  # static link: no PLT, call directly
    20: _Kind("R_RISCV_GOT_HI20", _g_a_p, _u_type),
    23: _Kind("R_RISCV_PCREL_HI20", _s_a_p, _u_type),
    24: _Kind("R_RISCV_PCREL_LO12_I", _pcrel_lo, _i_type),
    25: _Kind("R_RISCV_PCREL_LO12_S", _pcrel_lo, _s_type),
    26: _Kind("R_RISCV_HI20", _s_a, _u_type),
    27: _Kind("R_RISCV_LO12_I", _s_a, _i_type),
    28: _Kind("R_RISCV_LO12_S", _s_a, _s_type),
    33: _Kind("R_RISCV_ADD8", _s_a, _add(1, 1)),
    34: _Kind("R_RISCV_ADD16", _s_a, _add(2, 1)),
    35: _Kind("R_RISCV_ADD32", _s_a, _add(4, 1)),
    36: _Kind("R_RISCV_ADD64", _s_a, _add(8, 1)),
    37: _Kind("R_RISCV_SUB8", _s_a, _add(1, -1)),
    38: _Kind("R_RISCV_SUB16", _s_a, _add(2, -1)),
    39: _Kind("R_RISCV_SUB32", _s_a, _add(4, -1)),
    40: _Kind("R_RISCV_SUB64", _s_a, _add(8, -1)),
    41: _Kind("R_RISCV_GOT32_PCREL", _g_a_p, _word(4, _fits_int32)),
    43: _Kind("R_RISCV_ALIGN", _zero, _skip),  # done before layout: _Linker._align_code
    44: _Kind("R_RISCV_RVC_BRANCH", _s_a_p, _cb_type),
    45: _Kind("R_RISCV_RVC_JUMP", _s_a_p, _cj_type),
    51: _Kind("R_RISCV_RELAX", _zero, _skip),  # relaxation is optional; we never relax
    52: _Kind("R_RISCV_SUB6", _s_a, _six(sub=True)),
    53: _Kind("R_RISCV_SET6", _s_a, _six(sub=False)),
    54: _Kind("R_RISCV_SET8", _s_a, _word(1)),
    55: _Kind("R_RISCV_SET16", _s_a, _word(2)),
    56: _Kind("R_RISCV_SET32", _s_a, _word(4)),
    57: _Kind("R_RISCV_32_PCREL", _s_a_p, _word(4, _fits_int32)),
    59: _Kind("R_RISCV_PLT32", _s_a_p, _word(4, _fits_int32)),
    60: _Kind("R_RISCV_SET_ULEB128", _uleb_set, _uleb128),
    61: _Kind("R_RISCV_SUB_ULEB128", _uleb_sub, _skip),  # written by its SET_ULEB128
}

# Known kinds that a static loader of plain (non-TLS, non-dynamic) code cannot honour.
_UNSUPPORTED = {
    3: "R_RISCV_RELATIVE", 4: "R_RISCV_COPY", 5: "R_RISCV_JUMP_SLOT",
    6: "R_RISCV_TLS_DTPMOD32", 7: "R_RISCV_TLS_DTPMOD64", 8: "R_RISCV_TLS_DTPREL32",
    9: "R_RISCV_TLS_DTPREL64", 10: "R_RISCV_TLS_TPREL32", 11: "R_RISCV_TLS_TPREL64",
    12: "R_RISCV_TLSDESC", 21: "R_RISCV_TLS_GOT_HI20", 22: "R_RISCV_TLS_GD_HI20",
    29: "R_RISCV_TPREL_HI20", 30: "R_RISCV_TPREL_LO12_I", 31: "R_RISCV_TPREL_LO12_S",
    32: "R_RISCV_TPREL_ADD", 46: "R_RISCV_RVC_LUI", 58: "R_RISCV_IRELATIVE",
    62: "R_RISCV_TLSDESC_HI20", 63: "R_RISCV_TLSDESC_LOAD_LO12",
    64: "R_RISCV_TLSDESC_ADD_LO12", 65: "R_RISCV_TLSDESC_CALL",
}


# --- relocatable objects ---------------------------------------------------------------


def _context(r: _Rel) -> str:
    """Where a relocation is, for error messages."""
    return (f"{r.sec.where()} relocation #{r.index} ({_KINDS[r.type].name}) at offset "
            f"{r.offset:#x} against {r.sym.name or 'section symbol'!r}")


def _align(v: int, a: int) -> int:
    return -(-v // a) * a if a > 1 else v


class _Linker:
    """State of one link: section addresses and images, the symbol table, the GOT."""

    def __init__(self, data: bytes, base: int, externals: dict[str, int]):
        h = _header(data)
        if h.type != ET_REL:
            raise ElfError(f"e_type is {h.type}, expected ET_REL ({ET_REL})")
        self.secs = _sections(data, h)
        self.syms = _symbols(data, self.secs)
        self.externals = externals
        self.alloc = [s for s in self.secs if s.flags & SHF_ALLOC]
        for s in self.alloc:
            if s.flags & SHF_TLS:
                raise ElfError(f"{s.where()}: thread-local sections are not supported")
        self.rels = self._relocations(data)
        self.contents = {s.index: bytearray(data[s.offset:s.offset + s.size])
                         for s in self.alloc if s.type != SHT_NOBITS}
        for rels in self.rels:
            self._align_code(rels)
        self._layout(base)
        # PCREL_LO12 relocations find their hi20 by the address of its auipc.
        self.hi20 = {self.place(r): r for rels in self.rels for r in rels
                     if r.type in (R_GOT_HI20, R_PCREL_HI20)}

    def _relocations(self, data: bytes) -> list[list[_Rel]]:
        """Parse the SHT_RELA sections that patch loaded sections; refuse unknown kinds."""
        out = []
        for s in self.secs:
            if s.type not in (SHT_RELA, SHT_REL):
                continue
            target = _linked(self.secs, s, s.info, None, "sh_info")
            if not target.flags & SHF_ALLOC:
                continue  # debug info: not loaded, nothing to patch
            if s.type == SHT_REL:
                raise ElfError(f"{s.where()}: SHT_REL (no addends) is not used on RISC-V")
            if target.type == SHT_NOBITS:
                raise ElfError(f"{s.where()}: relocates {target.where()} which has no contents")
            symtab = _linked(self.secs, s, s.link, (SHT_SYMTAB,), "sh_link")
            if s.entsize != _RELA.size or s.size % _RELA.size:
                raise ElfError(f"{s.where()}: entsize {s.entsize} / size {s.size:#x} do not "
                               f"describe {_RELA.size}-byte relocations")
            rels = []
            for i in range(s.size // _RELA.size):
                off, info, addend = _RELA.unpack_from(data, s.offset + i * _RELA.size)
                sym, typ = info >> 32, info & 0xFFFFFFFF
                where = f"{s.where()} relocation #{i} at offset {off:#x}"
                if typ in _UNSUPPORTED:
                    raise ElfError(f"{where}: {_UNSUPPORTED[typ]} ({typ}) is not supported")
                if typ not in _KINDS:
                    raise ElfError(f"{where}: unknown relocation type {typ}")
                if sym >= len(self.syms):
                    raise ElfError(f"{where}: symbol index {sym} is outside {symtab.where()}")
                rels.append(_Rel(target, len(out), i, off, typ, self.syms[sym], addend))
            out.append(rels)
        return out

    def _align_code(self, rels: list[_Rel]) -> None:
        """Honour R_RISCV_ALIGN: delete the part of its NOP padding that alignment does not need.

        An assembler that allows linker relaxation pads each code alignment with the
        worst-case NOPs and leaves the trimming to the linker; ld.lld trims even with
        --no-relax, so without this the code would sit unaligned and at different
        offsets than in any linked program. Offsets inside the section shift, so the
        section's symbols and relocations move with them (section alignment is at
        least the code alignment, so trimming does not depend on the base address).
        """
        aligns = [r for r in rels if r.type == R_ALIGN]
        if not aligns:
            return
        sec = aligns[0].sec
        buf = self.contents[sec.index]
        cuts = []  # (offset, padding bytes, bytes kept)
        removed = 0
        for r in sorted(aligns, key=lambda r: r.offset):
            try:
                _need(r.addend >= 0 and (not cuts or r.offset >= cuts[-1][0] + cuts[-1][1]),
                      "padding is negative or overlaps the previous one")
                _nops(buf, r.offset, r.addend)
                align = 1 << (r.addend + 1).bit_length()  # next power of two >= addend + 2
                _need(align <= max(sec.addralign, 1), f"alignment {align} exceeds the "
                      f"section's ({sec.addralign})")
                at = r.offset - removed
                keep = _align(at, align) - at
                _need(keep <= r.addend and keep % 2 == 0, f"{r.addend} bytes of padding at "
                      f"{at:#x} cannot reach {align}-byte alignment")
            except ElfError as e:
                raise ElfError(f"{_context(r)}: {e}") from None
            cuts.append((r.offset, r.addend, keep))
            removed += r.addend - keep

        def moved(x: int) -> int:
            return x - sum(min(max(x - (off + keep), 0), pad - keep) for off, pad, keep in cuts)

        out, prev = bytearray(), 0
        for off, pad, keep in cuts:  # like ld.lld, rewrite the NOPs only where trimmed
            fill = buf[off:off + pad] if keep == pad else (
                b"\x13\0\0\0" * (keep // 4) + b"\x01\0" * (keep % 4 // 2))
            out += buf[prev:off] + fill
            prev = off + pad
        self.contents[sec.index] = out + buf[prev:]
        self.syms = [s._replace(value=moved(s.value), size=moved(s.value + s.size) - moved(s.value))
                     if s.shndx == sec.index else s for s in self.syms]
        for batch, rs in enumerate(self.rels):
            self.rels[batch] = [r._replace(offset=moved(r.offset), sym=self.syms[r.sym.index])
                                for r in rs]

    def _layout(self, base: int) -> None:
        """Give every loaded section an address and a byte image; build COMMON and the GOT."""
        if base < 0 or base % PAGE:
            raise ValueError(f"base {base:#x} must be a non-negative multiple of {PAGE:#x}")
        commons = [s for s in self.syms if s.shndx == SHN_COMMON]
        got_syms = list(dict.fromkeys(r.sym.index for rels in self.rels for r in rels
                                      if r.type in (R_GOT_HI20, R_GOT32_PCREL)))
        # GOT[0] is reserved (it would hold _DYNAMIC; 0 here), as in ld.lld's .got.
        self.got = {sym: 8 * (k + 1) for k, sym in enumerate(got_syms)}
        groups: dict[str, list] = {"rx": [], "r": [], "rw": [], "bss": []}
        for s in self.alloc:
            group = ("bss" if s.type == SHT_NOBITS else "rx" if s.flags & SHF_EXECINSTR
                     else "rw" if s.flags & SHF_WRITE else "r")
            size = s.size if s.type == SHT_NOBITS else len(self.contents[s.index])
            groups[group].append((s.name, size, s.addralign, s.index))
        if got_syms:
            groups["r"].append((".got", 8 * (len(got_syms) + 1), 8, "got"))
        if commons:
            size, align = 0, 1
            for c in commons:
                if c.value & (c.value - 1):
                    raise ElfError(f"COMMON symbol {c.name!r}: alignment {c.value} is not "
                                   f"a power of two")
                size, align = _align(size, c.value) + c.size, max(align, c.value)
            groups["bss"].append(("COMMON", size, align, "common"))
        self.addr: dict = {}  # section index, "got" or "common" -> guest address
        self.images: dict = {}  # same keys -> (contents to patch, their segment)
        self.segments: list[Segment] = []  # non-empty sections, in address order
        cursor = base
        for group, members in groups.items():
            cursor = _align(cursor, PAGE)
            for name, size, align, key in members:
                cursor = _align(cursor, align)
                self.addr[key] = cursor
                if name == ".eh_frame":
                    # Add the zero terminator that crtend.o would supply, so unwinders
                    # can walk the loaded .eh_frame (ld.lld adds one too).
                    size += 4
                seg = Segment(cursor, b"", size, "rw" if group == "bss" else group, name,
                              max(align, 1))
                if key == "got":
                    self.got_image = bytearray(size)
                    self.images[key] = (self.got_image, seg)
                elif key != "common" and self.secs[key].type != SHT_NOBITS:
                    s = self.secs[key]
                    self.images[key] = (self.contents[key], seg)
                if size:
                    self.segments.append(seg)
                cursor += size
        if cursor > _U64:
            raise ElfError(f"layout from base {base:#x} runs past the 64-bit address space")
        self.common, offset = {}, 0
        for c in commons:
            offset = _align(offset, c.value)
            self.common[c.index] = self.addr["common"] + offset
            offset += c.size

    def place(self, r: _Rel) -> int:
        """P: the guest address of the relocation's place."""
        return self.addr[r.sec.index] + r.offset

    def section_address(self, s: _Sym) -> int | None:
        """Address of a defined symbol, or None when its section is not loaded."""
        if s.shndx == SHN_ABS:
            return s.value
        if s.shndx == SHN_COMMON:
            return self.common[s.index]
        if s.shndx in self.addr:
            return self.addr[s.shndx] + s.value
        return None

    def address(self, s: _Sym) -> int:
        """S: the address of a symbol (from ``externals`` when undefined)."""
        if s.shndx == SHN_UNDEF:
            if s.index == 0:
                return 0
            if s.name in self.externals:
                return self.externals[s.name]
            _need(s.bind == STB_WEAK, f"undefined symbol {s.name!r}")
            return 0  # an undefined weak symbol resolves to 0
        addr = self.section_address(s)
        _need(addr is not None, f"symbol {s.name!r} (#{s.index}) is in section index {s.shndx} "
                                f"which is not loaded")
        return addr

    def got_slot(self, r: _Rel) -> int:
        """G + GOT: the address of the relocation symbol's GOT entry."""
        return self.addr["got"] + self.got[r.sym.index]

    def next_rel(self, r: _Rel) -> _Rel | None:
        """The relocation after ``r`` in its SHT_RELA section, if any."""
        rels = self.rels[r.batch]
        return rels[r.index + 1] if r.index + 1 < len(rels) else None

    def prev_rel(self, r: _Rel) -> _Rel | None:
        """The relocation before ``r`` in its SHT_RELA section, if any."""
        return self.rels[r.batch][r.index - 1] if r.index > 0 else None

    def apply(self) -> None:
        """Apply every relocation, fill the GOT and freeze the segment contents."""
        for rels in self.rels:
            for r in rels:
                kind = _KINDS[r.type]
                try:
                    value = _signed64(kind.value(self, r))
                    kind.patch(self.images[r.sec.index][0], r.offset, value)
                except ElfError as e:
                    raise ElfError(f"{_context(r)}: {e}") from None
        for sym, off in self.got.items():
            _store(self.got_image, off, 8, self.address(self.syms[sym]))
        for img, seg in self.images.values():
            seg.data = bytes(img)


def link_relocatable(data: bytes, base: int, externals: dict[str, int] | None = None) -> Image:
    """Lay out and relocate an ET_REL RISC-V object starting at guest address ``base``.

    Loaded sections are grouped executable ("rx"), read-only ("r", plus a synthesised
    ``.got``), writable ("rw") and zero-filled ("rw": NOBITS then COMMON); each group
    starts on a 4 KiB page, each section at its own alignment, in section order.
    ``base`` must be page-aligned. Undefined symbols are looked up in ``externals``
    (name -> address); a missing one raises :class:`ElfError` naming it, except weak
    symbols, which resolve to 0. Nothing is relaxed: the code is used as assembled.
    """
    lk = _Linker(bytes(data), base, dict(externals or {}))
    lk.apply()
    symbols, sizes = _exported(lk.syms, lk.section_address)
    return Image("rel", lk.segments, symbols, sizes)


# --- static executables ------------------------------------------------------------------


def _perms(flags: int) -> str:
    return "".join(c for c, bit in (("r", PF_R), ("w", PF_W), ("x", PF_X)) if flags & bit)


def load_executable(data: bytes) -> Image:
    """Read the segments, entry, program-header location, TLS template and symbols of a
    static ET_EXEC RISC-V executable. Dynamically linked executables are refused."""
    data = bytes(data)
    h = _header(data)
    if h.type != ET_EXEC:
        raise ElfError(f"e_type is {h.type}, expected ET_EXEC ({ET_EXEC})")
    if h.phoff == 0 or h.phnum == 0:
        raise ElfError("executable has no program headers")
    if h.phentsize != _PHDR.size:
        raise ElfError(f"e_phentsize is {h.phentsize}, expected {_PHDR.size}")
    _table(data, h.phoff, h.phnum, _PHDR.size, "program header table")
    loads, tls, phdr_addr = [], None, None
    for i in range(h.phnum):
        typ, flags, off, vaddr, _paddr, filesz, memsz, align = _PHDR.unpack_from(
            data, h.phoff + i * _PHDR.size)
        where = f"program header [{i}]"
        if typ in (PT_INTERP, PT_DYNAMIC):
            raise ElfError(f"{where}: dynamically linked executables are not supported "
                           f"(link with -static)")
        if typ == PT_PHDR:
            phdr_addr = vaddr
        if typ not in (PT_LOAD, PT_TLS):
            continue
        if filesz > memsz or off + filesz > len(data) or vaddr + memsz > _U64:
            raise ElfError(f"{where}: offset {off:#x} filesz {filesz:#x} memsz {memsz:#x} at "
                           f"{vaddr:#x} do not fit the file ({len(data):#x} bytes) or memory")
        if align & (align - 1):
            raise ElfError(f"{where}: p_align {align} is not a power of two")
        if typ == PT_LOAD and memsz and vaddr < PAGE:
            raise ElfError(f"{where}: loads at {vaddr:#x}, in page 0, which is never mapped")
        seg = Segment(vaddr, data[off:off + filesz], memsz, _perms(flags),
                      f"PT_LOAD[{len(loads)}]" if typ == PT_LOAD else "PT_TLS", max(align, 1))
        if typ == PT_TLS:
            tls = seg
            continue
        for other, other_off in loads:
            if vaddr < other.addr + other.memsz and other.addr < vaddr + memsz:
                raise ElfError(f"{where}: {vaddr:#x}+{memsz:#x} overlaps {other.name}")
        loads.append((seg, off))
    if not loads:
        raise ElfError("executable has no PT_LOAD segment")
    if not any("x" in s.perms and s.addr <= h.entry < s.addr + s.memsz for s, _ in loads):
        raise ElfError(f"entry point {h.entry:#x} is not inside an executable PT_LOAD")
    if phdr_addr is None:  # no PT_PHDR: find the loaded bytes holding the header table
        end = h.phoff + h.phnum * _PHDR.size
        phdr_addr = next((s.addr + h.phoff - off for s, off in loads
                          if off <= h.phoff and end <= off + len(s.data)), None)
    secs = _sections(data, h)

    def address(s: _Sym) -> int | None:
        return s.value if s.shndx < len(secs) or s.shndx == SHN_ABS else None

    symbols, sizes = _exported(_symbols(data, secs), address)
    return Image("exec", [s for s, _ in loads], symbols, sizes, h.entry, phdr_addr,
                 _PHDR.size, h.phnum, tls)


def load(data: bytes, base: int, externals: dict[str, int] | None = None) -> Image:
    """Load any supported RISC-V ELF: ET_REL is linked at ``base`` (with ``externals``),
    ET_EXEC is loaded at its own addresses (``base``/``externals`` unused)."""
    e_type = _header(bytes(data)).type
    if e_type == ET_REL:
        return link_relocatable(data, base, externals)
    if e_type == ET_EXEC:
        return load_executable(data)
    if e_type == ET_DYN:
        raise ElfError("ET_DYN (shared object or static-pie) is not supported: "
                       "link with -static -no-pie")
    raise ElfError(f"e_type {e_type} is neither ET_REL nor ET_EXEC")
