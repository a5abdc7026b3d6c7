"""Does the default tier's first call pay for itself?  Fresh processes, default tier / interpreter.

    python bench/first_call.py [--quick] [--repeat R] [--only NAME ...]

Each row is one workload run in a fresh process (the kernel's ELF compiled and
cached beforehand, so only the emulator's work is timed): ``tier="interpret"``
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
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="c930's medium rows, a linear for the long row, R = 1")
    ap.add_argument("--repeat", type=int, default=None, help="runs of each kind per row (median; default 3, 1 quick)")
    ap.add_argument("--only", nargs="*", default=None, help="rows whose name starts with one of these")
    args = ap.parse_args(argv)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
