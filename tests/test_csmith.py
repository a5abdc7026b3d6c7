"""Bounded differential fuzz test: random C programs from csmith (fixed seeds),
built as static riscv64 executables with riscv64-linux-gnu-gcc -O2 (scalar
RV64GC code) and clang-19 -O3 -march=rv64gcv (auto-vectorised: RVV code),
run under qemu-riscv64 and under rvai at two VLENs.  A csmith program prints
a checksum of all its global state, so equal stdout and exit code mean the
two emulators computed the same values through thousands of generated
integer expressions, pointer games, struct copies and loops.

The seeds are fixed so that a failure reproduces; csmith itself is the
Debian 2.3.0 package (a different csmith makes different, equally valid
programs from the same seeds).  To fuzz further by hand, run this file's
``check`` over more seeds."""
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rvai.emu import Machine

CSMITH = shutil.which("csmith")
GCC = shutil.which("riscv64-linux-gnu-gcc")
CLANG = shutil.which("clang-19")
QEMU = shutil.which("qemu-riscv64")
# csmith's runtime headers (Debian package libcsmith-dev).
CSMITH_INCLUDE = Path("/usr/include/csmith")

# csmith options per seed: the defaults (integers only), and floats with
# arrays long enough (64 elements a dimension) for clang to vectorise loops.
DEFAULT, FLOAT_ARRAYS = (), ("--float", "--max-array-len-per-dim", "64")
# Seeds picked from a fuzzing run (about 170 programs): among those that finish
# in a fraction of a second, the clang builds retiring the most distinct RVV
# (12-15) and FP (up to 13) instructions.  csmith's code vectorises little:
# the checksum's CRC table loop, array initialisation and struct copies.
SEEDS = {2: DEFAULT, 49: DEFAULT, 56: DEFAULT, 10: FLOAT_ARRAYS, 42: FLOAT_ARRAYS, 63: FLOAT_ARRAYS}
VLENS = [128, 512]
COMPILERS = {
    "gcc": lambda src, out: [GCC, "-static", "-O2", "-w", f"-I{CSMITH_INCLUDE}", str(src), "-o", str(out)],
    "clang": lambda src, out: [CLANG, "--target=riscv64-linux-gnu", "-march=rv64gcv", "-O3", "-static",
                               "-fuse-ld=lld", "--sysroot=/usr/riscv64-linux-gnu", "--gcc-toolchain=/usr", "-w",
                               f"-I{CSMITH_INCLUDE}", str(src), "-o", str(out)],
}
# A generated program that qemu cannot finish in this time is skipped (csmith
# programs may loop for very long); rvai gets a generous instruction budget.
QEMU_TIMEOUT = 10
BUDGET = 2_000_000_000

pytestmark = pytest.mark.skipif(
    not (CSMITH and GCC and CLANG and QEMU and (CSMITH_INCLUDE / "csmith.h").exists()),
    reason="needs csmith (+ libcsmith-dev headers), riscv64-linux-gnu-gcc, clang-19 and qemu-riscv64")


def build(seed: int, compiler: str, workdir: Path) -> Path:
    """The csmith program for ``seed`` (already in ``workdir``) compiled with ``compiler``."""
    src = workdir / f"csmith{seed}.c"
    out = workdir / f"csmith{seed}-{compiler}"
    subprocess.run(COMPILERS[compiler](src, out), check=True, capture_output=True, timeout=300)
    return out


def check(program: Path, vlen: int) -> None:
    """``program`` prints the same checksum and exits the same way under qemu and rvai at ``vlen``."""
    try:
        q = subprocess.run([QEMU, "-cpu", f"rv64,v=true,vlen={vlen}", str(program)], capture_output=True,
                           timeout=QEMU_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.skip(f"{program.name} runs longer than {QEMU_TIMEOUT} s under qemu")
    r = Machine(vlen=vlen).run([str(program)], budget=BUDGET)
    assert (r.stdout.decode(), r.exit_code) == (q.stdout.decode(), q.returncode)


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """Every seed under both compilers, built once on both cores: (seed, compiler) -> path."""
    workdir = tmp_path_factory.mktemp("csmith")
    # Generate the sources first so the two builds of one seed do not race to write it
    # (in workdir: csmith also writes a platform.info file into its working directory).
    for seed, options in SEEDS.items():
        subprocess.run([CSMITH, "--seed", str(seed), *options, "-o", f"csmith{seed}.c"],
                       check=True, capture_output=True, timeout=60, cwd=workdir)
    with ThreadPoolExecutor(2) as pool:
        jobs = {(s, c): pool.submit(build, s, c, workdir) for s in SEEDS for c in COMPILERS}
    return {key: job.result() for key, job in jobs.items()}


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("compiler", list(COMPILERS))
@pytest.mark.parametrize("seed", SEEDS)
def test_csmith_program_matches_qemu(programs, seed, compiler, vlen):
    check(programs[seed, compiler], vlen)
