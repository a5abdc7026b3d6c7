"""The vector instruction table is complete (against llvm-mc's decoder) and
docs/isa-coverage.md lists exactly its vector rows and its extension rows:
neither can drift."""
import re
from pathlib import Path

from rvai.emu.isa import table

DOC = Path(__file__).resolve().parent.parent / "docs" / "isa-coverage.md"


def test_coverage_page_lists_exactly_the_vector_and_extension_rows():
    listed = re.findall(r"^\| `([^`]+)`", DOC.read_text(), re.M)
    vector = {row.name for row in table().values() if row.cls.startswith("V") or row.ext != "base"}
    assert len(listed) == len(set(listed)), "an instruction is listed twice"
    assert sorted(vector - set(listed)) == [], "instructions missing from docs/isa-coverage.md"
    assert sorted(set(listed) - vector) == [], "docs/isa-coverage.md lists instructions the core lacks"


def test_every_vector_instruction_llvm_knows_is_in_the_table():
    """An independent list of RVV 1.0 + Zvfh: every mnemonic llvm-mc decodes from the
    vector opcode space (OP-V over funct6/funct3/vs1/vm, and LOAD-FP/STORE-FP over
    nf/mop/lumop/width/vm) must be a row of the table."""
    import shutil
    import subprocess
    mc = shutil.which("llvm-mc-19")
    if not mc:
        import pytest
        pytest.skip("needs llvm-mc-19")
    words = [f6 << 26 | vm << 25 | 8 << 20 | vs1 << 15 | f3 << 12 | 16 << 7 | 0x57
             for f6 in range(64) for f3 in range(7) for vs1 in range(32) for vm in (0, 1)]
    words += [nf << 29 | mop << 26 | vm << 25 | f5 << 20 | 10 << 15 | w << 12 | 8 << 7 | opc
              for opc in (0x07, 0x27) for w in (0, 5, 6, 7) for mop in range(4)
              for nf in range(8) for f5 in range(32) for vm in (0, 1)]
    text = "\n".join(" ".join(f"0x{(w >> 8 * i) & 0xFF:02x}" for i in range(4)) for w in words)
    out = subprocess.run([mc, "--disassemble", "-triple=riscv64", "-mattr=+v,+zvfh", "-M", "no-aliases"],
                         input=text, capture_output=True, text=True).stdout
    llvm = {line.split()[0] for line in out.splitlines()
            if line.strip() and not line.strip().startswith(".") and line.split()[0].startswith("v")}
    assert len(llvm) > 600
    assert sorted(llvm - set(table())) == []
