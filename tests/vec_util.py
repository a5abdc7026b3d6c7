"""Helpers for the vector tests: run short assembled sequences on a Machine
and move register groups in and out as NumPy arrays."""
import numpy as np

from rvai.emu import Machine
from tests.conftest import CODE, load_program

VLENS = [128, 256, 512, 1024]
SEWS = [8, 16, 32, 64]
LMULS = {"mf8": -3, "mf4": -2, "mf2": -1, "m1": 0, "m2": 1, "m4": 2, "m8": 3}
UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
SINT = {8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}


def lmul_name(lg: int) -> str:
    """The assembler spelling of LMUL = 2**lg."""
    return {v: k for k, v in LMULS.items()}[lg]


def vlmax(vlen: int, sew: int, lg: int) -> int:
    """LMUL * VLEN / SEW, from the spec's definition."""
    return int(vlen * 2.0 ** lg) // sew


def legal(sew: int, lg: int) -> bool:
    """SEW <= LMUL * ELEN with ELEN = 64."""
    return sew <= 64 * 2.0 ** lg


def run(m: Machine, lines, **regs) -> None:
    """Run ``lines`` followed by a return, with integer registers set from regs (a0=...)."""
    load_program(m, list(lines) + ["jalr zero, 0(ra)"])
    names = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"]
    args = [regs.get(n, 0) for n in names]
    m.call(CODE, *args, ret=None)


def get_group(m: Machine, reg: int, nregs: int, dtype) -> np.ndarray:
    """Registers reg..reg+nregs-1 as one array of dtype."""
    return np.frombuffer(b"".join(m.v(reg + i) for i in range(nregs)), dtype=dtype).copy()


def set_group(m: Machine, reg: int, data: np.ndarray) -> None:
    """Write data (any dtype) over consecutive registers from reg."""
    raw = np.ascontiguousarray(data).tobytes()
    n = m.vlen // 8
    assert len(raw) % n == 0
    for i in range(len(raw) // n):
        m.v(reg + i, raw[i * n:(i + 1) * n])


def mask_bits(m: Machine, reg: int, n: int) -> np.ndarray:
    """The first n mask bits of register reg as a bool array."""
    return np.unpackbits(np.frombuffer(m.v(reg), np.uint8), bitorder="little")[:n].astype(bool)


def set_mask(m: Machine, reg: int, bits) -> None:
    """Write a bool array (padded with zeros) as mask register reg."""
    n = m.vlen
    b = np.zeros(n, bool)
    b[:len(bits)] = bits
    m.v(reg, np.packbits(b, bitorder="little").tobytes())
