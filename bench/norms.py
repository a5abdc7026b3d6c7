"""Softmax and RMSNorm against the memory bandwidth bound, per preset.

    python bench/norms.py [--presets generic,xuantie-c930] [--rows 64] [--tune] [--loops N]

Runs ``rvai.ops.softmax`` (with each exp: "softmax/fast" is ``exp="fast"``) and
``rvai.ops.rmsnorm`` on (rows, 896) and (rows, 3584)
f32 arrays (Qwen2 0.5B and 7B hidden sizes), each result checked against float64
NumPy. Every run starts with cold caches, so the data live in DRAM: the bound is the
bytes that must cross it (x read once, the output written once, RMSNorm's weight
read once) over the preset's ``dram_bytes_per_cycle``. ``% of bound`` = bound /
cycles. ``moved`` is what the run moved over DRAM (read and written) as a share of
the bytes the bound counts: above 100 % lines were read for ownership (a store miss
reads the line first) or written back more than once; below it output lines were never
read (claimed with cbo.zero) or are still dirty in the caches when the run ends (the
model writes a line back only when it leaves them), and ``% of bound`` can pass 100 %.
With ``--loops N`` each row is followed by the run's N hottest loops (their cycles and
instructions, vector ones apart). The busiest resource of the run (``Profile.bounds``: FP pipe, load/store
pipe, DRAM channel, scalar issue) says what the kernel is limited by instead.
``FP bound`` is the fraction of the bandwidth bound the FP pipes allow at most: the
cycles the bound takes over the cycles the kernel's FP operations occupy the pipes
(``Profile.pipe_busy``), so a kernel whose FP work alone exceeds the bound cannot reach it.
``FP ceil`` is the same from the arithmetic alone (:func:`ceilings`): the FP operations an
element needs in each pass (``FP ops``, e.g. ``1+5+1`` for the fast softmax's maximum, exp
and sum, and division passes) over the preset's FP pipes and their width; ``ceiling`` is the
lowest such figure over the vector pipes (FP, integer ALU, loads and stores), named by its
pipe: no schedule of this work reaches more. ``+RFO`` is ``% of bound`` against a bound
that also counts reading each output line for ownership (a store miss reads its line on a
write-allocate cache), shown for presets without Zicboz, where no instruction avoids it.

With ``--tune`` each kernel is first tuned on the preset for the shape (``rvai.tune``,
over the kernel's declared candidates; cached), and the run then uses the chosen
configuration, printed beside it; without it the kernels' defaults run (or what an
earlier tune cached).
"""
from __future__ import annotations

import argparse

import numpy as np

from rvai import ops, tune
from rvai.emu.profile import PIPES, timing_params
from rvai.target import Target

PRESETS = ["generic", "spacemit-x60", "sifive-x280", "xuantie-c930"]


def run_softmax(x, target, exp="accurate"):
    """Checked softmax; its DRAM bytes (x in, o out). The fast exp's results are held to
    its stated bound: 9.8e-5 relative an exp, so 2e-4 on a result (the exp and the sum)."""
    out = ops.softmax(x, exp=exp, target=target)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(-1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(-1, keepdims=True), rtol=1e-5 if exp == "accurate" else 2e-4,
                               atol=1e-8)
    return 2 * x.nbytes


def run_rmsnorm(x, target):
    """Checked RMSNorm; its DRAM bytes (x and w in, o out)."""
    w = np.random.default_rng(1).standard_normal(x.shape[-1]).astype(np.float32)
    out = ops.rmsnorm(x, w, 1e-6, target=target)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(out, x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + 1e-6) * w,
                               rtol=2e-5, atol=1e-5)
    return 2 * x.nbytes + w.nbytes


#: The vector operations an element of each kernel needs, per pass (maximum, exp and sum,
#: division for softmax; sum of squares, scaled product for RMSNorm), by pipe: ``fp`` FP
#: arithmetic (vfmax, vfsub, vfadd, vfmul, FMAs), ``arith`` the integer ALU, ``load`` and
#: ``store`` unit-stride memory. The accurate exp (``rl.exp_nonpositive``) is 9 FP and 4
#: integer operations, after the subtraction of the row maximum; the fast one
#: (``rl.exp_fast``, the maximum folded into its first FMA) 4 FP and 6 integer.
OPS_PER_ELEMENT = {
    "softmax": {"fp": (1, 1 + 9 + 1, 1), "arith": (0, 4, 0), "load": (1, 1, 1), "store": (0, 1, 1)},
    "softmax/fast": {"fp": (1, 4 + 1, 1), "arith": (0, 6, 0), "load": (1, 1, 1), "store": (0, 1, 1)},
    "rmsnorm": {"fp": (1, 2), "arith": (0, 0), "load": (1, 2), "store": (0, 1)},
}


def ceilings(label: str, model: dict, bound_per_element: float) -> dict[str, float]:
    """For each vector pipe the kernel uses, the most ``% of bound`` its operations allow:
    the cycles an element takes at the bound over the cycles its operations occupy that
    pipe, each pipe retiring ``units x width / 32`` f32 elements a cycle (``pipes`` and
    ``pipe_width``, DLEN by default; the cost tables of the shipped presets price these
    operations the same way). Loads and stores share the ``ls`` pipe unless the preset
    sends stores to their own (``vpipe``)."""
    p = timing_params(model)
    rate = {pipe: p.pipe_count[i] * (p.pipe_width[i] or p.dlen) / 32 for i, pipe in enumerate(PIPES)}
    st = "st" if model.get("vpipe", {}).get("VSTORE") == "st" else "ls"
    busy = {}
    for kind, per_pass in OPS_PER_ELEMENT[label].items():
        pipe = {"load": "ls", "store": st}.get(kind, kind)
        busy[pipe] = busy.get(pipe, 0.0) + sum(per_pass) / rate[pipe]
    return {pipe: 100 * bound_per_element / cycles for pipe, cycles in busy.items() if cycles}


#: What a preset and shape run: (label, the kernel's name in ``rvai.tune.TUNABLE``, call).
RUNS = [("softmax", "softmax", run_softmax),
        ("softmax/fast", "softmax_fast", lambda x, t: run_softmax(x, t, "fast")),
        ("rmsnorm", "rmsnorm", run_rmsnorm)]


def main(argv=None) -> list[dict]:
    """Print one row per (preset, kernel, shape); return the rows."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--tune", action="store_true", help="tune each kernel for the shape first")
    ap.add_argument("--loops", type=int, default=0, metavar="N",
                    help="after each row, the run's N hottest loops (Profile.hot_loops)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    print(f"{'preset':13} {'kernel':12} {'shape':>11} {'cycles':>9} {'cyc/elem':>8} {'DRAM bound':>10} "
          f"{'% of bound':>10} {'+RFO':>6} {'FP ops':>7} {'FP ceil':>7} {'ceiling':>12} {'FP bound':>8} {'moved':>6}  "
          "busiest  config")
    for name in args.presets.split(","):
        target = Target.preset(name)
        for n in (896, 3584):
            x = (rng.standard_normal((args.rows, n)) * 4).astype(np.float32)
            for label, kname, fn in RUNS:
                get_kernel, make_args, _, fixed = tune.TUNABLE[kname]
                kernel = get_kernel()
                if args.tune:
                    tune.tune(kernel, make_args(x.shape, x.dtype, target), target=target, **fixed(x.shape))
                config = tune.lookup(kernel, {"x": x, **fixed(x.shape)}, target) or {}
                nbytes = fn(x, target)
                run = ops.last_run
                bound = nbytes / run.profile.peak_dram_bytes_per_cycle
                fp = run.profile.pipe_busy["fp"] / run.profile.model.get("pipes", {}).get("fp", 1)
                busiest = max(run.profile.bounds().items(), key=lambda kv: kv[1])
                moved = 100 * sum(run.profile.dram_bytes.values()) / nbytes
                ceil = ceilings(label, target.model, bound / x.size)
                low = min(ceil, key=ceil.get)
                # without Zicboz every output line is read before it is written (x.nbytes: the output's size)
                rfo = None if "zicboz" in target.extensions else 100 * (nbytes + x.nbytes) / run.profile.peak_dram_bytes_per_cycle / run.cycles
                row = {"preset": name, "kernel": label, "shape": x.shape, "cycles": run.cycles, "bound": bound,
                       "pct": 100 * bound / run.cycles, "pct_rfo": rfo, "fp_ceiling": ceil["fp"],
                       "ceiling": (low, ceil[low]), "fp_bound": 100 * bound / fp, "moved": moved,
                       "busiest": busiest, "config": config}
                rows.append(row)
                cfg = " ".join(f"{k}={v}" for k, v in sorted(config.items())) or "defaults"
                fp_ops = "+".join(map(str, OPS_PER_ELEMENT[label]["fp"]))
                print(f"{name:13} {label:12} {str(x.shape):>11} {run.cycles:>9,} {run.cycles / x.size:>8.2f} "
                      f"{bound:>10,.0f} {row['pct']:>9.1f}% {'-' if rfo is None else f'{rfo:.1f}%':>6} {fp_ops:>7} "
                      f"{ceil['fp']:>6.0f}% {low:>6} {ceil[low]:>4.0f}% {min(row['fp_bound'], 999):>7.0f}% "
                      f"{moved:>5.0f}%  {busiest[0]} {100 * busiest[1]:.0f}%  {cfg}", flush=True)
                for loop in run.profile.hot_loops(args.loops) if args.loops else ():
                    texts = [text for _, _, text in loop["lines"]]
                    print(f"    loop {loop['start']:#x}-{loop['end']:#x}: {loop['cycles']:,} cycles "
                          f"({100 * loop['cycles'] / run.cycles:.1f}%), {len(texts)} instructions "
                          f"({sum(t.startswith('v') for t in texts)} vector)", flush=True)
    return rows


if __name__ == "__main__":
    main()
