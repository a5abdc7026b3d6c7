"""The native profile of translated blocks, host instruction by host instruction.

    python bench/jit_profile.py [--kernel gemm|attention] [--preset P] [--calls N]
                                [--functional] [--out DIR] [--blocks K]

Runs the DSL kernel of bench/timed_cost.py (timed unless --functional) in the
translating tier (``RVAI_JIT_HOT=1``), twice to translate its blocks, then
``perf record``s this process for N more calls.  The samples that fall in no
file (the blocks' code, which MCJIT loaded into anonymous memory) go to the
block whose start is nearest below them (the engine's addresses); the K
hottest blocks are built again from the IR text recorded while they were
translated, optimised as the engine optimises them and emitted as an object
(whose disassembly has the loaded code's offsets) and, through ``llc`` of
llvmlite's LLVM version with verbose comments, as assembly naming each host
instruction's IR basic block.  In a timed block each IR block's name is
prefixed, while the blocks are built here, with the index of the guest
instruction whose step or operation made it (``i<k>_``; ``ix_`` for an
exit), so each sample lands on a host instruction, an IR block and a guest
instruction (a functional block's names have no prefix: its samples count
by IR block only).

Written to DIR (default ./jit-profile): per hot block NAME.insns (its guest
instructions), NAME.ll and NAME.opt.ll (its IR before and after the passes),
NAME.s (llc's assembly) and NAME.annot (samples, offset, IR block, host
instruction: sort it by the first column); printed: the samples by file, by
block, and per hot block by guest instruction and by IR block kind (the name
without its prefix and numbers).  An IR block merged into the one before it
counts as that one.  Needs ``perf`` (and the right to profile this process),
and ``llc-<version>`` and ``llvm-objdump-<version>`` of llvmlite's LLVM
version; the assembly is checked to hold the object's instructions in order
(the object's alignment padding apart).
"""
import argparse
import bisect
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

os.environ.setdefault("RVAI_JIT_HOT", "1")
os.environ["RVAI_JIT_TIMED"] = "1"
os.environ["RVAI_CACHE_DIR"] = tempfile.mkdtemp()   # (an empty object cache: every block is built here)

import llvmlite.binding as llvm   # noqa: E402

import timed_cost   # noqa: E402
from rvai.emu import jit_ir, jit_llvm   # noqa: E402
from rvai.target import Target   # noqa: E402


def record_builds() -> tuple[dict, dict]:
    """Make every block built from here on record its IR lines and guest
    instructions, by function name, and prefix its IR blocks' names with
    the guest instruction that made them: (the IR lines, the instructions)."""
    texts, insns, step = {}, {}, [None]
    build, append, tstep, leave = (jit_llvm._Block.build, jit_ir.Function.append_basic_block,
                                   jit_llvm._Block._tstep, jit_llvm._Block.exit)

    def built(self):
        texts[self.fn.name] = lines = build(self)
        insns[self.fn.name] = [f"{k:3d} {i.pc:#x} {jit_llvm._OP_NAMES[i.op]} rd={i.rd} rs1={i.rs1} rs2={i.rs2} "
                               f"imm={i.imm}" for k, i in enumerate(self.insns)]
        return lines

    def appended(self, name="b"):
        return append(self, name if step[0] is None else f"i{step[0]}_{name}")

    def stepped(self, k, ins):   # (a timed block's first code for instruction k)
        step[0] = k
        return tstep(self, k, ins)

    def left(self, *args, **kwargs):
        k, step[0] = step[0], "x"
        try:
            return leave(self, *args, **kwargs)
        finally:
            step[0] = k

    jit_llvm._Block.build, jit_ir.Function.append_basic_block = built, appended
    jit_llvm._Block._tstep, jit_llvm._Block.exit = stepped, left
    return texts, insns


def jit_samples(data: Path) -> tuple[collections.Counter, collections.Counter]:
    """perf's samples in ``data``: (samples by file, samples by address of those in no file)."""
    out = subprocess.run(["perf", "script", "-i", str(data), "-F", "ip,dso"], capture_output=True, text=True,
                         check=True).stdout
    files, ips = collections.Counter(), collections.Counter()
    for line in out.splitlines():
        fields = line.split()
        if not fields:
            continue
        where = fields[1] if len(fields) > 1 else "?"
        files[where] += 1
        if "perf-" in where or "unknown" in where or "anon" in where:   # (perf names the process's map file)
            ips[int(fields[0], 16)] += 1
    return files, ips


def by_block(ips, starts: dict) -> dict:
    """The samples at addresses ``ips`` by block (``starts``: name -> address), each
    by its offset from the block's start."""
    order = sorted((a, name) for name, a in starts.items())
    out = collections.defaultdict(collections.Counter)
    for ip, n in ips.items():
        i = bisect.bisect_right([a for a, _ in order], ip) - 1
        if i >= 0:
            out[order[i][1]][ip - order[i][0]] += n
    return out


def annotate(name: str, lines: list[str], opt: int, samples: collections.Counter, out: Path) -> list[tuple]:
    """Block ``name`` (IR ``lines``, codegen level ``opt``) built again and
    disassembled: (samples, offset, IR block, host instruction) per host
    instruction, also written to NAME.annot."""
    header = [f'target triple = "{llvm.get_process_triple()}"', jit_llvm.LIKELY_DEF,
              *(f"declare {t.replace(' (', f' @{n}(', 1)}{' cold' if n in jit_llvm.COLD else ''}"
                for n, (t, _) in jit_llvm.HELPERS.items())]
    text = "\n".join(header + lines)
    (out / f"{name}.ll").write_text(text)
    mod = llvm.parse_assembly(text)
    jit_llvm._optimise(mod, opt)
    (out / f"{name}.opt.ll").write_text(str(mod))
    tm = jit_llvm.host_target_machine(opt)
    (out / f"{name}.o").write_bytes(tm.emit_object(mod))
    version = llvm.llvm_version_info[0]   # (the tools of llvmlite's LLVM version)
    dis = subprocess.run([f"llvm-objdump-{version}", "-d", "--no-show-raw-insn", str(out / f"{name}.o")],
                         capture_output=True, text=True, check=True).stdout
    host = [(int(m.group(1), 16), m.group(2).strip()) for m in re.finditer(r"(?m)^\s+([0-9a-f]+):\s+(.*)$", dis)]
    # llvmlite's assembly names no IR block: llc of the same LLVM version, with comments, does
    llc = f"llc-{version}"
    asm = subprocess.run([llc, f"-O{opt}", f"-mcpu={llvm.get_host_cpu_name()}",
                          f"-mattr={llvm.get_host_cpu_features().flatten()}", "-code-model=large", "-asm-verbose",
                          str(out / f"{name}.opt.ll"), "-o", "-"], capture_output=True, text=True, check=True).stdout
    (out / f"{name}.s").write_text(asm)
    lines, where = [], "entry"   # (IR block, mnemonic) of each instruction in the assembly
    for line in asm.splitlines():
        label = re.match(r"^(?:\.LBB\S+:|# %bb\.\d+:)\s*#\s*%(\S+)", line)
        if label:
            where = label.group(1)
        elif line.startswith("\t") and line.strip() and not line.strip().startswith((".", "#")):
            lines.append((where, line.split()[0]))
    rows, j = [], 0
    for off, ins in host:   # (the object's alignment padding: nops the assembly has no line for)
        if j < len(lines) and (not ins.startswith("nop") or lines[j][1].startswith("nop")):
            rows.append((samples.get(off, 0), off, lines[j][0], ins))
            j += 1
        else:
            rows.append((samples.get(off, 0), off, "(pad)", ins))
    if j != len(lines):
        raise RuntimeError(f"{llc}'s assembly of {name} does not hold the object's instructions")
    (out / f"{name}.annot").write_text("".join(f"{n:6d} {off:6x} {b:16s} {ins}\n" for n, off, b, ins in rows))
    return rows


def summary(rows) -> tuple[collections.Counter, collections.Counter]:
    """A hot block's samples (annotate's rows) by guest instruction and by IR block kind."""
    by_insn, by_kind = collections.Counter(), collections.Counter()
    for n, _, block, _ in rows:
        m = re.match(r"i(\d+|x)_(.*)", block)
        insn, kind = (m.group(1), m.group(2)) if m else ("-", block)
        by_insn[insn] += n
        by_kind[re.sub(r"[\d.]+(thread)?$", "", kind)] += n
    return by_insn, by_kind


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", default="gemm", choices=["gemm", "attention"])
    ap.add_argument("--preset", default="xuantie-c930")
    ap.add_argument("--calls", type=int, default=20, help="calls perf records")
    ap.add_argument("--functional", action="store_true", help="the functional blocks instead of the timed ones")
    ap.add_argument("--blocks", type=int, default=2, help="how many of the hottest blocks to annotate")
    ap.add_argument("--out", type=Path, default=Path("jit-profile"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    texts, insns = record_builds()
    call = timed_cost.dsl_call(args.kernel, Target.preset(args.preset), 1.0)
    timed = not args.functional
    for _ in range(2):   # (the blocks translated)
        timed_cost.dsl_once(call, timed, "translate")
    starts, level = {}, {}
    for opt, engine in jit_llvm._engines.items():
        for name, k in engine.names.items():
            if k in engine.blocks:
                starts[name], level[name] = engine.blocks[k], opt
    data = args.out / "perf.data"
    perf = subprocess.Popen(["perf", "record", "-F", "4999", "-p", str(os.getpid()), "-o", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)   # (perf attached)
    for _ in range(args.calls):
        timed_cost.dsl_once(call, timed, "translate")
    perf.send_signal(signal.SIGINT)
    perf.wait()
    files, ips = jit_samples(data)
    total = sum(files.values())
    print(f"{total} samples; by file:")
    for where, n in files.most_common(8):
        print(f"  {n:7d} {n / total:6.1%} {where}")
    blocks = by_block(ips, starts)
    jit = sum(ips.values())
    hot = sorted(blocks, key=lambda name: -sum(blocks[name].values()))
    print(f"{jit} in translated blocks; by block: " + ", ".join(f"{n} {sum(blocks[n].values())}" for n in hot[:6]))
    for name in hot[:args.blocks]:
        (args.out / f"{name}.insns").write_text("\n".join(insns[name]) + "\n")
        rows = annotate(name, texts[name], level[name], blocks[name], args.out)
        n = sum(r[0] for r in rows)
        by_insn, by_kind = summary(rows)
        print(f"\n{name}: {n} samples, {len(rows)} host instructions; by guest instruction "
              f"(NAME.insns; '-' the entry, 'x' the exits):")
        print("  " + ", ".join(f"{k}: {v / n:.1%}" for k, v in sorted(
            by_insn.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else -1)))
        print("  by IR block kind: " + ", ".join(f"{k} {v / n:.1%}" for k, v in by_kind.most_common(24)))


if __name__ == "__main__":
    main()
