"""A record of what timed mode computes, to hold its host-speed work to exact results.

    python -m tests.timing_record [--out FILE] [--dsl] [--only PREFIX ...]

Timed mode's speed-ups (issue 15) must leave every modelled figure as it was.
This runs a broad, fixed set of programs in timed mode and keeps, per case, its
cycles, instructions retired, the counters (stalls, branches, caches, DRAM,
vector) and a SHA-256 fingerprint of everything observable: the whole profile
(every per-pc cycle count, the vector trace) and, for the assembled programs,
the final registers and memory.  Recorded once on main before a change, the
file is the oracle tests/test_timing_record.py checks the changed model
against.

The cases:

* ``asm/N``: random loops drawn (by seed N) from tests/test_timing_fast_path.py's
  generator (vector arithmetic, reductions, widening, masks, every vector
  addressing kind, scalar loads and stores on strided streams, branches,
  the divider, rdcycle, cbo.zero, Zicbop prefetches), on a preset, VLEN and
  prefetcher size drawn by the same seed;
* ``c/KERNEL/PRESET``: bench/emu_speed.py's kernels (scalar C by
  riscv64-linux-gnu-gcc, RVV intrinsics by clang-19) at a small argument, on
  every preset; keyed by the executable's SHA-256, so a different compiler
  that makes other code is told apart from a changed model;
* ``dsl/...`` (with --dsl only, not in the committed record: the DSL kernels
  change with other work): ops.linear on packed weights and ops.attention on
  two presets, and a two-hart linear on the cluster preset.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np


ROOT = Path(__file__).resolve().parent.parent
RECORD = Path(__file__).resolve().parent / "data" / "timing_record.json"
C_PRESETS = ["generic", "spacemit-x60", "sifive-x280", "xuantie-c930", "small-inorder"]
#: emu_speed kernel name prefix -> a small argument (each run is 0.1-2 M instructions)
C_KERNELS = {"loop": 1, "memcpy": 10, "crc": 1, "vadd.vv e32 m1": 2000, "vfmacc.vv f32 m8": 500,
             "vfmacc.vf": 1000, "saxpy i32": 5, "saxpy f32": 5}
ASM_SEEDS = range(48)


def digest(obj) -> str:
    """SHA-256 of a JSON rendering of obj (dict keys sorted, bytes as hex)."""
    def plain(x):
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, (bytes, bytearray)):
            return bytes(x).hex()
        if isinstance(x, np.integer):
            return int(x)
        return x
    return hashlib.sha256(json.dumps(plain(obj), sort_keys=True).encode()).hexdigest()


def summary(counts: dict) -> dict:
    """The headline figures of a profile's counts (readable in a diff)."""
    keys = ("cycles", "instret", "stalls", "branches", "caches", "dram_bytes", "bytes_loaded", "bytes_stored",
            "flops", "vector", "pipe_busy")
    return {k: counts[k] for k in keys}


def asm_case(seed: int) -> dict:
    """One random program of the fast-path test's generator, drawn by seed."""
    from tests import test_timing_fast_path as fp
    r = random.Random(seed)
    body = [r.choice(fp.VECTOR_OPS + fp.SCALAR_OPS) for _ in range(r.randint(1, 40))]
    vtype = lambda: (fp.SEWS[r.choice(sorted(fp.SEWS))] << 3 | fp.LMULS[r.choice(sorted(fp.LMULS))]  # noqa: E731
                     | r.randint(0, 1) << 6 | r.randint(0, 1) << 7)
    args = (fp.program(body, r.randint(1, 24)), r.choice(fp.PRESETS), r.choice([128, 256, 512]),
            r.choice([1, 2, 16]), vtype(), vtype(), r.randint(0, 300))
    counts, error, xs, vs, mem = fp.outcome(*args, reference=False)
    return {**summary(counts), "error": error, "fingerprint": digest([counts, error, xs, vs, mem])}


def c_executables(workdir: Path) -> dict[str, Path]:
    """bench/emu_speed.py's kernels of C_KERNELS, built in workdir (those whose compiler is missing left out)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import emu_speed
    out = {}
    for prefix in C_KERNELS:
        bench = next(b for b in emu_speed.BENCHES if b.name.startswith(prefix))
        if not (emu_speed.CLANG if bench.compiler == "clang" else emu_speed.GCC):
            continue
        sub = workdir / prefix.replace(" ", "_")
        sub.mkdir()
        out[prefix] = (emu_speed.build(bench, sub), bench.vlen)
    return out


def c_case(exe: Path, vlen: int, arg: int, preset: str) -> dict:
    """One timed run of a built kernel on a preset."""
    from rvai.emu import Machine
    from rvai.target import Target
    m = Machine(Target.preset(preset), vlen=vlen, timed=True, budget=1 << 40)
    r = m.run([str(exe), str(arg)], program=str(exe))
    p = m.profile()
    counts = p.counted()
    return {**summary(counts), "stdout": r.stdout.decode(), "fingerprint": digest(counts)}


def dsl_cases() -> dict[str, dict]:
    """ops.linear and ops.attention, timed, on two presets; a two-hart linear on the cluster preset."""
    from rvai import ops
    from rvai.target import Target
    out = {}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 256)).astype(np.float32)
    wm = rng.standard_normal((96, 256)).astype(np.float32)
    q = rng.standard_normal((4, 24, 64)).astype(np.float32)
    kv = rng.standard_normal((2, 40, 64)).astype(np.float32)
    for preset, harts in (("spacemit-x60", 1), ("xuantie-c930", 1), ("xuantie-c930-cluster", 2)):
        t = Target.preset(preset)
        ops.linear(x, ops.pack_weights(wm, target=t), target=t, harts=harts, checked=True)
        out[f"dsl/linear/{preset}/{harts}"] = profile_case(ops.last_run.profile)
        if harts == 1:
            ops.attention(q, kv, kv * 0.5, causal=True, target=t, checked=True)
            out[f"dsl/attention/{preset}"] = profile_case(ops.last_run.profile)
    return out


def profile_case(p) -> dict:
    counts = p.counted()
    return {**summary(counts), "fingerprint": digest(counts)}


def record(only=None, dsl=False) -> dict:
    """Every case's figures, by name."""
    wanted = lambda name: not only or any(name.startswith(o) for o in only)  # noqa: E731
    out = {}
    for seed in ASM_SEEDS:
        if wanted(f"asm/{seed}"):
            out[f"asm/{seed}"] = asm_case(seed)
    with tempfile.TemporaryDirectory() as tmp:
        for prefix, (exe, vlen) in c_executables(Path(tmp)).items():
            sha = hashlib.sha256(exe.read_bytes()).hexdigest()[:16]
            for preset in C_PRESETS:
                name = f"c/{prefix}/{preset}"
                if wanted(name):
                    out[name] = {"exe": sha, **c_case(exe, vlen, C_KERNELS[prefix], preset)}
    if dsl:
        out.update({k: v for k, v in dsl_cases().items() if wanted(k)})
    return out


def main(argv=None) -> int:
    """Write the record (or compare with one: --check); 1 when a compared case differs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RECORD)
    ap.add_argument("--check", type=Path, help="compare with this record instead of writing one")
    ap.add_argument("--dsl", action="store_true", help="add the DSL kernels")
    ap.add_argument("--only", nargs="*", help="cases whose name starts with these")
    args = ap.parse_args(argv)
    got = record(args.only, args.dsl)
    if args.check:
        want = json.loads(args.check.read_text())
        bad = [k for k in got if k in want and want[k] != got[k]]
        for k in bad:
            print("DIFFERS", k, json.dumps(want[k])[:300], "\n   now", json.dumps(got[k])[:300])
        print(f"{len(got) - len(bad)} of {len(got)} cases as recorded ({sum(k not in want for k in got)} not in it)")
        return 1 if bad else 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    print(f"{len(got)} cases into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
