"""`rvai run` loads only the emulator: not NumPy, llvmlite or the kernel
language, which cost most of its start-up time before (docs/limits.md has the
measurement), nor, for a short program in the default tier, the slower standard
modules (dataclasses, typing).  Checked through sys.modules in a fresh interpreter."""
import os
import subprocess
import sys

import pytest

from tiny_elf import executable

HEAVY = ("numpy", "llvmlite", "rvai.lang", "rvai.codegen", "rvai.runner", "rvai.ir", "rvai.target")
#: Standard modules a short run need not import, ~2-7 ms each (docs/performance.md, st67):
#: dataclasses (with inspect) and typing, and concurrent.futures (the tier's background mode).
SLOW_STDLIB = ("dataclasses", "inspect", "typing", "concurrent")


@pytest.mark.parametrize("tier", [None, "translate"])
def test_rvai_run_imports_only_the_emulator(tmp_path, tier):
    # The default (the translating tier, which loads LLVM only once some block
    # has run as long as translating it costs) loads nothing heavy for a short
    # program.  Every block translated at its first entry needs LLVM, through
    # llvmlite, and still not the kernel language or NumPy.  The environment is set either way, so that the
    # suite's --tier option does not decide which case runs.
    exe = tmp_path / "exit7"
    exe.write_bytes(executable(["li a0, 7", "li a7, 93", "ecall"]))
    probe = ("import sys; from rvai.cli import main; status = main(['run', sys.argv[1]]); "
             f"print(status, sorted({{m.split('.')[0] if m.startswith('llvmlite') else m for m in sys.modules"
             f" if m.startswith({HEAVY!r})}}), sorted({{m.split('.')[0] for m in sys.modules"
             f" if m.split('.')[0] in {SLOW_STDLIB!r}}}), sep='|')")
    env = {k: v for k, v in os.environ.items() if k not in ("RVAI_TIER", "RVAI_JIT_HOT")}
    if tier:
        env.update(RVAI_TIER=tier, RVAI_JIT_HOT="0")
    r = subprocess.run([sys.executable, "-c", probe, str(exe)], capture_output=True, text=True, timeout=120,
                       env=env)
    assert r.returncode == 0, r.stderr
    status, heavy, slow = r.stdout.strip().split("|")
    assert (status, heavy) == ("7", "['llvmlite']" if tier else "[]")
    if not tier:   # (llvmlite itself imports them)
        assert slow == "[]"


def test_kernels_still_find_their_backend():
    # `import rvai` no longer imports the language; a kernel call must still reach rvai.runner.
    probe = ("import sys, rvai; assert 'rvai.lang' not in sys.modules; "
             "from rvai.lang.kernel import _backend; print(_backend().__name__)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "rvai.runner", r.stderr
