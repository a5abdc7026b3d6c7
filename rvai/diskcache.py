"""rvai's on-disk caches: where they live and how large they may grow.

Two caches live under ``$RVAI_CACHE_DIR`` (``~/.cache/rvai`` unset): ``kernels/``, one
folder per compiled kernel (:mod:`rvai.codegen`), and ``translated/``, one object file per
module of translated guest blocks (:mod:`rvai.emu.jit_llvm`). Both are optimisations: a
missing entry is rebuilt. Left alone they grow without end (every shape, configuration
and edit of a kernel adds one; a tuning sweep adds hundreds), so once they pass
``RVAI_CACHE_MAX_MB`` megabytes together (default 2048) the least recently used entries
are deleted until they fill three quarters of it. An entry is "used" when it is written or
found; a reader that loses an entry to another process's trim simply rebuilds it.
(``tune.json``, the tuner's results, is not an entry: it is small and not rebuilt. Nor is
``extensions/``, each target's LLVM extension set: a few hundred bytes, asked of LLVM again if lost.)
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

__all__ = ["Entry", "root", "limit", "entries", "used", "stored", "trim", "clear", "write_whole"]

PARTS = ("kernels", "translated")
DEFAULT_MB = 2048


def root() -> Path:
    """The caches' directory: ``$RVAI_CACHE_DIR``, or ``~/.cache/rvai`` when it is unset."""
    return Path(os.environ.get("RVAI_CACHE_DIR") or Path.home() / ".cache" / "rvai")


def translated() -> Path | None:
    """Where the translating tier keeps its blocks' object code between processes
    (``root()/translated``; rvai.emu.jit_llvm, and rvai.emu.translate's hints of timed
    batches in its ``due/``); None when ``RVAI_JIT_CACHE=0`` keeps none."""
    if os.environ.get("RVAI_JIT_CACHE") == "0":
        return None
    return root() / "translated"


def limit() -> int:
    """The caches' size limit in bytes, from ``RVAI_CACHE_MAX_MB`` (megabytes, default 2048)."""
    text = os.environ.get("RVAI_CACHE_MAX_MB", "")
    if not text:
        return DEFAULT_MB << 20
    try:
        mb = float(text)
    except ValueError:
        mb = -1.0
    if not mb > 0:
        raise ValueError(f"RVAI_CACHE_MAX_MB={text!r}: give the caches' size limit as a positive number "
                         f"of megabytes (unset: {DEFAULT_MB})")
    return int(mb * (1 << 20))


@dataclasses.dataclass(frozen=True)
class Entry:
    """One cache entry: a kernel's folder or a translated module's object file."""

    path: Path
    part: str          # "kernels" or "translated"
    size: int          # bytes
    last_used: float   # the entry's modification time (``used`` sets it)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return path.stat().st_size


def entries(base: Path | None = None) -> list[Entry]:
    """Every entry of both caches under ``base`` (default :func:`root`), the least recently
    used first. Half-written entries (``*.tmp*``) are not entries: their writer renames them."""
    base = root() if base is None else base
    pattern = {"kernels": "*/*", "translated": "*.o"}
    found = []
    for part in PARTS:
        for path in (base / part).glob(pattern[part]):
            if ".tmp" in path.name:
                continue
            try:
                found.append(Entry(path, part, _size(path), path.stat().st_mtime))
            except OSError:   # deleted meanwhile by another process
                continue
    return sorted(found, key=lambda e: (e.last_used, str(e.path)))


def write_whole(path: Path, data: bytes | str) -> os.stat_result:
    """Write ``data`` (text as UTF-8) to ``path`` whole: under a temporary name beside it
    first (``*.tmp*``, which :func:`entries` skips), then renamed over it, so a reader in
    another process or thread finds the old file or the new one, never a part of one.
    Returns the new file's status, taken before the rename (so a later writer's file
    differs from it in its time). Raises the file system's OSError, leaving no
    temporary file behind."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    try:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        status = tmp.stat()
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return status


def used(path: Path) -> None:
    """Mark the entry at ``path`` as just used, so a trim deletes it last."""
    try:
        os.utime(path)
    except OSError:   # gone, or a read-only cache: nothing to keep fresh
        pass


#: How often, at most, a process starts by walking the caches to check their size: the walk
#: stats every file (about 0.1 s per 1,000 entries), more than a small compile's own time.
CHECK_EVERY_S = 3600
_unchecked = 0        # bytes stored by this process since its caches' size was last checked
_checked = False      # whether this process has checked it at all


def stored(nbytes: int) -> None:
    """Tell the caches an entry of ``nbytes`` was written. Their size is checked (and
    trimmed) at a process's first store unless some process did so in the last
    ``CHECK_EVERY_S`` seconds (the ``.checked`` file's time says when), and again after
    every further eighth of the limit this process writes, so a long tuning run cannot
    overshoot by much."""
    global _unchecked, _checked
    _unchecked += nbytes
    if _checked and _unchecked <= limit() // 8:
        return
    mark = root() / ".checked"
    if not _checked:
        _checked = True
        try:
            if time.time() - mark.stat().st_mtime < CHECK_EVERY_S:
                return
        except OSError:   # never checked
            pass
    _unchecked = 0
    trim()
    try:
        mark.touch()
    except OSError:
        pass


def trim(max_bytes: int | None = None, base: Path | None = None) -> list[Entry]:
    """If the caches hold more than ``max_bytes`` (default :func:`limit`), delete the least
    recently used entries until they hold at most three quarters of it; the deleted
    entries, oldest first."""
    max_bytes = limit() if max_bytes is None else max_bytes
    found = entries(base)
    total = sum(e.size for e in found)
    deleted = []
    if total <= max_bytes:
        return deleted
    for e in found:
        if total <= max_bytes * 3 // 4:
            break
        _delete(e.path)
        total -= e.size
        deleted.append(e)
    return deleted


def clear(base: Path | None = None) -> list[Entry]:
    """Delete every entry of both caches; the deleted entries."""
    found = entries(base)
    for e in found:
        _delete(e.path)
    return found


def _delete(path: Path) -> None:
    if path.is_dir():
        import shutil   # only a trim needs it (it imports bz2 and lzma: ~3 ms of every start)
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass
