"""Does a timed loop's pass repeat?  The pass probe's counts per hot loop.

    python bench/pass_repeat.py [--scale S] [--only NAME ...] [--presets P ...]
                                [--ignore REGION ...] [--memory-k K] [--build DIR]

Builds this checkout's extension with the pass probe (csrc/pass_probe.c,
``-DRVAI_PASS_PROBE``; the default build holds none of it) in a copy under
DIR (default: a temporary directory; a DIR that holds a build is reused), and
runs bench/timed_cost.py's kernels in the timed interpreter there: the DSL
GEMM and attention on each preset of --presets, and the scalar memcpy on the
generic preset.  For each loop that runs at least 1 % of the kernel's
instructions it prints:

* its share of the instructions, passes, instructions and modelled cycles a
  pass;
* ``repeat``: the passes whose start state (the model's core state relative
  to the cycle counter at the back edge: scoreboard, vector unit, queues,
  predictors) and outcomes (the path, vtype and vl, every memory access's
  effect relative to its issue) equal those of a pass k <= 32 before, as a
  share of its passes and of all the kernel's instructions; the periods k
  that found them; ``state`` and ``outcomes``: either alone repeating;
* ``mismatch``: repeating passes whose end state differed from that pass's
  (0 unless the snapshot misses state that matters: with ``--ignore vq`` it
  is not);
* for the passes that repeat none of the last 32: what differs from the
  nearest one (state regions, path, memory outcomes and the pcs of the
  accesses that differed first; odd pcs are a vector op's).

* ``memory side``: the passes whose memory-model events (L1 hit, first use
  of a prefetched line or miss, L2 hit or miss, the L1 victim's kind, a
  dirty L2 victim, the stream's training state relative to the access)
  equal those of a pass k <= --memory-k (2) before: their kinds, kinds and
  cycles (relative to the pass's first cycle), and with the fill channels'
  state too; the events a pass, and the first event whose cycle differs.

``--ignore`` leaves state regions out of the key (csrc/pass_probe.c's
pp_rname: issue, scalar_units, ready, kind, vfirst, vdone, vsplit,
unit_free, unit_order, vq, v_end, mem_end, cont, bht, btb_ras), to see
whether a coarser key would repeat more.  docs/performance.md's "Pass
summaries for timed loops" and "Does the memory side of a timed pass
repeat?" sections have the numbers and what they mean.
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PRESETS = ("xuantie-c930", "spacemit-x60")

#: what runs one kernel in the probe build's tree (argv: tree, kernel, preset, scale); its last
#: line out is the run's modelled cycles and instructions (probe() reads it)
RUNNER = """
import sys
root, name, preset, scale = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
sys.path[:0] = [root, root + "/bench"]
import os, tempfile
from pathlib import Path
from timed_cost import KERNELS, dsl_call, dsl_once, run_once
if name == "memcpy":
    import emu_speed
    bench = next(b for b in emu_speed.BENCHES if b.name.startswith(name))
    exe = emu_speed.build(bench, Path(tempfile.mkdtemp()))
    _, cycles, instret = run_once(exe, max(1, round(KERNELS[name] * scale)), True)
else:
    from rvai.target import Target
    fn = dsl_call(name, Target.preset(preset), scale)
    out = os.environ.pop("RVAI_PASS_PROBE_OUT")
    fn()   # compiles the kernel: not counted
    os.environ["RVAI_PASS_PROBE_OUT"] = out
    _, cycles, instret = dsl_once(fn, True)
print(cycles, instret)
"""


def build(where: Path) -> Path:
    """This checkout copied to ``where`` and its extension built there with the pass probe."""
    if not list(where.glob("rvai/_rvemu*.so")):
        for part in ("rvai", "csrc", "bench", "setup.py", "pyproject.toml"):
            src = ROOT / part
            if src.is_dir():
                shutil.copytree(src, where / part, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.so"))
            else:
                shutil.copy(src, where / part)
        env = dict(os.environ, CFLAGS=(os.environ.get("CFLAGS", "") + " -DRVAI_PASS_PROBE").strip())
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=where, env=env, check=True,
                       capture_output=True)
    return where


class Probed(NamedTuple):
    """What one run in the probe build gave: the instructions the probe saw, its loops' counts
    ((fall, head) -> Counter, the pcs in hex), and the machine's modelled cycles and instructions."""
    total: int
    loops: dict
    cycles: int
    instret: int


def parse(text: str) -> tuple[int, dict]:
    """The probe's output (RVAI_PASS_PROBE_OUT: per run a ``run`` line and a line a loop): the
    instructions of all runs and each loop's counts summed over them."""
    total, loops = 0, collections.defaultdict(collections.Counter)
    for line in text.splitlines():
        kind, *words = line.split()
        fields = dict(w.split("=") for w in words)
        if kind == "run":
            total += int(fields["total_instrs"])
            continue
        key = (fields.pop("fall"), fields.pop("head"))
        loops[key].update({k: int(v) for k, v in fields.items()})
    return total, loops


def probe(tree: Path, code: str, args: list[str], ignore: list[str], memory_k: int = 2) -> Probed:
    """Python ``code`` run with ``args`` (argv[1:]) in a process of its own under the probe build
    of ``tree`` (the code puts the tree first on sys.path), its state regions ``ignore`` left out
    of the key; the code's last line out is its run's cycles and instructions."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "probe.txt"
        env = dict(os.environ, RVAI_PASS_PROBE_OUT=str(out), RVAI_PASS_PROBE_IGNORE=",".join(ignore),
                   RVAI_PASS_PROBE_MEMK=str(memory_k))
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"the probe run failed ({done.returncode}):\n{done.stderr[-4000:]}")
        if not out.exists():   # (the default build writes none)
            raise RuntimeError(f"no probe counts: the run did not import the probe build in {tree}")
        cycles, instret = map(int, done.stdout.splitlines()[-1].split())
        return Probed(*parse(out.read_text()), cycles, instret)


def run(tree: Path, name: str, preset: str, scale: float, ignore: list[str], memory_k: int = 2) -> Probed:
    """One timed interpreted run of bench/timed_cost.py's kernel ``name`` in the probe build."""
    return probe(tree, RUNNER, [str(tree), name, preset, str(scale)], ignore, memory_k)


def report(title: str, total: int, loops: dict, memory_k: int = 2) -> None:
    """Print the loops that run at least 1 % of the instructions, the most first."""
    print(f"{title}: {total:,} instructions")
    for (fall, head), c in sorted(loops.items(), key=lambda kv: -kv[1]["instrs"]):
        if c["instrs"] < total / 100:
            break
        n = c["passes"]
        periods = sorted(((int(k[1:]), v) for k, v in c.items() if k[0] == "k" and k[1:].isdigit()),
                         key=lambda kv: -kv[1])[:4]
        print(f"  loop {head}..{fall}: {c['instrs'] / total:6.1%} of the instructions, {n:,} passes of "
              f"{c['instrs'] / n:.1f} instructions, {c['cycles'] / n:.2f} cycles")
        print(f"    repeat {c['rep_passes'] / n:6.1%} of its passes ({c['rep_instrs'] / total:.1%} of all "
              f"instructions), periods " + ", ".join(f"{k}: {v / n:.1%}" for k, v in periods) +
              f"; state {c['s_rep'] / n:.1%}, outcomes {c['o_rep'] / n:.1%}; mismatch {c['mismatch']}")
        rest = n - c["rep_passes"]
        regions = ", ".join(f"{k[2:]} {v:,}" for k, v in c.most_common() if k.startswith("d_"))
        pcs = ", ".join(f"{k[3:]} {v:,}" for k, v in c.most_common() if k.startswith("pc_"))
        print(f"    not repeating {rest:,}: path {c['diff_path']:,}, vtype/vl {c['diff_vec']:,}, memory "
              f"{c['diff_mem']:,} (alone {c['mem_only']:,}; fill channels differing {c['chan_diff']:,}), state "
              f"alone {c['state_only']:,}; regions: {regions or '-'}; first differing access at: {pcs or '-'}")
        events = ", ".join(f"{k[2:]} {v / n:.2f}" for k, v in c.most_common() if k.startswith("e_"))
        mdiff = ", ".join(f"{k[3:]} {v:,}" for k, v in c.most_common() if k.startswith("md_"))
        print(f"    memory side (k <= {memory_k}): kinds repeat {c['m_kind'] / n:.1%}, with their cycles {c['m_full'] / n:.1%}, "
              f"and the fill channels {c['m_chan'] / n:.1%}; core repeats {c['m_core'] / n:.1%}, core and memory "
              f"{c['m_core_full'] / n:.1%}, at one k <= 32 for both (channels too) {c['m_same_k'] / n:.1%}; "
              f"channel mismatch {c['m_chan_mismatch']}")
        print(f"      events a pass: {events or '-'}; kinds repeating, a value not: first differing {mdiff or '-'} "
              f"(channels differing {c['m_chan_only']:,})")


def main(argv=None) -> int:
    """Build the probe, run each kernel, print its loops' counts."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply each kernel's size")
    ap.add_argument("--only", nargs="*", default=["gemm", "attention", "memcpy"], help="kernels")
    ap.add_argument("--presets", nargs="*", default=list(PRESETS), help="presets the DSL kernels run on")
    ap.add_argument("--ignore", nargs="*", default=[], help="state regions left out of the key")
    ap.add_argument("--memory-k", type=int, default=2, help="the memory side's longest period looked for (<= 32)")
    ap.add_argument("--build", type=Path, help="where to build the probe (reused when it holds a build)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        where = args.build or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        tree = build(where)
        for name in args.only:
            if name == "memcpy" and not shutil.which("riscv64-linux-gnu-gcc"):
                print("(memcpy skipped: it needs riscv64-linux-gnu-gcc)")
                continue
            for preset in ("generic",) if name == "memcpy" else args.presets:
                r = run(tree, name, preset, args.scale, args.ignore, args.memory_k)
                report(f"{name} ({preset}, scale {args.scale:g})", r.total, r.loops, args.memory_k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
