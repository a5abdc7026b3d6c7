"""A sweep's output folder: the journal of finished points and the result tables.

``points.jsonl`` gets one JSON record per finished point the moment it finishes (a
killed sweep loses only the points in flight); it is what a rerun reads to skip
finished points. ``results.csv`` (and ``results.parquet`` when pyarrow is installed)
is rewritten from it in the sweep's order: one row per (configuration, workload), a
column per swept parameter, then status, error and the metrics. ``sweep.json`` keeps
what the figures need besides the table.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

__all__ = ["Journal", "rows_of", "write_tables", "read_table", "FIXED_COLUMNS"]

#: The leading columns of results.csv; the swept parameters follow ``config``.
FIXED_COLUMNS = ("point", "workload", "config")
#: The columns between the parameters and the metrics.
_STATUS_COLUMNS = ("cost", "status", "error")


class Journal:
    """The append-only record of finished points in ``folder/points.jsonl``."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / "points.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def finished(self) -> dict[str, dict]:
        """The latest record of every point key written so far (a line cut short by a
        killed sweep is ignored)."""
        out: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                out[record["key"]] = record
        return out

    def append(self, record: dict) -> None:
        """Write ``record`` on a line of its own before the next point is reported."""
        with self.path.open("a+b") as f:
            # A sweep killed mid-write leaves a cut line: start after it, not on it.
            cut = f.tell() > 0 and f.seek(f.tell() - 1) >= 0 and f.read(1) != b"\n"
            f.write((b"\n" if cut else b"") + json.dumps(record).encode() + b"\n")


def rows_of(records: list[dict], params: list[str]) -> tuple[list[str], list[dict]]:
    """The table of ``records`` (already in sweep order): its columns and its rows."""
    metric_names: dict[str, None] = {}
    for r in records:
        metric_names.update(dict.fromkeys(r["metrics"]))
    columns = [*FIXED_COLUMNS, *params, *_STATUS_COLUMNS, *metric_names]
    rows = []
    for r in records:
        row = {"point": r["key"], "workload": r["workload"], "config": r["config"],
               "cost": r["cost"], "status": r["status"], "error": r["error"]}
        row.update({p: r["params"].get(p) for p in params})
        row.update(r["metrics"])
        rows.append({c: row.get(c) for c in columns})
    return columns, rows


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value)
    return "" if value is None else value


def write_tables(folder: str | Path, columns: list[str], rows: list[dict]) -> list[Path]:
    """Write results.csv (and results.parquet when pyarrow is present); returns the paths."""
    folder = Path(folder)
    path = folder / "results.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, columns)
        w.writeheader()
        w.writerows({c: _cell(v) for c, v in row.items()} for row in rows)
    written = [path]
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        return written
    table = pyarrow.table({c: [_cell(r[c]) if isinstance(r[c], (dict, list)) else r[c] for r in rows]
                           for c in columns})
    pyarrow.parquet.write_table(table, folder / "results.parquet")
    return written + [folder / "results.parquet"]


def _number(text: str) -> Any:
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_table(folder: str | Path) -> list[dict]:
    """The rows of ``folder/results.csv``, numbers as numbers and empty cells as None."""
    with (Path(folder) / "results.csv").open(newline="") as f:
        return [{k: (v if k in ("point", "error") else _number(v)) for k, v in row.items()}
                for row in csv.DictReader(f)]
