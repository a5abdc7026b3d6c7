"""What each latency of a preset costs causal GQA attention: the same call on the preset and
on copies of it with one timing-model parameter changed, side by side.

    python bench/attention_whatif.py [--preset xuantie-c930] [--heads 14,2,64] [--lq 128] [--lk 128]
        [--config NAME=VALUE[,NAME=VALUE...] ...]

Runs :data:`rvai.kernels.attention` with the configuration ``rvai.ops.attention`` would take
on the preset (the shipped tuned one, else its default), every run checked against float64
NumPy, on the preset's ``[model]`` and on each change below (everything else, the compiled
code included, stays the same). A change that takes many cycles names a latency the kernel
waits on: ``l1_latency`` 1 prices the scalar loads that hit L1 (the profile's "memory" stalls
count those too), ``dram_latency`` 20 the misses to DRAM, ``branch_penalty`` 0 the
mispredicted loop exits. Prints the cycles, their ratio to the preset's, and the stall kinds.
With ``--config`` the rows compare configurations instead, on the preset's own model: each
``--config`` is the configuration above with the named tunables set (``EL=8``, or a whole
configuration for a case that has no tuned one: ``BM=7,LMUL=4,...``).
"""
from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np

from attention import reference   # bench/attention.py, beside this script
from rvai import kernels, tune
from rvai.target import Target

#: (label, change to the preset's [model]); ``latency`` entries replace one class's latency
#: (``FDIV``: the one unpipelined scalar divider, which takes a tile's seven 1/l one after
#: another), ``vcost`` entries one row of its vector cost table (``VRED``: every reduction, which
#: on sifive-x280 holds the one permute unit 35 + 2 x LMUL cycles; ``vsse*``: prefill's strided
#: stores of a tile's queries into q_s, one element a cycle).
CHANGES = [("l1_latency 1", {"l1_latency": 1}), ("l2_latency 4", {"l2_latency": 4}),
           ("dram_latency 20", {"dram_latency": 20}), ("branch_penalty 0", {"branch_penalty": 0}),
           ("vq_depth 64", {"vq_depth": 64}), ("integer DIV latency 1", {"latency": {"DIV": 1}}),
           ("VRED occupancy 1", {"vcost": {"VRED": {"occ": {"const": 1.0}}}}),
           ("FDIV latency 1", {"latency": {"FDIV": 1}}),
           ("vsse occupancy 1", {"vcost": {"vsse*": {"occ": {"const": 1.0}}}})]


def changed(target: Target, change: dict) -> Target:
    """``target`` with its model's entries replaced by ``change`` (``latency`` and ``vcost`` merged).

    A ``vcost`` prefix row (``"vsse*"``) is also merged into each of the preset's rows it covers
    (``"vsse32.v"``): the model takes a mnemonic's own row over a prefix row, so without that the
    change would not reach an instruction the preset prices by name."""
    model = {**target.model, **change}
    for table in ("latency", "vcost"):
        if table in change:
            model[table] = {**target.model.get(table, {}), **change[table]}
    for match, row in change.get("vcost", {}).items():
        if match.endswith("*"):
            for name in target.model.get("vcost", {}):
                if name != match and name.startswith(match[:-1]):
                    model["vcost"][name] = {**model["vcost"][name], **row}
    return dataclasses.replace(target, model=model)


def case_arguments(doc: str) -> argparse.ArgumentParser:
    """A parser of the options that name a case: ``--preset``, ``--heads``, ``--lq``, ``--lk``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="xuantie-c930")
    ap.add_argument("--heads", default="14,2,64", help="query heads, KV heads, head dim")
    ap.add_argument("--lq", type=int, default=128)
    ap.add_argument("--lk", type=int, default=128)
    return ap


def case(args, config_lq: int | None = None) -> tuple:
    """(preset, configuration, q, k, v) of the parsed case: the configuration ``rvai.ops.attention``
    takes on the preset for ``config_lq`` queries (default ``args.lq``), random inputs."""
    h, kv, d = map(int, args.heads.split(","))
    base = Target.preset(args.preset)
    cfg = tune.best_for(kernels.attention, base, (h, config_lq or args.lq, kv, args.lk, d, "accurate")) or {}
    rng = np.random.default_rng(0)
    q = rng.standard_normal((h, args.lq, d)).astype(np.float32)
    k, v = (rng.standard_normal((kv, args.lk, d)).astype(np.float32) for _ in range(2))
    return base, cfg, q, k, v


def tunables(text: str) -> dict:
    """``NAME=VALUE,...`` as a configuration's entries (integer values)."""
    return {name: int(value) for name, value in (item.split("=") for item in text.split(","))}


def main(argv=None) -> list[dict]:
    """Print one row per model change (or per ``--config``); return the rows."""
    ap = case_arguments(__doc__)
    ap.add_argument("--config", action="append", type=tunables, default=[],
                    help="tunables set on the configuration, NAME=VALUE,...: one row each (repeatable)")
    args = ap.parse_args(argv)
    base, cfg, q, k, v = case(args)
    h, kv, d = q.shape[0], k.shape[0], q.shape[2]
    want = reference(q, k, v)
    print(f"{args.preset}, {h}/{kv} heads, d {d}, Lq {args.lq}, Lk {args.lk}, "
          + (" ".join(f"{n}={c}" for n, c in sorted(cfg.items())) or "default configuration"))
    rows, first = [], None
    if args.config:   # (label, model change, configuration): configurations on the preset's model
        runs = [(",".join(f"{n}={c}" for n, c in s.items()), {}, {**cfg, **s}) for s in args.config]
    else:
        runs = [(label, change, cfg) for label, change in CHANGES]
    for label, change, config in [("preset", {}, cfg)] + runs:
        target = changed(base, change)
        q_s, o_s, p, k_t = kernels.attention_scratch(d, args.lk, config.get("BM", 7), config.get("LMUL", 4),
                                                     target.vlen, args.lq > 1)
        o = np.zeros_like(q)
        run = kernels.attention(q, k, v, o, q_s, o_s, p, k_t, 1 / math.sqrt(d), CAUSAL=True,
                                TRANSPOSE_K=args.lq > 1, **config, target=target)
        np.testing.assert_allclose(o, want, rtol=1e-4, atol=2e-5)
        first = first or run.cycles
        rows.append({"change": label, "cycles": run.cycles, "ratio": run.cycles / first, **run.profile.stalls})
        print(f"{label:22} {run.cycles:>11,} {run.cycles / first:7.3f}  "
              + " ".join(f"{s} {n:,}" for s, n in run.profile.stalls.items()), flush=True)
    return rows


if __name__ == "__main__":
    main()
