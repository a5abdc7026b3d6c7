"""Tests for rvai.emu.elf, each checked against an independent oracle.

Relocated objects are compared byte for byte with the same object linked by
ld.lld-19 (--no-relax, sections placed where our loader put them by a generated
linker script); section headers of lld's output are read with llvm-readelf-19 and
symbols with llvm-nm-19, not with the module under test. Executables are compared
with llvm-readelf-19's view of them.
"""
from __future__ import annotations

import functools
import random
import re
import shutil
import struct
import subprocess

import pytest

from rvai.emu.elf import ElfError, Image, Segment, link_relocatable, load, load_executable

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

LLD, READELF, NM, CLANG, GCC, MC = ("ld.lld-19", "llvm-readelf-19", "llvm-nm-19", "clang-19",
                                    "riscv64-linux-gnu-gcc", "llvm-mc-19")


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def run(*cmd: str, data: bytes | None = None) -> str:
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout.decode()


# --- building inputs ---------------------------------------------------------------------

C_SOURCE = r"""
extern int ext_counter;
extern int ext_fn(int);
int table[16] = {1, 2, 3};
int zeros[100];
static int sfn(int x) { return x * 3 + table[x & 15]; }
int *ptrs[] = { &table[1], &zeros[2], 0 };
int (*fptrs[])(int) = { sfn, ext_fn };
const char *msg = "hello";
int sw(int x, int y) {
  switch (x) { case 0: return y + 1; case 1: return y * 7; case 2: return y - 3;
               case 3: return y ^ 5; case 4: return sfn(y); case 5: return ext_fn(y);
               default: return ext_counter; }
}
int loop(int *a, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += a[i] > 3 ? a[i] : -a[i];
  zeros[n & 63] = s;
  return s + msg[1];
}
void store(long v) { table[3] = (int)v; zeros[7] = (int)(v >> 3); }
"""

# C++ with exceptions: .gcc_except_table, a COMDAT DW.ref data section.
CXX_SOURCE = r"""
extern void may_throw(int);
int guarded(int x) {
  try { may_throw(x); } catch (int e) { return e + 1; } catch (...) { return -1; }
  return 0;
}
"""

CXX_EXTERNALS = {"_Z9may_throwi": 0x7000, "__cxa_begin_catch": 0x7010,
                 "__cxa_end_catch": 0x7020, "__gxx_personality_v0": 0x7030,
                 "_ZTIi": 0x7040, "_Unwind_Resume": 0x7050}

# Assembly using the relocation kinds compilers emit only in corners (data-only
# SET/SUB widths, RVC jumps, GOT32_PCREL, PLT32, 16/8-bit differences).
ASM_SOURCE = r"""
  .text
  .globl f
  .type f,@function
f:
  c.beqz a0, 1f
  c.j 2f
  beq a0, a1, 2f
  beq a0, a1, g
  jal g
  lui a0, %hi(obj)
  addi a0, a0, %lo(obj)
  sw a1, %lo(obj)(a0)
1:
  auipc a1, %pcrel_hi(obj)
  sd a0, %pcrel_lo(1b)(a1)
2:
  c.nop
  .p2align 4
  ret
  .size f, .-f
  .globl g
  .type g,@function
g:
  call f
  tail ext
  .size g, .-g
  .data
  .globl obj
  .type obj,@object
obj:
  .quad f + 8
  .word g - f
  .byte 0
  .half g - f
  .byte g - f
  .quad g - f
  .reloc ., R_RISCV_SET8, g
  .byte 0
  .reloc ., R_RISCV_SET16, g
  .half 0
  .reloc ., R_RISCV_SET32, g
  .word 0
  .reloc ., R_RISCV_SET6, g
  .reloc ., R_RISCV_SUB6, f
  .byte 0xc0
  .reloc ., R_RISCV_32_PCREL, ext + 4
  .word 0
  .reloc ., R_RISCV_PLT32, g
  .word 0
  .reloc ., R_RISCV_GOT32_PCREL, obj
  .word 0
  .reloc ., R_RISCV_SET_ULEB128, g
  .reloc ., R_RISCV_SUB_ULEB128, f
  .uleb128 0x80000
  .size obj, .-obj
"""


def c_object(flags: tuple[str, ...], source: str = C_SOURCE, lang: str = "c") -> bytes:
    need(CLANG)
    return subprocess.run([CLANG, "--target=riscv64-linux-gnu", "-march=rv64gc", "-O2", "-c",
                           "-x", lang, "-", "-o", "-", *flags], input=source.encode(),
                          capture_output=True, check=True).stdout


def asm_object(source: str = ASM_SOURCE, relax: bool = True) -> bytes:
    need(MC)
    attrs = "+c,+relax" if relax else "+c,-relax"
    return subprocess.run([MC, "-triple=riscv64", f"-mattr={attrs}", "-filetype=obj", "-o", "-"],
                          input=source.encode(), capture_output=True, check=True).stdout


LLVM_IR = r"""
@table = global [4 x i64] [i64 1, i64 2, i64 3, i64 4]
@bss = global [64 x i32] zeroinitializer
@self_ptr = global ptr getelementptr (i8, ptr @table, i64 16)
@fn_ptr = global ptr @leaf
@cst = private unnamed_addr constant [5 x double]
    [double 1.5, double 2.5, double 3.5, double 4.5, double 5.5]

define internal i64 @leaf(i64 %x) noinline {
  %y = mul i64 %x, 7
  ret i64 %y
}

define i64 @dispatch(i64 %sel, i64 %v) {
entry:
  switch i64 %sel, label %other [ i64 0, label %a  i64 1, label %b  i64 2, label %c
                                  i64 3, label %d  i64 4, label %e ]
a:
  %ra = call i64 @leaf(i64 %v)
  ret i64 %ra
b:
  %pb = getelementptr [4 x i64], ptr @table, i64 0, i64 %v
  %rb = load i64, ptr %pb
  ret i64 %rb
c:
  %pc = getelementptr [5 x double], ptr @cst, i64 0, i64 %v
  %dc = load double, ptr %pc
  %rc = fptosi double %dc to i64
  ret i64 %rc
d:
  %pd = getelementptr [64 x i32], ptr @bss, i64 0, i64 %v
  store i32 7, ptr %pd
  ret i64 3
e:
  %fp = load ptr, ptr @fn_ptr
  %re = call i64 %fp(i64 %v)
  ret i64 %re
other:
  %ro = call i64 @external_fn(i64 %v)
  ret i64 %ro
}

declare i64 @external_fn(i64)
"""


@functools.lru_cache(maxsize=None)
def llvmlite_object(codemodel: str, features: str = "+m,+a,+f,+d,+c") -> bytes:
    llvm = pytest.importorskip("llvmlite.binding")
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    target = llvm.Target.from_triple("riscv64-unknown-linux-gnu")
    tm = target.create_target_machine(cpu="generic-rv64", features=features, opt=2,
                                      reloc="static", codemodel=codemodel)
    mod = llvm.parse_assembly(LLVM_IR)
    mod.triple = "riscv64-unknown-linux-gnu"
    mod.verify()
    return tm.emit_object(mod)


# --- the ld.lld oracle ---------------------------------------------------------------------


def lld_link(tmp_path, obj: bytes, image: Image, externals: dict[str, int]) -> dict:
    """Link ``obj`` with ld.lld at our layout; return {section: (type, addr, bytes|size)}."""
    need(LLD, READELF)
    (tmp_path / "in.o").write_bytes(obj)
    # Each of our segments becomes an output section holding just that input section.
    lines = [f"  {s.name if s.name != 'COMMON' else '.common'} {s.addr:#x} : {{ *({s.name}) }}"
             for s in image.segments]
    (tmp_path / "link.ld").write_text("SECTIONS {\n" + "\n".join(lines) + "\n}\n")
    defsyms = [f"--defsym={k}={v:#x}" for k, v in externals.items()]
    run(LLD, "--no-relax", "-T", str(tmp_path / "link.ld"), "-e", "0", *defsyms,
        str(tmp_path / "in.o"), "-o", str(tmp_path / "out"))
    out = (tmp_path / "out").read_bytes()
    sections = {}
    for m in re.finditer(r"\]\s+(\S+)\s+(PROGBITS|NOBITS|\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+"
                         r"([0-9a-f]+)", run(READELF, "-S", "-W", str(tmp_path / "out"))):
        name, typ, addr, off, size = m.group(1), m.group(2), *(int(g, 16) for g in m.groups()[2:])
        sections[name] = (typ, addr, size if typ == "NOBITS" else out[off:off + size])
    return sections


def nm_symbols(path) -> dict[str, int]:
    need(NM)
    syms = {}
    for line in run(NM, "--defined-only", str(path)).splitlines():
        addr, kind, name = line.split()
        if kind.lower() in "tdbr":
            syms[name] = int(addr, 16)
    return syms


def check_against_lld(tmp_path, obj: bytes, base: int, externals: dict[str, int]) -> Image:
    image = link_relocatable(obj, base, externals)
    linked = lld_link(tmp_path, obj, image, externals)
    for seg in image.segments:
        name = ".common" if seg.name == "COMMON" else seg.name
        typ, addr, contents = linked[name]
        assert addr == seg.addr, name
        if seg.data:
            assert seg.data + bytes(seg.memsz - len(seg.data)) == contents, \
                f"{name} differs from ld.lld's"
        else:
            assert (typ, contents) == ("NOBITS", seg.memsz), name
    oracle = nm_symbols(tmp_path / "out")
    for name, addr in image.symbols.items():
        assert oracle[name] == addr, name
    return image


def kinds_in(obj: bytes) -> set[str]:
    need(READELF)
    return set(re.findall(r"R_RISCV_\w+", run(READELF, "-r", "/dev/stdin", data=obj)))


# --- relocatable objects vs ld.lld -----------------------------------------------------------

EXTERNALS = {"ext_fn": 0x5000, "ext_counter": 0x6000, "external_fn": 0x5100, "ext": 0x5200}


@pytest.mark.parametrize("codemodel", ["small", "medium"])
def test_llvmlite_object_matches_lld(tmp_path, codemodel):
    obj = llvmlite_object(codemodel)
    image = check_against_lld(tmp_path, obj, 0x10000, EXTERNALS)
    assert {".text", ".data", ".bss", ".eh_frame"} <= {s.name for s in image.segments}
    want = {"R_RISCV_64", "R_RISCV_32_PCREL", "R_RISCV_CALL_PLT"}
    want |= {"R_RISCV_HI20", "R_RISCV_LO12_I"} if codemodel == "small" else {
        "R_RISCV_PCREL_HI20", "R_RISCV_PCREL_LO12_I"}
    assert want <= kinds_in(obj)


def test_llvmlite_relaxable_object_matches_lld(tmp_path):
    obj = llvmlite_object("medium", "+m,+a,+f,+d,+c,+relax")
    check_against_lld(tmp_path, obj, 0x200000, EXTERNALS)
    assert {"R_RISCV_RELAX", "R_RISCV_ADD32", "R_RISCV_SUB32"} <= kinds_in(obj)


@pytest.mark.parametrize("flags", [("-fno-pic", "-mcmodel=medlow"), ("-mcmodel=medany",),
                                   ("-fPIC",), ("-mno-relax", "-fcommon"),
                                   ("-fPIC", "-fcommon", "-ffunction-sections", "-fdata-sections")])
def test_clang_object_matches_lld(tmp_path, flags):
    src = C_SOURCE + ("int common_a; long common_b[3];\n"
                      "long use(void) { return common_a + common_b[1]; }"
                      if "-fcommon" in flags else "")
    check_against_lld(tmp_path, c_object(flags, src), 0x40000, EXTERNALS)


def test_clang_cxx_exceptions_match_lld(tmp_path):
    obj = c_object(("-fPIC",), CXX_SOURCE, "c++")
    image = check_against_lld(tmp_path, obj, 0x80000, CXX_EXTERNALS)
    assert ".gcc_except_table" in {s.name for s in image.segments}


@pytest.mark.parametrize("relax", [True, False])
def test_assembly_every_kind_matches_lld(tmp_path, relax):
    obj = asm_object(relax=relax)
    check_against_lld(tmp_path, obj, 0x100000, EXTERNALS)
    if relax:
        assert {"R_RISCV_RVC_BRANCH", "R_RISCV_RVC_JUMP", "R_RISCV_BRANCH", "R_RISCV_JAL",
                "R_RISCV_CALL_PLT", "R_RISCV_ALIGN", "R_RISCV_ADD8", "R_RISCV_ADD16",
                "R_RISCV_ADD64", "R_RISCV_SUB8", "R_RISCV_SUB16", "R_RISCV_SUB64",
                "R_RISCV_SET6", "R_RISCV_SUB6", "R_RISCV_SET8", "R_RISCV_SET16", "R_RISCV_SET32",
                "R_RISCV_PLT32", "R_RISCV_GOT32_PCREL", "R_RISCV_LO12_S",
                "R_RISCV_PCREL_LO12_S", "R_RISCV_SET_ULEB128"} <= kinds_in(obj)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(page=st.integers(min_value=0, max_value=(1 << 19) - 16))
def test_random_base_matches_lld(tmp_path_factory, page):
    # medany code reaches anywhere; keep below 2 GiB so lld's 32-bit data fields fit too.
    check_against_lld(tmp_path_factory.mktemp("b"), llvmlite_object("medium"), page * 4096,
                      EXTERNALS)


# --- relocatable objects: layout and errors ----------------------------------------------------


def test_layout_groups_and_symbol_at():
    image = link_relocatable(c_object(("-fPIC",), C_SOURCE + "int cmn __attribute__((common));"),
                             0x10000, EXTERNALS)
    perms = {s.name: s.perms for s in image.segments}
    assert perms[".text"] == "rx" and perms[".rodata"] == "r" and perms[".got"] == "r"
    assert perms[".data"] == perms[".bss"] == perms["COMMON"] == "rw"
    for a, b in zip(image.segments, image.segments[1:]):
        assert a.addr + a.memsz <= b.addr
    groups = {}
    for seg in image.segments:
        groups.setdefault((seg.perms, seg.name in (".bss", "COMMON")), []).append(seg.addr)
    assert len(groups) == 4 and all(min(g) % 4096 == 0 for g in groups.values())
    assert image.kind == "rel" and image.entry is None
    start = image.symbols["sw"]
    assert image.symbol_at(start + 6) == ("sw", 6)
    assert image.symbol_at(image.symbols["cmn"]) == ("cmn", 0)
    assert image.symbol_at(0x10000 - 4) is None


@pytest.mark.parametrize("lead, trimmed", [(1, 0), (2, 2), (3, 4)])
def test_align_padding_is_trimmed_and_checked(tmp_path, lead, trimmed):
    # c.nops before a .p2align 4: the assembler pads 14 bytes; alignment needs fewer.
    obj = asm_object("  .text\n  .globl f\nf:\n" + "  c.nop\n" * lead
                     + "  .p2align 4\nl:\n  ret\n  .data\n  .quad l\n")
    image = check_against_lld(tmp_path, obj, 0x10000, {})
    text = next(s for s in image.segments if s.name == ".text")
    assert len(text.data) == 2 * lead + 14 + 2 - trimmed
    data = next(s for s in image.segments if s.name == ".data")
    assert int.from_bytes(data.data, "little") == 0x10010  # l moved with the trimmed code
    bad = bytearray(obj)
    at = bad.index(bytes.fromhex("13000000"))
    bad[at:at + 4] = bytes.fromhex("33000000")  # an add, not a nop
    with pytest.raises(ElfError, match="R_RISCV_ALIGN.*not NOPs"):
        link_relocatable(bytes(bad), 0x10000)


def test_undefined_symbol_is_named():
    with pytest.raises(ElfError, match="undefined symbol 'ext_fn'"):
        link_relocatable(c_object(("-fPIC",)), 0x10000, {"ext_counter": 0x6000})


# Raw instructions under explicit relocations (the assembler would otherwise rewrite a
# far "beq" as bne+jal) and the lowest and highest reachable displacement.
RANGES = [("R_RISCV_BRANCH", ".word 0x00b50063", -(1 << 12), (1 << 12) - 2),
          ("R_RISCV_JAL", ".word 0x0000006f", -(1 << 20), (1 << 20) - 2),
          ("R_RISCV_RVC_BRANCH", ".half 0xc101", -(1 << 8), (1 << 8) - 2),
          ("R_RISCV_RVC_JUMP", ".half 0xa001", -(1 << 11), (1 << 11) - 2),
          ("R_RISCV_CALL_PLT", ".word 0x00000097, 0x000080e7", -(1 << 31) - 0x800,
           (1 << 31) - 0x802)]


@pytest.mark.parametrize("kind, insn, lowest, highest", RANGES)
def test_pc_relative_range_matches_lld(tmp_path, kind, insn, lowest, highest):
    obj = asm_object(f"  .text\nf:\n  .reloc ., {kind}, far\n  {insn}\n")
    base = 1 << 32
    for far, fits in [(highest, True), (highest + 2, False), (lowest, True), (lowest - 2, False)]:
        externals = {"far": base + far}
        if fits:
            check_against_lld(tmp_path, obj, base, externals)
        else:
            with pytest.raises(ElfError, match=rf"{kind}.*out of range"):
                link_relocatable(obj, base, externals)
            with pytest.raises(subprocess.CalledProcessError):  # lld refuses it too
                lld_link(tmp_path, obj, link_relocatable(obj, base, {"far": base}), externals)


def test_hi20_out_of_range():
    obj = asm_object("  .text\nf:\n  lui a0, %hi(far)\n", relax=False)
    with pytest.raises(ElfError, match=r"R_RISCV_HI20.*out of range"):
        link_relocatable(obj, 0x10000, {"far": 1 << 32})


def test_unpaired_pcrel_lo12():
    obj = asm_object("  .text\nf:\n  nop\n  .reloc ., R_RISCV_PCREL_LO12_I, f\n"
                     "  addi a0, a0, 0\n")
    with pytest.raises(ElfError, match="R_RISCV_PCREL_LO12_I.*no R_RISCV_PCREL_HI20"):
        link_relocatable(obj, 0x10000)


def test_tls_refused():
    obj = c_object(("-fPIC",), "__thread int t; int get(void) { return t; }")
    with pytest.raises(ElfError, match="thread-local|TLS"):
        link_relocatable(obj, 0x10000)


def rela_entries(obj: bytes):
    """(file offset, type) of every relocation entry, via llvm-readelf's section table."""
    need(READELF)
    out = []
    for m in re.finditer(r"\]\s+(\.rela\S+)\s+RELA\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)",
                         run(READELF, "-S", "-W", "/dev/stdin", data=obj)):
        off, size = int(m.group(2), 16), int(m.group(3), 16)
        out += [(m.group(1), o) for o in range(off, off + size, 24)]
    return out


@pytest.mark.parametrize("typ, pattern", [(200, "unknown relocation type 200"),
                                          (22, r"R_RISCV_TLS_GD_HI20 \(22\) is not supported")])
def test_bad_relocation_type_is_named(typ, pattern):
    obj = bytearray(llvmlite_object("medium"))
    name, off = next(e for e in rela_entries(obj) if e[0] == ".rela.text")
    obj[off + 8:off + 12] = struct.pack("<I", typ)
    with pytest.raises(ElfError, match=rf"{re.escape(name[5:])}.*relocation #0.*{pattern}"):
        link_relocatable(bytes(obj), 0x10000, EXTERNALS)


def test_bad_base_is_refused():
    with pytest.raises(ValueError, match="base"):
        link_relocatable(llvmlite_object("medium"), 0x10001, EXTERNALS)


# --- corrupt input -----------------------------------------------------------------------------


def section_table(obj: bytes):
    """(name, offset, size) of each section, from llvm-readelf."""
    need(READELF)
    return [(m.group(1), int(m.group(2), 16), int(m.group(3), 16)) for m in re.finditer(
        r"\]\s+(\S*)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)",
        run(READELF, "-S", "-W", "/dev/stdin", data=obj))]


def test_truncated_at_every_section_boundary():
    obj = llvmlite_object("medium")
    bounds = {o for _, off, size in section_table(obj) for o in (off, off + size)}
    cuts = {0, 1, 16, 63, 64} | bounds
    for cut in sorted(c for c in cuts if c < len(obj)):
        with pytest.raises(ElfError):
            link_relocatable(obj[:cut], 0x10000, EXTERNALS)


@pytest.mark.parametrize("offset, value, pattern", [
    (0, b"\x7fELG", "bad magic"),
    (4, b"\x01", "ELFCLASS64"),
    (5, b"\x02", "little-endian"),
    (0x12, struct.pack("<H", 62), "EM_RISCV"),
    (0x3C, struct.pack("<H", 0xFFF0), "section header table"),  # huge e_shnum
    (0x3A, struct.pack("<H", 40), "e_shentsize"),
    (0x3E, struct.pack("<H", 0), "e_shstrndx"),
    (0x10, struct.pack("<H", 3), "ET_DYN"),
    (0x10, struct.pack("<H", 4), "neither ET_REL nor ET_EXEC"),
])
def test_corrupt_header(offset, value, pattern):
    obj = bytearray(llvmlite_object("medium"))
    obj[offset:offset + len(value)] = value
    with pytest.raises(ElfError, match=pattern):
        load(bytes(obj), 0x10000, EXTERNALS)


def shdr_offset(obj: bytes, name: str) -> int:
    """File offset of the section header of ``name``, located via llvm-readelf."""
    need(READELF)
    shoff = int(re.search(r"Start of section headers:\s+(\d+)",
                          run(READELF, "-h", "/dev/stdin", data=obj)).group(1))
    index = [n for n, _, _ in section_table(obj)].index(name)
    return shoff + 64 * index


def test_section_offset_past_end():
    obj = bytearray(llvmlite_object("medium"))
    at = shdr_offset(obj, ".text") + 24  # sh_offset
    obj[at:at + 8] = struct.pack("<Q", len(obj) + 10)
    with pytest.raises(ElfError, match=r"section \[\d+\].*past the end"):
        link_relocatable(bytes(obj), 0x10000, EXTERNALS)


def test_symbol_name_outside_string_table():
    obj = bytearray(llvmlite_object("medium"))
    _, symoff, _ = next(s for s in section_table(obj) if s[0] == ".symtab")
    obj[symoff + 24:symoff + 28] = struct.pack("<I", 0x7FFFFFFF)  # symbol #1's st_name
    with pytest.raises(ElfError, match=r"symbol #1: name offset 0x7fffffff is outside"):
        link_relocatable(bytes(obj), 0x10000, EXTERNALS)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_truncation_and_byte_flips(data):
    obj = bytearray(llvmlite_object("medium"))
    cut = data.draw(st.integers(0, len(obj)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(obj) - 1), st.integers(1, 255)),
                               max_size=6))
    for at, x in flips:
        obj[at] ^= x
    try:
        image = load(bytes(obj[:cut]) if data.draw(st.booleans()) else bytes(obj), 0x10000,
                     EXTERNALS)
    except ElfError:
        return
    assert all(isinstance(s, Segment) and s.memsz >= len(s.data) for s in image.segments)


def test_fuzz_executable_header_bytes():
    # Oracle: the contract itself -- an ElfError or a loaded image, never another error.
    exe = static_executable("gcc")
    rng = random.Random(1)
    for _ in range(300):
        bad = bytearray(exe)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(0, 64 + 56 * 12)  # ELF header and program headers
            bad[at] ^= rng.randint(1, 255)
        try:
            load_executable(bytes(bad))
        except ElfError:
            pass


# --- static executables --------------------------------------------------------------------------

HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


@functools.lru_cache(maxsize=None)
def static_executable(compiler: str) -> bytes:
    import tempfile
    if compiler == "gcc":
        need(GCC)
        cmd = [GCC, "-static", "-O2"]
    else:
        need(CLANG, LLD)
        cmd = [CLANG, "--target=riscv64-linux-gnu", "-static", "-fuse-ld=lld", "-O2"]
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([*cmd, "-x", "c", "-", "-o", f"{d}/a.out"], input=HELLO.encode(),
                       capture_output=True, check=True)
        return open(f"{d}/a.out", "rb").read()


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_static_executable_matches_readelf(tmp_path, compiler):
    exe = static_executable(compiler)
    image = load(exe, 0, None)
    (tmp_path / "a.out").write_bytes(exe)
    text = run(READELF, "-h", "-l", "-W", str(tmp_path / "a.out"))
    assert image.kind == "exec"
    assert image.entry == int(re.search(r"Entry point address:\s+0x(\w+)", text).group(1), 16)
    phdrs = re.findall(r"^\s+(\w+)\s+(0x[0-9a-f]+) (0x[0-9a-f]+) 0x[0-9a-f]+ (0x[0-9a-f]+) "
                       r"(0x[0-9a-f]+) (.{3}) (0x[0-9a-f]+)$", text, re.M)
    assert image.phnum == len(phdrs) and image.phent == 56
    loads = [p for p in phdrs if p[0] == "LOAD"]
    assert len(loads) == len(image.segments)
    for seg, (_, off, vaddr, filesz, memsz, flg, align) in zip(image.segments, loads):
        off, filesz = int(off, 16), int(filesz, 16)
        assert (seg.addr, seg.memsz, seg.align) == (int(vaddr, 16), int(memsz, 16), int(align, 16))
        assert seg.data == exe[off:off + filesz]
        assert seg.perms == "".join(c for c, f in zip("rwx", "RWE") if f in flg)
    tls = [p for p in phdrs if p[0] == "TLS"]
    if tls:
        assert (image.tls.addr, image.tls.memsz) == (int(tls[0][2], 16), int(tls[0][4], 16))
    phdr = [p for p in phdrs if p[0] == "PHDR"]
    phoff = int(re.search(r"Start of program headers:\s+(\d+)", text).group(1))
    first = loads[0]
    expect = int(phdr[0][2], 16) if phdr else int(first[2], 16) - int(first[1], 16) + phoff
    assert image.phdr_addr == expect
    assert image.symbols["main"] == nm_symbols(tmp_path / "a.out")["main"]
    assert image.symbol_at(image.symbols["main"] + 2) == ("main", 2)


def test_dynamic_executable_refused(tmp_path):
    need(GCC)
    subprocess.run([GCC, "-O2", "-x", "c", "-", "-o", str(tmp_path / "dyn")], input=HELLO.encode(),
                   capture_output=True, check=True)
    with pytest.raises(ElfError, match="dynamically linked|ET_DYN"):
        load((tmp_path / "dyn").read_bytes(), 0)


def test_executable_segment_past_end():
    exe = bytearray(static_executable("gcc"))
    phoff = struct.unpack_from("<Q", exe, 0x20)[0]
    for i in range(struct.unpack_from("<H", exe, 0x38)[0]):
        if struct.unpack_from("<I", exe, phoff + 56 * i)[0] == 1:  # first PT_LOAD
            exe[phoff + 56 * i + 32:phoff + 56 * i + 40] = struct.pack("<Q", len(exe))  # p_filesz
            break
    with pytest.raises(ElfError, match=r"program header \[\d+\]"):
        load_executable(bytes(exe))
