"""The emulator's Python face: ``Machine``, its errors, argument markers and ``Profile``."""
from rvai.emu.errors import (Breakpoint, BudgetExceeded, EmulatorError, FetchFault,
                             GuestMemoryError, IllegalInstruction, Interrupted, LoadFault,
                             MisalignedAccess, StoreFault, TimeLimitExceeded, UnsupportedSyscall)
from rvai.emu.machine import Machine, disasm_word, f16, f32
from rvai.emu.profile import Profile

__all__ = ["Machine", "EmulatorError", "LoadFault", "StoreFault", "FetchFault",
           "IllegalInstruction", "MisalignedAccess", "Breakpoint", "BudgetExceeded",
           "TimeLimitExceeded", "Interrupted", "UnsupportedSyscall", "GuestMemoryError", "disasm_word", "f16", "f32", "Profile"]
