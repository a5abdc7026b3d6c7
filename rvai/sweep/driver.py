"""Running a sweep: plan the points, skip the finished ones, run the rest, write the
tables and draw the figures."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from rvai.sweep.executors import LocalBackend, RayBackend, execute
from rvai.sweep.progress import progress_bar
from rvai.sweep.results import Journal, rows_of, write_tables
from rvai.sweep.spec import Sweep, load

__all__ = ["run", "SweepResult"]


@dataclasses.dataclass
class SweepResult:
    """What a sweep left in ``folder``: the table's ``columns`` and ``rows`` (one per
    point, in sweep order), the ``figures`` drawn, and how many points ``ran`` now
    (the others were finished before)."""

    folder: Path
    columns: list[str]
    rows: list[dict]
    figures: list[Path]
    ran: int

    @property
    def errors(self) -> list[dict]:
        """The rows whose point failed."""
        return [r for r in self.rows if r["status"] != "ok"]


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run(sweep: Sweep | str | Path, out: str | Path, *, workers: int | None = None,
        ray: str | bool | None = None, retry_errors: bool = False, progress: bool = True,
        plot: bool = True) -> SweepResult:
    """Run ``sweep`` (a :class:`Sweep` or a sweep file) into folder ``out``.

    Points run in ``workers`` local processes (default: one per CPU), or on Ray when
    ``ray`` is an address (``"local"`` starts Ray on this machine; ``True`` uses the
    session already initialised, or starts one). Points finished by an earlier run
    into ``out`` are skipped (failed ones too, unless ``retry_errors``). Figures are
    drawn when ``plot`` and matplotlib is installed, and a point ran or there are none
    yet (:func:`rvai.sweep.plot` redraws them).
    """
    sweep = sweep if isinstance(sweep, Sweep) else load(sweep)
    out = Path(out)
    journal = Journal(out)
    (out / "sweep.json").write_text(json.dumps(sweep.manifest(), indent=1) + "\n")
    points = sweep.points()
    finished = journal.finished()
    todo = [p for p in points if p.key not in finished
            or (retry_errors and finished[p.key]["status"] != "ok")]
    backend = (RayBackend(None if ray is True else ray, workers) if ray
               else LocalBackend(workers or _cpus()))
    bar = progress_bar(len(points), len(points) - len(todo), sweep.name, progress)

    def on_record(record: dict) -> None:
        journal.append(record)
        finished[record["key"]] = record
        bar.update(record["status"] != "ok")

    try:
        execute(todo, backend, on_record, sweep.metrics)
    finally:
        bar.close()
        backend.close()
        # The table follows the sweep's order whatever order the points finished in;
        # labels come from this run's plan (a record is found by its key alone).
        done = [p.record(finished[p.key]["status"], finished[p.key]["error"], finished[p.key]["metrics"])
                for p in points if p.key in finished]
        columns, rows = rows_of(done, list(sweep.params))
        write_tables(out, columns, rows)
    figures = sorted(out.glob("*.png"))
    if plot and (todo or not figures):   # nothing new and figures drawn: they still hold
        try:
            from rvai.sweep.plots import draw
            figures = draw(out)
        except RuntimeError:   # no matplotlib: the tables are the result
            pass
    return SweepResult(out, columns, rows, figures, len(todo))
