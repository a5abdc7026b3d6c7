"""rvai.sweep on Ray: a local Ray cluster (this machine, 2 CPUs) runs a small sweep
and must give the local path's results row for row -- failures included: a bad
configuration, an exhausted budget, a timeout and a crashed worker. Skipped when Ray
is not installed (``pip install -e ".[test,ray]"``)."""
import os
import textwrap
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from rvai.sweep import run  # noqa: E402
from test_sweep import GEMM  # noqa: E402

SWEEP = """
    [params]
    vlen = [96, 128, 256]
    "model.dlen" = ["=vlen/2"]
""" + GEMM + """
    [[workload]]
    name = "softmax over budget"
    kind = "op"
    op = "softmax"
    shapes = [[16, 64]]
    budget = 300

    [[workload]]
    name = "endless loop"
    kind = "program"
    program = "loop.elf"
    timeout = 3

    [[workload]]
    name = "crash"
    kind = "python"
    function = "sweep_helpers:crash_worker"
"""


@pytest.fixture
def local_ray():
    # The workers import tests/sweep_helpers.py (the crashing workload) as the local path does.
    path = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield
    ray.shutdown()


def test_ray_gives_the_local_results_row_for_row(tmp_path, local_ray):
    from test_linux import make_exe
    (tmp_path / "loop.elf").write_bytes(make_exe(["jal zero, 0"]))
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent(SWEEP))
    on_ray = run(path, tmp_path / "ray", ray=True, progress=False, plot=False)
    local = run(path, tmp_path / "local", workers=2, progress=False, plot=False)
    assert on_ray.ran == local.ran == 12
    assert on_ray.columns == local.columns
    for r, l in zip(on_ray.rows, local.rows):
        if r["workload"] == "crash" and r["vlen"] != 96:   # how a dead worker is reported differs
            assert r["error"].startswith("worker crashed") and l["error"].startswith("worker crashed")
            r, l = dict(r, error=""), dict(l, error="")
        assert r == l
    by = {(r["vlen"], r["workload"]): r for r in on_ray.rows}
    assert all("bad configuration" in r["error"] for (vlen, _), r in by.items() if vlen == 96)
    for vlen in (128, 256):
        assert by[vlen, "gemm"]["status"] == "ok" and by[vlen, "gemm"]["cycles"] > 0
        assert "BudgetExceeded" in by[vlen, "softmax over budget"]["error"]
        assert by[vlen, "endless loop"]["error"] == "timeout: still running after 3 s"
        assert by[vlen, "crash"]["status"] == "error"
