"""llvm-mc as an oracle: batch disassembly and assembly of many
instructions per process, one instruction per input line.

The base rows are held to llvm-mc-19 with the base ISA's features; the rows
of the extensions (isa.Insn.ext != "base": bfloat16, Zvqdotq, XSMTVDot, ...)
to llvm-mc-22, the first release that has them all, with their features on
(``ext=True``)."""
import re
import shutil
import subprocess

import pytest

LLVM_MC = shutil.which("llvm-mc-19")
LLVM_MC22 = shutil.which("llvm-mc-22")
# The hints print as their hint names (pause, ntl.*, prefetch.*, c.mop.*), and Zcb's compressed
# forms decode: on for every row.
MATTR = "+m,+a,+f,+d,+c,+zba,+zbb,+zbs,+zfh,+v,+zihintpause,+zihintntl,+zicbop,+zcmop,+zcb"
#: Features that let LLVM's assembler compress (off when assembling).
COMPRESSED = {"+c", "+zcmop", "+zcb"}
#: Extensions LLVM 22 still calls experimental (their feature needs the prefix).
EXPERIMENTAL = {"zvqdotq"}
needs_llvm_mc = pytest.mark.skipif(LLVM_MC is None, reason="llvm-mc-19 not installed")
needs_llvm_mc22 = pytest.mark.skipif(LLVM_MC22 is None, reason="llvm-mc-22 not installed")


def ext_mattr() -> str:
    """The base features plus every extension of the instruction table."""
    from rvai.emu.isa import extensions
    return MATTR + "".join(f",+{'experimental-' if e in EXPERIMENTAL else ''}{e}" for e in extensions()[1:])

_ENCODED = re.compile(r"^\s*(.*?)\s*# encoding: \[([^\]]*)\]", re.M)
# Rejected lines; other warnings (e.g. on vtypes some implementations lack) still emit.
_BAD_LINE = re.compile(r"^<stdin>:(\d+):\d+: (?:error:|warning: invalid instruction encoding)", re.M)


def normalise(text: str) -> str:
    """One space between tokens, no leading or trailing space."""
    return re.sub(r"\s+", " ", text).strip()


def _run(args: list[str], lines: list[str], ext: bool) -> tuple[list[tuple[str, bytes]], set[int]]:
    """Run llvm-mc over the lines; (text, encoding) per instruction it emitted,
    in order, and the 0-based numbers of the lines it rejected."""
    proc = subprocess.run([LLVM_MC22 if ext else LLVM_MC, "-triple=riscv64", *args, "--show-encoding"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, check=False)
    bad = {int(n) - 1 for n in _BAD_LINE.findall(proc.stderr)}
    out = [(normalise(t), bytes(int(b, 16) for b in enc.split(",") if b))
           for t, enc in _ENCODED.findall(proc.stdout)]
    return out, bad


def _pair_up(lines: list[str], args: list[str], ext: bool) -> list:
    """Match llvm-mc's outputs to the input lines: each accepted line emitted
    exactly one instruction, whose encoding the caller may check."""
    out, bad = _run(args, lines, ext)
    results, k = [], 0
    for i in range(len(lines)):
        if i in bad:
            results.append(None)
        else:
            results.append(out[k])
            k += 1
    assert k == len(out), "llvm-mc emitted more instructions than lines"
    return results


def disassemble(words: list[int], ext: bool = False) -> list[str | None]:
    """LLVM's text for each instruction word (16-bit when its low bits are
    not 0b11), None where it reports an invalid encoding."""
    blobs = [w.to_bytes(2 if w & 3 != 3 else 4, "little") for w in words]
    lines = [" ".join(f"0x{b:02x}" for b in blob) for blob in blobs]
    results = _pair_up(lines, ["--disassemble", f"-mattr={ext_mattr() if ext else MATTR}"], ext)
    texts = []
    for blob, r in zip(blobs, results):
        if r is not None:
            assert r[1] == blob, f"llvm-mc output out of step: {r} for {blob.hex()}"
        texts.append(None if r is None else r[0])
    return texts


def assemble(lines: list[str], ext: bool = False) -> list[int | None]:
    """LLVM's encoding of each line (no C extension, so never compressed),
    None where it rejects the line."""
    mattr = ",".join(f for f in (ext_mattr() if ext else MATTR).split(",") if f not in COMPRESSED)
    results = _pair_up(lines, [f"-mattr={mattr}"], ext)
    return [None if r is None else int.from_bytes(r[1], "little") for r in results]
