"""The Linux personality: the initial process image of a static riscv64
executable (stack with argv, envp and auxv; the program break) and the system
calls that static glibc and musl programs make.

Everything is deterministic: time comes from the cycle counter, random bytes
from a seeded generator, ids are constants, and there is no host file system
(``openat`` fails with ``-ENOENT``), so a run depends only on the executable,
argv, env, stdin and the seed (and the machine's harts and quantum, which fix
how threads interleave).  File descriptors 0, 1 and 2 are the only ones:
reads of 0 come from the ``stdin`` given to the run, writes to 1 and 2 are
captured (and optionally forwarded live, as the CLI does).

Threads (``clone`` with CLONE_VM | CLONE_THREAD, as glibc's pthread_create
makes them) become threads of the Machine, scheduled on its harts; ``futex``
blocks and wakes them, and a run whose every thread waits raises
``errors.Deadlock`` (after timing out a futex wait that has a timeout, if
any: no guest time passes while every thread waits).  There is no fork.

Numbers are those of the generic syscall table (include/uapi/asm-generic/
unistd.h) that riscv64 uses.  A call not listed in ``Linux.handlers`` returns
``-ENOSYS`` and is counted in ``Linux.unknown_syscalls``.
"""
from __future__ import annotations

import errno
import posixpath
import random
import struct

from rvai.emu import errors
from rvai.emu.record import Record

PAGE = 4096
READ_CHUNK = 1 << 20          # at most this much of stdin per read, as a pipe gives
# Anonymous mmaps go bottom-up from here: far from the executable, the host
# arena of Machine.alloc and the stack (which ends at 0x7fff_ffff_0000).
MMAP_BASE = 0x4000_0000_0000
ADDRESS_SPACE = 1 << 47       # a user address space of Sv48: no mapping reaches past it
CPU_HZ = 1_000_000_000        # emulated clock: one cycle is one nanosecond
EPOCH = 1_700_000_000         # CLOCK_REALTIME at cycle 0 (2023-11-14)
PID = 1000                    # the process and thread id the guest sees
UID = GID = 1000
STACK_RLIMIT = 8 << 20
RLIM_INFINITY = (1 << 64) - 1

# auxv tags (include/uapi/linux/auxvec.h)
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = 23, 25, 26, 31
# AT_HWCAP on riscv: bit (letter - 'A') for each single-letter extension.
HWCAP = sum(1 << (ord(c) - ord("A")) for c in "IMAFDCV")

# flags and constants the handlers interpret
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_FIXED, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 0x10, 0x20, 0x100000
AT_EMPTY_PATH = 0x1000
S_IFCHR = 0o020000
FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_BITSET_ANY = 0xFFFF_FFFF
CLONE_VM, CLONE_THREAD, CLONE_SETTLS = 0x100, 0x10000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x100000, 0x200000, 0x1000000
F_GETFD, F_GETFL = 1, 3
_MASK64 = (1 << 64) - 1


class ProgramExit(Exception):
    """Raised by exit/exit_group (or a fatal signal) to end Machine.run."""

    def __init__(self, code: int, signal: int | None = None):
        super().__init__(code)
        self.code, self.signal = code, signal


class _Thread(Record):
    """What the kernel keeps of one thread: its id, the CLONE_CHILD_CLEARTID /
    set_tid_address word, and while it waits in futex, (address, bitset, timed)."""

    __slots__ = ("tid", "clear_tid", "waits")

    def __init__(self, tid: int, clear_tid: int = 0, waits: tuple[int, int, bool] | None = None):
        self.tid = tid
        self.clear_tid = clear_tid
        self.waits = waits


class RunResult(Record):
    """What a run of a program gave: ``exit_code`` (0-255; 128+n when killed by
    signal n, as a shell reports it), its captured ``stdout``/``stderr``,
    ``instret``/``cycles`` of the run, the ``signal`` that killed it (or None)
    and the unknown system calls it made (number -> count)."""

    __slots__ = ("exit_code", "stdout", "stderr", "instret", "cycles", "signal", "unknown_syscalls")

    def __init__(self, exit_code: int, stdout: bytes, stderr: bytes, instret: int, cycles: int,
                 signal: int | None = None, unknown_syscalls: dict[int, int] | None = None):
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.instret = instret
        self.cycles = cycles
        self.signal = signal
        self.unknown_syscalls = {} if unknown_syscalls is None else unknown_syscalls


def _perms(prot: int) -> str:
    return "".join(c for c, bit in (("r", PROT_READ), ("w", PROT_WRITE), ("x", PROT_EXEC))
                   if prot & bit)


def _page_up(v: int) -> int:
    return (v + PAGE - 1) & ~(PAGE - 1)


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


class Linux:
    """The system-call layer of one process running on ``machine``.

    ``stdin`` is bytes, or a binary file object read on demand (the CLI passes
    the host's stdin).  ``stdout``/``stderr`` are optional binary file objects
    that receive the guest's output as it is written; with ``capture`` (the
    default) it is also kept in the ``out``/``err`` buffers, which grow with
    the output, so a caller that only streams passes ``capture=False``.
    ``seed`` seeds AT_RANDOM and getrandom.
    ``exe_path`` is what readlink("/proc/self/exe") and AT_EXECFN give
    (argv[0] by default).
    """

    def __init__(self, machine, *, stdin=b"", stdout=None, stderr=None, seed: int = 0,
                 exe_path: str | None = None, capture: bool = True):
        self.m = machine
        self.stdin = stdin
        self._stdin_pos = 0
        self.out, self.err = bytearray(), bytearray()
        self.capture = capture
        self._sinks = {1: stdout, 2: stderr}
        self._random = random.Random(seed)
        self.exe_path = exe_path
        self.closed: set[int] = set()
        self.unknown_syscalls: dict[int, int] = {}
        self.brk_start = self.brk = self._brk_mapped = 0
        self._mmap_next = MMAP_BASE
        # machine thread number -> _Thread; the first thread is the process (tid == pid)
        self.threads: dict[int, _Thread] = {machine.thread: _Thread(PID)}
        self._next_tid = PID + 1
        self._waiters: list[int] = []     # threads blocked in futex, in the order they began waiting
        self.handlers = {
            17: self._getcwd, 25: self._fcntl, 29: self._ioctl, 56: self._openat,
            57: self._close, 62: self._lseek, 63: self._read, 64: self._write,
            65: self._readv, 66: self._writev, 78: self._readlinkat, 79: self._newfstatat,
            80: self._fstat, 93: self._exit_thread, 94: self._exit, 96: self._set_tid_address,
            98: self._futex, 99: self._zero, 113: self._clock_gettime,
            122: self._zero, 123: self._sched_getaffinity, 124: self._sched_yield,
            129: self._kill, 130: self._tkill, 131: self._tgkill,
            132: self._zero, 134: self._rt_sigaction, 135: self._rt_sigprocmask,
            160: self._uname, 163: self._getrlimit, 169: self._gettimeofday,
            172: self._getpid, 173: self._getppid, 174: self._getuid, 175: self._getuid,
            176: self._getgid, 177: self._getgid, 178: self._gettid, 179: self._sysinfo, 214: self._brk,
            168: self._getcpu, 215: self._munmap, 216: self._enosys, 220: self._clone, 222: self._mmap,
            226: self._mprotect, 233: self._zero, 258: self._enosys, 261: self._prlimit64,
            278: self._getrandom, 293: self._enosys, 435: self._enosys,
        }

    # ---- process start -----------------------------------------------------
    def start(self, image, argv: list[str], env: dict[str, str], stack_top: int) -> None:
        """Set up the process for ``image``: program break after its highest
        segment, the initial stack at ``stack_top`` per the Linux/RISC-V ABI,
        registers zeroed but sp, pc at the entry point."""
        if self.exe_path is None:
            self.exe_path = argv[0]
        self.brk_start = self.brk = self._brk_mapped = _page_up(
            max(s.addr + s.memsz for s in image.segments))
        top = stack_top

        def push_bytes(data: bytes) -> int:
            nonlocal top
            top -= len(data)
            self.m.write(top, data)
            return top

        execfn = push_bytes(self.exe_path.encode() + b"\0")
        argv_ptrs = [push_bytes(a.encode() + b"\0") for a in argv]
        env_ptrs = [push_bytes(f"{k}={v}".encode() + b"\0") for k, v in env.items()]
        platform = push_bytes(b"riscv64\0")
        top &= ~15
        at_random = push_bytes(self._random.randbytes(16))
        auxv = [
            (AT_PHDR, image.phdr_addr or 0), (AT_PHENT, image.phent), (AT_PHNUM, image.phnum),
            (AT_PAGESZ, PAGE), (AT_BASE, 0), (AT_FLAGS, 0), (AT_ENTRY, image.entry),
            (AT_UID, UID), (AT_EUID, UID), (AT_GID, GID), (AT_EGID, GID),
            (AT_PLATFORM, platform), (AT_HWCAP, HWCAP), (AT_CLKTCK, 100), (AT_SECURE, 0),
            (AT_RANDOM, at_random), (AT_HWCAP2, 0), (AT_EXECFN, execfn), (AT_NULL, 0),
        ]
        words = [len(argv), *argv_ptrs, 0, *env_ptrs, 0, *(v for pair in auxv for v in pair)]
        sp = (top - 8 * len(words)) & ~15
        self.m.write(sp, struct.pack(f"<{len(words)}Q", *words))
        for i in range(1, 32):
            self.m.x(i, 0)
        for i in range(32):
            self.m.f(i, 0)
        self.m.x(2, sp)
        self.m.pc = image.entry

    # ---- dispatch ------------------------------------------------------------
    def syscall(self, nr: int, args: list[int]) -> int:
        """Serve system call ``nr`` with raw register arguments a0-a5; return
        a0 (a negative errno on failure).  Exit raises ProgramExit."""
        handler = self.handlers.get(nr)
        if handler is None:
            self.unknown_syscalls[nr] = self.unknown_syscalls.get(nr, 0) + 1
            return -errno.ENOSYS
        try:
            return handler(*args)
        except (errors.LoadFault, errors.StoreFault):
            return -errno.EFAULT    # a bad guest pointer handed to the kernel

    # guest memory helpers
    def _cstring(self, addr: int, limit: int = 4096) -> bytes:
        out = bytearray()
        while len(out) < limit:
            chunk = self.m.read_bytes(addr + len(out), min(64, PAGE - (addr + len(out)) % PAGE))
            nul = chunk.find(b"\0")
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
        return bytes(out)

    def _iovecs(self, iov: int, count: int) -> list[tuple[int, int]]:
        if count > 1024:
            raise _Errno(errno.EINVAL)
        raw = self.m.read_bytes(iov, 16 * count)
        return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]

    # ---- files ---------------------------------------------------------------
    def _std(self, fd: int) -> bool:
        return fd in (0, 1, 2) and fd not in self.closed

    def _emit(self, fd: int, data: bytes) -> None:
        if self.capture:
            (self.out if fd == 1 else self.err).extend(data)
        sink = self._sinks[fd]
        if sink is not None:
            sink.write(data)
            sink.flush()

    def _write(self, fd, buf, count, *_):
        if not self._std(fd) or fd == 0:
            return -errno.EBADF
        self._emit(fd, self.m.read_bytes(buf, count))
        return count

    def _writev(self, fd, iov, count, *_):
        if not self._std(fd) or fd == 0:
            return -errno.EBADF
        try:
            data = b"".join(self.m.read_bytes(b, n) for b, n in self._iovecs(iov, count))
        except _Errno as e:
            return -e.errno
        self._emit(fd, data)
        return len(data)

    def _take_stdin(self, n: int) -> bytes:
        if isinstance(self.stdin, (bytes, bytearray)):
            data = bytes(self.stdin[self._stdin_pos:self._stdin_pos + n])
            self._stdin_pos += len(data)
            return data
        return getattr(self.stdin, "read1", self.stdin.read)(n)

    def _read(self, fd, buf, count, *_):
        if fd != 0 or not self._std(fd):
            return -errno.EBADF
        data = self._take_stdin(min(count, READ_CHUNK))
        self.m.write(buf, data)
        return len(data)

    def _readv(self, fd, iov, count, *_):
        if fd != 0 or not self._std(fd):
            return -errno.EBADF
        try:
            vecs = self._iovecs(iov, count)
        except _Errno as e:
            return -e.errno
        total = 0
        for base, n in vecs:
            data = self._take_stdin(min(n, READ_CHUNK))
            self.m.write(base, data)
            total += len(data)
            if len(data) < n:
                break
        return total

    def _close(self, fd, *_):
        if not self._std(fd):
            return -errno.EBADF
        self.closed.add(fd)
        return 0

    def _openat(self, *_):
        return -errno.ENOENT    # no host file system: runs stay hermetic

    def _lseek(self, fd, *_):
        return -errno.ESPIPE if self._std(fd) else -errno.EBADF

    def _ioctl(self, fd, *_):
        return -errno.ENOTTY if self._std(fd) else -errno.EBADF   # not a terminal

    def _fcntl(self, fd, cmd, *_):
        if not self._std(fd):
            return -errno.EBADF
        return {F_GETFD: 0, F_GETFL: 0 if fd == 0 else 1}.get(cmd, -errno.EINVAL)

    def _stat_of(self, fd: int, statbuf: int) -> int:
        """struct stat (asm-generic/stat.h, 128 bytes) of a character device."""
        if not self._std(fd):
            return -errno.EBADF
        st = bytearray(128)
        struct.pack_into("<QQIIII", st, 0, 0x16, 3 + fd, S_IFCHR | 0o620, 1, UID, GID)
        struct.pack_into("<Q", st, 32, 0x8800 + fd)        # st_rdev
        struct.pack_into("<i", st, 56, PAGE)               # st_blksize
        self.m.write(statbuf, bytes(st))
        return 0

    def _fstat(self, fd, statbuf, *_):
        return self._stat_of(fd, statbuf)

    def _newfstatat(self, dirfd, path, statbuf, flags, *_):
        if flags & AT_EMPTY_PATH and self._cstring(path) == b"":
            return self._stat_of(_signed(dirfd) & 0xFFFFFFFF, statbuf)
        return -errno.ENOENT

    def _readlinkat(self, dirfd, path, buf, size, *_):
        if self._cstring(path) != b"/proc/self/exe":
            return -errno.ENOENT
        # The kernel resolves /proc/self/exe to an absolute path (glibc asserts
        # it starts with '/'); the guest's working directory is "/" (getcwd).
        target = posixpath.join("/", self.exe_path).encode()[:size]
        self.m.write(buf, target)
        return len(target)

    def _getcwd(self, buf, size, *_):
        if size < 2:
            return -errno.ERANGE
        self.m.write(buf, b"/\0")
        return 2

    # ---- process ---------------------------------------------------------------
    def _exit(self, code, *_):
        raise ProgramExit(code & 0xFF)

    def _die(self, sig: int) -> int:
        if sig == 0:
            return 0    # signal 0 only probes that the process exists
        raise ProgramExit(128 + sig, signal=sig)   # no handlers run: default action

    def _live_tids(self) -> set[int]:
        return {t.tid for i, t in self.threads.items() if self.m.thread_state(i) != "exited"}

    def _kill(self, pid, sig, *_):
        return self._die(sig) if _signed(pid) in (PID, 0, -1) else -errno.ESRCH

    def _tkill(self, tid, sig, *_):
        return self._die(sig) if tid in self._live_tids() else -errno.ESRCH

    def _tgkill(self, tgid, tid, sig, *_):
        return self._die(sig) if tgid == PID and tid in self._live_tids() else -errno.ESRCH

    def _getpid(self, *_):
        return PID

    def _gettid(self, *_):
        return self.threads[self.m.thread].tid

    def _getppid(self, *_):
        return 1

    def _getuid(self, *_):
        return UID

    def _getgid(self, *_):
        return GID

    def _zero(self, *_):
        return 0

    def _enosys(self, *_):
        return -errno.ENOSYS    # known, deliberately unsupported (glibc falls back)

    def _rt_sigaction(self, sig, act, oldact, *_):
        if oldact:
            self.m.write(oldact, bytes(24))    # SIG_DFL, no flags, empty mask
        return 0

    def _rt_sigprocmask(self, how, new, old, size, *_):
        if old:
            self.m.write(old, bytes(min(size, 128)))
        return 0

    # ---- threads -----------------------------------------------------------------
    def _clone(self, flags, stack, ptid, tls, ctid, *_):
        """clone(flags, stack, parent_tid, tls, child_tid): a thread sharing the
        address space; the child returns 0 on ``stack``, the parent its tid."""
        if flags & (CLONE_VM | CLONE_THREAD) != CLONE_VM | CLONE_THREAD:
            return -errno.ENOSYS    # fork: one address space per Machine
        parent = self.m.thread
        child = self.m.new_thread()    # the parent's registers, pc at this ecall
        tid = self._next_tid
        self._next_tid += 1
        self.threads[child] = _Thread(tid, ctid if flags & CLONE_CHILD_CLEARTID else 0)
        for flag, addr in ((CLONE_PARENT_SETTID, ptid), (CLONE_CHILD_SETTID, ctid)):
            if flags & flag:
                self.m.write(addr, tid.to_bytes(4, "little"))
        self.m.select_thread(child)
        self.m.x(10, 0)
        if stack:
            self.m.x(2, stack)
        if flags & CLONE_SETTLS:
            self.m.x(4, tls)
        self.m.pc = self.m.pc + 4
        self.m.select_thread(parent)
        return tid

    def _set_tid_address(self, addr, *_):
        me = self.threads[self.m.thread]
        me.clear_tid = addr
        return me.tid

    def _exit_thread(self, code, *_):
        """exit: the calling thread ends; the last one ends the process with its code.
        Its CLONE_CHILD_CLEARTID word is zeroed and a waiter there woken (pthread_join)."""
        me = self.m.thread
        if len(self._live_tids()) == 1:
            raise ProgramExit(code & 0xFF)
        clear = self.threads[me].clear_tid
        if clear:
            try:
                self.m.write(clear, bytes(4))
                self._wake(clear, 1, FUTEX_BITSET_ANY)
            except errors.StoreFault:
                pass    # Linux ignores a bad address here too
        self.m.set_thread_state(me, "exited")
        return 0

    def _sched_yield(self, *_):
        self.m.yield_thread()
        return 0

    def _sched_getaffinity(self, pid, size, mask, *_):
        """Every hart is in the mask: how glibc's get_nprocs and libgomp count CPUs."""
        nbytes = (self.m.harts + 63) // 64 * 8
        if size < nbytes or size % 8:
            return -errno.EINVAL
        self.m.write(mask, ((1 << self.m.harts) - 1).to_bytes(nbytes, "little"))
        return nbytes

    def _getcpu(self, cpu, node, *_):
        if cpu:
            self.m.write(cpu, self.m.thread_hart(self.m.thread).to_bytes(4, "little"))
        if node:
            self.m.write(node, bytes(4))
        return 0

    def _futex(self, uaddr, op, val, timeout, uaddr2, val3):
        cmd = op & 0x7F    # without FUTEX_PRIVATE_FLAG / FUTEX_CLOCK_REALTIME
        val &= 0xFFFF_FFFF
        if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
            bitset = val3 & 0xFFFF_FFFF if cmd == FUTEX_WAIT_BITSET else FUTEX_BITSET_ANY
            if not bitset or uaddr % 4:
                return -errno.EINVAL
            if self._word(uaddr) != val:
                return -errno.EAGAIN
            me = self.m.thread
            self.threads[me].waits = (uaddr, bitset, bool(timeout))
            self._waiters.append(me)
            self.m.set_thread_state(me, "blocked")
            return 0    # what the thread sees when it is woken
        if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
            bitset = val3 & 0xFFFF_FFFF if cmd == FUTEX_WAKE_BITSET else FUTEX_BITSET_ANY
            return self._wake(uaddr, val, bitset) if bitset else -errno.EINVAL
        if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
            if cmd == FUTEX_CMP_REQUEUE and self._word(uaddr) != val3 & 0xFFFF_FFFF:
                return -errno.EAGAIN
            woken = self._wake(uaddr, val, FUTEX_BITSET_ANY)
            moved = 0
            for i in self._waiters:    # `timeout` carries val2, the most to requeue
                t = self.threads[i]
                if moved < timeout & 0xFFFF_FFFF and t.waits[0] == uaddr:
                    t.waits = (uaddr2, *t.waits[1:])
                    moved += 1
            return woken + (moved if cmd == FUTEX_CMP_REQUEUE else 0)
        return -errno.ENOSYS

    def _word(self, addr: int) -> int:
        return int.from_bytes(self.m.read_bytes(addr, 4), "little")

    def _wake(self, uaddr: int, count: int, bitset: int) -> int:
        """Wake up to ``count`` threads waiting on ``uaddr`` whose bitset meets ``bitset``, oldest first."""
        woken = [i for i in self._waiters
                 if self.threads[i].waits[0] == uaddr and self.threads[i].waits[1] & bitset][:count]
        for i in woken:
            self._resume(i)
        return len(woken)

    def _resume(self, i: int) -> None:
        self._waiters.remove(i)
        self.threads[i].waits = None
        self.m.set_thread_state(i, "runnable")

    def time_out_a_waiter(self) -> bool:
        """Every thread waits: end the oldest futex wait that has a timeout with
        ETIMEDOUT (no guest time passes meanwhile).  False when none has one."""
        for i in self._waiters:
            if self.threads[i].waits[2]:
                self._resume(i)
                current = self.m.thread
                self.m.select_thread(i)
                self.m.x(10, -errno.ETIMEDOUT & _MASK64)
                self.m.select_thread(current)
                return True
        return False

    def waiting_for(self, i: int) -> str | None:
        """What thread ``i`` waits for, as text, or None."""
        t = self.threads.get(i)
        return f"futex 0x{t.waits[0]:x}" if t is not None and t.waits else None

    def _uname(self, buf, *_):
        fields = [b"Linux", b"rvai", b"6.6.0", b"#1 SMP rvai", b"riscv64", b"(none)"]
        self.m.write(buf, b"".join(f.ljust(65, b"\0") for f in fields))
        return 0

    def _rlimit(self, resource: int) -> tuple[int, int]:
        return (STACK_RLIMIT, RLIM_INFINITY) if resource == 3 else (RLIM_INFINITY, RLIM_INFINITY)

    def _getrlimit(self, resource, old, *_):
        self.m.write(old, struct.pack("<QQ", *self._rlimit(resource)))
        return 0

    def _prlimit64(self, pid, resource, new, old, *_):
        if pid not in (0, PID):
            return -errno.ESRCH
        if old:
            self.m.write(old, struct.pack("<QQ", *self._rlimit(resource)))
        return 0    # new limits are accepted and ignored

    def _getrandom(self, buf, count, *_):
        count = min(count, 1 << 25)
        self.m.write(buf, self._random.randbytes(count))
        return count

    def _sysinfo(self, info, *_):
        """struct sysinfo (112 bytes on 64-bit): the Machine's memory limit as
        RAM, half of it free (glibc's qsort sizes its buffer from it)."""
        st = bytearray(112)
        ram = self.m.mem_limit
        struct.pack_into("<q", st, 0, self._now_ns() // 1_000_000_000)    # uptime
        struct.pack_into("<QQ", st, 32, ram, ram // 2)                      # totalram, freeram
        struct.pack_into("<H", st, 80, 1)                                   # procs
        struct.pack_into("<I", st, 104, 1)                                  # mem_unit
        self.m.write(info, bytes(st))
        return 0

    # ---- time (from the cycle counter, so runs are reproducible) -------------------
    def _now_ns(self) -> int:
        return self.m.cycles * (1_000_000_000 // CPU_HZ)

    def _clock_gettime(self, clock, ts, *_):
        ns = self._now_ns() + (EPOCH * 1_000_000_000 if clock in (0, 8, 11) else 0)  # REALTIME kinds
        self.m.write(ts, struct.pack("<qq", ns // 1_000_000_000, ns % 1_000_000_000))
        return 0

    def _gettimeofday(self, tv, tz, *_):
        if tv:
            ns = self._now_ns() + EPOCH * 1_000_000_000
            self.m.write(tv, struct.pack("<qq", ns // 1_000_000_000, ns % 1_000_000_000 // 1000))
        return 0

    # ---- memory ----------------------------------------------------------------
    def _brk(self, addr, *_):
        """Move the program break; like Linux, answer the (unchanged) break on failure."""
        if addr < self.brk_start:
            return self.brk
        want = _page_up(addr)
        try:
            if want > self._brk_mapped:
                self.m.map(self._brk_mapped, want - self._brk_mapped, "rw")
            elif want < self._brk_mapped:
                self.m.unmap(want, self._brk_mapped - want)
        except (ValueError, MemoryError):
            return self.brk    # something is mapped in the way, or past the memory limit
        self._brk_mapped, self.brk = want, addr
        return self.brk

    def _free(self, addr: int, size: int) -> bool:
        return all(b + n <= addr or addr + size <= b for b, n, _ in self.m.regions())

    def _mmap(self, addr, length, prot, flags, fd, offset):
        if not flags & MAP_ANONYMOUS:
            return -errno.ENODEV     # no files to map
        if length == 0 or addr % PAGE:
            return -errno.EINVAL
        if length > ADDRESS_SPACE:
            return -errno.ENOMEM
        size = _page_up(length)
        if flags & MAP_FIXED_NOREPLACE and not self._free(addr, size):
            return -errno.EEXIST
        try:
            if flags & MAP_FIXED:
                self.m.unmap(addr, size)    # a fixed mapping replaces what was there
            elif not (addr and addr + size <= ADDRESS_SPACE and self._free(addr, size)):
                addr = self.m.find_free(size, self._mmap_next)
                self._mmap_next = addr + size
            self.m.map(addr, size, _perms(prot))
        except (ValueError, MemoryError):
            return -errno.ENOMEM    # no room, or past the Machine's memory limit
        return addr

    def _munmap(self, addr, length, *_):
        if addr % PAGE or length == 0 or length > ADDRESS_SPACE:
            return -errno.EINVAL
        try:
            self.m.unmap(addr, _page_up(length))
        except ValueError:
            return -errno.EINVAL
        return 0

    def _mprotect(self, addr, length, prot, *_):
        if addr % PAGE:
            return -errno.EINVAL
        if length == 0:
            return 0
        if length > ADDRESS_SPACE:
            return -errno.ENOMEM
        try:
            self.m.protect(addr, _page_up(length), _perms(prot))
        except ValueError:
            return -errno.ENOMEM    # part of the range is not mapped
        return 0


class _Errno(Exception):
    """An errno a helper wants its system call to return."""

    def __init__(self, code: int):
        super().__init__(code)
        self.errno = code
