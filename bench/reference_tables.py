"""Regenerate the LLVM rows of the reference tables in rvai/targets/measured/.

Each file there lists cycles per instruction (independent copies, vl = VLMAX) of
one core, one row per (instruction, masked, SEW, LMUL), each with its source.
Rows whose source is ``llvm22`` are the reciprocal throughput LLVM 22's
scheduling model gives (llvm-mca-22 -instruction-info); rows of any other
source (measurements on silicon) are kept as they are and take precedence:
this script only fills the cells they leave empty.

    python bench/reference_tables.py            # rewrites the files in place
"""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

from rvai.microbench import Cell, instruction_text

MEASURED = Path(__file__).resolve().parent.parent / "rvai" / "targets" / "measured"
#: preset -> LLVM cpu whose scheduling model gives the llvm22 rows
CPUS = {"spacemit-x60": "spacemit-x60", "sifive-x280": "sifive-x280"}
LMULS = (1, 2, 4, 8)
#: mnemonic (with {sew} for memory forms), SEWs, masked too?
ROWS = [
    ("vadd.vv", (8, 32, 64), True), ("vmul.vv", (8, 32, 64), False), ("vredsum.vs", (32,), False),
    ("vdiv.vv", (32,), False),
    ("vfadd.vv", (32, 64), True), ("vfmul.vv", (32, 64), False), ("vfmacc.vv", (32, 64), False),
    ("vfdiv.vv", (32,), False), ("vfsqrt.v", (32,), False),
    ("vfredosum.vs", (32,), False), ("vfredusum.vs", (32,), False),
    ("vle{sew}.v", (8, 32, 64), False), ("vse{sew}.v", (8, 32, 64), False),
    ("vlse{sew}.v", (32, 64), False), ("vsse{sew}.v", (32,), False),
    ("vrgather.vv", (8, 32), False), ("vcompress.vm", (8, 32), False),
    ("vslidedown.vi", (32,), False), ("vslideup.vi", (32,), False),
]
SCALAR = ("add", "mul")
FIELDS = ("insn", "masked", "sew", "lmul", "cycles", "source")


def cells() -> list[Cell]:
    """Every cell the tables cover."""
    out = [Cell(s) for s in SCALAR]
    for insn, sews, masked in ROWS:
        for sew in sews:
            for lmul in LMULS:
                for mk in (False, True) if masked else (False,):
                    out.append(Cell(insn.format(sew=sew), sew, lmul, mk))
    return out


def llvm_throughputs(cpu: str, todo: list[Cell]) -> dict[Cell, float]:
    """Reciprocal throughput of each cell in LLVM's scheduling model of `cpu`."""
    lines = []
    for c in todo:
        if c.vector:
            lines.append(f"vsetvli t2, zero, e{c.sew}, m{c.lmul}, ta, ma")
        lines.append(instruction_text(c, "v24" if c.vector else "a2"))
    out = subprocess.run(["llvm-mca-22", "-mtriple=riscv64", f"-mcpu={cpu}", "-instruction-info",
                          "-iterations=1"], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, check=True).stdout
    table = out.split("Instructions:", 2)[2]
    rthroughput = [float(line.split()[2]) for line in table.strip().splitlines()
                   if line.split() and line.split()[0].isdigit() and "vsetvli" not in line]
    if len(rthroughput) != len(todo):
        raise RuntimeError(f"llvm-mca-22 gave {len(rthroughput)} rows for {len(todo)} instructions")
    return dict(zip(todo, rthroughput))


def key(row: dict) -> Cell:
    """The cell a CSV row measures."""
    sew = int(row["sew"]) if row["sew"] else None
    return Cell(row["insn"], sew, int(row["lmul"]) if row["lmul"] else None, row["masked"] == "1")


def main() -> None:
    """Rewrite each preset's table: measured rows kept, the rest from llvm-mca-22."""
    if not shutil.which("llvm-mca-22"):
        sys.exit("llvm-mca-22 is not installed")
    for preset, cpu in CPUS.items():
        path = MEASURED / f"{preset}.csv"
        text = path.read_text()
        header = [line for line in text.splitlines() if line.startswith("#")]
        rows = [r for r in csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
                if r["source"] != "llvm22"]
        have = {key(r) for r in rows}
        todo = [c for c in cells() if c not in have]
        for c, cycles in llvm_throughputs(cpu, todo).items():
            rows.append({"insn": c.insn, "masked": int(c.masked), "sew": c.sew or "", "lmul": c.lmul or "",
                         "cycles": f"{cycles:g}", "source": "llvm22"})
        order = {c: i for i, c in enumerate(cells())}
        rows.sort(key=lambda r: order.get(key(r), len(order)))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text("\n".join(header) + "\n" + buf.getvalue())
        print(f"{path}: {len(rows)} rows, {len(todo)} from llvm-mca-22 -mcpu={cpu}")


if __name__ == "__main__":
    main()
