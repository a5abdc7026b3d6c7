"""The official riscv-tests ISA tests of Zicond, Zbc, Zbkb and Zbkx under `rvai run`.

riscv-tests is not vendored (no copied code in this repository) and the test
machines have no network, so these run only where $RVAI_RISCV_TESTS names a
riscv-tests checkout: each test of isa/rv64uzicond, rv64uzbc, rv64uzbkb and
rv64uzbkx that its Makefrag lists is assembled by clang-22 against the
checkout's isa/macros/scalar/test_macros.h and our user-mode riscv_test.h
(tests/riscv_tests_env: exit 0 on pass, the failing case's number on
failure), linked static and run by `rvai run`.  Tests the Makefrag lists that
the suite's directory keeps under rv64uzbb (riscv-tests links Zbkb's andn,
rev8, rol, ... to them) are taken from there.  Without a checkout the test
skips; the instructions are covered anyway by the spec models of
tests/test_rva23.py and tests/test_disasm.py's llvm-mc comparison."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = os.environ.get("RVAI_RISCV_TESTS")
CLANG = shutil.which("clang-22")
ENV = Path(__file__).parent / "riscv_tests_env"
SUITES = {"rv64uzicond": "rv64gc_zicond", "rv64uzbc": "rv64gc_zbc", "rv64uzbkb": "rv64gc_zbkb",
          "rv64uzbkx": "rv64gc_zbkx"}


def listed_tests():
    """(suite, test name) for every test the suites' Makefrags list."""
    if not CHECKOUT:
        return []
    out = []
    for suite in SUITES:
        makefrag = Path(CHECKOUT, "isa", suite, "Makefrag")
        if makefrag.exists():
            body = re.search(r"_sc_tests\s*=\s*\\?\n((?:.*\\\n)*.*)", makefrag.read_text())
            out += [(suite, name) for name in re.findall(r"[\w]+", body.group(1).replace("\\", " "))]
    return out


def source_of(suite: str, name: str) -> Path | None:
    for d in (suite, "rv64uzbb"):
        path = Path(CHECKOUT, "isa", d, f"{name}.S")
        if path.exists():
            return path
    return None


@pytest.mark.skipif(not CHECKOUT, reason="set RVAI_RISCV_TESTS to a riscv-tests checkout")
@pytest.mark.skipif(CLANG is None, reason="needs clang-22")
@pytest.mark.parametrize("suite,name", listed_tests() or [("none", "none")])
def test_official_isa_test_passes_under_rvai_run(suite, name, tmp_path):
    src = source_of(suite, name)
    if src is None:
        pytest.skip(f"{suite}/{name}.S is not in the checkout")
    elf = tmp_path / f"{name}.elf"
    subprocess.run([CLANG, "--target=riscv64-linux-gnu", f"-march={SUITES[suite]}", "-nostdlib", "-static",
                    "-fuse-ld=lld", f"-I{ENV}", f"-I{Path(CHECKOUT, 'isa', 'macros', 'scalar')}", str(src),
                    "-o", str(elf)], check=True, capture_output=True)
    run = subprocess.run([sys.executable, "-m", "rvai.cli", "run", str(elf)], capture_output=True, text=True)
    assert run.returncode == 0, f"{suite}/{name}: test case {run.returncode} failed {run.stderr}"
