"""Tune the presets at the shapes bench/ measures and write them to rvai/targets/tuned.json.

    python bench/ship_tuned.py [--presets generic,spacemit-x60] [--kernels gemm_packed,...] [--shapes S ...] [--dry-run]

rvai ships these entries (``rvai.tune.SHIPPED``) so that ``rvai.ops`` runs a tuned
configuration on the presets without a tuning run first: softmax (each exp) and rmsnorm
on rows of 896 and 3584 (bench/norms.py), causal attention on the Qwen2 0.5B and 7B head shapes for
prefill 128 and 512 and decode 512 and 4096 (bench/attention.py; with the fast exp too, ``attention_fast``, on
spacemit-x60 and xuantie-c930 at prefill 128, the cells closest to 75 % of peak; ``--kernels attention`` took
3-5 minutes a preset on a loaded 2-core VM) and decode with one KV head of 7 query heads (a call of that
shape; rvai.models' cost estimate once ran such a slice and scaled it up, and now runs the whole
call's configuration on its samples: docs/qwen.md), and gemm_packed at M = 16, K = N = 896 (bench/gemm.py), plus on
xuantie-c930 at 64 x 4096 x 1024, where the default configuration misses 90 % of peak
(89.1 %; tuned 90.2 %) and one candidate run takes about a minute, and on sifive-x280 at
16 x 896 x 4864, where the default (MR 7, KC 1024) is 0.5 % slower than the C reference
(tuned: MR 7, KC 512, K-outer, 0.6 % faster), and in f16 on sifive-x280 at 16 x 896 x 896 and
16 x 896 x 4864 and on spacemit-x60 at 16 x 3584 x 512, where the defaults were 0.07 %, 0.07 % and
0.2 % slower than the C reference, and on sifive-x280 at 16 x 3584 x 512 and 16 x 4096 x 1024, where
after the one-loop row tiles the defaults were still 0.14 % and 0.29 % slower than it. Every
candidate is run again (``force``), in a scratch cache, and each entry keeps the tuner's
cycles beside its configuration. Entries of other presets or kernels already in the file
are kept (``--kernels`` re-tunes only the named kernels, after a change to their code;
``--shapes`` only the cases of those shapes, replacing just their entries: e.g. attention's
prefill cases, ``--kernels attention --shapes 14,2,128,128,64 14,2,512,512,64 ...``).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np

PRESETS = ["generic", "spacemit-x60", "sifive-x280", "xuantie-c930"]
#: (kernel, shape[, the presets, if not all[, the input dtype, if not float32]]); shapes as ``rvai tune``
#: takes them, and the fixed compile-time parameters too (``rvai.tune.fixed_params``: e.g. attention's
#: CAUSAL, the GEMMs' WIDEN for f16).
CASES = [(k, (64, n)) for k in ("softmax", "softmax_fast", "rmsnorm") for n in (896, 3584)] + [
    ("attention", (h, kv, lq, lk, d))
    for h, kv, d in ((14, 2, 64), (28, 4, 128)) for lq, lk in ((128, 128), (512, 512), (1, 512), (1, 4096))] + [
    ("attention", (7, 1, 1, lk, d)) for d in (64, 128) for lk in (512, 4096)] + [
    ("attention_fast", (h, kv, 128, 128, d), ("spacemit-x60", "xuantie-c930")) for h, kv, d in ((14, 2, 64), (28, 4, 128))] + [
    ("gemm_packed", (16, 896, 896)), ("gemm_packed", (64, 4096, 1024), ("xuantie-c930",)),
    ("gemm_packed", (16, 896, 4864), ("sifive-x280",)),
    ("gemm_packed", (16, 896, 896), ("sifive-x280",), "float16"),
    ("gemm_packed", (16, 896, 4864), ("sifive-x280",), "float16"),
    ("gemm_packed", (16, 3584, 512), ("spacemit-x60", "sifive-x280"), "float16"),
    ("gemm_packed", (16, 4096, 1024), ("sifive-x280",), "float16")]


def main(argv=None) -> None:
    """Tune every case on every chosen preset and merge the results into the shipped file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--kernels", default=",".join(dict.fromkeys(c[0] for c in CASES)))
    ap.add_argument("--shapes", nargs="+", default=None,
                    help="only the cases of these shapes (sizes comma-separated, as in CASES): their entries are "
                         "replaced, the kernels' other entries kept")
    ap.add_argument("--dry-run", action="store_true", help="print the entries, do not write the file")
    args = ap.parse_args(argv)
    chosen = set(args.kernels.split(","))
    shapes = None if args.shapes is None else {tuple(int(n) for n in s.split(",")) for s in args.shapes}
    cases = [c for c in CASES if c[0] in chosen and (shapes is None or c[1] in shapes)]
    if shapes is not None and {c[1] for c in cases} != shapes:
        ap.error(f"no case of kernels {args.kernels} has shape(s) "
                 f"{sorted(shapes - {c[1] for c in cases})}: see CASES")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RVAI_CACHE_DIR"] = tmp   # a scratch cache: what we write is what was tuned now
        from rvai import tune
        from rvai.target import Target
        shipped = json.loads(tune.SHIPPED.read_text()) if tune.SHIPPED.exists() else {}
        if shapes is None:
            # Stale buckets are dropped by the kernel name in the entries' keys, which softmax and
            # softmax_fast share: re-tuning one alone would drop the other's entries with them.
            names = {tune.TUNABLE[k][0]().name for k in chosen if k in tune.TUNABLE}
            sharing = sorted(k for k in tune.TUNABLE if k not in chosen and tune.TUNABLE[k][0]().name in names)
            if sharing:
                ap.error(f"--kernels {args.kernels} shares its entries' kernel name with {', '.join(sharing)}: "
                         f"name those too, or give --shapes")
        for name in args.presets.split(","):
            target = Target.preset(name)
            if shapes is None:   # the kernels' entries of this preset are all re-tuned: drop stale buckets
                shipped = {k: v for k, v in shipped.items() if k.split("|")[1] != name or k.split("|")[0] not in chosen}
            for kname, shape, *rest in cases:
                if rest and name not in rest[0]:
                    continue
                dtype = np.dtype(rest[1] if len(rest) > 1 else np.float32)
                get_kernel, make_args, _, _ = tune.TUNABLE[kname]
                res = tune.tune(get_kernel(), make_args(shape, dtype, target), target=target,
                                force=True, **tune.fixed_params(kname, shape, dtype, target))
                print(f"{name:13} {kname:12} {shape} {dtype.name}: {res.best} ({res.best_cycles:,} cycles)",
                      flush=True)
            shipped.update(json.loads(tune.cache_path().read_text()))
    if not args.dry_run:
        tune.SHIPPED.write_text(json.dumps(shipped, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(shipped)} entries to {tune.SHIPPED}")


if __name__ == "__main__":
    main()
