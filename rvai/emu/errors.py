"""Exceptions raised by the emulator, each carrying where it happened."""


class EmulatorError(RuntimeError):
    """A guest program stopped abnormally.

    Attributes: ``pc`` (guest program counter), ``addr`` (faulting address or
    None), ``disasm`` (the instruction at pc, llvm-objdump spelling, or None),
    ``symbol`` (nearest symbol as ``name+0xoff``, or None).
    """

    what = "emulator error"

    def __init__(self, pc, addr=None, disasm=None, symbol=None, detail=None):
        self.pc, self.addr, self.disasm, self.symbol = pc, addr, disasm, symbol
        where = f"pc=0x{pc:x}"
        if symbol:
            where += f" <{symbol}>"
        if disasm:
            where += f": {disasm}"
        text = self.what
        if addr is not None:
            text += f" at address 0x{addr:x}"
        if detail:
            text += f" ({detail})"
        super().__init__(f"{text}; {where}")


class LoadFault(EmulatorError):
    """A load from unmapped or unreadable memory."""
    what = "load access fault"


class StoreFault(EmulatorError):
    """A store to unmapped or read-only memory (text included)."""
    what = "store access fault"


class FetchFault(EmulatorError):
    """Control reached memory that is not mapped executable (a wild jump)."""
    what = "instruction fetch fault"


class IllegalInstruction(EmulatorError):
    """An encoding the emulator does not implement or the spec reserves, or an
    instruction illegal in the current state (bad CSR, vill, misaligned vector group)."""
    what = "illegal instruction"


class MisalignedAccess(EmulatorError):
    """An access the ISA requires to be aligned (atomics) was not, or a run
    started at an odd pc (instruction address misaligned: ``addr == pc``)."""
    what = "misaligned access"


class Breakpoint(EmulatorError):
    """The guest executed ebreak."""
    what = "breakpoint (ebreak)"


class BudgetExceeded(EmulatorError):
    """The instruction budget ran out: the program did not stop in time."""
    what = "instruction budget exhausted"


class TimeLimitExceeded(EmulatorError, TimeoutError):
    """The wall-time limit (``timeout=``, seconds) of a call or run passed."""
    what = "wall-time limit exceeded"


class Interrupted(EmulatorError):
    """The run was stopped by ``Machine.interrupt()`` (from another thread)."""
    what = "interrupted"


class Deadlock(EmulatorError):
    """Every thread of the guest waits (in futex) and none can wake another:
    the run could never go on.  ``threads`` lists each thread's state."""
    what = "deadlock: no thread can run"


class UnsupportedSyscall(EmulatorError):
    """A system call the host side cannot serve in this context."""
    what = "unsupported system call"


class GuestMemoryError(MemoryError):
    """A guest mapping would pass the Machine's ``mem_limit`` (or the host has
    no memory left for it).  Not a stop: raised by map/alloc/load_elf."""
