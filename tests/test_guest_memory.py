"""The guest memory limit: like Linux's RLIMIT_AS, every mapping counts in full
(the 8 MiB stack, the program's pages, mmap and brk); past the limit the guest's
mmap fails with ENOMEM and the host API raises GuestMemoryError."""
import errno
import subprocess
import sys

import numpy as np
import pytest

from rvai.emu import GuestMemoryError, Machine
from rvai.emu.machine import PAGE, STACK_SIZE
from tiny_elf import executable

MiB = 1 << 20

# Map 1 MiB (PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS) and write into it
# until mmap fails; exit with the number of successful maps.  The failing
# mmap's value is kept in s1.
MMAP_UNTIL_ENOMEM = [
    "li s0, 0",
    "li a0, 0", "lui a1, 256", "li a2, 3", "li a3, 34", "li a4, -1", "li a5, 0", "li a7, 222",
    "ecall",
    "blt a0, zero, 20",
    "sd s0, 0(a0)", "sd s0, 2040(a0)",
    "addi s0, s0, 1",
    "j -48",
    "mv s1, a0", "mv a0, s0", "li a7, 93", "ecall",
]


def expected_maps(limit: int) -> int:
    """Whole MiBs left under the limit once the stack and the program's page are mapped."""
    return (limit - STACK_SIZE - PAGE) // MiB


@pytest.mark.parametrize("limit_mib", [16, 64, 100])
def test_guest_mmap_fails_with_enomem_at_the_limit(limit_mib):
    limit = limit_mib * MiB
    m = Machine(vlen=128, mem_limit=limit)
    r = m.run(["prog"], program=executable(MMAP_UNTIL_ENOMEM))
    assert r.exit_code == expected_maps(limit) & 0xFF
    assert m.x(9) == (-errno.ENOMEM) & (2**64 - 1)
    assert sum(n for _, n, _ in m.regions()) <= limit


def test_cli_mem_option(tmp_path):
    exe = tmp_path / "mmaps"
    exe.write_bytes(executable(MMAP_UNTIL_ENOMEM))
    for mem, limit in (("40M", 40 * MiB), (str(24 * MiB), 24 * MiB)):
        r = subprocess.run([sys.executable, "-m", "rvai.cli", "run", "--mem", mem, str(exe)],
                           capture_output=True, timeout=120)
        assert r.returncode == expected_maps(limit), r.stderr
    r = subprocess.run([sys.executable, "-m", "rvai.cli", "run", "--mem", "lots", str(exe)],
                       capture_output=True, timeout=120)
    assert r.returncode == 2 and b"--mem" in r.stderr


def test_default_limit_is_a_few_gib():
    m = Machine(vlen=128)
    assert 1 << 30 <= m.mem_limit <= 16 << 30
    with pytest.raises(GuestMemoryError, match="mem_limit"):
        m.alloc(m.mem_limit)
    assert m.read(m.alloc(np.arange(4)), np.int64, 4).tolist() == [0, 1, 2, 3]


def test_host_alloc_and_map_raise_guest_memory_error():
    m = Machine(vlen=128, mem_limit=16 * MiB)
    m.alloc(4 * MiB)
    with pytest.raises(GuestMemoryError):
        m.alloc(8 * MiB)
    with pytest.raises(MemoryError):          # GuestMemoryError is a MemoryError
        m.map(0x4000_0000, 8 * MiB, "rw")
    m.map(0x4000_0000, 2 * MiB, "rw")        # what fits still maps
    m.unmap(0x4000_0000, 2 * MiB)             # and unmapping gives it back
    m.map(0x5000_0000, 2 * MiB, "rw")
