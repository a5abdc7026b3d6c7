"""Threaded programs (tests/programs/threads/) built with riscv64-linux-gnu-gcc
-static -pthread (and -fopenmp against the static libgomp) run under
qemu-riscv64 and under rvai at 1, 2, 4 and 8 harts, which must agree on
stdout, stderr and exit code; the same run twice gives the same counters;
deadlocks raise instead of hanging."""
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rvai.emu import Deadlock, Machine

GCC = shutil.which("riscv64-linux-gnu-gcc")
QEMU = shutil.which("qemu-riscv64")
PROGRAMS = Path(__file__).parent / "programs" / "threads"
ENV = {"RVAI_TEST": "threads"}
HARTS = [1, 2, 4, 8]
FLAGS = {"psum_atomic": ["-pthread"], "mutex_counter": ["-pthread"], "prodcons": ["-pthread"],
         "omp_loop": ["-fopenmp"], "deadlock": ["-pthread"], "omp_procs": ["-fopenmp"]}


def _libgomp() -> bool:
    if not GCC:
        return False
    out = subprocess.run([GCC, "-print-file-name=libgomp.a"], capture_output=True, text=True).stdout.strip()
    return Path(out).is_file()


pytestmark = pytest.mark.skipif(not (GCC and QEMU), reason="needs riscv64-linux-gnu-gcc and qemu-riscv64")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("threads")
    names = [n for n in FLAGS if "-fopenmp" not in FLAGS[n] or _libgomp()]

    def build(name):
        exe = out / name
        subprocess.run([GCC, "-static", "-O2", *FLAGS[name], str(PROGRAMS / f"{name}.c"), "-o", str(exe)],
                       check=True, capture_output=True)
        return exe
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(names, pool.map(build, names)))


def exe(built, name):
    if name not in built:
        pytest.skip(f"{name} needs the cross toolchain's static libgomp (libgcc-12-dev-riscv64-cross)")
    return built[name]


def qemu(path, args):
    p = subprocess.run([QEMU, str(path), *args], capture_output=True, env=ENV, timeout=120)
    return p.stdout, p.stderr, p.returncode


def rvai(path, args, harts, **kw):
    m = Machine(vlen=128, harts=harts, **kw)
    r = m.run([str(path), *args], env=ENV, budget=500_000_000)
    return r, m


# (program, argv as a function of the hart count): one thread per hart, and
# programs with more threads than harts (they time-share a hart).
CASES = {
    "psum_atomic": lambda h: [str(h)],
    "psum_atomic-over": lambda h: ["8"],
    "mutex_counter": lambda h: [str(h)],
    "prodcons": lambda h: [str(max(h // 2, 1)), str(max(h // 2, 1))],
    "prodcons-over": lambda h: ["3", "2"],
    "omp_loop": lambda h: [str(h)],
    "omp_loop-default": lambda h: [],    # as many threads as the process has CPUs
}


@pytest.mark.parametrize("harts", HARTS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_threaded_program_matches_qemu(built, case, harts):
    name = case.split("-")[0]
    path = exe(built, name)
    args = CASES[case](harts)
    r, m = rvai(path, args, harts)
    if case == "omp_loop-default":
        # qemu-user's process has the host's CPUs, not this machine's harts: compare
        # with qemu given the thread count the guest should have picked
        args = [str(harts)]
        assert m.threads_started() == harts
    assert (r.stdout, r.stderr, r.exit_code) == qemu(path, args)
    assert r.unknown_syscalls == {}


@pytest.mark.parametrize("harts", HARTS)
def test_openmp_sees_one_cpu_per_hart(built, harts):
    r, _ = rvai(exe(built, "omp_procs"), [], harts)
    assert r.stdout.decode().split() == [f"procs={harts}", f"max_threads={harts}", f"nprocs={harts}"]


@pytest.mark.parametrize("timed", [False, True])
def test_the_same_program_twice_gives_the_same_cycles(built, timed):
    def once():
        r, m = rvai(exe(built, "prodcons"), ["2", "2"], 4, timed=timed)
        return r.stdout, r.instret, r.cycles, m.hart_cycles(), [t["instret"] for t in m.threads()]
    first = once()
    assert first == once()
    assert len(first[3]) == 4 and min(first[3]) > 0


@pytest.mark.parametrize("harts", [1, 2])
def test_threads_that_all_wait_raise_deadlock(built, harts):
    """main joins a thread that waits on a condition variable nobody signals."""
    with pytest.raises(Deadlock, match=r"thread 0 on hart 0 blocked \(futex .*thread 1 on hart \d blocked"):
        rvai(exe(built, "deadlock"), ["join"], harts)


def test_a_timed_wait_times_out_when_every_thread_waits(built):
    """pthread_mutex_timedlock on a mutex the thread itself holds: ETIMEDOUT, as qemu gives."""
    path = exe(built, "deadlock")
    r, _ = rvai(path, ["timedlock"], 2)
    assert (r.stdout, r.stderr, r.exit_code) == qemu(path, ["timedlock"])
    assert r.stdout == b"timedlock=110\n"


def test_rvai_run_takes_harts_and_reports_a_deadlock(built):
    """`rvai run --harts N` runs the program on N harts; a deadlock exits 105 with each thread's state."""
    import sys
    cli = [sys.executable, "-m", "rvai.cli", "run", "--harts", "4"]
    ok = subprocess.run([*cli, str(exe(built, "psum_atomic")), "4"], capture_output=True, timeout=120)
    assert (ok.stdout, ok.returncode) == qemu(exe(built, "psum_atomic"), ["4"])[::2]
    dead = subprocess.run([*cli, str(exe(built, "deadlock")), "join"], capture_output=True, timeout=120)
    assert dead.returncode == 105 and b"deadlock" in dead.stderr and b"thread 1 on hart 1 blocked" in dead.stderr
