"""Shared test helpers: assemble small programs into a fresh Machine, build C test
programs with clang-22."""
import os
import shutil
import signal
import subprocess

import numpy as np
import pytest
from hypothesis import settings

# No per-example deadline anywhere: a loaded 2-core machine must not turn a slow
# example into a failure.  Under CI the examples are derandomised, so a landing is
# judged on the same inputs each time; local runs keep exploring new ones.
settings.register_profile("rvai", deadline=None)
settings.register_profile("rvai-ci", deadline=None, derandomize=True)
settings.load_profile("rvai-ci" if os.environ.get("CI") else "rvai")

# Kernels the tests compile carry exact bounds checks unless a test says checked=False
# (docs/dsl.md, "Checked kernels"): an out-of-bounds access fails the test loudly.
os.environ.setdefault("RVAI_CHECKED", "1")
# Translated blocks are compiled, never loaded from a cache a past run left
# (tests/test_translate.py tests the cache in directories of its own).
os.environ.setdefault("RVAI_JIT_CACHE", "0")
# Hot blocks are translated synchronously (rvai.emu.translate's default), so
# when a block starts to run translated does not depend on the host
# (tests/test_translate_async.py tests the background thread).
os.environ.setdefault("RVAI_JIT_ASYNC", "0")

# Tests send SIGINT to child processes (the Ctrl-C paths). A shell without job control
# starts a background job (`pytest &`) with SIGINT ignored, children inherit that, and
# a child Python then never sees the signal: the test fails and leaves the child behind.
# A handled signal is reset to the default in children, so handle it here.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from rvai.emu import EmulatorError, Machine


def pytest_addoption(parser):
    parser.addoption("--tier", choices=("interpret", "translate"), default=None,
                     help="run every Machine in this execution tier; translate: every block on its "
                          "first entry (RVAI_TIER and RVAI_JIT_HOT=0, so child processes follow)")


def pytest_configure(config):
    tier = config.getoption("--tier")
    if tier:
        os.environ["RVAI_TIER"] = tier
        if tier == "translate":
            os.environ["RVAI_JIT_HOT"] = "0"


@pytest.fixture(autouse=True)
def _translations_succeed():
    """A block the translator could not build runs interpreted and the run's
    result stays right, so a broken translator would pass the suite unseen:
    fail the test instead (rvai.emu.translate.errors)."""
    from rvai.emu import translate
    translate.errors.clear()
    yield
    assert not translate.errors, f"the translating tier failed: {translate.errors[0]}"


@pytest.fixture(autouse=True)
def _hotness_counted_afresh(monkeypatch):
    """Each test starts with empty process-wide hotness counts (rvai.emu.translate._ran,
    restored after): a block is due once the machines of the process together ran it
    enough (Translator._counted), so without this when a test's block turns translated
    would depend on the tests run before it in the same process (pytest-xdist's worker)."""
    from rvai.emu import translate
    monkeypatch.setattr(translate, "_ran", {})


@pytest.fixture
def empty_engines(monkeypatch):
    """The process's translation engines emptied (rvai.emu.jit_llvm._engines, restored
    after), for a test that counts what is compiled, installed or held: code an earlier
    test compiled would be found there (installed at a block's first ask, held:
    Translator._held; or not compiled again)."""
    jit_llvm = pytest.importorskip("rvai.emu.jit_llvm")
    monkeypatch.setattr(jit_llvm, "_engines", {})
from rvai.emu.isa import assemble

CODE = 0x10000


def load_program(m: Machine, lines, addr: int = CODE) -> int:
    """Assemble ``lines`` (disassembler spelling) at ``addr`` in ``m``, mapped r-x."""
    words = np.array([assemble(t) for t in lines], dtype=np.uint32)
    m.map(addr, max(4096, words.nbytes), "rx")
    m.write(addr, words)
    return addr


CLANG22 = shutil.which("clang-22")


def clang22_object(tmp_path_factory, src, march: str) -> bytes:
    """The object clang-22 -O2 makes of C file ``src`` for ``-march``; skips the
    test when clang-22 is not installed."""
    if not CLANG22:
        pytest.skip("needs clang-22")
    out = tmp_path_factory.mktemp("clang") / "prog.o"
    subprocess.run([CLANG22, "--target=riscv64-linux-gnu", f"-march={march}", "-menable-experimental-extensions",
                    "-O2", "-c", str(src), "-o", str(out)], check=True, capture_output=True)
    return out.read_bytes()


def loaded(obj: bytes, vlen: int) -> Machine:
    """A fresh machine of this VLEN with the object loaded."""
    m = Machine(vlen=vlen)
    m.load_elf(obj)
    return m


@pytest.fixture
def machine():
    """A fresh VLEN=256 machine."""
    return Machine(vlen=256)


def resume(m: Machine, budget: int):
    """m.resume(budget=budget); the stop as (class name, message), None when there was none."""
    try:
        m.resume(budget=budget)
    except EmulatorError as e:
        return type(e).__name__, str(e)
    return None
