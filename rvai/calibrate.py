"""Fit a preset's cost tables to measured cycles per instruction (``rvai calibrate``).

A measurement table is CSV with the columns ``insn,masked,sew,lmul,cycles`` (and
optionally ``source``; lines starting with ``#`` are comments): cycles per
instruction of independent copies at vl = VLMAX, as public RVV instruction
tables give them (rvai/targets/measured/ holds the ones the presets cite).
Scalar rows leave ``sew`` and ``lmul`` empty.

:func:`fit` turns the table into ``[model]`` entries of a base target: per vector
mnemonic, a ``vcost`` row whose occupancy form (constant, per LMUL, per LMUL²,
per element, or a sum of two of them) best matches its unmasked, non-e64 cells,
and the factors for its masked and SEW-64 cells; per scalar class, an
``occupancy`` when instructions are slower than one a cycle. :func:`compare`
measures the model with :mod:`rvai.microbench`, the same way the table was
measured, and :func:`report` prints measured vs model.
"""
from __future__ import annotations

import csv
import dataclasses
import sys
import itertools
import math
from pathlib import Path

import numpy as np

from rvai.emu.profile import PIPES, timing_params
from rvai.microbench import Cell, cycles_per_insn
from rvai.target import Target

__all__ = ["Row", "read_table", "fit", "calibrated", "compare", "report", "TOLERANCE"]

#: A model cell "matches" a measurement within this relative error.
TOLERANCE = 0.10
#: The terms a fitted form may use (of rvai.emu.profile.COST_TERMS; "beat" is the
#: class's own DLEN rule and stays out of fits).
_FIT_TERMS = ("const", "lmul", "lmul2", "elem")
_FORMS = [(t,) for t in _FIT_TERMS] + [p for p in itertools.combinations(_FIT_TERMS, 2)]


@dataclasses.dataclass(frozen=True)
class Row:
    """One measurement: the cell, its cycles per instruction and where it comes from."""

    cell: Cell
    cycles: float
    source: str = ""


def read_table(path: str | Path) -> list[Row]:
    """Read a measurement CSV (see the module docstring); bad rows raise ValueError."""
    path = Path(path)
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    rows = []
    reader = csv.DictReader(lines)
    need = {"insn", "masked", "sew", "lmul", "cycles"}
    if not reader.fieldnames or need - set(reader.fieldnames):
        raise ValueError(f"{path}: want the columns {sorted(need)}, got {reader.fieldnames}")
    for n, r in enumerate(reader, 2):
        try:
            sew = int(r["sew"]) if r["sew"] else None
            lmul = int(r["lmul"]) if r["lmul"] else None
            cycles = float(r["cycles"])
            masked = r["masked"].strip() in ("1", "true", "yes")
        except ValueError as exc:
            raise ValueError(f"{path}: row {n}: {exc}") from None
        if (sew is None) != (lmul is None) or (sew and sew not in (8, 16, 32, 64)) \
                or (lmul and lmul not in (1, 2, 4, 8)) or not cycles > 0 or not r["insn"]:
            raise ValueError(f"{path}: row {n}: want sew in 8..64, lmul in 1..8 (both or neither) "
                             f"and cycles > 0: {dict(r)}")
        rows.append(Row(Cell(r["insn"].strip(), sew, lmul, masked), cycles, r.get("source") or ""))
    return rows


def _terms(cell: Cell, vlen: int) -> dict[str, float]:
    lmul = cell.lmul
    return {"const": 1.0, "lmul": lmul, "lmul2": lmul * lmul, "elem": vlen * lmul / cell.sew}


def _cycles(form: dict[str, float], cell: Cell, vlen: int, factor: float = 1.0) -> int:
    """What the C core charges for a form times a (masked or e64) factor: whole
    cycles, at least one."""
    t = _terms(cell, vlen)
    x = sum(form.get(k, 0.0) * t[k] for k in _FIT_TERMS) * factor
    return max(1, math.floor(x + 0.5))


def _score(form, cells, vlen):
    errs = [abs(_cycles(form, c, vlen) / want - 1) for c, want in cells]
    return sum(e <= TOLERANCE for e in errs), -max(errs), -sum(errs)


def _fit_form(cells: list[tuple[Cell, float]], vlen: int) -> dict[str, float]:
    """The form (of _FORMS, non-negative coefficients, least squares in relative
    error) that matches the most cells, then the smallest worst error."""
    best, best_score = None, None
    for terms in _FORMS:
        a = np.array([[_terms(c, vlen)[t] / want for t in terms] for c, want in cells])
        coef, *_ = np.linalg.lstsq(a, np.ones(len(cells)), rcond=None)
        if (coef < 0).any():
            continue
        form = {t: round(float(k), 4) for t, k in zip(terms, coef) if k > 0}
        score = _score(form, cells, vlen)
        if best_score is None or score > best_score:
            best, best_score = form, score
    return best or {"const": round(float(np.median([w for _, w in cells])), 4)}


def _factor(cells, base_form, vlen) -> float | None:
    """The factor on `base_form` that matches the most of `cells` (then the smallest
    worst error), tried among the cells' own ratios; None when 1 does as well."""
    if not cells:
        return None
    terms = {c: _terms(c, vlen) for c, _ in cells}
    raw = {c: sum(base_form.get(k, 0.0) * terms[c][k] for k in _FIT_TERMS) for c, _ in cells}
    candidates = {1.0} | {round(want / raw[c], 4) for c, want in cells if raw[c] > 0}

    def score(f):
        errs = [abs(_cycles(base_form, c, vlen, f) / want - 1) for c, want in cells]
        return sum(e <= TOLERANCE for e in errs), -max(errs), f == 1.0

    best = max(sorted(candidates), key=score)
    return None if best == 1.0 else best


def _pipe_units(model: dict, insn: str) -> int:
    """Units of the pipe that runs `insn` (cycles per instruction = occupancy / units)."""
    from rvai._rvemu import ffi, lib
    p = timing_params(model)
    for op in range(1, lib.rv_num_ops()):
        if ffi.string(lib.rv_op_name(op)).decode() == insn:
            row = model.get("vcost", {}).get(insn, {})
            pipe = PIPES.index(row["pipe"]) if "pipe" in row else p.vpipe[lib.rv_op_class(op)]
            return p.pipe_count[pipe]
    raise ValueError(f"unknown instruction {insn!r}")


def _scalar_class(insn: str) -> str:
    from rvai._rvemu import ffi, lib
    for op in range(1, lib.rv_num_ops()):
        if ffi.string(lib.rv_op_name(op)).decode() == insn:
            return ffi.string(lib.rv_class_name(lib.rv_op_class(op))).decode()
    raise ValueError(f"unknown instruction {insn!r}")


def fit(rows: list[Row], base: Target) -> dict:
    """The ``[model]`` of ``base`` with cost rows fitted to ``rows`` (a new dict)."""
    model = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.model.items()}
    vcost = model.setdefault("vcost", {})
    occupancy = model.setdefault("occupancy", {})
    by_insn: dict[str, list[Row]] = {}
    for r in rows:
        by_insn.setdefault(r.cell.insn, []).append(r)
    vlen = base.vlen
    for insn, group in by_insn.items():
        if not group[0].cell.vector:
            cycles = float(np.mean([r.cycles for r in group]))
            if cycles >= 1:       # slower than one a cycle: one unit, held `cycles`
                occupancy[_scalar_class(insn)] = max(1, round(cycles))
            continue
        units = _pipe_units(model, insn)
        occ = [(r.cell, r.cycles * units) for r in group]
        plain = [(c, w) for c, w in occ if not c.masked and c.sew != 64] or \
                [(c, w) for c, w in occ if not c.masked] or occ
        row = {"occ": _fit_form(plain, vlen)}
        # factors are written whenever the table has such cells, 1.0 included, so
        # that a class row's factor does not apply where the table says otherwise
        e64_cells = [(c, w) for c, w in occ if not c.masked and c.sew == 64]
        if e64_cells and any(c.sew != 64 for c, _ in plain):
            row["e64"] = _factor(e64_cells, row["occ"], vlen) or 1.0
        # a masked e64 cell pays the larger factor only: fit masked on the others
        masked = [(c, w) for c, w in occ if c.masked and (c.sew != 64 or row.get("e64", 1) == 1)]
        if masked:
            row["masked"] = _factor(masked, row["occ"], vlen) or 1.0
        old = vcost.get(insn, {})      # what the table does not measure stays
        vcost[insn] = {**{k: old[k] for k in ("lat", "pipe") if k in old}, **row}
    if not occupancy:
        del model["occupancy"]
    return model


def calibrated(rows: list[Row], base: Target) -> Target:
    """``base`` with its model fitted to ``rows``."""
    return dataclasses.replace(base, model=fit(rows, base))


def compare(target: Target, rows: list[Row]) -> list[tuple[Row, float]]:
    """Each measurement beside the model's cycles per instruction for the same cell."""
    target = Target.of(target)
    return [(r, cycles_per_insn(target, r.cell)) for r in rows]


def report(pairs: list[tuple[Row, float]], title: str, worst: int = 10) -> str:
    """Measured vs model, the share of cells within TOLERANCE and the worst rows, as text."""
    lines = [f"{title}", f"{'cell':34} {'measured':>9} {'model':>8} {'ratio':>6}  source"]
    for r, got in pairs:
        lines.append(f"{r.cell.label():34} {r.cycles:9.2f} {got:8.2f} {got / r.cycles:6.2f}  {r.source}")
    ok = sum(abs(got / r.cycles - 1) <= TOLERANCE for r, got in pairs)
    lines.append(f"within ±{TOLERANCE:.0%}: {ok} of {len(pairs)} cells ({ok / max(1, len(pairs)):.0%})")
    bad = sorted(pairs, key=lambda p: -abs(math.log(p[1] / p[0].cycles)))[:worst]
    bad = [p for p in bad if abs(p[1] / p[0].cycles - 1) > TOLERANCE]
    if bad:
        lines.append("worst: " + "; ".join(f"{r.cell.label()} {got:.2f} vs {r.cycles:.2f}" for r, got in bad))
    return "\n".join(lines)


def command(table: str, base: str, output: str) -> int:
    """``rvai calibrate``: fit ``base`` to ``table``, write ``output``, print the fit
    before and after; returns the exit status (2 with one error line for bad input)."""
    try:
        rows = read_table(table)
        target = Target.preset(base)
        new = calibrated(rows, target)
        Path(output).write_text(new.to_toml())
        before, after = compare(target, rows), compare(new, rows)
    except (OSError, ValueError) as exc:
        print(f"rvai: error: {exc}", file=sys.stderr)
        return 2
    ok = sum(abs(got / r.cycles - 1) <= TOLERANCE for r, got in before)
    print(f"{base} before fitting: {ok} of {len(before)} cells within ±{TOLERANCE:.0%}")
    print(report(after, f"{output}: {base} fitted to {table}"))
    return 0
