"""Design-space sweeps: run workloads over many machine configurations, locally or on Ray.

``rvai sweep SWEEP.toml --out DIR`` (or :func:`run`) reads a sweep file (a base target,
the parameters to vary, the workloads -- see :mod:`rvai.sweep.spec` and docs/sweeps.md),
runs every (configuration, workload) point as its own job, and leaves in DIR a
results.csv with one row per point, and figures. A rerun skips finished points.

Modules: ``spec`` (the sweep file and its points), ``expr`` (derived values and cost
expressions), ``workloads`` (what a point runs), ``job`` (one point, on a worker),
``executors`` (local processes or Ray), ``results`` (journal and tables), ``progress``,
``plots`` and ``driver`` (all of it in order).
"""
from rvai.sweep.driver import SweepResult, run
from rvai.sweep.spec import Point, Sweep, load

__all__ = ["run", "load", "plot", "Sweep", "Point", "SweepResult"]


def plot(folder) -> list:
    """Redraw the figures of the sweep in ``folder`` from its results.csv; returns their paths."""
    from rvai.sweep.plots import draw
    return draw(folder)
