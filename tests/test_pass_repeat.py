"""bench/pass_repeat.py and the pass probe it builds (csrc/pass_probe.c, ``-DRVAI_PASS_PROBE``).

The probe build is this checkout's extension compiled again in a copy, ~45 s of
CPU, so these tests run only when ``RVAI_TEST_PASS_PROBE`` asks: ``1`` builds it
once for the module in a temporary directory, any other value names a
directory to build it in or to reuse a build from (the script's ``--build``;
a stale build there is not rebuilt).

The oracles: the default build's timed machine (the probe only watches and
must not change a cycle or an instruction), the guest program's own layout
(a loop of N passes of B instructions has N - 2 passes between its back
edges, B instructions each, at the pcs it was assembled at), and the probe's
own red check (a key missing state that matters gives end states that
differ: ps63's ``--ignore vq``)."""
import contextlib
import io
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CODE
from rvai.emu import Machine
from rvai.emu.isa import assemble
from rvai.emu.machine import DEFAULT_TIER, HALT_ADDR
from rvai.target import Target

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import pass_repeat  # noqa: E402
import timed_cost  # noqa: E402

ASKED = os.environ.get("RVAI_TEST_PASS_PROBE")
pytestmark = pytest.mark.skipif(not ASKED, reason="builds the probe extension (~45 s): set RVAI_TEST_PASS_PROBE=1")

#: the tier the default build's runs take (pytest's --tier; the probe's own runs are interpreted:
#: it watches the timed interpreter only)
TIER = os.environ.get("RVAI_TIER") or DEFAULT_TIER
DATA = 0x40000          # the line the loop bodies access (in L1 before the loop: PROLOGUE)
SCALE = 1 / 64          # the GEMM's rows: 1 (~0.33M instructions, ~3 s a probe run)
#: what runs a guest loop in the probe build (argv: tree, preset, the code's lines joined by ";", passes)
LOOP_RUNNER = f"""
import sys
sys.path[:0] = [sys.argv[1], {str(Path(__file__).resolve().parent)!r}]
from test_pass_repeat import run_loop
print(*run_loop(sys.argv[2], sys.argv[3].split(";"), int(sys.argv[4]), "interpret"))
"""


@pytest.fixture(scope="module")
def tree():
    """The probe build's tree, built once for the module."""
    if ASKED != "1":
        where = Path(ASKED)
        where.mkdir(parents=True, exist_ok=True)
        yield pass_repeat.build(where)
        return
    with tempfile.TemporaryDirectory(prefix="rvai-pass-probe-") as tmp:
        yield pass_repeat.build(Path(tmp))


@pytest.fixture
def unchecked(monkeypatch):
    """The GEMM compiled without bounds checks, as the script runs it (conftest asks for them):
    ps63's kernel.  (With them, c930's loop at this scale has no pass the vq check catches.)"""
    monkeypatch.setenv("RVAI_CHECKED", "0")


def gemm_default(preset: str) -> tuple[int, int]:
    """The GEMM's modelled cycles and instructions in the default build (this process), timed."""
    fn = timed_cost.dsl_call("gemm", Target.preset(preset), SCALE)
    fn()   # compiles it
    _, cycles, instret = timed_cost.dsl_once(fn, True, TIER)
    return cycles, instret


def test_the_probe_build_models_the_default_builds_cycles_and_finds_no_mismatch(tree, unchecked):
    """c930's GEMM (one row): the probe build's timed call gives the default build's cycles and
    instructions, and every pass that repeats an earlier one from the same state with the same
    outcomes ends as that one did (0 mismatches).  (The memory side's channel check is not
    asserted: the channels' doubles can round apart from the same relative start and events,
    4 of 32,704 passes of the kernel compiled with bounds checks; docs/performance.md's rv65
    section.)"""
    r = pass_repeat.run(tree, "gemm", "xuantie-c930", SCALE, [])
    assert (r.cycles, r.instret) == gemm_default("xuantie-c930")
    assert r.total == r.instret   # it counts every instruction once (a first step derives its slot and steps again)
    hot = [c for c in r.loops.values() if c["instrs"] > r.total / 2]
    assert len(hot) == 1 and hot[0]["rep_passes"] > hot[0]["passes"] / 2, r.loops
    assert sum(c["mismatch"] for c in r.loops.values()) == 0, r.loops


def test_a_key_without_the_vector_queue_mismatches(tree, unchecked, capsys):
    """The script's own red check, through its command line: with the vector queue left out of
    the key (``--ignore vq``), passes of the GEMM's hot loop that look alike at their start end
    otherwise (ps63: 8,649 at scale 0.125, 275 here); the model's cycles are the same."""
    assert pass_repeat.main(["--only", "gemm", "--presets", "xuantie-c930", "--scale", str(SCALE),
                             "--ignore", "vq", "--build", str(tree)]) == 0
    out = capsys.readouterr().out
    mismatches = [int(n) for n in re.findall(r"; mismatch (\d+)", out)]   # (not the channels')
    assert mismatches and sum(mismatches) > 0, out
    r = pass_repeat.run(tree, "gemm", "xuantie-c930", SCALE, ["vq"])
    assert (r.cycles, r.instret) == gemm_default("xuantie-c930")


REGS = ["a1", "a2", "a3", "a4", "a5", "t0", "t1", "t2"]   # the body's (a0 counts, s0 holds DATA, ra returns)


@st.composite
def body_op(draw):
    """One instruction of a loop body whose timing is the same every pass: integer work of fixed
    latency, and loads and stores of the first 32 bytes at s0 (a line in L1 before the loop)."""
    kind = draw(st.sampled_from(["add", "xor", "sub", "mul", "ld", "lw", "sd"]))
    rd, rs, rt = (draw(st.sampled_from(REGS)) for _ in range(3))
    if kind in ("ld", "sd"):
        return f"{kind} {rd}, {8 * draw(st.integers(0, 3))}(s0)"
    if kind == "lw":
        return f"lw {rd}, {4 * draw(st.integers(0, 7))}(s0)"
    return f"{kind} {rd}, {rs}, {rt}"


#: before the loop: its line brought into L1 and waited for (else the first passes' loads would
#: find it on its way, each nearer its arrival: passes that differ, as many as its latency allows)
PROLOGUE = ["ld t3, 0(s0)", "add t3, t3, t3"]
HEAD = CODE + 4 * len(PROLOGUE)


def loop_code(body: list[str]) -> list[str]:
    """The code at CODE: PROLOGUE, then the loop at HEAD: body, count a0 down, back to HEAD
    while it is not 0; then return."""
    return [*PROLOGUE, *body, "addi a0, a0, -1", f"bne a0, zero, {-4 * (len(body) + 1)}", "ret"]


def run_loop(preset: str, code: list[str], n: int, tier: str) -> tuple[int, int]:
    """The modelled cycles and instructions of ``code`` (loop_code's) run timed in ``tier`` with
    a0 = n passes, by the build this process imported."""
    m = Machine(Target.preset(preset), vlen=128, tier=tier, timed=True)
    m.map(CODE, 4096, "rx")
    m.write(CODE, np.array([assemble(t) for t in code], dtype=np.uint32))
    m.map(DATA, 4096, "rw")
    m.x(10, n)
    m.x(8, DATA)
    m.x(1, HALT_ADDR)
    m.pc = CODE
    m.resume()
    return m.cycles, m.instret


#: passes at a loop's start that may differ while the model settles (the branch's counter
#: saturating, the scoreboard and the fill channels reaching their steady state; 1-4 seen)
SETTLE = 8


@settings(max_examples=20, deadline=None)
@given(body=st.lists(body_op(), min_size=1, max_size=10), n=st.integers(SETTLE + 20, 120),
       preset=st.sampled_from(["generic", "spacemit-x60", "xuantie-c930"]))
def test_a_loop_that_does_the_same_every_pass_repeats_at_one_period(tree, body, n, preset):
    """A loop whose every pass does the same work on one L1 line: its N - 2 passes (between its
    N - 1 taken back edges) hold the body, the count and the branch each, at the pcs it was
    assembled at; after the model settles every pass repeats one a fixed number of passes before
    it (1, or more where a pass takes a fractional number of cycles: 3.5 with generic's multiply
    chain repeats every 2), core and memory side, and no repeat ends otherwise.  The probe build's cycles are the default build's, and
    the probe steps every instruction the machine retires (n passes and the return), a pc's
    first step at most twice (timing.c's step_derived steps a slot again once derived: before
    the first back edge, so in no pass)."""
    code = loop_code(body)
    r = pass_repeat.probe(tree, LOOP_RUNNER, [str(tree), preset, ";".join(code), str(n)], [])
    assert (r.cycles, r.instret) == run_loop(preset, code, n, TIER)
    assert r.instret == len(PROLOGUE) + n * (len(body) + 2) + 1 and r.instret <= r.total <= r.instret + len(code)
    fall = HEAD + 4 * (len(body) + 2)   # (after the back edge)
    c = r.loops[f"{fall:x}", f"{HEAD:x}"]
    assert len(r.loops) == 1 and c["passes"] == n - 2 and c["instrs"] == (n - 2) * (len(body) + 2), r.loops
    assert c["mismatch"] == c["m_chan_mismatch"] == 0, c
    period = max((v, key) for key, v in c.items() if re.fullmatch(r"k\d+", key))   # (kK: at period K)
    assert period[0] >= c["passes"] - SETTLE, (period, c)
    for repeated in ("rep_passes", "m_full", "m_chan"):   # (m_*: at a period k <= 2)
        assert c[repeated] >= c["passes"] - SETTLE, (repeated, c)
    with contextlib.redirect_stdout(io.StringIO()) as printed:   # what the script prints of it
        pass_repeat.report("loop", r.total, r.loops)
    out = printed.getvalue()
    assert f"loop {HEAD:x}..{fall:x}:" in out and f"{n - 2:,} passes of {len(body) + 2:.1f} instructions" in out
    assert "; mismatch 0" in out
