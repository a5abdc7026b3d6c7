"""Differential test: RVV intrinsic kernels (tests/rvv_programs/kernels.c: GEMM
micro-kernel, reductions, masked ops, compress/iota, segment loads and stores,
indexed and gather/slide permutations, fixed point in every vxrm mode, and
auto-vectorised loops) built with clang-19 for rv64gcv, run under
qemu-riscv64 and rvai at several VLENs: stdout must be identical."""
import shutil
import subprocess
from pathlib import Path

import pytest

from rvai.emu import Machine

CLANG = shutil.which("clang-19")
QEMU = shutil.which("qemu-riscv64")
SRC = Path(__file__).parent / "rvv_programs" / "kernels.c"


def build(src: Path, tmp_path_factory) -> Path:
    """A tests/rvv_programs source as a static freestanding rv64gcv executable (skips without the tools)."""
    if not (CLANG and QEMU):
        pytest.skip("needs clang-19 and qemu-riscv64")
    out = tmp_path_factory.mktemp("rvv") / src.stem
    subprocess.run([CLANG, "--target=riscv64-linux-gnu", "-march=rv64gcv", "-O2", "-static", "-fuse-ld=lld",
                    "-nostdlib", "-ffreestanding", "-fno-builtin", str(src), "-o", str(out)],
                   check=True, capture_output=True)
    return out


def outputs(program: Path, vlen: int) -> tuple[list[str], list[str]]:
    """stdout lines of ``program`` under qemu and under rvai at ``vlen``; both must exit 0."""
    q = subprocess.run([QEMU, "-cpu", f"rv64,v=true,vlen={vlen}", str(program)], capture_output=True, timeout=60)
    assert q.returncode == 0
    r = Machine(vlen=vlen).run([str(program)], budget=100_000_000)
    assert r.exit_code == 0
    return q.stdout.decode().splitlines(), r.stdout.decode().splitlines()


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """The kernels program."""
    return build(SRC, tmp_path_factory)


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
def test_kernels_match_qemu(kernels, vlen):
    want, got = outputs(kernels, vlen)
    assert got == want


def test_kernels_do_not_depend_on_agnostic_elements(kernels):
    """With agnostic elements filled with ones the (well-defined) output is unchanged."""
    plain = Machine(vlen=256).run([str(kernels)], budget=100_000_000).stdout
    ones = Machine(vlen=256, tail_ones=True).run([str(kernels)], budget=100_000_000).stdout
    assert ones == plain
