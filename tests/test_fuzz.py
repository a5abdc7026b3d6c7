"""Random machine code must end in a clean Python exception or a return, never a
crash or a hang of the host: the emulator's promise for any input."""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from rvai.emu import EmulatorError, Machine
from rvai.emu.isa import assemble
from tests.conftest import CODE

# Major opcodes worth weighting: vector arithmetic/config, vector and FP loads
# and stores, FP arithmetic and FMA, atomics, system.
HOT_OPCODES = [0x57, 0x07, 0x27, 0x53, 0x43, 0x47, 0x4B, 0x4F, 0x2F, 0x73]
DATA = 0x30000


def word():
    random_word = st.integers(0, 2**32 - 1)
    hot = st.tuples(st.integers(0, 2**25 - 1), st.sampled_from(HOT_OPCODES)).map(
        lambda t: (t[0] << 7) | t[1])
    return st.one_of(random_word, hot, hot)


@given(words=st.lists(word(), min_size=1, max_size=24),
       vtype=st.integers(0, 0xFF), avl=st.integers(0, 300), vlen=st.sampled_from([64, 128, 512]),
       regs=st.lists(st.integers(0, 2**64 - 1), min_size=8, max_size=8))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_code_never_crashes_the_host(words, vtype, avl, vlen, regs):
    m = Machine(vlen=vlen)
    m.map(DATA, 1 << 16, "rw")
    prologue = [assemble(f"vsetvli zero, a7, {vtype}")]
    code = np.array(prologue + words + [assemble("jalr zero, 0(ra)")], np.uint32)
    m.map(CODE, 4096, "rx")
    m.write(CODE, code)
    # Half the argument registers point into mapped data, so loads and stores get far.
    args = [DATA + (r % (1 << 16)) if i % 2 else r for i, r in enumerate(regs[:7])] + [avl]
    try:
        m.call(CODE, *args, budget=10_000)
    except EmulatorError as e:
        assert e.pc is not None and str(e)
