"""Shared test helpers: assemble small programs into a fresh Machine."""
import os

import numpy as np
import pytest
from hypothesis import settings

# No per-example deadline anywhere: a loaded 2-core machine must not turn a slow
# example into a failure.  Under CI the examples are derandomised, so a landing is
# judged on the same inputs each time; local runs keep exploring new ones.
settings.register_profile("rvai", deadline=None)
settings.register_profile("rvai-ci", deadline=None, derandomize=True)
settings.load_profile("rvai-ci" if os.environ.get("CI") else "rvai")

# Kernels the tests compile carry exact bounds checks unless a test says checked=False
# (docs/dsl.md, "Checked kernels"): an out-of-bounds access fails the test loudly.
os.environ.setdefault("RVAI_CHECKED", "1")

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
