"""``Machine``: one emulated RV64GCV hart with its memory, driven from Python.

The per-instruction work happens in the C core (``rvai._rvemu``); this module
places programs and data in guest memory, follows the psABI for calls, turns
stops into exceptions and hands system calls to the Linux layer.
"""
from __future__ import annotations

import functools
import math
import os
import signal
import sys
import threading
from collections.abc import Callable

from rvai._rvemu import ffi, lib
from rvai.emu import checks, errors

# Guest address-space layout.  Page 0 is never mapped, so HALT_ADDR (the return
# address of a host call) cannot collide with code.
HALT_ADDR = 0x10
LOAD_BASE = 0x10000
ARENA_BASE = 0x2000_0000_00
ARENA_CHUNK = 1 << 20
STACK_TOP = 0x7FFF_FFFF_0000
STACK_SIZE = 8 << 20
# The stacks of call_threads' threads beyond the first, below the main stack.
THREAD_STACKS = 0x7000_0000_0000
THREAD_STACK_SIZE = 1 << 20
DEFAULT_BUDGET = 10_000_000_000
DEFAULT_MEM_LIMIT = 4 << 30    # guest bytes mapped at once (docs/limits.md)
PAGE = 4096

_PERMS = {"r": lib.RV_PERM_R, "w": lib.RV_PERM_W, "x": lib.RV_PERM_X}
_FAULTS = {
    lib.RV_STOP_FETCH: errors.FetchFault,
    lib.RV_STOP_ILLEGAL: errors.IllegalInstruction,
    lib.RV_STOP_LOAD: errors.LoadFault,
    lib.RV_STOP_STORE: errors.StoreFault,
    lib.RV_STOP_MISALIGNED: errors.MisalignedAccess,
    lib.RV_STOP_EBREAK: errors.Breakpoint,
    lib.RV_STOP_BUDGET: errors.BudgetExceeded,
    lib.RV_STOP_TIMEOUT: errors.TimeLimitExceeded,
    lib.RV_STOP_INTERRUPT: errors.Interrupted,
    lib.RV_STOP_DEADLOCK: errors.Deadlock,
}
# Stops that happen between instructions, not because of the one at pc.
_BETWEEN = (lib.RV_STOP_BUDGET, lib.RV_STOP_TIMEOUT, lib.RV_STOP_INTERRUPT, lib.RV_STOP_DEADLOCK)
MAX_HARTS = 64
_THREAD_STATES = {lib.RV_THREAD_RUNNABLE: "runnable", lib.RV_THREAD_BLOCKED: "blocked",
                  lib.RV_THREAD_EXITED: "exited"}
_MASK64 = (1 << 64) - 1
# The return kinds of call(): how a0/fa0 is read.
_RETURN_KINDS = (None, "i64", "u64", "i32", "f64", "f32", "f16")


class f32(float):
    """A Python float to be passed to a guest function as single precision."""


class f16(float):
    """A Python float to be passed to a guest function as half precision."""


def perms_of(text: str) -> int:
    """The C core's permission bits for a string such as ``"rx"``."""
    return checks.perms(text, _PERMS)


def _ndarray(value) -> bool:
    """Is value a NumPy array?  (Without importing NumPy: none exists before it is.)"""
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray)


def _round_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def _serialised(method):
    """The method runs holding its Machine's ``lock``, so that calls from several
    threads take turns instead of meeting inside the C core."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return locked




#: Execution tiers: interpret everything, or translate hot blocks (rvai.emu.translate).
TIERS = ("interpret", "translate")
#: The tier of a machine that names none (nor ``RVAI_TIER``): hot loops run translated (scalar
#: and vector integer loops 7-20x faster than interpreted, vector FP about as fast: bench/emu_speed.py),
#: with results identical to the interpreter's (docs/performance.md, def66).
DEFAULT_TIER = "translate"


class Machine:
    """An RV64GCV hart with a guest address space.

    ``Machine(vlen=256)`` or ``Machine(target)`` where target is a
    ``rvai.Target`` (or a preset name); ``vlen`` overrides the target's.
    ``tail_ones=True`` fills tail- and mask-agnostic elements with all ones, as
    the RVV spec allows, to catch code that relies on their contents.
    ``budget`` bounds the instructions of each call or run and ``timeout``
    (seconds, None for none) its wall time; both can be overridden per call.
    ``mem_limit`` caps the guest memory mapped at once (bytes, 4 GiB by
    default): past it map/alloc raise GuestMemoryError and the guest's
    mmap/brk fail with ENOMEM.
    ``timed=True`` runs the timing model of the target's ``[model]`` table
    (see ``set_timed`` and ``profile``).
    ``harts`` is the number of harts sharing the memory (the target's, else 1); the
    threads a guest program creates (``clone``) run on them, interleaved
    deterministically every ``quantum`` instructions (docs/harts.md).
    ``tier="translate"``, the default (unless ``RVAI_TIER`` in the environment
    names another when ``tier`` is None), translates hot blocks to host code
    (``rvai.emu.translate``: once a block has run about as long interpreted as
    translating it costs) in the functional and the timed mode (the timed one
    not with ``RVAI_JIT_TIMED=0``); ``"interpret"`` interprets everything.
    Both give identical results.  With a target, the instructions of
    the switchable extensions it lacks (``Target.extensions``) are illegal;
    without one, the machine has every extension the emulator implements.

    A Machine may be shared between threads: its public methods take turns on
    ``lock`` (an RLock; hold it to make a sequence of calls atomic), and
    ``interrupt()`` stops a run from any thread without waiting for it.
    Separate Machines run in parallel (the C core runs without the GIL).
    """

    def __init__(self, target=None, *, vlen: int | None = None, tail_ones: bool = False,
                 budget: int = DEFAULT_BUDGET, timeout: float | None = None,
                 mem_limit: int = DEFAULT_MEM_LIMIT, timed: bool = False, harts: int | None = None,
                 quantum: int | None = None, tier: str | None = None):
        if target is not None:
            from rvai.target import Target
            target = Target.of(target)   # None stays None: a machine of no target has every extension
        self.target = target
        if vlen is None:
            vlen = target.vlen if target is not None else 256
        vlen = checks.integer(vlen, "vlen")
        if vlen < 64 or vlen > 4096 or vlen & (vlen - 1):
            raise ValueError(f"vlen must be a power of two from 64 to 4096, not {vlen}")
        self.vlen = vlen
        self.budget = checks.budget(budget)
        self.timeout = checks.timeout(timeout)
        self.mem_limit = checks.size(mem_limit, "mem_limit", STACK_SIZE)
        self.lock = threading.RLock()
        self._m = ffi.gc(lib.rv_create(vlen), lib.rv_destroy)
        if self._m == ffi.NULL:
            raise MemoryError("could not create the emulated hart")
        lib.rv_set_tail_ones(self._m, int(bool(tail_ones)))
        lib.rv_set_mem_limit(self._m, self.mem_limit)
        lib.rv_set_halt_pc(self._m, HALT_ADDR)
        harts = checks.integer(harts if harts is not None else target.harts if target is not None else 1, "harts")
        if not 1 <= harts <= MAX_HARTS:
            raise ValueError(f"harts must be from 1 to {MAX_HARTS}, not {harts}")
        lib.rv_set_harts(self._m, harts)
        self.harts = harts
        if quantum is not None:
            quantum = checks.integer(quantum, "quantum")
            if quantum < 1:
                raise ValueError(f"quantum must be at least one instruction, not {quantum}")
            lib.rv_set_quantum(self._m, quantum)
        tier = os.environ.get("RVAI_TIER") or DEFAULT_TIER if tier is None else tier
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
        self.tier = tier
        self._translator = None
        if tier == "translate":
            from rvai.emu.translate import Translator
            self._translator = Translator(self._m)
        if target is not None:   # the extensions the target lacks: their instructions are illegal here
            from rvai.emu import isa
            lib.rv_set_extensions_off(self._m, sum(1 << i for i, e in enumerate(isa.extensions())
                                                   if i and e not in target.extensions))
        self._stop = ffi.new("rv_stop *")
        self.symbols: dict[str, int] = {}
        self.images = []
        self._arena_next = self._arena_end = ARENA_BASE
        self.map(STACK_TOP - STACK_SIZE, STACK_SIZE, "rw")
        self.os = None   # the Linux personality, created on the first ecall
        self._thread_stacks: list[int] = []   # tops of call_threads' stacks
        self._halt_ends_thread = False        # call_threads: reaching HALT_ADDR ends a thread
        self.timed = False
        self.model: dict = {}
        if timed:
            self.set_timed(True)

    # ---- memory ----------------------------------------------------------
    @_serialised
    def map(self, addr: int, size: int, perms: str) -> None:
        """Map ``size`` bytes at page-aligned ``addr`` with permissions like ``"rw"``.
        ValueError when the range overlaps a mapping; GuestMemoryError past ``mem_limit``."""
        addr, size = checks.mapping(addr, size)
        status = lib.rv_map(self._m, addr, size, perms_of(perms))
        if status == lib.RV_ENOMEM:
            raise errors.GuestMemoryError(
                f"cannot map 0x{addr:x}+0x{size:x}: {lib.rv_mem_mapped(self._m):#x} bytes are mapped "
                f"and the guest memory limit is {self.mem_limit:#x} (Machine(mem_limit=...), rvai run --mem), "
                f"or the host is out of memory")
        if status:
            raise ValueError(f"cannot map 0x{addr:x}+0x{size:x}: overlaps a mapped region "
                             f"(or too many regions)")

    @_serialised
    def unmap(self, addr: int, size: int) -> None:
        """Unmap the pages of [addr, addr+size) (page-aligned addr); unmapped pages are skipped."""
        addr, size = checks.mapping(addr, size)
        if lib.rv_unmap(self._m, addr, size):
            raise ValueError(f"cannot unmap 0x{addr:x}+0x{size:x}: too many regions")

    @_serialised
    def protect(self, addr: int, size: int, perms: str) -> None:
        """Change the permissions of the mapped pages [addr, addr+size) to ``perms``."""
        addr, size = checks.mapping(addr, size)
        if lib.rv_protect(self._m, addr, size, perms_of(perms)):
            raise ValueError(f"cannot protect 0x{addr:x}+0x{size:x}: not all mapped")

    @_serialised
    def find_free(self, size: int, hint: int = LOAD_BASE) -> int:
        """A page-aligned guest address with ``size`` free bytes at or above ``hint``."""
        size, hint = checks.size(size, "size", 1), checks.address(hint, "hint")
        addr = lib.rv_find_free(self._m, hint, size)
        if not addr:
            raise MemoryError(f"no free guest range of 0x{size:x} bytes")
        return addr

    def _free(self, image) -> bool:
        if not image.segments:
            return True
        lo, hi = _extent(image)
        return all(b + n <= lo or hi <= b for b, n, _ in self.regions())

    @_serialised
    def regions(self) -> list[tuple[int, int, str]]:
        """The mapped regions as (base, size, perms) tuples, in address order."""
        out, i = [], 0
        base, size, perms = ffi.new("uint64_t *"), ffi.new("uint64_t *"), ffi.new("unsigned *")
        while lib.rv_region(self._m, i, base, size, perms) == 0:
            p = "".join(c for c, bit in _PERMS.items() if perms[0] & bit)
            out.append((base[0], size[0], p))
            i += 1
        return out

    @_serialised
    def alloc(self, nbytes, align: int = 64) -> int:
        """Reserve guest memory (read/write) and return its address.

        ``nbytes`` may be an ndarray (of a plain numeric dtype): the array is
        then copied in as well.  ``align`` is a power of two.
        """
        array = nbytes if _ndarray(nbytes) else None
        if array is not None:
            checks.plain_dtype(array.dtype)
            n = array.nbytes
        else:
            n = checks.size(nbytes, "nbytes")
        align = checks.power_of_two(align, "align")
        addr = _round_up(self._arena_next, align)
        if addr + n > self._arena_end:
            grow = _round_up(addr + n - self._arena_end, ARENA_CHUNK)
            self.map(self._arena_end, grow, "rw")
            self._arena_end += grow
        self._arena_next = addr + max(n, 1)
        if array is not None:
            self.write(addr, array)
        return addr

    @_serialised
    def write(self, addr: int, data) -> None:
        """Copy an ndarray of a plain numeric dtype (as C-contiguous little-endian
        elements) or a bytes-like object into guest memory."""
        addr = checks.address(addr)
        if _ndarray(data):
            import numpy as np
            data = np.ascontiguousarray(data, dtype=checks.plain_dtype(data.dtype))
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write takes an ndarray or bytes, not {type(data).__name__}")
        buf = ffi.from_buffer(data)
        if len(buf) and lib.rv_poke(self._m, addr, buf, len(buf)):
            raise errors.StoreFault(self.pc, addr, detail=f"host write of {len(buf)} bytes to unmapped memory")

    @_serialised
    def read(self, addr: int, dtype="uint8", shape=None):
        """A new ndarray of ``dtype`` (a plain numeric one) and ``shape`` read
        from guest memory at ``addr``."""
        import numpy as np
        addr, dtype = checks.address(addr), checks.plain_dtype(dtype)
        shape = (shape,) if not isinstance(shape, (tuple, list)) and shape is not None else tuple(shape or (1,))
        shape = tuple(checks.size(n, "shape") for n in shape)
        self._check_readable(addr, math.prod(shape) * dtype.itemsize)
        out = np.empty(shape, dtype)
        if out.nbytes:
            lib.rv_peek(self._m, addr, ffi.from_buffer(out), out.nbytes)
        return out

    @_serialised
    def read_bytes(self, addr: int, n: int) -> bytes:
        """``n`` raw bytes of guest memory."""
        addr, n = checks.address(addr), checks.size(n, "n")
        self._check_readable(addr, n)
        buf = ffi.new("uint8_t[]", n)
        if n:
            lib.rv_peek(self._m, addr, buf, n)
        return ffi.buffer(buf)[:]

    def _check_readable(self, addr: int, n: int) -> None:
        """LoadFault unless [addr, addr+n) is all mapped: checked before any host
        buffer is made, so a huge n fails here rather than in the host's allocator."""
        if n and not lib.rv_is_mapped(self._m, addr, n):
            raise errors.LoadFault(self.pc, addr, detail=f"host read of {n} bytes from unmapped memory")

    @property
    def translation(self) -> dict | None:
        """What the translating tier did on this machine so far, or None in
        the interpreting tier: ``blocks`` installed, ``cached`` (those of them
        loaded from the object cache of translated code instead of compiled),
        ``seconds`` spent translating, and more (rvai.emu.translate's
        Translator.stats: ``vfp_calls``, the vector FP ops translated blocks
        left to C)."""
        return self._translator.stats() if self._translator is not None else None

    @property
    def vfp_path(self) -> str:
        """The code that runs vector FP add/sub/mul/div and multiply-adds
        (SEW 32/64, not RMM): ``"simd"`` (AVX2+FMA loops, csrc/vfp_simd.c),
        ``"portable"`` (plain host loops for add/sub/mul/div, element by element
        for the rest: hosts without AVX2+FMA, or ``RVAI_VFP_SIMD=0``) or
        ``"exact"`` (element by element, ``RVAI_VFP_EXACT=1``).  Read from the
        environment when the machine is created; every path gives identical results."""
        return ("simd", "portable", "exact")[lib.rv_vfp_path(self._m)]

    # ---- registers -------------------------------------------------------
    @property
    @_serialised
    def pc(self) -> int:
        """The program counter."""
        return lib.rv_get_pc(self._m)

    @pc.setter
    @_serialised
    def pc(self, value: int) -> None:
        lib.rv_set_pc(self._m, checks.word(value, "pc"))

    @_serialised
    def x(self, i: int, value: int | None = None) -> int:
        """Read integer register ``i`` (or write it when ``value`` is given)."""
        i = checks.register(i, "x register")
        if value is not None:
            lib.rv_set_x(self._m, i, checks.word(value, f"x{i} value"))
        return lib.rv_get_x(self._m, i)

    @_serialised
    def f(self, i: int, value: int | None = None) -> int:
        """Read the raw 64 bits of float register ``i`` (or write them)."""
        i = checks.register(i, "f register")
        if value is not None:
            lib.rv_set_f(self._m, i, checks.word(value, f"f{i} value"))
        return lib.rv_get_f(self._m, i)

    @_serialised
    def v(self, i: int, value: bytes | None = None) -> bytes:
        """Read the raw bytes of vector register ``i`` (or write them)."""
        i = checks.register(i, "v register")
        n = lib.rv_vlenb(self._m)
        if value is not None:
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError(f"a vector register takes bytes, not {type(value).__name__}")
            value = bytes(value)
            if len(value) != n:
                raise ValueError(f"a vector register holds {n} bytes, not {len(value)}")
            lib.rv_set_v(self._m, i, value)
        buf = ffi.new("uint8_t[]", n)
        lib.rv_get_v(self._m, i, buf)
        return bytes(buf)

    @_serialised
    def csr(self, number: int, value: int | None = None) -> int:
        """Read a user CSR (or write it) as the guest would."""
        number = checks.integer(number, "CSR number")
        if not 0 <= number < 4096:
            raise ValueError(f"CSR numbers are 12 bits, not {number:#x}")
        if value is not None and lib.rv_csr_write(self._m, number, checks.word(value, "CSR value")):
            raise ValueError(f"CSR 0x{number:x} is unknown or read-only")
        out = ffi.new("uint64_t *")
        if lib.rv_csr_read(self._m, number, out):
            raise ValueError(f"CSR 0x{number:x} is unknown")
        return out[0]

    # ---- loading ---------------------------------------------------------
    @_serialised
    def load_elf(self, src, base: int | None = None):
        """Load an ELF (path or bytes): a relocatable object is linked at a free
        address (or page-aligned ``base``), a static executable at its own
        addresses.  Returns the Image.  Whatever is wrong with the ELF, or with
        placing it in this Machine's memory, raises ``rvai.emu.elf.ElfError``
        (and nothing of it stays mapped); an unreadable file raises OSError."""
        from rvai.emu import elf
        data = src if isinstance(src, (bytes, bytearray, memoryview)) else open(os.fspath(src), "rb").read()
        data = bytes(data)
        if base is not None:
            base = checks.address(base, "base")
            if base % PAGE or base < PAGE:
                raise ValueError(f"base {base:#x} must be a page-aligned address above page 0")
        # Only relocatable objects link against the runtime routines, and only those
        # that name one; an executable brings its own and must find its fixed
        # addresses free.
        externals = {}
        if data[16:18] == elf.ET_REL.to_bytes(2, "little"):
            from rvai.emu import runtime
            if runtime.needed(data):
                externals = runtime.install(self)
        image = elf.load(data, base or LOAD_BASE, externals)
        if image.kind == "rel" and base is None and not self._free(image):
            # Link again where the whole image fits.
            lo, hi = _extent(image)
            try:
                where = self.find_free(hi - lo + PAGE)
            except MemoryError:
                raise elf.ElfError(f"no free guest range for the object's {hi - lo:#x} bytes") from None
            image = elf.load(data, where, externals)
        self._place(image)
        self.images.append(image)
        self.symbols.update(image.symbols)
        return image

    def _place(self, image) -> None:
        """Map and fill the image's segments, all or none."""
        from rvai.emu.elf import ElfError
        # Segments may share a page (two small read-only sections, e.g. constants and a
        # jump table): segments whose page ranges overlap are mapped once, as one range
        # with the union of their permissions.
        runs: list[list] = []   # [start, end, perms, first segment] in address order
        for seg in sorted((s for s in image.segments if s.memsz), key=lambda s: s.addr):
            start, end = seg.addr & ~(PAGE - 1), _round_up(seg.addr + seg.memsz, PAGE)
            if runs and start < runs[-1][1]:
                runs[-1][1] = max(runs[-1][1], end)
                runs[-1][2] = runs[-1][2] | set(seg.perms or "r")
            else:
                runs.append([start, end, set(seg.perms or "r"), seg])
        placed = []
        try:
            for start, end, perms, seg in runs:
                self.map(start, end - start, "".join(c for c in "rwx" if c in perms))
                placed.append((start, end - start))
            for seg in image.segments:
                if seg.memsz:
                    self.write(seg.addr, seg.data)
        except (ValueError, MemoryError) as e:
            for start, size in placed:
                self.unmap(start, size)
            raise ElfError(f"{seg.name} at {seg.addr:#x}+{seg.memsz:#x} cannot be placed in guest memory: {e}") from None

    def symbol_at(self, addr: int) -> str | None:
        """``name+0xoff`` of the nearest symbol at or below addr, if any."""
        return self.symbol_finder()(addr)

    def symbol_finder(self) -> Callable[[int], str | None]:
        """:meth:`symbol_at` for many addresses (rvai.emu.elf.SymbolFinder):
        each loaded image's symbols sorted once.  It answers for the images
        loaded now, and holds their symbol tables, not the machine."""
        from rvai.emu.elf import SymbolFinder
        return SymbolFinder(self.images)

    # ---- running ---------------------------------------------------------
    @_serialised
    def call(self, symbol, *args, ret: str | None = "i64", budget: int | None = None,
             timeout: float | None = None):
        """Call a guest function by name or address following the RISC-V psABI
        (LP64D): integers and pointers in a0-a7, floats in fa0-fa7 (``f32(x)``
        and ``np.float32`` as single, ``f16`` and ``np.float16`` as half), the
        rest on the stack.  ``ret`` is one of i64, i32, u64, f64, f32, f16 or None.
        ``budget`` (instructions) and ``timeout`` (seconds) override the
        Machine's for this call: BudgetExceeded / TimeLimitExceeded past them.
        Everything is checked before the guest runs."""
        if ret not in _RETURN_KINDS:
            raise ValueError(f"unknown return kind {ret!r}; use one of "
                             f"{sorted(k for k in _RETURN_KINDS if k)} or None")
        budget = None if budget is None else checks.budget(budget)
        timeout = None if timeout is None else checks.timeout(timeout)
        addr = self._resolve(symbol)
        self._enter(addr, self._psabi(args), STACK_TOP - 64)
        self._execute(budget, timeout)
        return self._return_value(ret)

    @_serialised
    def call_threads(self, symbol, arg_lists, *, ret: str | None = "i64", budget: int | None = None,
                     timeout: float | None = None) -> list:
        """Call a guest function once per argument list in ``arg_lists``, all at
        once: each call is a thread of its own (the first on thread 0, the
        others new threads spread over the harts, each with its own stack),
        interleaved as the scheduler runs threads (docs/harts.md).  Returns the
        calls' return values in order; ``budget`` bounds the instructions of
        all of them together."""
        if ret not in _RETURN_KINDS:
            raise ValueError(f"unknown return kind {ret!r}; use one of "
                             f"{sorted(k for k in _RETURN_KINDS if k)} or None")
        budget = None if budget is None else checks.budget(budget)
        timeout = None if timeout is None else checks.timeout(timeout)
        addr = self._resolve(symbol)
        regs = [self._psabi(args) for args in arg_lists]
        if not regs:
            return []
        if any(t["state"] != "exited" for t in self.threads()[1:]):
            raise RuntimeError("call_threads needs a machine whose only live thread is thread 0")
        self.select_thread(0)
        ids = [0] + [self.new_thread() for _ in regs[1:]]
        for k, (i, r) in enumerate(zip(ids, regs)):
            self.select_thread(i)
            self._enter(addr, r, (STACK_TOP if k == 0 else self._thread_stack(k)) - 64)
        self.select_thread(0)
        self._halt_ends_thread = True
        try:
            self._execute(budget, timeout)
            values = []
            for i in ids:
                self.select_thread(i)
                values.append(self._return_value(ret))
            return values
        finally:
            self._halt_ends_thread = False
            for i in ids[1:]:
                lib.rv_thread_set_state(self._m, i, lib.RV_THREAD_EXITED)
            lib.rv_thread_set_state(self._m, 0, lib.RV_THREAD_RUNNABLE)
            self.select_thread(0)

    def _thread_stack(self, k: int) -> int:
        """The top of the stack of call_threads' k-th call (k >= 1), mapped on first use."""
        while len(self._thread_stacks) < k:
            base = self.find_free(THREAD_STACK_SIZE + PAGE, THREAD_STACKS) + PAGE   # a guard page below
            self.map(base, THREAD_STACK_SIZE, "rw")
            self._thread_stacks.append(base + THREAD_STACK_SIZE)
        return self._thread_stacks[k - 1]

    def _psabi(self, args) -> tuple[list[int], list[int], list[int]]:
        """The integer registers, float registers and stack words of a psABI call with ``args``."""
        xregs, fregs, stack = [], [], []
        for a in args:
            kind, bits = self._classify(a)
            if kind == "f" and len(fregs) < 8:
                fregs.append(bits)
            elif len(xregs) < 8:
                xregs.append(bits)
            else:
                stack.append(bits)
        return xregs, fregs, stack

    def _enter(self, addr: int, regs, sp: int) -> None:
        """Point the selected thread at ``addr`` with the arguments ``regs``
        (from _psabi), its stack at ``sp`` and its return to HALT_ADDR."""
        xregs, fregs, stack = regs
        sp -= _round_up(8 * len(stack), 16)
        if stack:
            self.write(sp, b"".join(v.to_bytes(8, "little") for v in stack))
        for i, v in enumerate(xregs):
            self.x(10 + i, v)
        for i, v in enumerate(fregs):
            self.f(10 + i, v)
        self.x(2, sp)
        self.x(1, HALT_ADDR)
        self.pc = addr

    @staticmethod
    def _classify(a):
        import numpy as np
        if isinstance(a, (bool, np.bool_)):
            return "x", int(a)
        if isinstance(a, (int, np.integer)):
            return "x", checks.word(a, "integer argument")
        if isinstance(a, (f16, np.float16)):
            return "f", 0xFFFF_FFFF_FFFF_0000 | int(np.float16(a).view(np.uint16))
        if isinstance(a, (f32, np.float32)):
            return "f", 0xFFFF_FFFF_0000_0000 | int(np.float32(a).view(np.uint32))
        if isinstance(a, (float, np.floating)):
            return "f", int(np.float64(a).view(np.uint64))
        raise TypeError(f"cannot pass {type(a).__name__} to a guest function (int, float, f32 or f16)")

    def _return_value(self, ret):
        import numpy as np
        a0, fa0 = self.x(10), self.f(10)
        conv = {
            None: lambda: None,
            "i64": lambda: a0 - (1 << 64) if a0 >> 63 else a0,
            "u64": lambda: a0,
            "i32": lambda: int(np.uint32(a0 & 0xFFFFFFFF).view(np.int32)),
            "f64": lambda: float(np.uint64(fa0).view(np.float64)),
            "f32": lambda: float(_unbox(fa0, 32, np.uint32).view(np.float32)),
            "f16": lambda: float(_unbox(fa0, 16, np.uint16).view(np.float16)),
        }
        return conv[ret]()

    def _resolve(self, symbol) -> int:
        if not isinstance(symbol, str):
            addr = checks.address(symbol, "function address")
            if addr & 1 or not lib.rv_is_mapped(self._m, addr, 2) or not any(
                    b <= addr < b + n and "x" in p for b, n, p in self.regions()):
                raise ValueError(f"no code at 0x{addr:x}: not in executable guest memory"
                                 + (" (page 0 is never mapped)" if addr < PAGE else ""))
            return addr
        try:
            return self.symbols[symbol]
        except KeyError:
            known = ", ".join(sorted(self.symbols)[:20]) or "none loaded"
            raise KeyError(f"no symbol {symbol!r} in the loaded programs (known: {known})") from None

    @_serialised
    def resume(self, budget: int | None = None, timeout: float | None = None) -> None:
        """Run from the current pc until control reaches HALT_ADDR, serving
        system calls; raises an EmulatorError subclass on any other stop
        (BudgetExceeded after ``budget`` instructions, TimeLimitExceeded after
        ``timeout`` seconds; the Machine's own limits when None).  Ctrl-C
        (SIGINT) stops the guest and raises KeyboardInterrupt; the Machine stays
        usable, and ``resume()`` continues where the guest stopped."""
        self._execute(budget, timeout)

    def interrupt(self) -> None:
        """Stop the run in progress on this Machine (from any thread): it raises
        ``errors.Interrupted`` in its own thread.  Does not wait for the lock."""
        lib.rv_request_stop(self._m)

    def _execute(self, budget, timeout) -> None:
        budget = self.budget if budget is None else checks.budget(budget)
        timeout = self.timeout if timeout is None else checks.timeout(timeout)
        limit = lib.rv_instret(self._m) + budget
        lib.rv_clear_stop(self._m)
        if timeout is not None and math.isfinite(timeout):
            lib.rv_set_deadline(self._m, lib.rv_monotonic_ns() + max(int(timeout * 1e9), 1))
        try:
            while True:
                reason = self._run(max(limit - lib.rv_instret(self._m), 0))
                if reason == lib.RV_STOP_HALT:
                    if self._halt_ends_thread and self._live_threads() > 1:
                        lib.rv_thread_set_state(self._m, lib.rv_thread_current(self._m), lib.RV_THREAD_EXITED)
                        continue
                    return
                if reason == lib.RV_STOP_ECALL:
                    self._ecall()
                    continue
                if reason is None:   # SIGINT handled without an exception: go on
                    continue
                if reason == lib.RV_STOP_DEADLOCK and self.os is not None and self.os.time_out_a_waiter():
                    continue
                raise self._fault(reason, timeout)
        finally:
            lib.rv_set_deadline(self._m, 0)
            lib.rv_clear_stop(self._m)

    def _run(self, budget: int):
        """One rv_run.  On the main thread SIGINT is caught in C meanwhile (Python's
        handler cannot run while the thread is in C) and handed to Python's handler
        afterwards; returns None when that handler returned instead of raising."""
        if self._translator is not None:   # a safe point: translations finished in the background go in
            self._translator.install_ready()
        catching = threading.current_thread() is threading.main_thread() and lib.rv_catch_sigint(self._m)
        reason = lib.rv_run_threads(self._m, budget, self._stop)
        if self._translator is not None:   # its blocks' entries go into the process's counts
            self._translator.tally()
        if catching and lib.rv_release_sigint(self._m):
            try:
                signal.raise_signal(signal.SIGINT)   # KeyboardInterrupt, with the default handler
            except KeyboardInterrupt as e:
                if e.args:
                    raise
                where = self.symbol_at(self.pc)
                raise KeyboardInterrupt(f"guest stopped at pc=0x{self.pc:x}"
                                        + (f" <{where}>" if where else "")) from None
            if reason == lib.RV_STOP_INTERRUPT:
                return None   # (a pending interrupt() stops the next rv_run on entry)
        return reason

    @_serialised
    def run(self, argv, *, program=None, env: dict[str, str] | None = None, stdin=b"",
            budget: int | None = None, timeout: float | None = None, stdout=None, stderr=None,
            capture: bool = True, seed: int = 0):
        """Run a static riscv64 Linux executable as a process and return a
        ``rvai.emu.linux.RunResult`` (exit code, captured stdout and stderr,
        instructions retired).

        The executable is ``program`` (a path or bytes), else the one already
        loaded with ``load_elf``, else the file ``argv[0]`` names.  ``env`` is
        the environment (empty by default, so runs are reproducible); ``stdin``
        is bytes or a binary file read on demand; ``stdout``/``stderr`` are
        optional binary files that receive the output live as well.
        ``capture=False`` keeps no copy of the output (the result's stdout and
        stderr are then empty): a program's output streams through in
        constant memory, however much it writes.  Faults,
        an exhausted ``budget`` (instructions) and a passed ``timeout``
        (seconds) raise EmulatorError subclasses; Ctrl-C raises KeyboardInterrupt.
        """
        from rvai.emu.linux import Linux, ProgramExit, RunResult
        if self.os is not None and self.os.brk_start:
            raise RuntimeError("this Machine already ran a process (its memory is used): make a new Machine")
        argv = [os.fspath(a) for a in argv]
        if not argv:
            raise ValueError("argv needs at least the program name")
        image = next((i for i in self.images if i.kind == "exec"), None)
        if program is not None or image is None:
            image = self.load_elf(program if program is not None else argv[0])
        if image.kind != "exec":
            raise ValueError("run() needs a static executable, not a relocatable object")
        self.os = Linux(self, stdin=stdin, stdout=stdout, stderr=stderr, seed=seed, capture=capture)
        self.os.start(image, argv, dict(env or {}), STACK_TOP)
        start_instret, start_cycles = self.instret, self.cycles
        exit_code, signal = None, None
        try:
            self._execute(budget, timeout)
        except ProgramExit as e:
            exit_code, signal = e.code, e.signal
        if exit_code is None:   # control reached HALT_ADDR: a jump into page 0
            raise errors.FetchFault(self.pc, self.pc, None, None, "jump to the host-call return address")
        return RunResult(exit_code, bytes(self.os.out), bytes(self.os.err),
                         self.instret - start_instret, self.cycles - start_cycles, signal,
                         dict(self.os.unknown_syscalls))

    def _ecall(self) -> None:
        if self.os is None:
            from rvai.emu.linux import Linux
            self.os = Linux(self)
        result = self.os.syscall(self.x(17), [self.x(10 + i) for i in range(6)])
        self.x(10, result)
        self.pc = self.pc + 4

    def _fault(self, reason, timeout: float | None = None) -> errors.EmulatorError:
        s = self._stop
        cls = _FAULTS.get(reason, errors.EmulatorError)
        addr = s.addr if reason in (lib.RV_STOP_LOAD, lib.RV_STOP_STORE, lib.RV_STOP_FETCH,
                                    lib.RV_STOP_MISALIGNED) else None
        text = None
        if reason in _BETWEEN:
            text = self.disassemble(s.pc, 1)[0][2] if self._mapped(s.pc) and not s.pc & 1 else None
        elif reason == lib.RV_STOP_MISALIGNED and s.addr == s.pc:
            pass   # an odd pc: there is no instruction to show
        elif reason != lib.RV_STOP_FETCH:
            text = disasm_word(s.insn, s.pc)
        detail = None
        if reason == lib.RV_STOP_TIMEOUT:
            detail = f"limit {timeout:g} s; {self.instret} instructions retired"
        elif reason in _BETWEEN:
            detail = f"{self.instret} instructions retired"
        elif reason == lib.RV_STOP_MISALIGNED and s.addr == s.pc:
            detail = "instruction address misaligned"
        elif reason == lib.RV_STOP_ILLEGAL:
            detail = f"encoding 0x{s.insn:0{2 * (s.insn_len or 4)}x}"
        if reason == lib.RV_STOP_DEADLOCK:
            detail = "; ".join(f"thread {i} on hart {t['hart']} {t['state']}"
                               + (f" ({t['waits']})" if t.get("waits") else "")
                               for i, t in enumerate(self.threads()))
        if self.threads_started() > 1:
            detail = f"thread {lib.rv_thread_current(self._m)}" + (f"; {detail}" if detail else "")
        return cls(s.pc, addr, text, self.symbol_at(s.pc), detail)

    def _mapped(self, addr: int) -> bool:
        return bool(lib.rv_is_mapped(self._m, addr, 1))

    # ---- threads ---------------------------------------------------------
    def _live_threads(self) -> int:
        return sum(lib.rv_thread_state(self._m, i) != lib.RV_THREAD_EXITED
                   for i in range(lib.rv_num_threads(self._m)))

    def threads_started(self) -> int:
        """How many threads (contexts) the machine has had at once, exited ones included."""
        return lib.rv_num_threads(self._m)

    @_serialised
    def threads(self) -> list[dict]:
        """Each thread's state (runnable, blocked or exited), hart, instructions
        retired and, for a blocked one, what it waits for (from the Linux layer)."""
        out = []
        for i in range(lib.rv_num_threads(self._m)):
            t = {"state": _THREAD_STATES[lib.rv_thread_state(self._m, i)],
                 "hart": lib.rv_thread_hart(self._m, i), "instret": lib.rv_thread_instret(self._m, i)}
            waits = self.os.waiting_for(i) if self.os is not None else None
            if waits:
                t["waits"] = waits
            out.append(t)
        return out

    @property
    @_serialised
    def thread(self) -> int:
        """The selected thread: the one the register accessors read and write."""
        return lib.rv_thread_current(self._m)

    @_serialised
    def select_thread(self, i: int) -> None:
        """Select thread ``i`` for the register accessors (the scheduler goes on
        from the thread selected when the run resumes)."""
        if lib.rv_thread_select(self._m, checks.integer(i, "thread")):
            raise ValueError(f"no thread {i}: the machine has {lib.rv_num_threads(self._m)}")

    @_serialised
    def new_thread(self) -> int:
        """A new runnable thread, a copy of the selected one's registers, on the
        hart with the fewest live threads; returns its number."""
        i = lib.rv_thread_create(self._m)
        if i < 0:
            raise MemoryError("no host memory for another thread")
        return i

    @_serialised
    def set_thread_state(self, i: int, state: str) -> None:
        """Make thread ``i`` "runnable", "blocked" (not scheduled) or "exited"."""
        codes = {v: k for k, v in _THREAD_STATES.items()}
        if state not in codes:
            raise ValueError(f"thread state must be one of {sorted(codes)}, not {state!r}")
        if lib.rv_thread_set_state(self._m, checks.integer(i, "thread"), codes[state]):
            raise ValueError(f"no thread {i}")

    def thread_state(self, i: int) -> str:
        """Thread ``i``'s state: "runnable", "blocked" or "exited"."""
        return _THREAD_STATES[lib.rv_thread_state(self._m, checks.integer(i, "thread"))]

    def thread_hart(self, i: int) -> int:
        """The hart thread ``i`` runs on."""
        return lib.rv_thread_hart(self._m, checks.integer(i, "thread"))

    def yield_thread(self) -> None:
        """End the selected thread's quantum: the scheduler picks again."""
        lib.rv_thread_yield(self._m)

    @_serialised
    def hart_cycles(self) -> list[int]:
        """Each hart's clock (cycles since the last reset; instructions plus
        time spent waiting in functional mode)."""
        return [lib.rv_hart_cycles(self._m, h) for h in range(self.harts)]

    # ---- inspection ------------------------------------------------------
    @_serialised
    def disassemble(self, addr: int, count: int = 1) -> list[tuple[int, str, str]]:
        """``count`` instructions from ``addr`` as (address, hex bytes, text),
        the text in llvm-objdump's spelling."""
        out = []
        for _ in range(count):
            out.append(disassemble_insn(self.read_bytes, addr))
            addr += len(out[-1][1]) // 2
        return out

    @property
    @_serialised
    def instret(self) -> int:
        """Instructions retired since creation (or the last reset_counters), by all threads."""
        return lib.rv_instret(self._m)

    @property
    @_serialised
    def cycles(self) -> int:
        """Modelled cycles: the latest hart clock (equal to instret in functional
        mode with one thread)."""
        return lib.rv_cycles(self._m)

    @_serialised
    def op_counts(self) -> dict[str, int]:
        """Retired instructions by mnemonic (nonzero ones only)."""
        n = lib.rv_num_ops()
        buf = ffi.new("uint64_t[]", n)
        lib.rv_op_counts(self._m, buf)
        return {op_name(i): buf[i] for i in range(1, n) if buf[i]}

    @_serialised
    def class_counts(self) -> dict[str, int]:
        """Retired instructions by class (ALU, LOAD, VFFMA, ...)."""
        n = lib.rv_num_ops()
        buf = ffi.new("uint64_t[]", n)
        lib.rv_op_counts(self._m, buf)
        out: dict[str, int] = {}
        for i in range(1, n):
            if buf[i]:
                name = ffi.string(lib.rv_class_name(lib.rv_op_class(i))).decode()
                out[name] = out.get(name, 0) + buf[i]
        return out

    @_serialised
    def reset_counters(self) -> None:
        """Zero instret, cycles, the per-op counts and the timing model's counters
        (cache contents stay: see ``flush_caches``)."""
        lib.rv_reset_counters(self._m)

    # ---- timing model ----------------------------------------------------
    @_serialised
    def set_timed(self, on: bool = True, model: dict | None = None) -> None:
        """Switch the timing model on (with ``model``, by default the target's
        ``[model]`` table or the default preset's) or off.  Switching on
        starts with cold caches."""
        from rvai.emu.profile import timing_params
        if not on:
            lib.rv_set_timing(self._m, ffi.NULL)
            self.timed = False
            return
        if model is None:
            from rvai.target import Target
            model = Target.of(self.target).model
        if lib.rv_set_timing(self._m, timing_params(model)):
            raise ValueError("the timing model rejected these parameters (sizes must be powers of two, "
                             "fractional fields 0 or of magnitude 2^-20 to 2^40; see docs/timing-model.md)")
        self.model, self.timed = dict(model), True

    @_serialised
    def flush_caches(self) -> None:
        """Empty the modelled caches and branch predictor: the next run starts cold."""
        lib.rv_timing_flush(self._m)

    @_serialised
    def profile(self):
        """The ``Profile`` of what ran since the last ``reset_counters`` (timed mode)."""
        from rvai.emu.profile import Profile
        return Profile.from_machine(self)


def _extent(image) -> tuple[int, int]:
    """The page-aligned guest range an image's segments cover."""
    lo = min(s.addr for s in image.segments) & ~(PAGE - 1)
    hi = _round_up(max(s.addr + s.memsz for s in image.segments), PAGE)
    return lo, hi


def _unbox(bits: int, width: int, utype):
    """A NaN-boxed narrow float: the canonical NaN unless the upper bits are all ones."""
    upper = _MASK64 >> width << width
    if bits & upper != upper:
        return utype({32: 0x7FC00000, 16: 0x7E00}[width])
    return utype(bits & ((1 << width) - 1))


def op_name(op: int) -> str:
    """The mnemonic of op number ``op`` in the C core's table."""
    return ffi.string(lib.rv_op_name(op)).decode()


def disassemble_insn(read: Callable[[int, int], bytes], addr: int) -> tuple[int, str, str]:
    """The instruction at ``addr`` as (address, hex bytes, text), its bytes
    from ``read(address, n)``: two, and two more when their low bits say it
    is a 32-bit one."""
    raw = int.from_bytes(read(addr, 2), "little")
    if raw & 3 == 3:
        raw |= int.from_bytes(read(addr + 2, 2), "little") << 16
    n = 2 if raw & 3 != 3 else 4
    return addr, f"{raw:0{2 * n}x}", disasm_word(raw, addr)


def disasm_word(raw: int, pc: int = 0) -> str:
    """Disassemble one 16- or 32-bit instruction word at ``pc``."""
    buf = ffi.new("char[]", 96)
    lib.rv_disasm(raw & 0xFFFFFFFF, pc, buf, 96)
    return ffi.string(buf).decode()
