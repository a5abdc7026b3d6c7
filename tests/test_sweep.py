"""rvai.sweep: sweep files, the points they make, running them in local processes with
failures kept to their own rows, resuming, the tables and the figures.

Oracles: Python's own arithmetic for derived values, itertools.product for the
points, a brute-force dominance check for the Pareto front, and -- for the measured
numbers -- the same kernel run directly through rvai.ops on a Target built by hand,
which must give the very cycle counts the sweep's rows hold."""
import csv
import dataclasses
import itertools
import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

from rvai import Target, ops
from rvai.sweep import expr, load, run
from rvai.sweep.plots import pareto_front

HERE = Path(__file__).parent


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent(text))
    return path


GEMM = """
    [[workload]]
    name = "gemm"
    kind = "op"
    op = "matmul"
    shapes = [[8, 16], [16, 24]]
"""
QWEN = """
    [[workload]]
    name = "qwen"
    kind = "qwen"
    model = "qwen2.5-0.5b"
    phase = "decode"
    context = 16
"""


# ---- expressions ----------------------------------------------------------------

@given(st.integers(1, 4096), st.integers(1, 64), st.integers(0, 100))
def test_expressions_compute_like_python_with_dotted_names(vlen, fp, k):
    data = {"vlen": vlen, "model": {"pipes": {"fp": fp}}}
    assert expr.evaluate("vlen * model.pipes.fp + 3", data) == vlen * fp + 3
    assert expr.evaluate(f"(vlen - {k}) // 2 % 7", data) == (vlen - k) // 2 % 7
    assert expr.evaluate("max(vlen, model.pipes.fp) / 2", data) == \
        (max(vlen, fp) // 2 if max(vlen, fp) % 2 == 0 else max(vlen, fp) / 2)


@pytest.mark.parametrize("text", ["__import__('os')", "vlen.__class__", "open('x')", "[vlen]",
                                  "vlen if vlen else 1", "lambda: 1", "vlen ="])
def test_expressions_refuse_anything_but_arithmetic(text):
    with pytest.raises(ValueError):
        expr.evaluate(text, {"vlen": 128})


def test_expressions_name_a_missing_field_and_a_zero_division():
    with pytest.raises(ValueError, match="model.l3_size"):
        expr.evaluate("model.l3_size * 2", {"model": {}})
    with pytest.raises(ValueError, match="divides by zero"):
        expr.evaluate("vlen / (vlen - vlen)", {"vlen": 128})


# ---- sweep files and points ------------------------------------------------------------

def test_points_are_the_product_of_the_choices_with_derived_values(tmp_path):
    sweep = load(write(tmp_path, """
        base = "generic"
        cost = "vlen * model.pipes.fp + model.l2_size / 1024"
        [params]
        vlen = [128, 512]
        "model.dlen" = ["=vlen/2", "=vlen"]
        "model.l2_size" = { start = 65536, stop = 1048576, factor = 4 }
        "model.pipes.fp" = { start = 1, stop = 2, step = 1 }
    """ + GEMM))
    points = sweep.points()
    combos = list(itertools.product([128, 512], ["half", "full"], [65536, 262144, 1048576], [1, 2]))
    assert len(points) == len(combos)
    base = Target.preset("generic").model
    for p, (vlen, dlen, l2, fp) in zip(points, combos):
        want_dlen = vlen // 2 if dlen == "half" else vlen
        assert p.params == {"vlen": vlen, "model.dlen": want_dlen, "model.l2_size": l2, "model.pipes.fp": fp}
        assert p.target["vlen"] == vlen and p.target["model"]["dlen"] == want_dlen
        assert p.target["model"]["pipes"] == dict(base["pipes"], fp=fp)   # the rest of the table kept
        assert p.cost == vlen * fp + l2 / 1024
        assert p.error is None
    assert len({p.key for p in points}) == len(points)
    assert [p.key for p in load(tmp_path / "sweep.toml").points()] == [p.key for p in points]


def test_a_field_new_to_the_model_reaches_the_target_and_its_validation(tmp_path):
    """Paths are not interpreted by the sweep: a field the model lacks is the Target's
    (or the timing model's) to accept or refuse, point by point."""
    sweep = load(write(tmp_path, """
        [params]
        "model.l2_latency" = [10, 30]
        "model.not_a_field" = [1]
    """ + GEMM))
    points = sweep.points()
    assert [p.target["model"]["l2_latency"] for p in points] == [10, 30]
    assert all("not_a_field" in p.error for p in points)


@pytest.mark.parametrize("body, message", [
    ("bogus = 1\n" + GEMM, "unknown keys"),
    ('[params]\nvlen = []\n' + GEMM, "non-empty list"),
    ('[params]\nvlen = { start = 128, stop = 64 }\n' + GEMM, "range"),
    ('[params]\n"model.dlen" = ["=vlen +"]\n' + GEMM, "not valid arithmetic"),
    ('[params]\n"model.dlen" = ["=vlen * model.nope"]\n' + GEMM, "model.nope"),
    ('base = "no-such-preset"\n' + GEMM, "neither a preset"),
    ('cost = "vlen * l2"\n' + GEMM, "'l2'"),
    ("", "at least one"),
    (GEMM.replace('"op"', '"nope"'), "kind must be one of"),
    (GEMM.replace('"matmul"', '"transpose"'), "op must be one of"),
    (GEMM.replace("[8, 16]", "[8, 0]"), "positive integers"),
    (GEMM + GEMM, "names must differ"),
    (GEMM + 'colour = "red"\n', "unknown keys"),
    (QWEN.replace('"qwen2.5-0.5b"', '"qwen4"'), "unknown model"),
    (QWEN.replace('"decode"', '"train"'), "phase must be one of"),
    (QWEN + 'dtype = "int4"\n', "unknown weight dtype"),
    (QWEN + "max_macs = -1\n", "max_macs"),
])
def test_a_bad_sweep_file_is_refused_before_anything_runs(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        load(write(tmp_path, body))


def test_an_invalid_configuration_is_its_points_error_only(tmp_path):
    sweep = load(write(tmp_path, "[params]\nvlen = [96, 128]\n" + GEMM))
    bad, good = sweep.points()
    assert "bad configuration" in bad.error and "power of two" in bad.error
    assert good.error is None


# ---- running ---------------------------------------------------------------------------

def direct_cycles(vlen: int, dlen: int, l2: int, shapes) -> tuple[int, int, int]:
    """The oracle: the same matmul through rvai.ops on a Target built by hand."""
    base = Target.preset("generic")
    target = dataclasses.replace(base, vlen=vlen, model=dict(base.model, dlen=dlen, l2_size=l2))
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    ops.matmul(a, b, target=target)
    return ops.last_run.cycles, ops.last_run.instret, ops.last_run.profile.flops


def read_csv(folder: Path) -> list[dict]:
    with open(folder / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_rows_hold_what_the_same_run_measures_directly(tmp_path):
    path = write(tmp_path, """
        [params]
        vlen = [128, 512]
        "model.dlen" = ["=vlen/2"]
        "model.l2_size" = [16384, 1048576]
    """ + GEMM)
    result = run(path, tmp_path / "out", workers=2, progress=False, plot=False)
    rows = read_csv(tmp_path / "out")
    assert len(rows) == len(result.rows) == 4 and result.ran == 4
    for row, (vlen, l2) in zip(rows, itertools.product([128, 512], [16384, 1048576])):
        assert row["status"] == "ok", row["error"]
        assert (int(row["vlen"]), int(row["model.dlen"]), int(row["model.l2_size"])) == (vlen, vlen // 2, l2)
        # (FLOPs are what the kernel executes: at least the product's, padding included)
        assert (int(row["cycles"]), int(row["instret"]), int(row["flops"])) == \
            direct_cycles(vlen, vlen // 2, l2, [[8, 16], [16, 24]])
        assert int(row["flops"]) >= 2 * 8 * 16 * 24
        assert float(row["flops_per_cycle"]) == pytest.approx(int(row["flops"]) / int(row["cycles"]))
        stalls = [int(row[f"stalls.{k}"]) for k in ("data", "memory", "vector", "branch")]
        assert 0 <= sum(stalls) <= int(row["cycles"])
    # a smaller L2 cannot make DRAM traffic smaller
    for small, big in ((rows[0], rows[1]), (rows[2], rows[3])):
        assert int(small["dram_bytes.read"]) >= int(big["dram_bytes.read"])


def make_faulting_exe(path: Path) -> Path:
    """A static executable whose first instruction loads from address 0."""
    from test_linux import make_exe
    path.write_bytes(make_exe(["addi a0, zero, 0", "ld a1, 0(a0)"]))
    return path


def test_each_failure_is_one_error_row_and_the_sweep_goes_on(tmp_path):
    make_faulting_exe(tmp_path / "fault.elf")
    path = write(tmp_path, "[params]\nvlen = [96, 128]\n" + GEMM + GEMM.replace('"gemm"', '"over budget"')
                 + """    budget = 500

        [[workload]]
        name = "guest fault"
        kind = "program"
        program = "fault.elf"

        [[workload]]
        name = "worker crash"
        kind = "python"
        function = "sweep_helpers:crash_worker"

        [[workload]]
        name = "hang"
        kind = "python"
        function = "sweep_helpers:hang"
        timeout = 2

        [[workload]]
        name = "saxpy"
        kind = "python"
        function = "sweep_helpers:saxpy_run"
    """)
    result = run(path, tmp_path / "out", workers=2, progress=False, plot=False)
    rows = {(r["vlen"], r["workload"]): r for r in result.rows}
    assert len(rows) == 12
    for name in ("gemm", "over budget", "guest fault", "worker crash", "hang", "saxpy"):
        assert "bad configuration" in rows[96, name]["error"]
    expected = {"gemm": None, "saxpy": None, "over budget": "BudgetExceeded",
                "guest fault": "LoadFault", "worker crash": "killed by signal SIGSEGV",
                "hang": "timeout: still running after 2 s"}
    for name, error in expected.items():
        row = rows[128, name]
        if error is None:
            assert row["status"] == "ok" and row["cycles"] > 0, row["error"]
        else:
            assert row["status"] == "error" and error in row["error"], row["error"]


def test_a_rerun_skips_finished_points_and_redoes_missing_ones(tmp_path):
    path = write(tmp_path, "[params]\nvlen = [128, 256, 96]\n" + GEMM)
    out = tmp_path / "out"
    first = run(path, out, workers=2, progress=False, plot=False)
    assert first.ran == 3
    again = run(path, out, workers=2, progress=False, plot=False)
    assert again.ran == 0 and again.rows == first.rows
    journal = out / "points.jsonl"
    lines = journal.read_text().splitlines()
    ok_key = first.rows[1]["point"]
    journal.write_text("".join(l + "\n" for l in lines if json.loads(l)["key"] != ok_key) + '{"cut sh')
    third = run(path, out, workers=2, progress=False, plot=False)
    assert third.ran == 1 and third.rows == first.rows
    assert run(path, out, retry_errors=True, progress=False, plot=False).ran == 1   # the vlen-96 point


def test_the_local_path_never_imports_ray(tmp_path):
    path = write(tmp_path, "[params]\nvlen = [128]\n" + GEMM)
    code = (f"import sys, rvai.sweep as s; s.run({str(path)!r}, {str(tmp_path / 'o')!r}, workers=1, "
            "progress=False); assert 'ray' not in sys.modules, 'ray was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_command_line_reports_and_is_strict_only_when_asked(tmp_path, capsys):
    from rvai.cli import main
    path = write(tmp_path, "[params]\nvlen = [96, 128]\n" + GEMM)
    out = str(tmp_path / "out")
    assert main(["sweep", str(path), "--out", out, "--workers", "1", "--no-plot"]) == 0
    captured = capsys.readouterr()
    assert "2 points (2 run now, 0 finished before), 1 failed" in captured.out
    assert "failed: gemm @ vlen=96" in captured.err
    assert main(["sweep", str(path), "--out", out, "--strict", "--no-plot"]) == 1
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", out]) == 2
    assert "cannot read sweep file" in capsys.readouterr().err
    assert main(["sweep", "--plot", out, "--out", out]) == 2


# ---- tables and figures ----------------------------------------------------------------

@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=30))
def test_the_pareto_front_is_exactly_the_undominated_points(pts):
    front = set(pareto_front(pts))
    for i, (c, t) in enumerate(pts):
        dominated = any((c2 <= c and t2 < t) or (c2 < c and t2 <= t) for c2, t2 in pts)
        duplicate_first = pts.index((c, t)) == i
        assert (i in front) == (not dominated and duplicate_first)


def test_figures_and_parquet_are_written_and_redrawn_from_the_csv(tmp_path):
    pytest.importorskip("matplotlib")
    path = write(tmp_path, """
        cost = "vlen + model.l2_size / 1024"
        [params]
        vlen = [128, 256]
        "model.l2_size" = [16384, 262144]
    """ + GEMM)
    out = tmp_path / "out"
    result = run(path, out, workers=2, progress=False)
    names = sorted(p.name for p in result.figures)
    assert names == ["cycles_vs_model_l2_size.png", "cycles_vs_vlen.png", "pareto.png", "roofline.png"]
    for p in result.figures:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        p.unlink()
    from rvai.cli import main
    assert main(["sweep", "--plot", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == names
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return
    table = pq.read_table(out / "results.parquet").to_pylist()
    assert [r["cycles"] for r in table] == [int(r["cycles"]) for r in read_csv(out)]


def test_ctrl_c_stops_the_sweep_and_records_no_point_it_interrupted(tmp_path):
    """Ctrl-C reaches the whole process group (as from a terminal): the finished point
    stays, the one in flight is not recorded as a failure, so a rerun redoes it."""
    import os
    import signal
    import time
    path = write(tmp_path, "[params]\nvlen = [128]\n" + GEMM + """
        [[workload]]
        name = "hang"
        kind = "python"
        function = "sweep_helpers:hang"
    """)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "rvai.cli", "sweep", str(path), "--out", str(out),
                             "--workers", "2", "--no-plot"], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = out / "points.jsonl"
    deadline = time.monotonic() + 120
    try:
        while not (journal.exists() and journal.read_text().count("\n") == 1):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 130
    finally:   # a failed check must not leave the sweep (in its own session) running
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(r["workload"], r["status"]) for r in records] == [("gemm", "ok")]
    assert [r["workload"] for r in read_csv(out)] == ["gemm"]


def test_a_workload_of_several_runs_sums_them_with_their_weights(tmp_path):
    """A python workload may return several runs (one model layer = many kernel calls):
    counters add up with their weights and ratios are recomputed from the sums."""
    import sweep_helpers
    path = write(tmp_path, """
        [params]
        vlen = [256]

        [[workload]]
        name = "pair"
        kind = "python"
        function = "sweep_helpers:saxpy_pair"
    """)
    row, = run(path, tmp_path / "out", workers=1, progress=False, plot=False).rows
    assert row["status"] == "ok", row["error"]
    target = Target.preset("generic").with_vlen(256)
    small, big = (sweep_helpers.saxpy_run(target, n).profile for n in (64, 256))
    parts = ((small, 1), (big, 3))
    total = lambda f: sum(f(p) * w for p, w in parts)  # noqa: E731
    assert row["cycles"] == total(lambda p: p.cycles)
    assert row["instret"] == total(lambda p: p.instret)
    assert row["flops"] == total(lambda p: p.flops) == 2 * (64 + 3 * 256)
    assert row["stalls.memory"] == total(lambda p: p.stalls["memory"])
    assert row["flops_per_cycle"] == pytest.approx(row["flops"] / row["cycles"])
    assert row["bytes_per_cycle"] == pytest.approx(
        total(lambda p: p.bytes_loaded + p.bytes_stored) / row["cycles"])
    assert row["bounds.DRAM"] == pytest.approx(total(lambda p: p.bounds()["DRAM"] * p.cycles) / row["cycles"])
    assert row["peak_flops_per_cycle_f32"] == small.peak_flops_per_cycle(32)


def test_a_qwen_layer_is_one_row_holding_the_layer_run_directly(tmp_path):
    """A ``qwen`` workload: a whole decoder layer (a dozen kernel calls) is one row whose
    counters are the layer's own, as rvai.models measures it outside the sweep; a bad
    configuration and an exhausted budget are still one error row each."""
    from rvai.models import get
    from rvai.models.predict import layer_costs
    path = write(tmp_path, "[params]\nvlen = [96, 128, 512]\n" + QWEN
                 + QWEN.replace('"qwen"\n    kind', '"qwen over budget"\n    kind') + "    budget = 5000\n")
    result = run(path, tmp_path / "out", workers=2, progress=False, plot=False)
    rows = {(r["vlen"], r["workload"]): r for r in read_csv(tmp_path / "out")}
    assert len(rows) == len(result.rows) == 6
    assert "bad configuration" in rows["96", "qwen"]["error"]
    for vlen in (128, 512):
        assert "BudgetExceeded" in rows[str(vlen), "qwen over budget"]["error"]
        row = rows[str(vlen), "qwen"]
        assert row["status"] == "ok", row["error"]
        costs = layer_costs(get("qwen2.5-0.5b"), Target.preset("generic").with_vlen(vlen), "decode", context=16)
        assert not costs.sampled and len(costs.ops) == 11
        assert int(row["cycles"]) == costs.cycles
        assert int(row["flops"]) == sum(op.flops for op in costs.ops.values())
        assert int(row["dram_bytes.read"]) + int(row["dram_bytes.written"]) == \
            sum(op.bytes for op in costs.ops.values())


class _Finalised:
    """Garbage (a cycle) whose finaliser leaves the finalising process's pid in a directory."""

    def __init__(self, where: Path):
        self.where, self.me = where, self

    def __del__(self):
        (self.where / str(os.getpid())).touch()


def test_a_forked_point_leaves_the_parents_garbage_alone(tmp_path):
    """A point's process does not finalise objects its parent left for the collector (a Ray
    ObjectRef's finaliser in a forked child waited for a lock of the parent's Ray threads
    forever); the parent still does."""
    path = write(tmp_path, """
        [params]
        vlen = [128]

        [[workload]]
        name = "collect"
        kind = "python"
        function = "sweep_helpers:collect_then_saxpy"
    """)
    marks = tmp_path / "finalised"
    marks.mkdir()
    gc.disable()   # the cycle stays garbage until the worker's gc.collect
    try:
        _Finalised(marks)
        row, = run(path, tmp_path / "out", workers=1, progress=False, plot=False).rows
    finally:
        gc.enable()
    gc.collect()
    assert row["status"] == "ok", row["error"]
    assert sorted(p.name for p in marks.iterdir()) == [str(os.getpid())]
