"""Steady-state cycles per iteration of small loops: the timing model beside
llvm-mca-22's scheduling models of the same cores.

Each loop is one body (the same text for both): a vsetvli, the work, and the
loop's own counter and branch. llvm-mca runs the body as a block repeated
ITERATIONS times (`Total Cycles / Iterations`); the model runs it as a real
loop on warm caches (all data fits in L1, as llvm-mca assumes) and takes the
difference of two trip counts, so fill and drain cancel.

    python bench/mca_compare.py [--preset spacemit-x60 --preset sifive-x280]

Prints cycles per iteration, model / llvm-mca, and llvm-mca's busiest resource
per iteration (its throughput bound); docs/timing-model.md ("Against llvm-mca")
explains the rows outside ±20%.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess

import numpy as np

from rvai.emu import Machine
from rvai.emu.isa import assemble
from rvai.target import Target

CODE = 0x10000
ITERATIONS = 200
#: preset -> the llvm-mca cpu of the same core
CPUS = {"spacemit-x60": "spacemit-x60", "sifive-x280": "sifive-x280"}

#: name -> loop body (a0..a3 pointers into L1-resident buffers, fa0-fa3 scalars;
#: t6 is the trip counter the loop closes on)
LOOPS = {
    "dependent FMA chain (m1)": [
        "vsetvli t0, zero, e32, m1, ta, ma",
        "vfmacc.vv v8, v16, v24", "vfmacc.vv v8, v16, v24", "vfmacc.vv v8, v16, v24",
        "vfmacc.vv v8, v16, v24"],
    "independent FMAs (m1, 8 accumulators)": [
        "vsetvli t0, zero, e32, m1, ta, ma"] + [f"vfmacc.vv v{r}, v16, v24" for r in range(0, 8)],
    "saxpy (m8)": [
        "vsetvli t0, zero, e32, m8, ta, ma",
        "vle32.v v8, (a0)", "vle32.v v16, (a1)", "vfmacc.vf v16, fa0, v8", "vse32.v v16, (a1)",
        "addi a0, a0, 128", "addi a1, a1, 128", "andi a0, a0, 2047", "andi a1, a1, 2047",
        "or a0, a0, a2", "or a1, a1, a3"],
    "sgemm 4 x m4 body": [
        "vsetvli t0, zero, e32, m4, ta, ma",
        "vle32.v v0, (a1)", "flw fa0, 0(a0)", "flw fa1, 4(a0)", "flw fa2, 8(a0)", "flw fa3, 12(a0)",
        "vfmacc.vf v8, fa0, v0", "vfmacc.vf v12, fa1, v0", "vfmacc.vf v16, fa2, v0",
        "vfmacc.vf v20, fa3, v0", "addi a0, a0, 16", "addi a1, a1, 128", "andi a0, a0, 1023",
        "andi a1, a1, 2047", "or a0, a0, a2", "or a1, a1, a3"],
}


def _closing(body: list[str]) -> list[str]:
    """The body with the trip count's decrement and the backward branch."""
    n = len(body) + 1
    return body + ["addi t6, t6, -1", f"bne t6, zero, {-4 * n}"]


def model_cycles(target: Target, body: list[str]) -> float:
    """The model's steady-state cycles per iteration of `body` as a loop."""
    m = Machine(target, timed=True)
    words = np.array([assemble(t) for t in ["addi t6, a4, 0"] + _closing(body) + ["jalr zero, 0(ra)"]],
                     dtype=np.uint32)
    m.map(CODE, 4096, "rx")
    m.write(CODE, words)
    bufs = [m.alloc(4096, align=4096) for _ in range(2)]
    args = (bufs[0], bufs[1], bufs[0], bufs[1])
    cycles = {}
    for trips in (ITERATIONS, 2 * ITERATIONS):
        m.call(CODE, *args, trips)            # warm caches and predictor
        m.reset_counters()
        m.call(CODE, *args, trips)
        cycles[trips] = m.cycles
    return (cycles[2 * ITERATIONS] - cycles[ITERATIONS]) / ITERATIONS


def mca_cycles(cpu: str, body: list[str]) -> tuple[float, float]:
    """llvm-mca-22's cycles per iteration of `body` (closed like the model's loop),
    and its busiest resource's cycles per iteration: the bound a loop reaches when
    nothing but throughput limits it."""
    out = subprocess.run(["llvm-mca-22", "-mtriple=riscv64", f"-mcpu={cpu}", f"-iterations={ITERATIONS}"],
                         input="\n".join(_closing(body)) + "\n", capture_output=True, text=True,
                         check=True).stdout
    lines = out.splitlines()
    total = next(int(line.split()[-1]) for line in lines if line.startswith("Total Cycles:"))
    at = lines.index("Resource pressure per iteration:")
    busiest = max(float(v) for v in lines[at + 2].split() if v != "-")
    return total / ITERATIONS, busiest


def compare(presets: list[str]) -> list[tuple[str, str, float, float, float]]:
    """(preset, loop, model, llvm-mca, llvm-mca's busiest resource) cycles per
    iteration for every loop."""
    return [(p, name, model_cycles(Target.preset(p), body), *mca_cycles(CPUS[p], body))
            for p in presets for name, body in LOOPS.items()]


def main(argv=None) -> None:
    """Print the model beside llvm-mca-22 for each preset and loop."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", action="append", choices=sorted(CPUS))
    args = ap.parse_args(argv)
    if not shutil.which("llvm-mca-22"):
        raise SystemExit("llvm-mca-22 is not installed")
    print(f"{'preset':14} {'loop':40} {'model':>7} {'mca':>7} {'ratio':>6} {'mca busiest':>12} {'ratio':>6}")
    for preset, name, model, mca, busiest in compare(args.preset or sorted(CPUS)):
        flag = "" if abs(model / mca - 1) <= 0.2 else "  outside ±20%"
        print(f"{preset:14} {name:40} {model:7.2f} {mca:7.2f} {model / mca:6.2f} {busiest:12.2f} "
              f"{model / busiest:6.2f}{flag}")


if __name__ == "__main__":
    main()
