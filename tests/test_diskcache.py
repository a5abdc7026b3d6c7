"""rvai.diskcache: the on-disk caches stay under their size limit, the least recently used
entries going first, and a kernel whose entry was trimmed compiles again and still computes
the right answer."""
import os
import subprocess
import threading
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rvai import codegen, diskcache, ops
from rvai.kernels import softmax
from rvai.target import Target


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory of the test's own, never checked by this process yet."""
    monkeypatch.setenv("RVAI_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("RVAI_CACHE_MAX_MB", raising=False)
    monkeypatch.setattr(diskcache, "_checked", False)
    monkeypatch.setattr(diskcache, "_unchecked", 0)
    monkeypatch.setattr(codegen, "_MEMORY", {})
    return tmp_path


def make_entries(base, specs):
    """Entries of the given (part, size, last-used time) under base: a kernel's folder of two
    files, or a translated module's object file. Their paths, in the order given."""
    paths = []
    for i, (part, size, when) in enumerate(specs):
        if part == "kernels":
            path = base / "kernels" / f"{i % 3:02x}" / f"key{i}"
            path.mkdir(parents=True)
            (path / "kernel.o").write_bytes(bytes(size // 2))
            (path / "meta.json").write_bytes(bytes(size - size // 2))
        else:
            path = base / "translated" / f"rvai_{i}.o"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes(size))
        os.utime(path, (when, when))
        paths.append(path)
    return paths


@given(specs=st.lists(st.tuples(st.sampled_from(diskcache.PARTS), st.integers(0, 5000),
                                st.integers(10**9, 10**9 + 10**6)), max_size=25),
       max_bytes=st.integers(1, 60000))
def test_trim_deletes_the_least_recently_used_down_to_three_quarters_of_the_limit(tmp_path_factory, specs,
                                                                                     max_bytes):
    base = tmp_path_factory.mktemp("cache")
    paths = make_entries(base, specs)
    total = sum(size for _, size, _ in specs)
    deleted = {e.path for e in diskcache.trim(max_bytes, base)}
    kept = [(p, size, when) for p, (_, size, when) in zip(paths, specs) if p.exists()]
    gone = [(p, size, when) for p, (_, size, when) in zip(paths, specs) if not p.exists()]
    assert deleted == {p for p, _, _ in gone}
    if total <= max_bytes:
        assert not gone
        return
    left = sum(size for _, size, _ in kept)
    assert left <= max_bytes * 3 // 4
    # Every deleted entry was used no later than every kept one, and deleting stopped at
    # the first entry that brought the caches under three quarters of the limit.
    assert all(g[2] <= k[2] for g in gone for k in kept)
    if gone:
        last = max(gone, key=lambda g: (g[2], str(g[0])))
        assert left + last[1] > max_bytes * 3 // 4


def test_a_kernel_found_in_the_cache_is_marked_used_and_one_trimmed_compiles_again(cache, monkeypatch):
    target = Target.preset("spacemit-x60")
    first = codegen.compile_function(softmax.trace(LMUL=2), target)
    (folder,) = [e.path for e in diskcache.entries()]
    os.utime(folder, (10**9, 10**9))
    monkeypatch.setattr(codegen, "_MEMORY", {})
    assert codegen.compile_function(softmax.trace(LMUL=2), target).elf == first.elf
    assert folder.stat().st_mtime > 10**9 + 10**8   # found: now the most recently used

    # A limit the next kernel alone passes: storing it trims the older entry.
    os.utime(folder, (10**9, 10**9))
    monkeypatch.setenv("RVAI_CACHE_MAX_MB", str(1.5 * diskcache.entries()[0].size / 2**20))
    codegen.compile_function(softmax.trace(LMUL=1), target)
    assert not folder.exists()
    x = np.random.default_rng(1).standard_normal((5, 37)).astype(np.float32)
    want = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(ops.softmax(x, target=target), want / want.sum(1, keepdims=True), rtol=1e-5)


def test_a_process_checks_the_size_once_an_hour_unless_it_writes_an_eighth_of_the_limit(cache, monkeypatch):
    walks = []
    monkeypatch.setattr(diskcache, "trim", lambda *a: walks.append(1) or [])
    monkeypatch.setenv("RVAI_CACHE_MAX_MB", "1")
    diskcache.stored(10)
    assert len(walks) == 1 and (cache / ".checked").exists()
    monkeypatch.setattr(diskcache, "_checked", False)   # another process, within the hour
    diskcache.stored(10)
    diskcache.stored((1 << 20) // 8 - 10)   # an eighth in all, not past it
    assert len(walks) == 1
    diskcache.stored(1)   # past an eighth of the limit since its first store
    assert len(walks) == 2


def test_the_cache_command_shows_trims_and_clears(cache):
    make_entries(cache, [("kernels", 3 << 20, 10**9), ("translated", 1 << 20, 10**9 + 1),
                         ("kernels", 1 << 20, 10**9 + 2)])

    def rvai(*args, **env):
        return subprocess.run([sys.executable, "-m", "rvai.cli", "cache", *args], capture_output=True, text=True,
                              env=dict(os.environ, RVAI_CACHE_DIR=str(cache), **env))
    shown = rvai().stdout
    assert "limit 2048 MB" in shown and "kernels          2 entries       4.0 MB" in shown
    assert "translated       1 entries       1.0 MB" in shown
    trimmed = rvai("--trim", RVAI_CACHE_MAX_MB="4")   # 5 MB > 4: down to 3 MB, the oldest first
    assert "deleted 1 entries, 3.0 MB" in trimmed.stdout and "kernels          1 entries" in trimmed.stdout
    cleared = rvai("--clear")
    assert "deleted 2 entries" in cleared.stdout and "0 entries       0.0 MB" in cleared.stdout
    bad = rvai(RVAI_CACHE_MAX_MB="-3")
    assert bad.returncode == 2 and "RVAI_CACHE_MAX_MB='-3'" in bad.stderr and not bad.stdout


def test_a_whole_write_is_seen_whole_by_readers_and_leaves_nothing_behind_when_it_fails(tmp_path):
    """Readers racing writers of different contents find one writer's bytes entire, never a
    mix or a part; a write that fails raises the file system's error and leaves no
    temporary file among the entries."""
    path = tmp_path / "entry.o"
    payloads = [bytes([i]) * (1 << 20) for i in range(1, 4)]
    diskcache.write_whole(path, payloads[0])
    stop, seen = threading.Event(), []

    def write(data):
        while not stop.is_set():
            status = diskcache.write_whole(path, data)
            assert status.st_size == len(data)

    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for w in writers:
        w.start()
    try:
        for _ in range(200):
            seen.append(path.read_bytes())
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert all(s in payloads for s in seen)
    text = "kernel text ü"
    diskcache.write_whole(path, text)
    assert path.read_text(encoding="utf-8") == text
    with pytest.raises(OSError):
        diskcache.write_whole(tmp_path / "missing" / "x.o", b"x")   # no such folder
    (tmp_path / "dir.o").mkdir()
    with pytest.raises(OSError):
        diskcache.write_whole(tmp_path / "dir.o", b"x")   # a folder cannot be replaced by a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.o", "entry.o"]
