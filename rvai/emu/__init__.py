"""The emulator's Python face: ``Machine``, its errors, argument markers and ``Profile``."""
from rvai.emu.errors import (Breakpoint, BudgetExceeded, Deadlock, EmulatorError, FetchFault,
                             GuestMemoryError, IllegalInstruction, Interrupted, LoadFault,
                             MisalignedAccess, StoreFault, TimeLimitExceeded, UnsupportedSyscall)
from rvai.emu.machine import Machine, disasm_word, f16, f32

__all__ = ["Machine", "EmulatorError", "LoadFault", "StoreFault", "FetchFault",
           "IllegalInstruction", "MisalignedAccess", "Breakpoint", "BudgetExceeded",
           "TimeLimitExceeded", "Interrupted", "Deadlock", "UnsupportedSyscall", "GuestMemoryError", "disasm_word", "f16", "f32", "Profile"]


def __getattr__(name):
    # Profile (and json with it) loads when a profile is asked for: `rvai run` needs neither.
    if name == "Profile":
        from rvai.emu.profile import Profile
        return Profile
    raise AttributeError(f"module 'rvai.emu' has no attribute {name!r}")
