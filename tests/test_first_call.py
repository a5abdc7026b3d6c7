"""A fresh process's first rvai.ops call when its kernels are in the disk cache loads no LLVM:
``llvmlite.binding`` costs ~30 ms to import and the target's extension probe ~9 ms to compile,
and neither is needed to run an object already compiled (docs/performance.md, os68). A cold
call (empty cache) still compiles, and both agree with NumPy in float64.  Checked through
sys.modules in fresh interpreters sharing one ``RVAI_CACHE_DIR``."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import Phase, given, settings, strategies as st

from rvai import codegen, diskcache
from rvai.codegen import backend
from rvai.target import Target

#: Modules a cached call does without: LLVM, and what only a qemu run (subprocess) or a cache
#: trim (shutil, with bz2 and lzma) needs, ~3-5 ms of start-up each.
UNNEEDED = ("llvmlite.binding", "subprocess", "shutil")

#: The probe: loads the inputs, calls the ops, saves the results, prints which of UNNEEDED it loaded.
PROBE = f"""
import sys
import numpy as np
from rvai import ops
x, w, wl = (np.load(sys.argv[1] + f"/{{n}}.npy") for n in ("x", "w", "wl"))
for name, out in (("softmax", ops.softmax(x)), ("rmsnorm", ops.rmsnorm(x, w)), ("linear", ops.linear(x, wl))):
    np.save(sys.argv[1] + f"/{{name}}.npy", out)   # (np.savez would import shutil itself)
print(",".join(m for m in {UNNEEDED!r} if m in sys.modules))
"""


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _oracles(x, w, wl):
    """The ops' results in float64 NumPy."""
    x, w, wl = (a.astype(np.float64) for a in (x, w, wl))
    return {"softmax": _softmax(x), "rmsnorm": x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + 1e-6) * w,
            "linear": x @ wl.T}


def _run(folder, cache) -> list[str]:
    """Run the probe in a fresh interpreter on ``folder``'s inputs; which of UNNEEDED it loaded."""
    # The default tier, whatever the suite's --tier: every block translated at first entry
    # (--tier=translate) loads LLVM for the emulator, by design (as in test_cli_startup).
    env = {k: v for k, v in os.environ.items() if k not in ("RVAI_TIER", "RVAI_JIT_HOT")}
    env["RVAI_CACHE_DIR"] = str(cache)
    r = subprocess.run([sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True, timeout=300,
                       env=env)
    assert r.returncode == 0, r.stderr
    return [m for m in r.stdout.strip().split(",") if m]


@settings(max_examples=3, deadline=None, phases=(Phase.explicit, Phase.generate))   # each example: 2 processes
@given(rows=st.integers(1, 6), cols=st.sampled_from([8, 13, 32]), seed=st.integers(0, 2**32 - 1))
def test_cached_call_loads_no_llvm_and_agrees(tmp_path_factory, rows, cols, seed):
    rng = np.random.default_rng(seed)
    inputs = {"x": rng.standard_normal((rows, cols)).astype(np.float32),
              "w": rng.standard_normal(cols).astype(np.float32),
              "wl": rng.standard_normal((5, cols)).astype(np.float32)}
    folder, cache = tmp_path_factory.mktemp("io"), tmp_path_factory.mktemp("cache")
    for name, a in inputs.items():
        np.save(folder / f"{name}.npy", a)
    want = _oracles(*inputs.values())
    for cold in (True, False):   # the first compiles (so loads LLVM); the second finds every object cached
        loaded = _run(folder, cache)
        assert ("llvmlite.binding" in loaded) if cold else loaded == [], loaded
        for op, expected in want.items():
            np.testing.assert_allclose(np.load(folder / f"{op}.npy"), expected, rtol=2e-5, atol=2e-6, err_msg=f"{op}, cold={cold}")


@pytest.mark.parametrize("preset", ["generic", "generic-novfh", "xuantie-c930"])
def test_extensions_from_disk_are_llvms(tmp_path, monkeypatch, preset):
    # The oracle is LLVM's own probe (backend.target_extensions): the set kept on disk, read
    # back in a later process (here: with the memory cache emptied), must be the same.
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(codegen, "_EXTENSIONS", {})
    target = Target.of(preset)
    first = codegen.target_extensions(target)
    assert first == backend.target_extensions(target)
    (stored,) = (diskcache.root() / "extensions").iterdir()
    assert set(json.loads(stored.read_text())) == first
    monkeypatch.setattr(codegen, "_EXTENSIONS", {})
    assert codegen.target_extensions(target) == first


def test_a_damaged_extensions_file_asks_llvm_again(tmp_path, monkeypatch):
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(codegen, "_EXTENSIONS", {})
    target = Target.of(None)
    codegen.target_extensions(target)
    (stored,) = (diskcache.root() / "extensions").iterdir()
    for damage in ("not json", "7", '{"v": 1', '"zvfh"', "[1, 2]"):
        stored.write_text(damage)
        monkeypatch.setattr(codegen, "_EXTENSIONS", {})
        assert codegen.target_extensions(target) == backend.target_extensions(target)
    assert set(json.loads(stored.read_text())) == backend.target_extensions(target)
