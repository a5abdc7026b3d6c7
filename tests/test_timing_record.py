"""Timed mode computes exactly what it computed before its host-speed work.

tests/data/timing_record.json was written by ``python -m tests.timing_record``
on main before the timing model's speed-ups of issue 15 (the L2 hit filter,
one-pass victim choice, ...), which must leave every modelled figure alone.
Each case here runs again and must give the same cycles, instructions
retired, counters and fingerprint (every per-pc cycle count, the vector trace
and, for the assembled programs, the final registers and memory).  A compiled
kernel whose executable differs from the recorded one (another compiler
version) is skipped: its code, not the model, would differ.
"""
import hashlib
import json
import tempfile
from pathlib import Path

import pytest

from tests import timing_record as tr

RECORDED = json.loads(tr.RECORD.read_text())


@pytest.mark.parametrize("seed", list(tr.ASM_SEEDS))
def test_random_programs_time_as_recorded(seed):
    assert tr.asm_case(seed) == RECORDED[f"asm/{seed}"]


@pytest.fixture(scope="module")
def executables():
    with tempfile.TemporaryDirectory() as tmp:
        yield tr.c_executables(Path(tmp))


@pytest.mark.parametrize("kernel", list(tr.C_KERNELS))
def test_compiled_kernels_time_as_recorded_on_every_preset(kernel, executables):
    if kernel not in executables:
        pytest.skip("its compiler is not installed")
    exe, vlen = executables[kernel]
    sha = hashlib.sha256(exe.read_bytes()).hexdigest()[:16]
    for preset in tr.C_PRESETS:
        want = RECORDED[f"c/{kernel}/{preset}"]
        if want["exe"] != sha:
            pytest.skip("the compiler made other code than the recorded one")
        assert {"exe": sha, **tr.c_case(exe, vlen, tr.C_KERNELS[kernel], preset)} == want, preset
