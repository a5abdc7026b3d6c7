"""Cycles per instruction on the timing model, measured the way public RVV
instruction tables are measured on silicon (camel-cdr's rvv-bench and similar):
``rdcycle`` around a run of unrolled, independent copies of one instruction at
vl = VLMAX with a tail- and mask-agnostic vtype, the difference of two run
lengths so that the fixed cost (the reads, the pipeline fill, the drain) cancels.

A :class:`Cell` names what is measured: an instruction mnemonic, whether it is
masked (``v0.t``), SEW and LMUL (both None for a scalar instruction).
``cycles_per_insn(target, cell)`` measures one cell; ``rvai calibrate`` and
``bench/calibrate.py`` compare such measurements with reference tables.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from rvai.emu import Machine
from rvai.emu.isa import assemble
from rvai.target import Target

__all__ = ["Cell", "instruction_text", "cycles_per_insn"]

CODE = 0x10000
#: The two run lengths whose difference is measured.
RUNS = (24, 88)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One measured configuration: ``insn`` a mnemonic (``vadd.vv``, ``vle32.v``,
    ``mul``); ``masked`` for the ``v0.t`` form; ``sew``/``lmul`` the vtype (None for
    scalar instructions)."""

    insn: str
    sew: int | None = None
    lmul: int | None = None
    masked: bool = False

    @property
    def vector(self) -> bool:
        """Whether this is a vector instruction (run under a vtype)."""
        return self.sew is not None

    def label(self) -> str:
        """How reports print the cell."""
        if not self.vector:
            return self.insn
        return f"{self.insn}{' (masked)' if self.masked else ''} e{self.sew} m{self.lmul}"


def _accumulates(insn: str) -> bool:
    return any(k in insn for k in ("macc", "madd", "nmsac", "nmsub", "msac", "msub"))


def _dest_groups(cell: Cell) -> list[str]:
    """Destination registers for independent copies: a fixed one, or for ops that
    read their destination (multiply-accumulate) groups rotating outside the sources
    (v8, v16) and, unmasked, the mask register v0."""
    if not cell.vector:
        return [f"a{i}" for i in range(2, 8)]
    if not _accumulates(cell.insn):
        return ["v24"]
    lmul = cell.lmul
    spare = list(range(24, 32, lmul)) + ([] if cell.masked else list(range(0, 8, lmul)))
    return [f"v{r}" for r in spare]


def instruction_text(cell: Cell, dest: str) -> str:
    """The assembly of one copy of the cell's instruction writing `dest`; sources are
    the groups v8 and v16 (v16 also the scalar operand of a reduction), x a0 the base
    address and a1 the stride of memory forms, t0/t1 scalar operands."""
    m = cell.insn
    if not cell.vector:
        return f"{m} {dest}, t0, t1"
    mask = ", v0.t" if cell.masked else ""
    if m.startswith(("vl", "vs")) and m.endswith(".v") and m[2] in "es":
        if m[2] == "s":                                     # strided: vlse32.v / vsse32.v
            return f"{m} {dest}, (a0), a1{mask}"
        return f"{m} {dest}, (a0){mask}"                    # unit stride
    if m.startswith("vcompress"):
        return f"{m} {dest}, v8, v16"
    suffix = m.rsplit(".", 1)[-1]
    operand = {"vv": "v16", "vs": "v16", "vx": "t0", "vi": "1", "vf": "fa0", "v": None, "vm": "v16"}[suffix]
    return f"{m} {dest}, v8{'' if operand is None else ', ' + operand}{mask}"


@functools.lru_cache(maxsize=None)
def _program(cell: Cell, n: int) -> tuple[int, ...]:
    dests = _dest_groups(cell)
    body = [instruction_text(cell, dests[i % len(dests)]) for i in range(n)]
    vset = [f"vsetvli t2, zero, e{cell.sew}, m{cell.lmul}, ta, ma"] if cell.vector else []
    lines = vset + ["rdcycle a2" if cell.vector else "rdcycle t3"] + body
    lines += ["rdcycle a3" if cell.vector else "rdcycle t4",
              "sub a0, a3, a2" if cell.vector else "sub a0, t4, t3", "jalr zero, 0(ra)"]
    return tuple(assemble(t) for t in lines)


def _elapsed(m: Machine, cell: Cell, n: int, buf: int) -> int:
    words = np.array(_program(cell, n), dtype=np.uint32)
    m.write(CODE, words)
    stride = max(cell.sew or 8, 8) // 8 * 4          # strided forms: 4 elements apart
    m.call(CODE, buf, stride)                        # warm caches and predictors
    return m.call(CODE, buf, stride, ret="u64")


def cycles_per_insn(target: Target, cell: Cell) -> float:
    """Cycles per instruction of the cell on ``target``'s timing model (independent
    copies: the throughput figure public tables give)."""
    target = Target.of(target)
    try:
        _program(cell, 1)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"cannot measure {cell.label()}: {exc}") from None
    m = Machine(target, timed=True)
    m.map(CODE, 4 * (RUNS[1] + 8), "rx")
    buf = m.alloc(64 * 1024, align=4096)
    short, long = (_elapsed(m, cell, n, buf) for n in RUNS)
    return (long - short) / (RUNS[1] - RUNS[0])
