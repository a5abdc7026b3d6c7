"""``rvai sweep``: the command-line face of :func:`rvai.sweep.run` (rvai/cli.py parses).

* ``rvai sweep SWEEP.toml --out DIR [--workers N] [--ray ADDRESS] [--retry-errors]
  [--strict] [--no-plot]`` runs the sweep into DIR;
* ``rvai sweep --plot DIR`` redraws DIR's figures from its results.csv.

Exit status: 0 when the sweep ran (failed points are rows of the table, listed on
stderr), 1 with ``--strict`` when any point failed, 2 for an unusable sweep file or
command line.
"""
from __future__ import annotations

import sys

#: How many failed points are listed on stderr after a sweep.
_SHOWN_ERRORS = 10


def main(args) -> int:
    """Run (or redraw) a sweep as the parsed ``args`` say; returns the exit status."""
    from rvai import sweep
    if args.plot:
        if args.file or args.out:
            return _error("--plot DIR redraws an existing sweep: give no sweep file or --out")
        try:
            figures = sweep.plot(args.plot)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            return _error(f"cannot draw {args.plot}: {exc}")
        print("\n".join(str(f) for f in figures))
        return 0
    if not args.file or not args.out:
        return _error("usage: rvai sweep SWEEP.toml --out DIR, or rvai sweep --plot DIR")
    if args.workers is not None and args.workers < 1:
        return _error("--workers must be at least 1")
    try:
        spec = sweep.load(args.file)
        result = sweep.run(spec, args.out, workers=args.workers, ray=args.ray,
                           retry_errors=args.retry_errors, plot=not args.no_plot)
    except (ValueError, RuntimeError) as exc:
        return _error(str(exc))
    errors = result.errors
    print(f"{len(result.rows)} points ({result.ran} run now, {len(result.rows) - result.ran} "
          f"finished before), {len(errors)} failed; table: {result.folder / 'results.csv'}")
    for f in result.figures:
        print(f"figure: {f}")
    for r in errors[:_SHOWN_ERRORS]:
        print(f"failed: {r['workload']} @ {r['config']}: {r['error']}", file=sys.stderr)
    if len(errors) > _SHOWN_ERRORS:
        print(f"... and {len(errors) - _SHOWN_ERRORS} more (see the error column)", file=sys.stderr)
    return 1 if args.strict and errors else 0


def _error(message: str) -> int:
    print(f"rvai: error: {message}", file=sys.stderr)
    return 2
