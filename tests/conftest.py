"""Shared test helpers: assemble small programs into a fresh Machine."""
import numpy as np
import pytest

from rvai.emu import Machine
from rvai.emu.isa import assemble

CODE = 0x10000


def load_program(m: Machine, lines, addr: int = CODE) -> int:
    """Assemble ``lines`` (disassembler spelling) at ``addr`` in ``m``, mapped r-x."""
    words = np.array([assemble(t) for t in lines], dtype=np.uint32)
    m.map(addr, max(4096, words.nbytes), "rx")
    m.write(addr, words)
    return addr


@pytest.fixture
def machine():
    """A fresh VLEN=256 machine."""
    return Machine(vlen=256)
