"""The few library routines LLVM may call from generated code (memcpy, memmove,
memset), as small RISC-V routines placed in guest memory on demand.

They are written in assembly through the table-driven assembler so that they
run, and are counted and profiled, like any other guest code.
"""
from __future__ import annotations

import struct

# name: list of (label or None, instruction); branch targets written as labels.
_ROUTINES = {
    "memmove": [
        (None, "addi t0, a0, 0"),
        (None, "bltu a1, a0, @back"),
        ("fwd", "beq a2, zero, @done"),
        (None, "lbu t1, 0(a1)"),
        (None, "sb t1, 0(t0)"),
        (None, "addi a1, a1, 1"),
        (None, "addi t0, t0, 1"),
        (None, "addi a2, a2, -1"),
        (None, "jal zero, @fwd"),
        ("back", "beq a2, zero, @done"),   # copy from the end: dst overlaps src from above
        (None, "addi a2, a2, -1"),
        (None, "add t1, a1, a2"),
        (None, "lbu t1, 0(t1)"),
        (None, "add t2, a0, a2"),
        (None, "sb t1, 0(t2)"),
        (None, "jal zero, @back"),
        ("done", "jalr zero, 0(ra)"),
    ],
    "memset": [
        (None, "addi t0, a0, 0"),
        ("loop", "beq a2, zero, @done"),
        (None, "sb a1, 0(t0)"),
        (None, "addi t0, t0, 1"),
        (None, "addi a2, a2, -1"),
        (None, "jal zero, @loop"),
        ("done", "jalr zero, 0(ra)"),
    ],
}


def _assemble_routine(lines) -> list[int]:
    # The assembler is imported here, not with the module: its import and first use
    # build the instruction table (~12 ms), which a process whose kernels call none
    # of these routines (see needed) never pays.
    from rvai.emu.isa import assemble
    labels = {label: 4 * i for i, (label, _) in enumerate(lines) if label}
    words = []
    for i, (_, text) in enumerate(lines):
        if "@" in text:
            head, _, label = text.partition("@")
            text = f"{head}{labels[label] - 4 * i}"
        words.append(assemble(text))
    return words


# memmove is a correct memcpy, so one routine serves both names.
_ALIASES = {"memcpy": "memmove"}
#: Every name :func:`install` defines.
NAMES = (*_ROUTINES, *_ALIASES)


def needed(obj: bytes) -> bool:
    """Whether relocatable object ``obj`` may call a routine: an undefined symbol is
    linked by its name, so the object's bytes hold it (a string that only looks like
    one costs an install, nothing else)."""
    return any(name.encode() in obj for name in NAMES)


def install(machine) -> dict[str, int]:
    """Place the routines in ``machine`` once; return their addresses by name."""
    if getattr(machine, "_runtime", None) is None:
        code = {name: _assemble_routine(lines) for name, lines in _ROUTINES.items()}
        size = 4 * sum(len(w) for w in code.values())
        base = machine.find_free(size)
        machine.map(base, size, "rx")
        addrs, addr = {}, base
        for name, words in code.items():
            machine.write(addr, struct.pack(f"<{len(words)}I", *words))
            addrs[name] = addr
            addr += 4 * len(words)
        addrs.update({alias: addrs[name] for alias, name in _ALIASES.items()})
        machine._runtime = addrs
        machine.symbols.update({f"__rvai_{k}": v for k, v in addrs.items()})
    return dict(machine._runtime)
