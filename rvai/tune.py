"""Autotuning on the machine model: try a kernel's declared configurations, keep the fastest.

A kernel declares what may be tuned with :func:`rvai.lang.autotune` (the candidate
configurations and the ``key``: the argument sizes that select a shape bucket). The
tuner compiles each candidate, runs it on the timed model of the target, and keeps
the configuration with the fewest cycles per (kernel, target, VLEN, timing model,
shape bucket) in a JSON file beside the compile cache (``$RVAI_CACHE_DIR/tune.json``). Calls of a tuned
kernel that set none of its tunable parameters (and :mod:`rvai.ops`) then use the best one;
without an entry they use the kernel's defaults. A call (or candidate) that sets some of
them gets the declared defaults for the others, never the tuned entry's values.

    rvai tune gemm_packed --target spacemit-x60 --shape 16,896,896
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rvai import diskcache, runner
from rvai.lang.kernel import Kernel, checked_default
from rvai.target import Target

__all__ = ["Trial", "TuneResult", "tune", "lookup", "best_for", "config_for", "key_of", "bucket", "cache_path",
           "model_hash", "TUNABLE", "fixed_params"]


@dataclasses.dataclass
class Trial:
    """One candidate tried: its configuration and cycles (None with the error if it failed).

    ``same_as``: the configuration of an earlier candidate that compiled to the same object;
    this one was not run, its cycles are that one's (the same code on the same inputs)."""

    config: dict
    cycles: int | None
    error: str | None = None
    same_as: dict | None = None


@dataclasses.dataclass
class TuneResult:
    """What :func:`tune` did: every trial in order, the best configuration, and whether it came from the cache."""

    kernel: str
    target: str
    bucket: tuple
    trials: list[Trial]
    best: dict | None
    best_cycles: int | None
    cached: bool = False
    skipped: int = 0   # candidates left out by the budget

    def report(self) -> str:
        """The trials as a table, fastest first, and the choice."""
        lines = [f"{self.kernel} on {self.target}, bucket {self.bucket}: "
                 + ("cache hit" if self.cached else f"{len(self.trials)} tried, {self.skipped} skipped by the budget")]
        for t in sorted(self.trials, key=lambda t: (t.cycles is None, t.cycles or 0)):
            lines.append(f"  {_fmt(t.config):32s} " + _outcome(t))
        lines.append(f"best: {_fmt(self.best or {})} ({self.best_cycles:,} cycles)" if self.best
                     else "best: none")
        return "\n".join(lines)


def _fmt(config: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(config.items()))


def _outcome(trial: Trial) -> str:
    """A trial's cycles (and the candidate whose code it shares), or its error."""
    if trial.cycles is None:
        return f"failed: {trial.error}"
    return f"{trial.cycles:>12,d} cycles" + (f" (same code as {_fmt(trial.same_as)})" if trial.same_as else "")


def cache_path() -> Path:
    """The tuning cache file: ``tune.json`` beside the compiled-kernel cache."""
    return diskcache.root() / "tune.json"


def bucket(values) -> tuple:
    """The shape bucket of key values: sizes up to 8 exact, larger ones rounded up to a power of two."""
    return tuple(v if not isinstance(v, int) or v <= 8 else 1 << math.ceil(math.log2(v)) for v in values)


def key_of(kernel: Kernel, arguments: dict) -> tuple:
    """The kernel's ``autotune`` key evaluated on a call's arguments (by name).

    Key entries are ``"name"`` (a scalar argument or a compile-time parameter; one the
    call leaves out takes its default), ``"name.shape[i]"`` or ``"name.dtype"``.
    """
    out = []
    for entry in kernel.autotune.key:
        name, _, attr = entry.partition(".")
        val = arguments[name] if name in arguments or name in kernel.runtime else \
            kernel.signature.parameters[name].default
        if attr.startswith("shape["):
            out.append(int(val.shape[int(attr[6:-1])]))
        elif attr == "dtype":
            out.append(np.dtype(val.dtype).name)
        else:
            out.append(val)
    return tuple(out)


def model_hash(target: Target) -> str:
    """A short digest of the target's timing-model parameters (its ``[model]`` table,
    after ``extends``): tuned cycles hold only for the model they were measured on."""
    target = Target.of(target)
    text = json.dumps(target.model, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _entry_key(kernel: Kernel, target: Target, key_values: tuple) -> str:
    """The cache key of a tuned entry: kernel, target (name, generated code, VLEN, timing
    model) and shape bucket."""
    return "|".join([kernel.name, target.name, target.key, str(target.vlen), model_hash(target),
                     repr(bucket(key_values))])


#: Configurations tuned for the presets at the shapes bench/ relies on, shipped with rvai
#: (``bench/ship_tuned.py`` writes it): a call finds them without tuning first. Entries in
#: the user's cache take precedence; an entry stops applying when its preset's code or
#: timing model changes (the key holds the target's cpu, features and :func:`model_hash`).
SHIPPED = Path(__file__).parent / "targets" / "tuned.json"

_MEMO: dict[str, tuple] = {}


def _read(path: Path) -> dict:
    """A tuning file's entries, memoised on its modification time ({} if absent or unreadable)."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    memo = _MEMO.get(str(path))
    if memo is None or memo[0] != stamp:
        try:
            memo = (stamp, json.loads(path.read_text()))
        except (OSError, ValueError):
            return {}
        _MEMO[str(path)] = memo
    return memo[1]


def _load() -> dict:
    """Every known entry: the shipped ones, overridden by the user's cache."""
    return {**_read(SHIPPED), **_read(cache_path())}


def _store(key: str, config: dict, cycles: int) -> None:
    path = cache_path()
    data = dict(_read(path))
    data[key] = {"config": config, "cycles": cycles}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = diskcache.write_whole(path, json.dumps(data, indent=1, sort_keys=True)).st_mtime_ns
        _MEMO[str(path)] = (stamp, data)   # the next lookup need not parse the file again
    except OSError:
        pass   # like the compile cache, tuning results are an optimisation


def best_for(kernel: Kernel, target: Target, key_values: tuple) -> dict | None:
    """The cached best configuration for the bucket of ``key_values`` (the kernel's key, in order), or None."""
    target = Target.of(target)
    if kernel.autotune is None:
        return None
    hit = _load().get(_entry_key(kernel, target, tuple(key_values)))
    return dict(hit["config"]) if hit else None


def lookup(kernel: Kernel, arguments: dict, target: Target) -> dict | None:
    """The cached best configuration for a call's arguments (by name: the runtime ones
    and compile-time parameters the key names), or None."""
    target = Target.of(target)
    if kernel.autotune is None:
        return None
    return best_for(kernel, target, key_of(kernel, arguments))


def config_for(kernel: Kernel, target: Target, key_values: tuple, given: dict | None = None,
               defaults: dict | None = None) -> dict:
    """The tunable parameters a call will use: the cache's best when ``given`` sets none of
    them, else ``given``; what either leaves open takes the kernel's declared default.

    A tuned entry is applied whole or not at all, as a kernel call applies it: a partial
    ``given`` is completed from the defaults, never from a tuned entry, so that a
    configuration runs the same code whatever the cache holds (a tuner candidate is
    measured as it is declared). ``defaults`` (a caller's own choice for what ``given``
    leaves open, e.g. by size: :func:`rvai.ops.linear`) stand before the declared ones
    where no tuned entry applies; an entry that applies is completed from the declared
    defaults alone. Entries of ``given`` and ``defaults`` that are not this kernel's
    tunables are ignored (one configuration can serve kernels with different parameters).
    This is the rule of every kernel call (:func:`rvai.runner.call`) and of :mod:`rvai.ops`.
    """
    target = Target.of(target)
    names = kernel.autotune.names
    declared = {n: kernel.signature.parameters[n].default for n in names}
    given = {n: v for n, v in (given or {}).items() if n in names}
    tuned = None if given else best_for(kernel, target, key_values)
    if tuned:
        return {**declared, **tuned}
    return {**declared, **{n: v for n, v in (defaults or {}).items() if n in names}, **given}


def tune(kernel: Kernel, args: tuple, *, target: Target | None = None, configs: list[dict] | None = None,
         budget_s: float | None = None, max_candidates: int | None = None, force: bool = False,
         progress: Callable[[str], None] | None = None, **fixed) -> TuneResult:
    """Find the fastest of ``kernel``'s candidate configurations for ``args`` on ``target``.

    Each candidate runs on fresh copies of the arrays (outputs start equal every time).
    A cached result is returned unless ``force``. ``budget_s`` (wall seconds) and
    ``max_candidates`` bound the search; candidates are tried in the declared order,
    so put the likely ones first. ``fixed`` holds compile-time parameters that are not
    tuned. ``progress`` receives one line per trial.

    Each candidate is compiled first, and one whose object equals an earlier candidate's
    (e.g. a prefetch distance on a target without Zicbop, where the kernel leaves the
    prefetches out) is not run: its trial takes that candidate's cycles and names it
    (``Trial.same_as``), as running it would give the same count.
    """
    if kernel.autotune is None:
        raise ValueError(f"kernel {kernel.name} declares no tunable configurations (use rvai.lang.autotune)")
    target = Target.of(target)
    runtime, consts = kernel.bind(*args, **fixed)
    keyvals = key_of(kernel, {**consts, **runtime})
    key = _entry_key(kernel, target, keyvals)
    hit = None if force else _load().get(key)
    if hit:
        return TuneResult(kernel.name, target.name, bucket(keyvals), [], dict(hit["config"]), hit["cycles"],
                          cached=True)
    candidates = list(configs if configs is not None else kernel.autotune.configs)
    trials: list[Trial] = []
    ran: dict[bytes, Trial] = {}   # object -> the trial that ran it
    start = time.monotonic()
    for n, cfg in enumerate(candidates):
        if (max_candidates is not None and n >= max_candidates) or \
                (budget_s is not None and trials and time.monotonic() - start > budget_s):
            break
        copies = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)
        try:
            elf = runner.compiled_for(kernel, copies, {**fixed, **cfg}, target=target,
                                      checked=checked_default()).elf
            first = ran.get(elf)
            if first is None:
                trials.append(Trial(dict(cfg), kernel(*copies, target=target, **fixed, **cfg).cycles))
                ran[elf] = trials[-1]
            else:
                trials.append(Trial(dict(cfg), first.cycles, same_as=first.config))
        except Exception as exc:   # a candidate that does not compile (e.g. too many registers) is skipped
            trials.append(Trial(dict(cfg), None, f"{type(exc).__name__}: {exc}"))
        if progress:
            progress(f"[{n + 1}/{len(candidates)}] {_fmt(cfg)}: " + _outcome(trials[-1]).strip())
    ok = [t for t in trials if t.cycles is not None]
    best = min(ok, key=lambda t: t.cycles) if ok else None
    if best:
        _store(key, best.config, best.cycles)
    return TuneResult(kernel.name, target.name, bucket(keyvals), trials, best.config if best else None,
                      best.cycles if best else None, skipped=len(candidates) - len(trials))


def _gemm_args(m: int, k: int, n: int, dtype, target: Target, lmul: int = 4):
    """Random arguments for the GEMM kernels at (M, K, N) (panels sized for ``lmul``)."""
    from rvai.kernels.matmul import pack_panels, panel_width
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    return a, b, pack_panels(b, panel_width(target.vlen, lmul)), np.zeros((m, n), np.float32)


def _gemm_packed_call(shape, dtype, target):
    from rvai.kernels.matmul import GEMM_PACKED_CONFIGS, a_scratch
    a, _, bp, c = _gemm_args(*shape, dtype, target)
    # A copied as rvai.ops copies it for the candidates' tallest tile (one scratch for all of them)
    return (a, bp, c, a_scratch(a, target, max(cfg["MR"] for cfg in GEMM_PACKED_CONFIGS)))


def _matmul_call(shape, dtype, target):
    from rvai.kernels.matmul import a_scratch
    a, b, bp, c = _gemm_args(*shape, dtype, target)
    return (a, b, np.empty_like(bp), c, a_scratch(a, target))


def _gemv_rows_call(shape, dtype, target):
    a, b, _, c = _gemm_args(*shape, dtype, target)
    return (a, b, c, np.zeros(shape[2], np.float32))


def _rows_call(shape, dtype, target, weight: bool = False):
    """Arguments of a row-wise kernel on (rows, n): x, the output; with ``weight`` x, w, the output and eps."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    if weight:
        return (x, rng.standard_normal(shape[1]).astype(np.float32), np.zeros_like(x), 1e-6)
    return (x, np.zeros_like(x))


def _attention_call(shape, dtype, target):
    """Causal attention at (heads, kv_heads, Lq, Lk, d) (scratch that fits every candidate)."""
    from rvai.kernels.attention import scratch
    heads, kv_heads, lq, lk, d = shape
    if heads % kv_heads:
        raise ValueError(f"heads ({heads}) must be a multiple of kv_heads ({kv_heads})")
    rng = np.random.default_rng(0)
    q = rng.standard_normal((heads, lq, d)).astype(np.float32)
    k, v = (rng.standard_normal((kv_heads, lk, d)).astype(np.float32) for _ in range(2))
    return (q, k, v, np.zeros_like(q), *scratch(d, lk, 1, 1, target.vlen, lq > 1), 1.0 / math.sqrt(d))


#: Kernels ``rvai tune`` knows how to build arguments for: name -> (kernel, args(shape, dtype,
#: target), the names of the --shape sizes, fixed compile-time parameters).
TUNABLE: dict[str, tuple[Callable[[], Kernel], Callable, tuple, Callable[[tuple], dict]]] = {
    "gemm_packed": (lambda: _kernels().gemm_packed, _gemm_packed_call, ("M", "K", "N"), lambda s: {}),
    "matmul": (lambda: _kernels().matmul, _matmul_call, ("M", "K", "N"), lambda s: {}),
    "gemv_rows": (lambda: _kernels().gemv_rows, _gemv_rows_call, ("M", "K", "N"), lambda s: {}),
    "softmax": (lambda: _kernels().softmax, _rows_call, ("rows", "n"), lambda s: {}),
    "softmax_fast": (lambda: _kernels().softmax, _rows_call, ("rows", "n"), lambda s: {"EXP": "fast"}),
    "rmsnorm": (lambda: _kernels().rmsnorm, lambda s, d, t: _rows_call(s, d, t, weight=True), ("rows", "n"),
                lambda s: {}),
    "attention": (lambda: _kernels().attention, _attention_call, ("heads", "kv_heads", "Lq", "Lk", "d"),
                  lambda s: {"CAUSAL": True, "TRANSPOSE_K": s[2] > 1}),
    "attention_fast": (lambda: _kernels().attention, _attention_call, ("heads", "kv_heads", "Lq", "Lk", "d"),
                       lambda s: {"CAUSAL": True, "TRANSPOSE_K": s[2] > 1, "EXP": "fast"}),
}


def _kernels():
    import rvai.kernels
    return rvai.kernels


def fixed_params(name: str, shape: tuple, dtype, target: Target) -> dict:
    """The compile-time parameters a :data:`TUNABLE` kernel is tuned with at ``shape``: its
    fixed ones, and ``WIDEN`` as :mod:`rvai.ops` sets it (f16 products by ``vfwmacc`` where
    the target has Zvfh), so that an f16 entry is measured on the code the ops run."""
    target = Target.of(target)
    from rvai.ops import _widen
    get_kernel, _, _, fixed = TUNABLE[name]
    out = fixed(shape)
    if "WIDEN" in get_kernel().signature.parameters:
        out["WIDEN"] = _widen(target, dtype, "emu")
    return out


def main(argv: list[str]) -> int:
    """``rvai tune KERNEL --target T --shape SIZES [--dtype f32] [--budget S] [--max N] [--force]``."""
    import argparse
    ap = argparse.ArgumentParser(prog="rvai tune", description="autotune a kernel on the target's timing model")
    ap.add_argument("kernel", choices=sorted(TUNABLE))
    ap.add_argument("--target", default="generic", help="preset name or a .toml file")
    ap.add_argument("--vlen", type=int, default=None)
    ap.add_argument("--shape", required=True, help="comma-separated sizes: M,K,N for the GEMM kernels, "
                    "rows,n for softmax, softmax_fast (exp='fast') and rmsnorm, heads,kv_heads,Lq,Lk,d for attention "
                    "(causal) and attention_fast (causal, exp='fast')")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    ap.add_argument("--budget", type=float, default=None, help="wall-clock seconds for the search")
    ap.add_argument("--max", type=int, default=None, help="at most this many candidates")
    ap.add_argument("--force", action="store_true", help="tune again even if the cache has an answer")
    ns = ap.parse_args(argv)
    try:
        target = Target.from_toml(ns.target) if ns.target.endswith(".toml") else Target.of(ns.target)
    except (OSError, ValueError) as exc:   # an unknown preset lists the presets: one usage line, no traceback
        ap.error(str(exc))
    if ns.vlen:
        target = target.with_vlen(ns.vlen)
    get_kernel, make_args, names, _ = TUNABLE[ns.kernel]
    try:
        shape = tuple(int(s) for s in ns.shape.split(","))
        if len(shape) != len(names) or min(shape) < 1:
            raise ValueError
        args = make_args(shape, np.dtype(ns.dtype), target)
    except ValueError as exc:
        ap.error(f"--shape for {ns.kernel} takes {len(names)} positive sizes {','.join(names)}, got {ns.shape!r}"
                 + (f" ({exc})" if str(exc) else ""))
    result = tune(get_kernel(), args, target=target, budget_s=ns.budget, max_candidates=ns.max, force=ns.force,
                  progress=lambda line: print(line, file=sys.stderr, flush=True),
                  **fixed_params(ns.kernel, shape, np.dtype(ns.dtype), target))
    print(result.report())
    return 0 if result.best else 1
