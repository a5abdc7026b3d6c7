"""A fresh process's first call, first run and start-up: the default tier against the interpreter, or this checkout against another.

    python bench/first_call.py [--quick] [--repeat R] [--only NAME ...]
    python bench/first_call.py --cached [--base DIR] [--this DIR] [--repeat R] [--cache DIR]
    python bench/first_call.py --qwen MODEL [--base DIR] [--this DIR] [--repeat R] [--cache DIR]

**Tiers** (no mode option).  Each row is one workload run in a fresh process (the kernel's
ELF compiled and cached beforehand, so only the emulator's work is timed): ``tier="interpret"``
(``RVAI_TIER=interpret``), then the default tier with the translation object
cache off (``RVAI_JIT_CACHE=0``: every due block compiled), then the default tier
with a warm object cache (a private ``RVAI_CACHE_DIR`` filled by one default-tier
run of the workload before the measured ones), the three alternating R times so
that load on a shared host hits all alike.  Printed: the median wall and process
CPU seconds (every thread's, a background translator's too) of the interpreted
run, from before ``import rvai`` to the workload's end, and the default tier's
over it (``cold`` cache off, ``warm`` cache on), below 1 where translating paid.

Workloads (``mode`` functional or timed):

- short: bench/emu_speed.py's three scalar kernels at argument 1 (55K-1.9M
  instructions), ``Machine(vlen=256)`` as there;
- medium: one ``ops.linear`` 64 x 1024 x 1024 (one hart), one causal
  ``ops.attention`` (8 heads on 4 KV heads, 64 x 256, d 64), and ten of them
  at 256 x 256 (``attn 256 x10``: bench/timed_cost.py's attention, 6.65M
  instructions a call, whose blocks each reach their due after a few calls)
  on xuantie-c930 and spacemit-x60, as bench/ops_call.py makes them
  (functional: the call's machine made untimed);
- long: ``bench/qwen.py --model qwen2.5-0.5b --target xuantie-c930 --phase
  prefill --tokens 128 --max-macs 0`` (timed; one layer's 14 ops calls, its
  gemms of 5-195M instructions dominated by hot blocks); with --quick, one
  ``ops.linear`` 512 x 1024 x 1024 in its place (functional and timed).

--quick also runs the medium rows on xuantie-c930 only (the ten attention
calls functional only: timed, they take ~40 s more) and R = 1.

**--cached**: what a fresh Python process pays before its first ``rvai.ops`` result, every
kernel cached, and what a short ``rvai run`` costs.  Each round starts, per checkout, two fresh
interpreters in /tmp (pyc files written, as a user runs; the checkout put first on ``sys.path``
and checked to be the ``rvai`` imported):

- one that imports NumPy, then ``from rvai import ops`` (timed), then calls each op twice on
  small inputs (timed each): ``softmax`` 4 x 8, ``rmsnorm`` 4 x 64, ``linear`` (4 x 64) @
  (32 x 64).T and ``attention`` causal, 2 heads, 16 x 16, d 16.  Times are taken inside the
  child: wall, and the thread's CPU (``time.thread_time()``);
- one that runs ``rvai.cli.main(["run", ELF])`` on a 3-instruction static ELF (``li a0, 7``,
  ``li a7, 93``, ``ecall``; made here by tests/tiny_elf.py with rvai's assembler, its exit
  status checked): timed from outside, the whole process's wall and CPU (user + system, from
  ``os.wait4``; what ``perf stat`` calls task-clock), Python's own start-up included.

The kernels are compiled into the cache (``--cache``, default a temporary folder; each
checkout has its own entries, as its compiler version differs) by a round made first and not
counted.  With ``--base DIR`` (another checkout, its C extension built in place) the
checkouts alternate R times (default 15; each round in the other order), so that load on a
shared host hits both alike;
``--this DIR`` measures another checkout in this one's place (e.g. a change's parent as base
and the change as this).
Printed: the median wall and CPU ms of each row, per checkout, the base over this tree, the
quartiles of each checkout's CPU and of the R alternated pairs' base/this CPU ratios (the
spread: process start-up noise is large), whether the last run had ``llvmlite.binding``
loaded, and the host's load.

**--qwen MODEL**: ``bench/qwen.py --model MODEL --target xuantie-c930 --phase prefill
--tokens 128 --max-macs 0`` of each checkout (its own bench/qwen.py), the whole process from
outside: median (and range) of wall, user and system CPU seconds and peak RSS, the base over
this tree, and whether the two checkouts printed the same table.  One round first fills the
kernel and translation caches, not counted; R defaults to 3.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# The child: time from before rvai's import to the workload's end.  argv: root, workload, mode.
_CHILD = r"""
import sys, time
w0, c0 = time.perf_counter(), time.process_time()
root, name, mode = sys.argv[1:]
sys.path.insert(0, root); sys.path.insert(0, root + "/bench")
import first_call
first_call.WORKLOADS[name](mode)
print(time.perf_counter() - w0, time.process_time() - c0)
"""


def _short(source_index: int):
    """A bench/emu_speed.py kernel (BENCHES[source_index]) at argument 1 in a fresh Machine."""
    def run(mode: str) -> None:
        import emu_speed
        from rvai.emu import Machine
        exe = Path(os.environ["FIRST_CALL_DIR"]) / emu_speed.BENCHES[source_index].name.split()[0]
        Machine(vlen=256, timed=mode == "timed").run([str(exe), "1"], program=str(exe))
    return run


def _untimed_calls() -> None:
    """Make rvai.ops calls run on functional machines (they are timed by default)."""
    from rvai import runner
    from rvai.emu import Machine

    class Functional(Machine):
        def __init__(self, *a, timed=True, **k):
            super().__init__(*a, timed=False, **k)

        def profile(self):
            return None
    runner.Machine = Functional


def _linear(m: int, preset: str):
    """One ops.linear m x 1024 x 1024 on one hart of ``preset``."""
    def run(mode: str) -> None:
        import math
        import numpy as np
        from rvai import ops
        from rvai.target import Target
        if mode == "functional":
            _untimed_calls()
        t = Target.preset(preset)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((m, 1024)).astype(np.float32)
        w = ops.pack_weights(rng.standard_normal((1024, 1024)).astype(np.float32), target=t)
        ops.linear(x, w, target=t, harts=1, timeout=math.inf)
    return run


def _attention(preset: str, queries: int = 64, calls: int = 1):
    """``calls`` causal ops.attention calls, 8 heads on 4 KV heads, ``queries``
    queries on 256 keys, d 64 (the same inputs each call)."""
    def run(mode: str) -> None:
        import math
        import numpy as np
        from rvai import ops
        from rvai.target import Target
        if mode == "functional":
            _untimed_calls()
        rng = np.random.default_rng(0)
        q = rng.standard_normal((8, queries, 64)).astype(np.float32)
        kv = rng.standard_normal((4, 256, 64)).astype(np.float32)
        for _ in range(calls):
            ops.attention(q, kv, kv * 0.5, causal=True, target=Target.preset(preset), timeout=math.inf)
    return run


def _qwen(mode: str) -> None:
    """bench/qwen.py's Qwen2.5-0.5B prefill of 128 tokens, unsampled (timed only)."""
    import qwen
    with open(os.devnull, "w") as null:
        stdout, sys.stdout = sys.stdout, null
        try:
            qwen.main(["--model", "qwen2.5-0.5b", "--target", "xuantie-c930", "--phase", "prefill",
                       "--tokens", "128", "--max-macs", "0"])
        finally:
            sys.stdout = stdout


#: name -> (what runs it, its modes, size class, in --quick: True, False, "only" (there
#: alone) or the one mode run there)
TABLE = {
    "loop nest x1": (_short(0), ("functional", "timed"), "short", True),
    "memcpy x1": (_short(1), ("functional", "timed"), "short", True),
    "crc32 x1": (_short(2), ("functional", "timed"), "short", True),
    "linear 64 c930": (_linear(64, "xuantie-c930"), ("functional", "timed"), "medium", True),
    "attention c930": (_attention("xuantie-c930"), ("functional", "timed"), "medium", True),
    "linear 64 x60": (_linear(64, "spacemit-x60"), ("functional", "timed"), "medium", False),
    "attention x60": (_attention("spacemit-x60"), ("functional", "timed"), "medium", False),
    "attn 256 x10 c930": (_attention("xuantie-c930", 256, 10), ("functional", "timed"), "medium", "functional"),
    "attn 256 x10 x60": (_attention("spacemit-x60", 256, 10), ("functional", "timed"), "medium", False),
    "linear 512 c930": (_linear(512, "xuantie-c930"), ("functional", "timed"), "long", "only"),
    "qwen prefill 128": (_qwen, ("timed",), "long", False),
}
WORKLOADS = {name: row[0] for name, row in TABLE.items()}
#: The three runs of a row: RVAI_TIER, RVAI_JIT_CACHE (None: a warm cache dir).
RUNS = {"interpret": ("interpret", "0"), "cold": ("", "0"), "warm": ("", None)}


def child(name: str, mode: str, run: str, env: dict) -> tuple[float, float]:
    """(wall s, process CPU s) of one fresh process running workload ``name``."""
    tier, cache = RUNS[run]
    e = dict(env, RVAI_TIER=tier)
    e.pop("RVAI_JIT_CACHE", None)
    if cache is not None:
        e["RVAI_JIT_CACHE"] = cache
    if not tier:
        e.pop("RVAI_TIER")
    p = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), name, mode], env=e,
                       capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{name} {mode} {run}: {p.stderr[-2000:]}")
    wall, cpu = p.stdout.split()[-2:]
    return float(wall), float(cpu)


def build_short(workdir: Path) -> None:
    """Compile bench/emu_speed.py's three scalar kernels into ``workdir``."""
    import emu_speed
    for b in emu_speed.BENCHES[:3]:
        emu_speed.build(b, workdir)


def tiers(args) -> None:
    """The default tier's rows against the interpreter (no mode option)."""
    repeat = args.repeat or (1 if args.quick else 3)
    rows = [(n, r) for n, r in TABLE.items() if (r[3] if args.quick else r[3] != "only")
            and (not args.only or any(n.startswith(o) for o in args.only))]
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FIRST_CALL_DIR=tmp, RVAI_CACHE_DIR=str(Path(tmp) / "cache"))
        build_short(Path(tmp))
        print(f"fresh processes, median of {repeat}; interpret in s, default tier (translate) over it: "
              "cold = object cache off, warm = a warm cache dir", flush=True)
        print(f"{'workload':<20}{'mode':<11}{'size':<7}{'wall s':>8}{'cold':>7}{'warm':>7}"
              f"{'cpu s':>9}{'cold':>7}{'warm':>7}")
        for name, (_, modes, size, quick) in rows:
            for mode in modes if not (args.quick and quick in modes) else (quick,):
                child(name, mode, "warm", env)   # fills the kernel's and the translated blocks' caches
                got = {run: [] for run in RUNS}
                for _ in range(repeat):
                    for run in RUNS:
                        got[run].append(child(name, mode, run, env))
                med = {run: [statistics.median(x[i] for x in got[run]) for i in (0, 1)] for run in RUNS}
                wi, ci = med["interpret"]
                print(f"{name:<20}{mode:<11}{size:<7}{wi:8.3f}{med['cold'][0] / wi:7.2f}{med['warm'][0] / wi:7.2f}"
                      f"{ci:9.3f}{med['cold'][1] / ci:7.2f}{med['warm'][1] / ci:7.2f}", flush=True)
    print(f"load after: {os.getloadavg()[0]:.1f}")


# --- Fresh processes of this checkout against another (--cached, --qwen) ---

#: Put the checkout argv[1] first on sys.path (bench/profile_cost.py's children too); ``checked`` makes sure its rvai was the one
#: imported (an editable install of another tree must not answer for it), after the timed
#: spans, which are as a user's process has them.
CHECKOUT = r"""
import sys
root = sys.argv[1]
sys.path[:0] = [root, root + "/bench"]

def checked(status):
    rvai = sys.modules["rvai"]
    if not rvai.__file__.startswith(root.rstrip("/") + "/"):
        sys.exit(f"rvai imported from {rvai.__file__}, not from {root}")
    return status
"""

#: The ops child: NumPy imported, then `from rvai import ops` and each op twice, each timed
#: inside the child (wall, thread CPU).  Prints one JSON object.
_OPS = CHECKOUT + r"""
import json, time
import numpy as np
clock = lambda: (time.perf_counter(), time.thread_time())
t = clock()
from rvai import ops
times = {"import": [b - a for a, b in zip(t, clock())]}
rng = np.random.default_rng(0)
f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
x, w, q, k, v = f32(4, 64), f32(32, 64), f32(2, 16, 16), f32(2, 16, 16), f32(2, 16, 16)
calls = {"softmax": lambda: ops.softmax(f32(4, 8)), "rmsnorm": lambda: ops.rmsnorm(x, f32(64)),
         "linear": lambda: ops.linear(x, w), "attention": lambda: ops.attention(q, k, v, causal=True)}
for name, call in calls.items():
    for n in ("first", "second"):
        t = clock()
        call()
        times[f"{name} {n}"] = [b - a for a, b in zip(t, clock())]
checked(0)
print(json.dumps({"ms": {k: [s * 1e3 for s in v] for k, v in times.items()}, "llvm": "llvmlite.binding" in sys.modules}))
"""

#: The `rvai run` child (argv[2]: the ELF); exits with the guest's status.
_RVAI_RUN = CHECKOUT + r"""
from rvai.cli import main
sys.exit(checked(main(["run", sys.argv[2]])))
"""

#: The --qwen child: the checkout's own bench/qwen.py, argv[2:] its command line.
_QWEN = CHECKOUT + r"""
import qwen
sys.exit(checked(qwen.main(sys.argv[2:])))
"""

#: The short program `rvai run` runs, and the status it exits with.
EXIT7 = (["li a0, 7", "li a7, 93", "ecall"], 7)
#: bench/qwen.py's command line for --qwen (after --model MODEL).
QWEN_ARGS = ["--target", "xuantie-c930", "--phase", "prefill", "--tokens", "128", "--max-macs", "0"]


def fresh(code: str, args: list[str], cache: str, status: int = 0) -> dict:
    """Run ``python -c code *args`` in /tmp as a user would (pyc files written, kernels in
    ``cache``) and measure it from outside.  Returns its stdout and wall, user, system seconds
    and peak RSS (MiB); a status other than ``status`` raises SystemExit with its stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["RVAI_CACHE_DIR"] = cache
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err, cwd="/tmp", env=env)
        _, wstatus, use = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(wstatus)   # (reaped here: Popen must not wait again)
        out.seek(0), err.seek(0)
        if p.returncode != status:
            raise SystemExit(f"{args[0]}: exit status {p.returncode}, not {status}: {err.read()[-2000:]}")
        return {"out": out.read(), "wall": wall, "user": use.ru_utime, "sys": use.ru_stime,
                "peak RSS": use.ru_maxrss / 1024}


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    """(lower quartile, median, upper quartile) of ``xs`` (all three the value for one)."""
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


def in_turn(roots: dict, i: int) -> list[str]:
    """The checkouts' order in round ``i``: reversed every other round, so that what the first
    run of a round pays more or less than the second (a measured 0.8-0.96x between two
    checkouts of the same commit run in one order) falls on both alike."""
    return list(roots)[::-1 if i % 2 else 1]


def cached_round(root: str, cache: str, elf: str) -> dict:
    """One round of --cached in checkout ``root``: the ops child's times (ms) and the
    `rvai run` child's, whole process, under "rvai run (process)"."""
    import json   # (here: the tiers' child imports this module inside its timed span)
    got = json.loads(fresh(_OPS, [root], cache)["out"].splitlines()[-1])
    r = fresh(_RVAI_RUN, [root, elf], cache, status=EXIT7[1])
    got["ms"]["rvai run (process)"] = [r["wall"] * 1e3, (r["user"] + r["sys"]) * 1e3]
    return got


def cached(args, roots: dict) -> None:
    """--cached: import and first ops calls (thread CPU inside the child), and a short
    `rvai run` (whole process), the checkouts alternated; medians, ratios and quartiles."""
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_elf import executable
    repeat = args.repeat or 15
    print(f"load before: {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cache, elf = args.cache or tmp, str(Path(tmp) / "exit7")
        Path(elf).write_bytes(executable(EXIT7[0]))
        for root in roots.values():
            cached_round(root, cache, elf)   # compiles what is not cached yet
        runs: dict[str, list[dict]] = {name: [] for name in roots}
        for i in range(repeat):
            for name in in_turn(roots, i):
                runs[name].append(cached_round(roots[name], cache, elf))
    base = "base" in roots
    print(f"{'ms (median of ' + str(repeat) + ')':24}"
          + "".join(f"{n + ' ' + c:>12}" for c in ("wall", "cpu") for n in roots)
          + "".join(f"{'base/this ' + c:>16}" for c in ("wall", "cpu") if base)
          + "".join(f"{n + ' cpu q1-q3':>20}" for n in roots) + (f"{'base/this cpu q1-q3':>22}" if base else ""))
    for key in runs["this"][0]["ms"]:
        ms = {(n, c): [r["ms"][key][c] for r in runs[n]] for n in roots for c in (0, 1)}
        med = {nc: statistics.median(x) for nc, x in ms.items()}
        spread = [quartiles(ms[n, 1]) for n in roots]
        if base:
            spread.append(quartiles([b / t for b, t in zip(ms["base", 1], ms["this", 1])]))
        print(f"{key:24}" + "".join(f"{med[n, c]:12.1f}" for c in (0, 1) for n in roots)
              + "".join(f"{med['base', c] / med['this', c]:16.2f}" for c in (0, 1) if base)
              + "".join(f"{f'{q1:.1f}-{q3:.1f}':>20}" for q1, _, q3 in spread[:len(roots)])
              + "".join(f"{f'{q1:.2f}-{q3:.2f}':>22}" for q1, _, q3 in spread[len(roots):]))
    print("llvmlite.binding loaded: " + ", ".join(f"{n} {runs[n][-1]['llvm']}" for n in roots))
    print(f"load after: {os.getloadavg()[0]:.1f}")


def qwen_rounds(args, roots: dict) -> None:
    """--qwen MODEL: each checkout's bench/qwen.py prefill, the whole process; medians,
    ranges and ratios of wall, user, system and peak RSS, and whether the tables agree."""
    repeat = args.repeat or 3
    argv = ["--model", args.qwen, *QWEN_ARGS]
    print(f"load before: {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or tmp
        for root in roots.values():
            fresh(_QWEN, [root, *argv], cache)   # fills the kernel and translation caches
        runs = {name: [] for name in roots}
        for i in range(repeat):
            for name in in_turn(roots, i):
                runs[name].append(fresh(_QWEN, [roots[name], *argv], cache))
    print(f"bench/qwen.py --model {' '.join(argv[1:])}: whole process, median (min-max) of {repeat}")
    print(f"{'':14}" + "".join(f"{n:>22}" for n in roots) + (f"{'base/this':>11}" if "base" in roots else ""))
    for key, unit, digits in (("wall", "s", 2), ("user", "s", 2), ("sys", "s", 2), ("peak RSS", "MiB", 0)):
        xs = {n: [r[key] for r in runs[n]] for n in roots}
        med = {n: statistics.median(x) for n, x in xs.items()}
        print(f"{key + ' ' + unit:14}" + "".join(f"{f'{med[n]:.{digits}f} ({min(xs[n]):.{digits}f}-{max(xs[n]):.{digits}f})':>22}"
                                                 for n in roots)
              + (f"{med['base'] / med['this']:11.2f}" if "base" in roots else ""))
    # The table is the same whatever the checkout; only the "(emulated in N s)" line may differ.
    tables = {r["out"].split("(emulated in")[0] for n in roots for r in runs[n]}
    print(f"tables identical: {len(tables) == 1}")
    print(f"load after: {os.getloadavg()[0]:.1f}")


def main(argv=None) -> int:
    """Parse the options and run the mode they name (the tiers by default)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--cached", action="store_true", help="import, first ops calls and `rvai run`, kernels cached")
    mode.add_argument("--qwen", metavar="MODEL", help="bench/qwen.py's prefill of MODEL, the whole process")
    ap.add_argument("--quick", action="store_true", help="c930's medium rows, a linear for the long row, R = 1")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs of each kind per row (median; default 3, 1 quick; --cached 15, --qwen 3)")
    ap.add_argument("--only", nargs="*", default=None, help="rows whose name starts with one of these")
    ap.add_argument("--base", metavar="DIR", help="--cached, --qwen: another checkout to compare with, e.g. main's")
    ap.add_argument("--this", metavar="DIR", default=str(ROOT),
                    help="--cached, --qwen: the checkout measured as 'this' (default: the one holding this script)")
    ap.add_argument("--cache", metavar="DIR", help="--cached, --qwen: the kernel cache (default: a new temporary folder)")
    args = ap.parse_args(argv)
    if not (args.cached or args.qwen):
        if args.base or args.cache or args.this != str(ROOT):
            ap.error("--base, --this and --cache go with --cached or --qwen")
        tiers(args)
        return 0
    if args.quick or args.only is not None:
        ap.error("--quick and --only go with the tiers' rows, not --cached or --qwen")
    roots = {"this": str(Path(args.this).resolve())} | ({"base": str(Path(args.base).resolve())} if args.base else {})
    (cached if args.cached else qwen_rounds)(args, roots)
    return 0


if __name__ == "__main__":
    sys.exit(main())
