"""The Linux personality: the initial stack read back from guest memory against
the Linux/RISC-V ABI, and the system calls' semantics, on tiny executables
built here byte by byte (no compiler needed)."""
import errno
import struct

import numpy as np
import pytest

from rvai.emu import LoadFault, Machine
from rvai.emu.isa import assemble
from rvai.emu.linux import Linux
from rvai.emu.machine import STACK_TOP

BASE = 0x10000
CODE = BASE + 64 + 56          # after the ELF header and the one program header


def make_exe(lines, data: bytes = b"", bss: int = 0) -> bytes:
    """A static ET_EXEC whose one r-x PT_LOAD holds the headers, the assembled
    ``lines`` at CODE and then ``data``; ``bss`` zero bytes follow in memory."""
    code = b"".join(struct.pack("<I", assemble(t)) for t in lines)
    size = 64 + 56 + len(code) + len(data)
    ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 2, 243, 1,
                       CODE, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, size, size + bss, 0x1000)
    return ehdr + phdr + code + data


def data_addr(lines) -> int:
    """Guest address of the ``data`` given to make_exe with these ``lines``."""
    return CODE + 4 * len(lines)


def la(reg: str, addr: int, at: int) -> list[str]:
    """Two instructions loading ``addr`` into ``reg`` pc-relatively, placed at ``at``."""
    off = addr - at
    hi = (off + 0x800) >> 12
    return [f"auipc {reg}, {hi & 0xFFFFF}", f"addi {reg}, {reg}, {off - (hi << 12)}"]


EXIT_A0 = ["addi a7, zero, 93", "ecall"]


def started(argv=("prog",), env=None, **kw):
    """A machine with a trivial executable loaded and its process started (not run)."""
    m = Machine(vlen=128)
    image = m.load_elf(make_exe(["addi a0, zero, 0"] + EXIT_A0))
    linux = Linux(m, **kw)
    m.os = linux
    linux.start(image, list(argv), dict(env or {}), STACK_TOP)
    return m, linux, image


def u64s(m, addr, n):
    return [int(v) for v in m.read(addr, np.uint64, n)]


def cstr(m, addr):
    raw = m.read_bytes(addr, min(256, STACK_TOP - addr) if addr < STACK_TOP else 256)
    return raw[:raw.index(b"\0")].decode()


# ---- the initial process image --------------------------------------------------

def test_initial_stack_holds_argc_argv_envp_auxv_per_the_abi():
    m, linux, image = started(["prog", "one", "two words"], {"HOME": "/h", "X": "1"})
    sp = m.x(2)
    assert sp % 16 == 0 and m.pc == CODE == image.entry
    assert m.x(10) == 0           # a0: no rtld_fini for a static program
    argc = u64s(m, sp, 1)[0]
    assert argc == 3
    words = u64s(m, sp + 8, (STACK_TOP - sp - 8) // 8)
    assert [cstr(m, p) for p in words[:3]] == ["prog", "one", "two words"] and words[3] == 0
    env = words[4:words.index(0, 4)]
    assert [cstr(m, p) for p in env] == ["HOME=/h", "X=1"]
    pairs = words[words.index(0, 4) + 1:]
    auxv = {}
    for tag, val in zip(pairs[::2], pairs[1::2]):
        if tag == 0:
            break
        auxv[tag] = val
    else:
        pytest.fail("auxv is not terminated by AT_NULL")
    assert auxv[3] == BASE + 64        # AT_PHDR: the header table as loaded
    assert auxv[4] == 56 and auxv[5] == 1   # AT_PHENT, AT_PHNUM
    assert auxv[6] == 4096 and auxv[9] == CODE   # AT_PAGESZ, AT_ENTRY
    assert auxv[23] == 0               # AT_SECURE
    assert auxv[11] == auxv[12] and auxv[13] == auxv[14]   # uid == euid, gid == egid
    # AT_HWCAP: one bit per letter ('A' is bit 0) for I, M, A, F, D, C, V.
    assert auxv[16] == (1 << 8) | (1 << 12) | (1 << 0) | (1 << 5) | (1 << 3) | (1 << 2) | (1 << 21)
    assert auxv[17] == 100             # AT_CLKTCK
    assert cstr(m, auxv[31]) == "prog"  # AT_EXECFN
    assert cstr(m, auxv[15]) == "riscv64"  # AT_PLATFORM
    assert sp < auxv[25] and auxv[25] + 16 <= STACK_TOP   # AT_RANDOM: 16 bytes on the stack
    strings = [*words[:3], *env, auxv[31], auxv[15]]
    assert all(sp < p < STACK_TOP for p in strings)


def test_at_random_and_getrandom_follow_the_seed():
    def bytes_of(seed):
        m, linux, _ = started(seed=seed)
        buf = m.alloc(32)
        assert linux.syscall(278, [buf, 32, 0, 0, 0, 0]) == 32
        return m.read_bytes(buf, 32)
    assert bytes_of(1) == bytes_of(1) != bytes_of(2)


def test_program_break_starts_on_the_page_after_bss():
    m = Machine(vlen=128)
    image = m.load_elf(make_exe(EXIT_A0, bss=10_000))
    linux = Linux(m)
    linux.start(image, ["p"], {}, STACK_TOP)
    end = BASE + 64 + 56 + 8 + 10_000
    assert linux.syscall(214, [0] * 6) == (end + 4095) // 4096 * 4096


# ---- running: exit codes, output, input --------------------------------------------

def run(lines, data=b"", **kw):
    return Machine(vlen=128).run(["prog"], program=make_exe(lines, data), **kw)


def test_exit_code_is_the_low_byte():
    assert run(["addi a0, zero, 42"] + EXIT_A0).exit_code == 42
    r = run(["addi a0, zero, 300", "addi a7, zero, 94", "ecall"])   # exit_group
    assert r.exit_code == 300 & 0xFF and r.signal is None and r.instret == 3


def test_write_to_stdout_and_stderr_is_captured_and_forwarded():
    prog = ["addi a0, zero, 1", "ADDR", "addi a2, zero, 5", "addi a7, zero, 64", "ecall",
            "addi a0, zero, 2", "ADDR", "addi a2, zero, 3", "ecall",
            "addi a0, zero, 0"] + EXIT_A0
    n = len(prog) + 2      # each ADDR is two instructions
    lines = []
    for t in prog:
        lines += la("a1", CODE + 4 * n, CODE + 4 * len(lines)) if t == "ADDR" else [t]
    live = []

    class Sink:
        def write(self, b):
            live.append(bytes(b))

        def flush(self):
            pass
    r = run(lines, b"hello", stdout=Sink())
    assert (r.stdout, r.stderr, r.exit_code) == (b"hello", b"hel", 0)
    assert live == [b"hello"]


def test_read_takes_stdin_then_reports_end_of_file():
    # n = read(0, sp-64, 16); write(1, sp-64, n); n2 = read(0, sp-64, 16); exit(n2 + 7)
    lines = ["addi s1, sp, -64",
             "addi a0, zero, 0", "addi a1, s1, 0", "addi a2, zero, 16", "addi a7, zero, 63", "ecall",
             "addi a2, a0, 0", "addi a0, zero, 1", "addi a1, s1, 0", "addi a7, zero, 64", "ecall",
             "addi a0, zero, 0", "addi a1, s1, 0", "addi a2, zero, 16", "addi a7, zero, 63", "ecall",
             "addi a0, a0, 7"] + EXIT_A0
    r = run(lines, stdin=b"abc")
    assert r.stdout == b"abc" and r.exit_code == 7


def test_a_machine_runs_one_process():
    m = Machine(vlen=128)
    m.run(["prog"], program=make_exe(["addi a0, zero, 0"] + EXIT_A0))
    with pytest.raises(RuntimeError, match="already ran"):
        m.run(["prog"])


def test_unknown_syscall_returns_enosys_and_is_counted():
    lines = ["addi a7, zero, 999", "ecall", "ecall", "addi a7, zero, 93", "ecall"]
    r = run(lines)
    assert r.exit_code == -errno.ENOSYS & 0xFF
    assert r.unknown_syscalls == {999: 2}


def test_abort_by_signal_reports_128_plus_signal():
    # tgkill(getpid(), gettid(), SIGABRT)
    lines = ["addi a7, zero, 172", "ecall", "addi s1, a0, 0", "addi a7, zero, 178", "ecall",
             "addi a1, a0, 0", "addi a0, s1, 0", "addi a2, zero, 6", "addi a7, zero, 131", "ecall"]
    r = run(lines)
    assert (r.exit_code, r.signal) == (134, 6)


# ---- memory system calls ---------------------------------------------------------------

def test_brk_grows_shrinks_and_refuses_to_go_below_its_start():
    m, linux, _ = started()
    start = linux.syscall(214, [0] * 6)
    assert linux.syscall(214, [start + 5000, 0, 0, 0, 0, 0]) == start + 5000
    m.write(start + 8191, b"\1")              # the whole second page is usable
    assert linux.syscall(214, [start + 100, 0, 0, 0, 0, 0]) == start + 100
    with pytest.raises(LoadFault):
        m.read_bytes(start + 4096, 1)          # shrinking unmapped the second page
    assert linux.syscall(214, [start - 4096, 0, 0, 0, 0, 0]) == start + 100
    # Growing into an existing mapping fails and leaves the break where it was.
    m.map(start + 0x10000, 4096, "rw")
    assert linux.syscall(214, [start + 0x20000, 0, 0, 0, 0, 0]) == start + 100


def test_anonymous_mmap_is_zeroed_fixed_replaces_munmap_unmaps():
    m, linux, _ = started()
    rw, anon_private, fixed = 3, 0x22, 0x10
    a = linux.syscall(222, [0, 10_000, rw, anon_private, 2**64 - 1, 0])
    assert a > 0 and a % 4096 == 0
    assert not m.read(a, np.uint8, 3 * 4096).any()
    m.write(a + 4096, b"\xff" * 16)
    assert linux.syscall(222, [a + 4096, 4096, rw, anon_private | fixed, 2**64 - 1, 0]) == a + 4096
    assert not m.read(a + 4096, np.uint8, 16).any()     # fresh zero page replaced it
    b = linux.syscall(222, [0, 4096, rw, anon_private, 2**64 - 1, 0])
    assert b >= a + 3 * 4096 or b + 4096 <= a          # no overlap
    assert linux.syscall(215, [a, 3 * 4096, 0, 0, 0, 0]) == 0
    with pytest.raises(LoadFault):
        m.read_bytes(a, 1)
    # MAP_FIXED_NOREPLACE over a live mapping, and file mappings, are refused.
    assert linux.syscall(222, [b, 4096, rw, anon_private | 0x100000, 2**64 - 1, 0]) == -errno.EEXIST
    assert linux.syscall(222, [0, 4096, 1, 2, 3, 0]) == -errno.ENODEV


def test_mprotect_changes_permissions_and_rejects_unmapped_ranges():
    m, linux, _ = started()
    a = linux.syscall(222, [0, 8192, 3, 0x22, 2**64 - 1, 0])
    assert linux.syscall(226, [a, 4096, 1, 0, 0, 0]) == 0
    assert [p for b, _, p in m.regions() if b == a] == ["r"]
    assert linux.syscall(226, [a + 8192, 4096, 1, 0, 0, 0]) == -errno.ENOMEM


# ---- the other calls glibc makes at startup ------------------------------------------------

def test_fstat_of_stdout_is_a_character_device_and_not_a_tty():
    m, linux, _ = started()
    buf = m.alloc(128)
    empty = m.alloc(1)
    assert linux.syscall(79, [1, empty, buf, 0x1000, 0, 0]) == 0      # newfstatat(1, "", AT_EMPTY_PATH)
    mode = int(m.read(buf + 16, np.uint32, 1)[0])
    assert mode & 0o170000 == 0o020000
    assert linux.syscall(29, [1, 0x5401, buf, 0, 0, 0]) == -errno.ENOTTY   # TCGETS
    assert linux.syscall(80, [7, buf, 0, 0, 0, 0]) == -errno.EBADF


def test_uname_prlimit_readlink_and_hermetic_openat():
    m, linux, _ = started(["/bin/prog"])
    buf = m.alloc(400)
    assert linux.syscall(160, [buf, 0, 0, 0, 0, 0]) == 0
    assert cstr(m, buf) == "Linux" and cstr(m, buf + 4 * 65) == "riscv64"
    assert linux.syscall(261, [0, 3, 0, buf, 0, 0]) == 0                   # RLIMIT_STACK
    assert u64s(m, buf, 2) == [8 << 20, 2**64 - 1]
    path = m.alloc(np.frombuffer(b"/proc/self/exe\0", np.uint8))
    assert linux.syscall(78, [2**64 - 100, path, buf, 64, 0, 0]) == len("/bin/prog")
    assert m.read_bytes(buf, 9) == b"/bin/prog"
    assert linux.syscall(56, [2**64 - 100, path, 0, 0, 0, 0]) == -errno.ENOENT


def test_sysinfo_reports_memory_in_bytes():
    m, linux, _ = started()
    buf = m.alloc(112)
    assert linux.syscall(179, [buf, 0, 0, 0, 0, 0]) == 0
    total, free = u64s(m, buf + 32, 2)
    unit = int(m.read(buf + 104, np.uint32, 1)[0])
    assert total * unit == 4 << 30 and 0 < free <= total


def test_clock_follows_the_cycle_counter():
    m, linux, _ = started()
    ts = m.alloc(16)
    assert linux.syscall(113, [1, ts, 0, 0, 0, 0]) == 0                  # CLOCK_MONOTONIC
    sec, nsec = u64s(m, ts, 2)
    assert sec * 10**9 + nsec == m.cycles


def test_bad_pointer_gives_efault_and_futex_wait_blocks_the_thread():
    m, linux, _ = started()
    assert linux.syscall(64, [1, 0xDEAD_0000, 4, 0, 0, 0]) == -errno.EFAULT
    word = m.alloc(np.array([5], np.uint32))
    assert linux.syscall(98, [word, 128, 4, 0, 0, 0]) == -errno.EAGAIN     # value changed
    assert m.thread_state(0) == "runnable"
    assert linux.syscall(98, [word, 128, 5, 0, 0, 0]) == 0                 # blocks (a run would deadlock)
    assert m.thread_state(0) == "blocked"
    assert linux.syscall(98, [word, 129, 1, 0, 0, 0]) == 1                 # FUTEX_WAKE_PRIVATE wakes it
    assert m.thread_state(0) == "runnable"


def test_streamed_output_is_not_kept_unless_asked():
    """capture=False (what `rvai run` uses): output reaches the sink in order and
    nothing accumulates in the process, however much the guest writes."""
    from tiny_elf import executable, li
    chunk, rounds = 1 << 16, 40
    # write(1, buf, 64 KiB) `rounds` times from a 64 KiB buffer of 'z' at 0x200000, then exit(0)
    lines = [*li("s0", rounds), *li("a1", 0x200000), *li("a2", chunk),
             "li a0, 1", "li a7, 64", "ecall",
             "addi s0, s0, -1", "bne s0, zero, -16", "li a0, 0", "li a7, 93", "ecall"]
    prog = executable(lines, bss=((0x200000, chunk),))
    total = []

    class Sink:
        def write(self, b):
            total.append(len(b))

        def flush(self):
            pass
    m = Machine(vlen=128)
    m.load_elf(prog)
    m.write(0x200000, b"z" * chunk)
    r = m.run(["p"], stdout=Sink(), capture=False)
    assert r.exit_code == 0 and sum(total) == chunk * rounds and total == [chunk] * rounds
    assert r.stdout == b"" and len(m.os.out) == 0
    kept = Machine(vlen=128)
    kept.load_elf(prog)
    kept.write(0x200000, b"z" * chunk)
    assert kept.run(["p"]).stdout == b"z" * (chunk * rounds)
