"""Differential tests: C programs (tests/programs/) built as static riscv64
executables run under qemu-riscv64 and under rvai, which must agree on stdout,
stderr and exit code; and the ``rvai run`` command's behaviour on bad input."""
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rvai.emu import Machine
from rvai.emu.machine import op_name
from rvai._rvemu import lib

GCC = shutil.which("riscv64-linux-gnu-gcc")
QEMU = shutil.which("qemu-riscv64")
PROGRAMS = Path(__file__).parent / "programs"
REPO = Path(__file__).parent.parent
# One variable only: qemu-user hands the environment over in reverse order.
ENV = {"RVAI_TEST": "differential"}
# The command runs under Python, which would add LC_CTYPE to a C-locale
# environment (PEP 538) unless LC_ALL names a UTF-8 locale.
CLI_ENV = {"LC_ALL": "C.UTF-8"}

# glibc is built for rv64gc: its programs need F and D in the core.
_OPS = {op_name(i) for i in range(1, lib.rv_num_ops())}
HAS_FD = {"fadd.d", "fsd", "fld", "fmadd.d", "fcvt.d.w"} <= _OPS

# Programs linked with glibc, and those without libc (they run on an RV64IMAC core).
LIBC = ["hello", "loops", "sort_strings", "crc32", "numeric", "args_env", "exit_codes",
        "stdin_count"]
FREESTANDING = ["freestanding", "bad"]
MARCHES = {"rv64gc": [], "zb": ["-march=rv64gc_zba_zbb_zbs"]}

needs_tools = pytest.mark.skipif(not (GCC and QEMU), reason="needs riscv64-linux-gnu-gcc and qemu-riscv64")
needs_fd = pytest.mark.skipif(not HAS_FD, reason="the core does not implement F/D yet (glibc needs them)")


def _build(src: Path, out: Path, flags: list[str]) -> Path:
    if src.stem in FREESTANDING:
        flags = ["-nostdlib", "-ffreestanding", "-fno-builtin", "-march=rv64imac", "-mabi=lp64"]
    cmd = [GCC, "-static", "-O2", *flags, str(src), "-o", str(out), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every program under every -march, compiled once per session: (name, march) -> path."""
    if not (GCC and QEMU):
        pytest.skip("needs riscv64-linux-gnu-gcc and qemu-riscv64")
    out = tmp_path_factory.mktemp("programs")
    jobs = {(name, march): (PROGRAMS / f"{name}.c", out / f"{name}-{march}", flags)
            for name in LIBC + FREESTANDING for march, flags in MARCHES.items()
            if name in LIBC or march == "rv64gc"}
    with ThreadPoolExecutor(2) as pool:
        done = {key: pool.submit(_build, *job) for key, job in jobs.items()}
    return {key: f.result() for key, f in done.items()}


def qemu(exe: Path, args, stdin: bytes):
    p = subprocess.run([QEMU, str(exe), *args], input=stdin, capture_output=True, env=ENV,
                       timeout=60)
    return p.stdout, p.stderr, p.returncode if p.returncode >= 0 else 128 - p.returncode


def rvai(exe: Path, args, stdin: bytes):
    r = Machine(vlen=128).run([str(exe), *args], env=ENV, stdin=stdin, budget=2_000_000_000)
    return r.stdout, r.stderr, r.exit_code


CASES = [
    ("hello", [], b""),
    ("loops", [], b""),
    ("sort_strings", [], b""),
    ("crc32", [], b""),
    ("crc32", ["777"], b""),
    ("numeric", [], b""),
    ("args_env", ["one", "two words", ""], b""),
    ("exit_codes", ["0"], b""),
    ("exit_codes", ["3"], b""),
    ("exit_codes", ["255", "exit"], b""),
    ("exit_codes", ["7", "abort"], b""),
    ("stdin_count", [], b"the quick brown\nfox  jumps\n\tover\n"),
    ("stdin_count", [], b""),
]


@needs_tools
@needs_fd
@pytest.mark.parametrize("march", list(MARCHES))
@pytest.mark.parametrize("name,args,stdin", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_glibc_program_matches_qemu(built, name, args, stdin, march):
    exe = built[name, march]
    assert rvai(exe, args, stdin) == qemu(exe, args, stdin)


@needs_tools
@pytest.mark.parametrize("args,stdin", [([], b""), (["a", "b c"], b"typed input\n")])
def test_freestanding_program_matches_qemu(built, args, stdin):
    exe = built["freestanding", "rv64gc"]
    expected = qemu(exe, args, stdin)
    assert expected[2] == 40 + 1 + len(args)
    assert rvai(exe, args, stdin) == expected


# ---- the command line ---------------------------------------------------------------

def cli(*args, stdin=b""):
    """Run ``rvai`` from this checkout in a subprocess; a hang fails the test by timeout."""
    return subprocess.run([sys.executable, "-m", "rvai.cli", *args], input=stdin, cwd=REPO,
                          capture_output=True, timeout=120, env=CLI_ENV)


@needs_tools
def test_cli_forwards_output_and_exit_code_like_qemu(built):
    exe = built["freestanding", "rv64gc"]
    p = cli("run", str(exe), "x", stdin=b"piped\n")
    q = subprocess.run([QEMU, str(exe), "x"], input=b"piped\n", capture_output=True,
                       env=CLI_ENV, timeout=60)
    assert (p.stdout, p.stderr, p.returncode) == (q.stdout, q.stderr, q.returncode) == \
        (q.stdout, b"stdin: piped\n", 42)


@needs_tools
@needs_fd
def test_cli_runs_a_glibc_program(built):
    p = cli("run", str(built["exit_codes", "rv64gc"]), "9")
    assert (p.stdout, p.stderr, p.returncode) == (b"exiting with 9\n", b"to stderr: 9\n", 9)


@needs_tools
@needs_fd
def test_cli_runs_a_glibc_program_by_relative_path_like_qemu(built):
    # glibc's startup asserts that readlink("/proc/self/exe") is absolute.
    exe = built["hello", "rv64gc"]
    run = lambda cmd: subprocess.run(cmd, cwd=exe.parent, capture_output=True, env=CLI_ENV,
                                     timeout=120)
    q = run([QEMU, f"./{exe.name}"])
    p = run([sys.executable, "-m", "rvai.cli", "run", f"./{exe.name}"])
    assert (p.stdout, p.stderr, p.returncode) == (q.stdout, q.stderr, q.returncode)
    assert q.returncode == 0 and q.stdout


def _one_error_line(p, code: int, *words: str) -> None:
    err = p.stderr.decode()
    assert p.returncode == code, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("rvai: error: ")
    for w in words:
        assert w in err


def test_cli_refuses_a_non_elf_file(tmp_path):
    f = tmp_path / "script.sh"
    f.write_text("#!/bin/sh\n" + "echo a line long enough to fill an ELF header\n" * 3)
    _one_error_line(cli("run", str(f)), 102, "not an ELF file")


def test_cli_refuses_a_missing_file(tmp_path):
    _one_error_line(cli("run", str(tmp_path / "nope")), 101, "cannot read")


@needs_tools
def test_cli_refuses_a_truncated_elf(built, tmp_path):
    f = tmp_path / "truncated"
    f.write_bytes(built["freestanding", "rv64gc"].read_bytes()[:300])
    _one_error_line(cli("run", str(f)), 102, str(f))


@needs_tools
@pytest.mark.parametrize("mode,code,words", [
    ("jump", 103, ["instruction fetch fault", "0x123456780"]),
    ("store", 103, ["store access fault", "<entry"]),
    ("loop", 104, ["instruction budget exhausted"]),
])
def test_cli_reports_guest_faults_and_runaway_loops(built, mode, code, words):
    p = cli("run", "--budget", "2000000", str(built["bad", "rv64gc"]), mode)
    _one_error_line(p, code, *words)


@needs_tools
def test_cli_disasm_lists_a_symbol_like_objdump(built):
    exe = built["bad", "rv64gc"]
    p = cli("disasm", str(exe), "--symbol", "_start")
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    assert "<_start>:" in out
    objdump = shutil.which("llvm-objdump-19")
    if objdump:
        # Same instruction boundaries and encodings as llvm-objdump (spelling is
        # the disassembler's own tests' business).
        ref = subprocess.run([objdump, "-d", "--disassemble-symbols=_start", str(exe)],
                             capture_output=True, text=True).stdout
        listing = re.compile(r"^\s+([0-9a-f]+):\s+([0-9a-f]{4,8})\s", re.M)
        assert listing.findall(out) == listing.findall(ref) != []
