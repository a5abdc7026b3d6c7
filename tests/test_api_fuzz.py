"""Bounded fuzzing of the Machine API and of load_elf+run (tests/fuzz_targets.py),
each in a child process: a segfault or abort there is a failed test with the
child's output, not a dead pytest.  A few hundred examples each, seconds."""
import os
import signal
import subprocess
import sys

import pytest

pytest.importorskip("hypothesis")
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("target,examples", [("api", 300), ("elf", 300)])
def test_fuzz_in_child_process(target, examples, tmp_path):
    r = subprocess.run([sys.executable, os.path.join(HERE, "fuzz_targets.py"), target, str(examples)],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    died = f"killed by {signal.Signals(-r.returncode).name}" if r.returncode < 0 else f"exit {r.returncode}"
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), f"{died}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
