"""llvm-mc-19 as an oracle: batch disassembly and assembly of many
instructions per process, one instruction per input line."""
import re
import shutil
import subprocess

import pytest

LLVM_MC = shutil.which("llvm-mc-19")
MATTR = "+m,+a,+f,+d,+c,+zba,+zbb,+zbs,+zfh,+v"
needs_llvm_mc = pytest.mark.skipif(LLVM_MC is None, reason="llvm-mc-19 not installed")

_ENCODED = re.compile(r"^\s*(.*?)\s*# encoding: \[([^\]]*)\]", re.M)
# Rejected lines; other warnings (e.g. on vtypes some implementations lack) still emit.
_BAD_LINE = re.compile(r"^<stdin>:(\d+):\d+: (?:error:|warning: invalid instruction encoding)", re.M)


def normalise(text: str) -> str:
    """One space between tokens, no leading or trailing space."""
    return re.sub(r"\s+", " ", text).strip()


def _run(args: list[str], lines: list[str]) -> tuple[list[tuple[str, bytes]], set[int]]:
    """Run llvm-mc over the lines; (text, encoding) per instruction it emitted,
    in order, and the 0-based numbers of the lines it rejected."""
    proc = subprocess.run([LLVM_MC, "-triple=riscv64", *args, "--show-encoding"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, check=False)
    bad = {int(n) - 1 for n in _BAD_LINE.findall(proc.stderr)}
    out = [(normalise(t), bytes(int(b, 16) for b in enc.split(",") if b))
           for t, enc in _ENCODED.findall(proc.stdout)]
    return out, bad


def _pair_up(lines: list[str], args: list[str]) -> list:
    """Match llvm-mc's outputs to the input lines: each accepted line emitted
    exactly one instruction, whose encoding the caller may check."""
    out, bad = _run(args, lines)
    results, k = [], 0
    for i in range(len(lines)):
        if i in bad:
            results.append(None)
        else:
            results.append(out[k])
            k += 1
    assert k == len(out), "llvm-mc emitted more instructions than lines"
    return results


def disassemble(words: list[int]) -> list[str | None]:
    """LLVM's text for each instruction word (16-bit when its low bits are
    not 0b11), None where it reports an invalid encoding."""
    blobs = [w.to_bytes(2 if w & 3 != 3 else 4, "little") for w in words]
    lines = [" ".join(f"0x{b:02x}" for b in blob) for blob in blobs]
    results = _pair_up(lines, ["--disassemble", f"-mattr={MATTR}"])
    texts = []
    for blob, r in zip(blobs, results):
        if r is not None:
            assert r[1] == blob, f"llvm-mc output out of step: {r} for {blob.hex()}"
        texts.append(None if r is None else r[0])
    return texts


def assemble(lines: list[str]) -> list[int | None]:
    """LLVM's encoding of each line (no C extension, so never compressed),
    None where it rejects the line."""
    mattr = MATTR.replace("+c,", "")
    results = _pair_up(lines, [f"-mattr={mattr}"])
    return [None if r is None else int.from_bytes(r[1], "little") for r in results]
