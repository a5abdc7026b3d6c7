"""Differential test: RVV floating-point kernels (tests/rvv_programs/vfp.c:
f32 -> f64 widening add/sub/mul/FMA in every rounding mode, ordered,
unordered, masked and widening sums, min/max reductions through NaNs and
signed zeros, vfslide1up/down, an f32 GEMM accumulated in f64 with
vfwmacc.vf; results and fflags printed as hex) built with clang-19 for
rv64gcv, run under qemu-riscv64 (RVV 1.0 FP for SEW 32/64, no Zvfh) and
rvai at several VLENs: stdout must be identical."""
from pathlib import Path

import pytest

from tests.test_qemu_rvv import build, outputs

SRC = Path(__file__).parent / "rvv_programs" / "vfp.c"


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    """The vfp program."""
    return build(SRC, tmp_path_factory)


@pytest.mark.parametrize("vlen", [128, 256, 512, 1024])
def test_vfp_program_matches_qemu(program, vlen):
    want, got = outputs(program, vlen)
    assert len(got) == 40   # every section printed
    assert got == want
