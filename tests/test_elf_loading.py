"""Machine.load_elf and Machine.run on hostile executables: every failure is an
ElfError that leaves nothing mapped, page 0 is never mapped, and an odd entry
point faults as the ISA says (instruction address misaligned) instead of
running the instruction below it.  The executables are built by tests/tiny_elf.py
from the ELF-64 layout; the fuzz of bytes is in test_api_fuzz.py."""
import struct
import subprocess
import sys

import pytest

from rvai.cli import EXIT_CODES
from rvai.emu import Machine, MisalignedAccess
from rvai.emu.elf import ElfError
from rvai.emu.machine import STACK_SIZE, STACK_TOP
from tiny_elf import CODE_OFFSET, VADDR, executable

EXIT_7 = ["li a0, 7", "li a7, 93", "ecall"]


def rvai_run(tmp_path, data: bytes) -> subprocess.CompletedProcess:
    exe = tmp_path / "prog"
    exe.write_bytes(data)
    return subprocess.run([sys.executable, "-m", "rvai.cli", "run", str(exe)],
                          capture_output=True, timeout=120)


def test_the_builder_makes_a_runnable_program():
    assert Machine(vlen=128).run(["p"], program=executable(EXIT_7)).exit_code == 7


@pytest.mark.parametrize("vaddr", [0, 0x800])
def test_pt_load_in_page_zero_is_refused(tmp_path, vaddr):
    data = executable(EXIT_7, vaddr=vaddr)
    m = Machine(vlen=128)
    before = m.regions()
    with pytest.raises(ElfError, match="page 0"):
        m.load_elf(data)
    assert m.regions() == before
    assert rvai_run(tmp_path, data).returncode == EXIT_CODES["bad_elf"]


def test_odd_entry_faults_instead_of_executing(tmp_path):
    # At entry - 1 sits "li a0, 7": executing it would exit with 7.
    data = executable(EXIT_7, entry=VADDR + CODE_OFFSET + 1)
    with pytest.raises(MisalignedAccess, match="instruction address misaligned") as info:
        Machine(vlen=128).run(["p"], program=data)
    assert info.value.pc == VADDR + CODE_OFFSET + 1
    r = rvai_run(tmp_path, data)
    assert r.returncode == EXIT_CODES["fault"] and b"misaligned" in r.stderr


@pytest.mark.parametrize("vaddr,extra", [
    (STACK_TOP - STACK_SIZE, 0),         # on top of the stack
    (0x10000, 1 << 40),                  # 1 TiB of bss: past the memory limit
    ((1 << 56) - 0x1000, 0x10000),       # past the guest address space
])
def test_segments_that_cannot_be_placed_are_elf_errors(vaddr, extra):
    data = executable(EXIT_7, vaddr=vaddr, memsz_extra=extra)
    m = Machine(vlen=128)
    before = m.regions()
    with pytest.raises(ElfError, match="cannot be placed"):
        m.load_elf(data)
    assert m.regions() == before


def test_second_segment_failure_unmaps_the_first():
    # A second PT_LOAD over the stack: the first must not stay mapped.
    data = executable(EXIT_7, bss=((STACK_TOP - 0x1000, 0x1000),))
    m = Machine(vlen=128)
    before = m.regions()
    with pytest.raises(ElfError, match=r"PT_LOAD\[1\].*cannot be placed"):
        m.load_elf(data)
    assert m.regions() == before
    fine = executable(EXIT_7, bss=((0x200000, 0x3000),))
    assert Machine(vlen=128).run(["p"], program=fine).exit_code == 7


def test_object_without_loaded_sections_loads_as_nothing():
    # ET_REL with no section headers at all: nothing to place (was min() of an empty sequence).
    ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 1, 243, 1,
                       0, 0, 0, 0, 64, 0, 0, 64, 0, 0)
    m = Machine(vlen=128)
    before = m.regions()
    image = m.load_elf(ehdr)
    assert image.segments == [] and image.symbols == {}
    # the runtime routines a relocatable object may call were installed, nothing else
    assert all(r in m.regions() for r in before)
