"""bench/norms.py's arithmetic ceilings: its table of operations an element against what the
emulator counts, and the ceiling against the preset's numbers worked by hand."""
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from rvai import kernels
from rvai.target import Target

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import norms  # noqa: E402

#: The emulator's vector classes on each pipe of the generic preset.
CLASSES = {"fp": ("VFADD", "VFMUL", "VFFMA", "VFMISC", "VFDIV"), "arith": ("VALU", "VMUL"),
           "load": ("VLOAD",), "store": ("VSTORE",)}


@pytest.mark.parametrize("label", sorted(norms.OPS_PER_ELEMENT))
def test_operations_an_element_match_the_emulators_count(label):
    """The unfused kernels at LMUL 2 on 896 columns (VLEN 256: 56 whole blocks of 16, no
    tail): vector instructions of each pipe's classes a block, from the profile's counts,
    within the per-row reductions and empty tail blocks of OPS_PER_ELEMENT's sums."""
    rows, n, target = 6, 896, Target.preset("generic")
    x = np.random.default_rng(0).standard_normal((rows, n)).astype(np.float32)
    o = np.zeros_like(x)
    if label == "rmsnorm":
        run = kernels.rmsnorm(x, np.ones(n, np.float32), o, 1e-6, LMUL=2, FUSE=False, target=target)
    else:
        run = kernels.softmax(x, o, LMUL=2, CHAINS=1, FUSE=False, PIPE=False, ZERO=0, SKEW="",
                              EXP="fast" if label.endswith("fast") else "accurate", target=target)
    counts = run.profile.class_counts
    for kind, per_pass in norms.OPS_PER_ELEMENT[label].items():
        per_block = sum(counts.get(c, 0) for c in CLASSES[kind]) / (rows * n / 16)
        assert sum(per_pass) <= per_block < sum(per_pass) + 0.25, (kind, per_block)


def test_ceilings_of_the_fast_softmax_worked_by_hand():
    """generic: one FP pipe, one ALU and one load/store pipe of DLEN 128 (4 f32 a cycle);
    8 bytes an element at 8 B/cycle is 1 cycle. FP: 7 ops / 4 = 1.75 cycles, 57 %; ALU:
    6 / 4, 67 %; memory 5 / 4, 80 %. sifive-x280: DLEN 256 (8 a cycle), stores on their own
    pipe, 8 B at 12 B/cycle: FP 7 / 8 = 0.875 cycles against 2/3, 76 %."""
    got = norms.ceilings("softmax/fast", Target.preset("generic").model, 1.0)
    assert got == pytest.approx({"fp": 100 / 1.75, "arith": 100 / 1.5, "ls": 100 / 1.25})
    got = norms.ceilings("softmax/fast", Target.preset("sifive-x280").model, 8 / 12)
    assert got == pytest.approx({"fp": 100 * (2 / 3) / 0.875, "arith": 100 * (2 / 3) / 0.75,
                                 "ls": 100 * (2 / 3) / 0.375, "st": 100 * (2 / 3) / 0.25})


def test_loops_follow_each_row(capsys):
    """``--loops N``: each row is followed by its run's N hottest loops, each inside the run
    (its cycles at most the row's, the share they make of them) and counting its vector
    instructions among its instructions."""
    rows = norms.main(["--presets", "generic", "--rows", "2", "--loops", "2"])
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 3 * len(rows)
    for row, i in zip(rows, range(0, len(lines), 3)):
        assert lines[i].split()[:2] == ["generic", row["kernel"]]
        for text in lines[i + 1:i + 3]:
            m = re.fullmatch(r"    loop 0x[0-9a-f]+-0x[0-9a-f]+: ([\d,]+) cycles \(([\d.]+)%\), (\d+) instructions "
                             r"\((\d+) vector\)", text)
            cycles = int(m[1].replace(",", ""))
            assert 0 < cycles <= row["cycles"] and m[2] == f"{100 * cycles / row['cycles']:.1f}"
            assert 0 <= int(m[4]) <= int(m[3])
