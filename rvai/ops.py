"""NumPy-facing kernels: each call compiles (cached) the DSL kernel and runs it in the emulator.

Every function takes ``target`` (a :class:`rvai.Target` or a preset name, default preset if None),
``runner`` (``"emu"``, the rvai emulator, or ``"qemu"``, qemu-user as an independent
oracle) and, passed on to the kernel call, ``checked`` (a debug run: exact bounds checks,
see docs/dsl.md), ``budget`` (instructions) and ``timeout`` (seconds). The run record of
the latest call is kept in :data:`last_run`.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from rvai import kernels
from rvai.codegen import target_extensions
from rvai.codegen.ime import tile_shape
from rvai.emu import checks
from rvai.kernels.quant import Q8_0, quantize_q8_0, to_bf16
from rvai.runner import Run
from rvai.target import Target

__all__ = ["matmul", "linear", "pack_weights", "pack_weights_by_k", "PackedWeights", "WEIGHT_DTYPES",
           "quantize_q8_0", "Q8_0", "matmul_int8", "matmul_bf16", "int8_path", "INT8_PATHS", "softmax", "rmsnorm",
           "attention", "attention_config", "swiglu", "rope",
           "add_rmsnorm", "add", "embedding", "moe_combine", "last_run"]

_ATTN_LMUL = 4   # keys per block: VLMAX at LMUL 4 (VLEN/8); 8 FP beats an FMA at DLEN 128

#: The :class:`rvai.runner.Run` of the most recent call in this module (cycles, instret, profile).
last_run: Run | None = None


def _record(run: Run) -> None:
    global last_run
    last_run = run


def _float_array(x, name: str, dtypes=(np.float32,)) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype not in dtypes:
        if x.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a numeric array, got {x.dtype}")
        x = x.astype(np.float32)
    return x


#: Rows at or below which ops.matmul streams row-major b instead of packing it.
GEMV_ROWS = 2


@dataclasses.dataclass(frozen=True)
class PackedWeights:
    """A weight matrix ``w`` (N, K) laid out once for :func:`linear` (``x @ w.T``).

    ``panels`` is (ceil(N/nr), K, nr): ``panels[p, k, j] = w[p*nr + j, k]``; ``nr`` is
    the f32 register group at ``lmul`` for ``vlen``, so it only runs at that VLEN.
    ``dtype`` is the weights' format: ``"f32"``, ``"f16"``, ``"bf16"`` (uint16 bit
    patterns) or ``"q8_0"``: then ``path`` (:data:`INT8_PATHS`) says how the int8 blocks
    are laid out for the target's kernel: ``"wmacc"``: ``panels`` (P, Kp, nr) int8 and
    ``scales`` (P, Kp/32, nr) f32; ``"dot4"``: ``panels`` as 4-byte words (P, Kp/4, nr)
    int32; ``"ime"``: IME tiles (:func:`rvai.kernels.int8.pack_tiles`, N padded to
    :data:`Q8_TILE_COLUMNS` tiles) with the scales as C-tile lanes. Build it with
    :func:`pack_weights`.
    """

    panels: np.ndarray
    n: int
    k: int
    vlen: int
    lmul: int
    dtype: str = "f32"
    scales: np.ndarray | None = None
    path: str = ""


#: C tiles per block of the IME Q8_0 kernel: rows (of x) and columns (of the weights).
Q8_TILE_ROWS, Q8_TILE_COLUMNS = 2, 1   # measured best on the X60 model (larger blocks spill)


#: The LMULs weights may be packed at (``config["LMUL"]`` of :func:`linear`, :func:`matmul_bf16`).
_PACKED_LMULS = (1, 2, 4, 8)

#: Weight formats :func:`pack_weights` makes, by the name its ``dtype`` takes.
WEIGHT_DTYPES = ("f32", "f16", "bf16", "q8_0")


def pack_weights(w, *, target=None, lmul: int | None = None, dtype: str | None = None) -> PackedWeights:
    """Lay out ``w`` (N, K) (a linear layer's weight, ``y = x @ w.T``) in panels for ``target``.

    This is a one-time layout change done by NumPy, like loading weights; the kernels
    then read each panel as one sequential stream. ``lmul`` defaults to the tuned or
    default GEMM configuration's. ``dtype`` (see :data:`WEIGHT_DTYPES`) converts first:
    ``"bf16"`` rounds to bfloat16 (nearest even; a uint16 ``w`` is taken as bf16 bits
    already), ``"q8_0"`` quantises to llama.cpp's Q8_0 blocks (:func:`quantize_q8_0`; a
    :class:`Q8_0` ``w`` is taken as it is); None keeps f32 or f16.
    """
    target = Target.of(target)
    if isinstance(w, Q8_0):
        dtype = dtype or "q8_0"
    if dtype not in (None,) + WEIGHT_DTYPES:
        raise ValueError(f"dtype must be one of {WEIGHT_DTYPES} (or None), got {dtype!r}")
    if dtype == "q8_0" and not isinstance(w, Q8_0):
        w = quantize_q8_0(w)
    elif isinstance(w, Q8_0) and dtype != "q8_0":
        raise ValueError(f"a Q8_0 matrix packs as dtype 'q8_0', not {dtype!r}")
    elif dtype == "bf16":
        w = np.asarray(w)
        w = w if w.dtype == np.uint16 else to_bf16(_float_array(w, "w"))
    elif not isinstance(w, Q8_0):
        w = _float_array(w, "w", (np.float32, np.float16))
        if dtype is not None:   # a matrix of the dtype already is packed as it is, not copied first
            w = w.astype(np.float32 if dtype == "f32" else np.float16, copy=False)
    if len(w.shape) != 2:
        raise ValueError(f"w must be a 2-D (N, K) array, got shape {w.shape}")
    lmul = int(lmul or kernels.gemm_packed.signature.parameters["LMUL"].default)
    if lmul not in (1, 2, 4, 8):
        raise ValueError(f"lmul must be 1, 2, 4 or 8, got {lmul}")
    nr = kernels.panel_width(target.vlen, lmul)
    n, k = w.shape
    if isinstance(w, Q8_0):
        path, d = int8_path(target), w.d.astype(np.float32)
        if path == "ime":
            tm = tile_shape(target.vlen)[0]
            panels = kernels.pack_tiles(w.q, tm, 2 * tm, tm * Q8_TILE_COLUMNS)
            scales = kernels.scale_tiles(d, tm, tm * Q8_TILE_COLUMNS, along_rows=False)
        else:
            panels = kernels.pack_words(w.q.T, nr) if path == "dot4" else kernels.pack_panels(w.q.T, nr)
            scales = kernels.pack_panels(d.T, nr)
        return PackedWeights(panels, n, k, target.vlen, lmul, "q8_0", scales, path)
    kind = "bf16" if dtype == "bf16" else np.dtype(w.dtype).name.replace("float", "f")
    return PackedWeights(kernels.pack_panels(w.T, nr), n, k, target.vlen, lmul, kind)


def pack_weights_by_k(blocks, k: int, *, target=None, lmul: int | None = None,
                      dtype: str | None = None) -> PackedWeights:
    """:func:`pack_weights` of an (N, K) matrix given as ``blocks`` of its columns along K,
    in order, each as pack_weights takes a matrix ((N, rows) values, or :class:`Q8_0` blocks;
    for Q8_0 every block but the last a multiple of 32 rows): each is packed on its own into
    its part of the layout, so no whole copy of the matrix is made.

    Every layout keeps K along axis 1 of its panels and of its scales: one row of K a step
    in panels, 4 in dot4's words, 2 TM (8 or 16) in IME tiles, 32 (a Q8_0 block) in the
    scales. A block of a multiple of 32 rows fills whole steps, so it packs to exactly its
    slice of the whole's layout; only the last block is padded, as the whole's end is.
    """
    first, whole, at = None, {}, 0
    for block in blocks:
        part = pack_weights(block, target=target, lmul=lmul, dtype=dtype)
        if first is None:
            first, step = part, kernels.Q8_BLOCK if part.dtype == "q8_0" else 1
            kp = _padded(k, step)
            whole = {name: np.empty(a.shape[:1] + (a.shape[1] * kp // _padded(part.k, step),) + a.shape[2:], a.dtype)
                     for name, a in _k_arrays(part).items()}
        if at % step or at + part.k > k or part.n != first.n:
            raise ValueError(f"a block of {part.n} x {part.k} after {at} rows does not fit: the blocks are "
                             f"(N, rows) with N = {first.n}, K = {k} rows in all, each but the last a "
                             f"multiple of {step} rows")
        for name, a in _k_arrays(part).items():
            start = at * whole[name].shape[1] // kp
            whole[name][:, start:start + a.shape[1]] = a
        at += part.k
    if first is None or at != k:
        raise ValueError(f"the blocks hold {at} of K = {k} rows")
    return dataclasses.replace(first, k=k, **whole)


def _k_arrays(packed: PackedWeights) -> dict[str, np.ndarray]:
    """The arrays of ``packed`` that run along K on their axis 1, by field name."""
    return {"panels": packed.panels} | ({} if packed.scales is None else {"scales": packed.scales})


def _padded(k: int, step: int) -> int:
    """``k`` rounded up to a multiple of ``step``."""
    return -(-k // step) * step


def _pair(a, b, name_b: str):
    """``a`` and ``b`` as arrays of one dtype: both f16, or both f32."""
    a = _float_array(a, "a", (np.float32, np.float16))
    b = _float_array(b, name_b, (np.float32, np.float16))
    if a.dtype != b.dtype:
        a, b = a.astype(np.float32), b.astype(np.float32)
    return a, b


def _has_zvfh(target: Target) -> bool:
    """Whether code for ``target`` may use Zvfh (f16 vector arithmetic, for vfwmacc).

    Read from the arch string LLVM writes into an object for the target
    (:func:`rvai.codegen.target_extensions`), so a cpu that implies the extension
    counts as well as an explicit ``+zvfh``.
    """
    return "zvfh" in target_extensions(target)


def _config(kernel, target: Target, m: int, k: int, n: int, dtype, config: dict | None,
            defaults: dict | None = None) -> dict:
    """Kernel parameters for a call: ``config``, else the tuner's best for the shape, else the
    defaults (``defaults``, then the declared ones; :func:`rvai.tune.config_for`)."""
    from rvai import tune
    return tune.config_for(kernel, target, (m, k, n, np.dtype(dtype).name), config, defaults)


def _widen(target: Target, dtype, runner: str) -> bool:
    """Whether f16 products go through vfwmacc: Zvfh on the target, and not under QEMU 7.2 (no Zvfh)."""
    return np.dtype(dtype) == np.float16 and runner != "qemu" and _has_zvfh(target)


def _batched(fn, a: np.ndarray, b: np.ndarray, n: int):
    """Run ``fn(a2, b2) -> (c, run)`` over the broadcast batch dimensions of ``a`` and ``b``.

    A 2-D ``b`` folds the batch into the rows of ``a`` (one call); a batched ``b`` runs
    one call per matrix, and :data:`last_run` then sums their cycles and instructions.
    """
    if b.ndim == 2:
        c, run = fn(a.reshape(-1, a.shape[-1]), b)
        _record(run)
        return c.reshape(a.shape[:-1] + (n,))
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:]).reshape(-1, *a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:]).reshape(-1, *b.shape[-2:])
    outs, runs = zip(*(fn(x, y) for x, y in zip(a, b)))
    done = [r for r in runs if r is not None]
    if done:
        _record(dataclasses.replace(done[-1], cycles=_sum(r.cycles for r in done),
                                    instret=_sum(r.instret for r in done), profile=None))
    return np.stack(outs).reshape(batch + outs[0].shape)


def _sum(values):
    values = list(values)
    return None if None in values else sum(values)


def _entry(target, runner, checked, budget, timeout) -> Target:
    """The checks every op makes of its common parameters at its entry, before any work:
    ``target`` as a Target (:meth:`Target.of`), then ``runner``, ``checked``, ``budget``
    and ``timeout``, each a clear exception here rather than a failure deep in a run."""
    target = Target.of(target)
    if runner not in ("emu", "qemu"):
        raise ValueError(f"runner must be 'emu' or 'qemu', not {runner!r}")
    if checked is not None and not isinstance(checked, bool):
        raise TypeError(f"checked must be True, False or None, not {type(checked).__name__}")
    if budget is not None:
        checks.budget(budget)
    if timeout is not None:
        checks.timeout(timeout)
    return target


def _check_config(config, *kernels_run, **more) -> None:
    """``config`` (a GEMM op's) against the tunables of the kernels the op may run: a dict
    whose keys are among their names, each value of its default's type and, for integers,
    from 1 (0 where a kernel declares it) to the largest the kernels declare: smaller blocks
    are fine (KC 16), larger ones are no tuner's choice (MR 99 compiles for minutes);
    ``more`` adds tunables of the op's own (name: the values it takes)."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict of tunables or None, not {type(config).__name__}")
    values = {name: set(taken) for name, taken in more.items()}
    for kernel in kernels_run:
        for name in kernel.autotune.names:
            declared = values.setdefault(name, set())
            declared.add(kernel.signature.parameters[name].default)
            declared.update(c[name] for c in kernel.autotune.configs if name in c)
    for name, value in config.items():
        if name not in values:
            raise ValueError(f"config: {name!r} is not a tunable of this op; tunables: {', '.join(sorted(values))}")
        kind = type(next(iter(values[name])))
        if type(value) is not kind and not (kind is int and isinstance(value, np.integer)):
            raise TypeError(f"config: {name} must be {kind.__name__}, not {type(value).__name__}")
        low, high = (min(min(values[name]), 1), max(values[name])) if kind is int else (value, value)
        if not low <= value <= high:
            raise ValueError(f"config: {name} must be from {low} to {high}, not {value!r}")


def _harts(target: Target, harts: int | None, runner: str) -> int:
    """How many harts a GEMM/GEMV call spreads over: ``harts``, else the target's (1 under QEMU)."""
    h = target.harts if harts is None else harts
    if not isinstance(h, int) or isinstance(h, bool) or not 1 <= h <= 64:
        raise ValueError(f"harts must be an integer from 1 to 64, not {h!r}")
    return 1 if runner == "qemu" else h


def _gemm_grid(rows, panels, c, cfg: dict, harts: int, widen: bool, target, limits: dict,
               kernel=None, scratch: tuple | None = None) -> Run:
    """c += rows @ panels on ``harts`` harts, one program a hart: blocks of whole MR-row
    tiles first, then panel groups.  Rows first, because every program copies its
    rows of A to the scratch: programs of one row block in different clusters would
    write the same lines there, and their stores invalidate each other's copies.
    ``kernel`` (default ``gemm_packed_grid``, f32/f16) takes ``scratch`` (default A's)."""
    grid, blocks = _blocks(harts, rows.shape[0], cfg["MR"], panels.shape[0])
    kernel, scratch = kernel or kernels.gemm_packed_grid, scratch or (kernels.a_scratch(rows, target, cfg["MR"]),)
    return kernel[grid](rows, panels, c, *scratch, **blocks, **cfg, WIDEN=widen, target=target, **limits)


def _blocks(harts: int, m: int, mr: int, panels: int) -> tuple[tuple[int, int], dict]:
    """A GEMM's launch grid on ``harts`` harts and its BM, PB: gm row blocks of whole
    MR-row tiles times gn panel groups, gm * gn = harts, for the fewest (tile, panel)
    pairs in the largest program; of equals, the most row blocks."""
    tiles = -(-m // mr)
    gm = min((d for d in range(1, harts + 1) if harts % d == 0),
             key=lambda d: (-(-tiles // d) * -(-panels // (harts // d)), -d))
    gm, gn = min(gm, tiles), min(harts // gm, panels)
    return (gm, gn), {"BM": -(-tiles // gm) * mr, "PB": -(-panels // gn)}


def _gemv_grid(a2, b2, c, cfg: dict, harts: int, widen: bool, target, limits: dict) -> Run:
    """c += a2 @ b2 for few rows on ``harts`` harts, each a block of columns (whole cache lines)."""
    n = b2.shape[1]
    per = (-(-n // harts) + 15) // 16 * 16   # 16 f32: one cache line
    part = np.zeros(n, np.float32)
    return kernels.gemv_rows_grid[(-(-n // per),)](a2, b2, c, part, BN=per, **cfg, WIDEN=widen, target=target,
                                                   **limits)


def _is_transposed(b: np.ndarray) -> bool:
    """Whether the 2-D ``b`` is the transpose of a row-major array (``w.T``) and not row-major itself."""
    return not b.flags.c_contiguous and b.T.flags.c_contiguous


def matmul(a, b, *, target=None, runner: str = "emu", config: dict | None = None, checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None, harts: int | None = None) -> np.ndarray:
    """``a @ b`` with f32 accumulation; returns a new f32 array.

    ``a`` is (M, K) or batched (..., M, K); ``b`` is (K, N) or batched (..., K, N)
    (batch dimensions broadcast as in NumPy). f32 or f16 inputs (mixed: both as f32);
    non-contiguous views are fine. b is packed into panels inside the call (counted in
    its cycles); a transposed view ``w.T`` of a row-major ``w`` (torch's layout, ``a @
    w.T``) goes to the kernel as ``w``: transposed into the panels inside the call
    (:data:`rvai.kernels.matmul_t`, its cycles include the transposition), or for at most
    :data:`GEMV_ROWS` rows read row by row as dot products (:data:`rvai.kernels.gemv_t`). For a
    fixed weight matrix, pack it once with :func:`pack_weights` and call :func:`linear`. ``config`` overrides the kernel
    parameters (MR, LMUL, KC); by default the tuner's best for the shape
    (``rvai tune``) or the kernel's defaults. A ``config`` that sets some of the tuned
    parameters gets the defaults for the others, not the tuned entry's. Error bound: see :mod:`rvai.kernels.matmul`.
    ``checked``, ``budget``, ``timeout``: as for every op (bounds checks, limits per call).
    ``harts`` (default: the target's, e.g. 8 on spacemit-k1) spreads the call over that
    many harts (docs/harts.md): GEMV over blocks of N, GEMM over row blocks and panel
    groups (after a packing launch over blocks of b's rows, in the cycle count). There a
    transposed b is first laid out row-major by NumPy, outside the count.
    """
    target = _entry(target, runner, checked, budget, timeout)
    harts = _harts(target, harts, runner)
    _check_config(config, kernels.gemm_packed, kernels.gemv_rows, kernels.gemv_t, kernels.matmul, kernels.matmul_t)
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    a, b = _pair(a, b, "b")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul needs (..., M, K) @ (..., K, N) arrays, got {a.shape} and {b.shape}")

    def one(a2, b2):
        m, k = a2.shape
        n = b2.shape[1]
        c = np.zeros((m, n), np.float32)
        if not c.size or not k:
            return c, None
        widen = _widen(target, a2.dtype, runner)
        if harts > 1 and m <= GEMV_ROWS:
            cfg = _config(kernels.gemv_rows, target, m, k, n, a2.dtype, config)
            return c, _gemv_grid(a2, b2, c, cfg, harts, widen, target, limits)
        if harts > 1:
            # gemm_packed's tunables leave LMUL to the packing: the given one, else its default
            lmul = (config or {}).get("LMUL", kernels.gemm_packed.signature.parameters["LMUL"].default)
            cfg = {**_config(kernels.gemm_packed, target, m, k, n, a2.dtype, config), "LMUL": lmul}
            nr = kernels.panel_width(target.vlen, cfg["LMUL"])
            panels = np.empty((-(-n // nr), k, nr), b2.dtype)
            pack = kernels.pack_panels_grid[(min(harts, k),)](b2, panels, LMUL=cfg["LMUL"], target=target, **limits)
            return c, _in_sequence([pack, _gemm_grid(np.ascontiguousarray(a2), panels, c, cfg, harts, widen, target,
                                                     limits)])
        transposed = _is_transposed(b2)
        if m <= GEMV_ROWS and transposed:   # b = w.T: dot products of a's rows with w's rows, as they lie
            cfg = _config(kernels.gemv_t, target, m, k, n, a2.dtype, config)
            run = kernels.gemv_t(a2, b2.T, c, **cfg, WIDEN=widen, target=target, runner=runner, **limits)
        elif m <= GEMV_ROWS:
            cfg = _config(kernels.gemv_rows, target, m, k, n, a2.dtype, config)
            part = np.zeros(n, np.float32)
            run = kernels.gemv_rows(a2, b2, c, part, **cfg, WIDEN=widen, target=target, runner=runner, **limits)
        else:
            # b = w.T of a row-major w: the kernel reads w as it is and transposes it in its cycles
            kernel = kernels.matmul_t if transposed else kernels.matmul
            cfg = _config(kernel, target, m, k, n, a2.dtype, config)
            nr = kernels.panel_width(target.vlen, cfg["LMUL"])
            bp = np.empty((-(-n // nr), k, nr), b2.dtype)
            run = kernel(a2, b2.T if transposed else b2, bp, c, kernels.a_scratch(a2, target, cfg["MR"]), **cfg,
                         WIDEN=widen, target=target, runner=runner, **limits)
        return c, run

    return _batched(one, a, b, b.shape[-1])


def linear(x, w, *, out: np.ndarray | None = None, target=None, runner: str = "emu", config: dict | None = None,
           checked: bool | None = None, budget: int | None = None, timeout: float | None = None,
           harts: int | None = None) -> np.ndarray:
    """``x @ w.T`` (a linear layer without bias) with f32 accumulation; a new f32 array.

    ``x`` is (..., K); ``w`` is a :class:`PackedWeights` from :func:`pack_weights` (the
    fast path: the call does no packing) or an (N, K) array, packed by NumPy on each
    call. f32 or f16 (mixed: both as f32). The weights' ``dtype`` picks the kernel:
    ``"bf16"``: x rounded to bf16, products exact, f32 sums (:func:`matmul_bf16`'s bound);
    ``"q8_0"``: x quantised to Q8_0 per row inside the kernel (ggml's reference quantiser
    bit for bit; in the cycle count), integer block dot products exact in int32, then ``y += isum * (dw * dx)`` in f32 per block
    (the bound in :mod:`rvai.kernels.int8`), on IME tiles where the target has them, else
    with Zvqdotq's ``vqdot``, else ``vwmacc``. ``config`` as in :func:`matmul`; its LMUL is the packed one.
    ``checked``, ``budget``, ``timeout``, ``harts``: as for :func:`matmul` (Q8_0 on
    several harts: the quantiser's launch, then the GEMM's).

    ``out``, a C-contiguous f32 (rows of x, N') array with N' >= N, makes the call add
    ``x @ w.T`` into ``out[:, :N]`` and return ``out``: C then has ``out``'s row stride
    (a slice of a wider layer's columns keeps that layer's cache-set pattern; the IME
    path, whose C is in tiles, adds its result into ``out`` on the host).
    """
    target = _entry(target, runner, checked, budget, timeout)
    harts = _harts(target, harts, runner)
    _check_config(config, kernels.gemm_packed, kernels.gemm_packed_bf16, LMUL=_PACKED_LMULS)
    if not isinstance(w, PackedWeights):
        w = pack_weights(w, target=target, lmul=(config or {}).get("LMUL"))
    if w.vlen != target.vlen:
        raise ValueError(f"weights were packed for VLEN {w.vlen}, the target runs at VLEN {target.vlen}")
    if w.dtype == "q8_0":
        return _linear_q8(x, w, out, target, runner, config, checked=checked, budget=budget, timeout=timeout,
                          harts=harts)
    if w.dtype == "bf16":
        return _linear_bf16(x, w, out, target, runner, config, checked=checked, budget=budget, timeout=timeout,
                            harts=harts)
    x, panels = _pair(x, w.panels, "w")
    if x.ndim < 1 or x.shape[-1] != w.k:
        raise ValueError(f"linear needs x (..., {w.k}) for weights of shape ({w.n}, {w.k}), got {x.shape}")
    rows = np.ascontiguousarray(x.reshape(-1, w.k))
    c = _output(rows.shape[0], w.n, out)
    by_size = _by_size(target, rows, config, w.panels[0].nbytes if len(w.panels) else 0)
    cfg = {**_config(kernels.gemm_packed, target, rows.shape[0], w.k, w.n, x.dtype, config, by_size), "LMUL": w.lmul}
    if c.size and w.k and harts > 1:
        _record(_gemm_grid(rows, panels, c, cfg, harts, _widen(target, x.dtype, runner), target,
                           {"checked": checked, "budget": budget, "timeout": timeout}))
    elif c.size and w.k:
        _record(kernels.gemm_packed(rows, panels, c, kernels.a_scratch(rows, target, cfg["MR"]), **cfg,
                                    WIDEN=_widen(target, x.dtype, runner), target=target, runner=runner,
                                    checked=checked, budget=budget, timeout=timeout))
    return c if out is not None else c.reshape(x.shape[:-1] + (w.n,))


def _output(rows: int, n: int, out) -> np.ndarray:
    """:func:`linear`'s C: new zeros (rows, n), or ``out`` once checked."""
    if out is None:
        return np.zeros((rows, n), np.float32)
    if not (isinstance(out, np.ndarray) and out.dtype == np.float32 and out.flags.c_contiguous
            and out.ndim == 2 and out.shape[0] == rows and out.shape[1] >= n):
        raise ValueError(f"out must be a C-contiguous f32 array of shape ({rows}, >= {n})")
    return out


def _linear_rows(x, w: PackedWeights) -> np.ndarray:
    x = _float_array(x, "x")
    if x.ndim < 1 or x.shape[-1] != w.k:
        raise ValueError(f"linear needs x (..., {w.k}) for weights of shape ({w.n}, {w.k}), got {x.shape}")
    return np.ascontiguousarray(x.reshape(-1, w.k), np.float32)


def _q8_scratch(rows: np.ndarray, path: str, tm: int) -> tuple[np.ndarray, ...]:
    """What the Q8_0 kernel of ``path`` takes for the activations ``rows`` (M, K): x as it
    reads it (K padded with zeros to a multiple of 32 for ``dot4``'s word gathers), the
    zeroed scratch ``xq``, ``xs`` it quantises x into (layouts in
    :data:`rvai.kernels.int8.Q8_LAYOUTS`; IME rows padded to blocks of Q8_TILE_ROWS tiles)
    and the quantiser's own scratch ``xa`` (2, nb)."""
    m, k = rows.shape
    nb = -(-k // kernels.Q8_BLOCK)
    kp, xa = nb * kernels.Q8_BLOCK, np.zeros((2, nb), np.float32)
    if path == "ime":
        groups = -(-m // (tm * Q8_TILE_ROWS)) * Q8_TILE_ROWS
        return (rows, np.zeros((groups, kp // (2 * tm), 2 * tm * tm), np.int8),
                np.zeros((groups, nb, tm * tm), np.float32), xa)
    if path == "dot4":
        return np.pad(rows, ((0, 0), (0, kp - k))), np.zeros((m, kp // 4), np.int32), np.zeros((m, nb), np.float32), xa
    return rows, np.zeros((m, kp), np.int8), np.zeros((m, nb), np.float32), xa


def _linear_q8(x, w: PackedWeights, out, target: Target, runner: str, config: dict | None, harts: int = 1,
               **limits) -> np.ndarray:
    """:func:`linear` for Q8_0 weights: one kernel call that quantises x to Q8_0 per row (as
    llama.cpp quantises activations before its q8_0 dot products; ggml's reference
    quantiser, bit for bit) into the layout of the weights' path, then runs its int8 GEMM
    (IME tiles, ``vqdot`` or ``vwmacc``): both are in the call's cycles. On ``harts``
    harts: two launches, the quantiser by row blocks, then the GEMM (:func:`_q8_harts`)."""
    rows = _linear_rows(x, w)
    if not np.isfinite(rows).all():
        raise ValueError("linear: Q8_0 quantisation needs finite activations")
    y = _output(rows.shape[0], w.n, out)
    if y.size and harts > 1:
        _q8_harts(_q8_scratch(rows, w.path, _q8_tile(target)), w, y, target, config, harts, limits)
    elif y.size:
        _q8_gemm(_q8_scratch(rows, w.path, _q8_tile(target)), w, y, target, runner, config, True, limits)
    return y if out is not None else y.reshape(np.shape(x)[:-1] + (w.n,))


def _q8_tile(target: Target) -> int:
    """Rows of an IME tile at the target's VLEN (1 without one: the layouts without tiles)."""
    return (tile_shape(target.vlen) or (1,))[0]


def _q8_qlmul(target: Target) -> int:
    """The LMUL at which the Q8_0 quantiser's f32 rows hold 32 lanes (one Q8_0 block), at most 8."""
    return min(max(1024 // target.vlen, 1), 8)


def _q8_harts(scratch: tuple, w: PackedWeights, y: np.ndarray, target: Target, config: dict | None, harts: int,
              limits: dict) -> None:
    """:func:`_q8_gemm` on ``harts`` harts (:mod:`rvai.kernels.matmul_harts`): x quantised
    by blocks of rows (whole IME tiles), each program with its own quantiser scratch, then
    the GEMM over row blocks and panel (tile-column) groups; one Run of both launches."""
    xin, xq, xs, xa = scratch
    m, qlmul, ime = xin.shape[0], _q8_qlmul(target), w.path == "ime"
    tm = _q8_tile(target)
    per = -(-m // (harts * tm)) * tm                         # rows a quantiser program: whole tiles
    quantiser = (kernels.quantize_tiles_grid, {"TM": tm}) if ime else (kernels.quantize_rows_grid,
                                                                        {"DOT4": w.path == "dot4"})
    runs = [quantiser[0][(-(-m // per),)](xin, xq, xs, np.zeros((-(-m // per),) + xa.shape, np.float32), BM=per,
                                          QLMUL=qlmul, **quantiser[1], target=target, specialise=ime, **limits)]
    if ime:
        yt = np.zeros((xq.shape[0], w.panels.shape[0], tm * tm), np.float32)
        grid, blocks = _blocks(harts, xq.shape[0], Q8_TILE_ROWS, w.panels.shape[0])
        runs.append(kernels.linear_q8_tiles_grid[grid](xq, xs, w.panels, w.scales, yt, **blocks, TM=tm,
                                                       RM=Q8_TILE_ROWS, RN=Q8_TILE_COLUMNS, LMUL=2, target=target,
                                                       specialise=True, **limits))
        y[:, :w.n] += kernels.unpack_tiles(yt, tm, m, w.n)
    else:
        cfg = {"MR": 7, **(config or {}), "LMUL": w.lmul}
        grid, blocks = _blocks(harts, m, cfg["MR"], w.panels.shape[0])
        runs.append(kernels.linear_q8_grid[grid](xq, xs, w.panels, w.scales, y, **blocks, **cfg,
                                                 DOT4=w.path == "dot4", target=target, **limits))
    _record(_in_sequence(runs))


def _q8_gemm(scratch: tuple, w: PackedWeights, y: np.ndarray, target: Target, runner: str, config: dict | None,
             quantize: bool, limits: dict) -> None:
    """The Q8_0 kernel of ``w.path`` on ``scratch`` (:func:`_q8_scratch`) into ``y`` (M, >= N)
    (the IME path adds its tiles to ``y``, the others store). With ``quantize`` False its
    xq/xs must hold the quantised x already (a previous call's): then the run is the GEMM
    alone (the bench measures the quantiser's share so)."""
    xin, xq, xs, xa = scratch
    qlmul = _q8_qlmul(target)
    if w.path == "ime":
        tm = _q8_tile(target)
        yt = np.zeros((xq.shape[0], w.panels.shape[0], tm * tm), np.float32)
        _record(kernels.linear_q8_tiles(xin, xq, xs, xa, w.panels, w.scales, yt, TM=tm, RM=Q8_TILE_ROWS,
                                        RN=Q8_TILE_COLUMNS, LMUL=2, QLMUL=qlmul, QUANTIZE=quantize, target=target,
                                        runner=runner, specialise=True, **limits))
        y[:, :w.n] += kernels.unpack_tiles(yt, tm, xin.shape[0], w.n)
    else:
        cfg = {"MR": 7, **(config or {}), "LMUL": w.lmul}
        _record(kernels.linear_q8(xin, xq, xs, xa, w.panels, w.scales, y, **cfg, DOT4=w.path == "dot4",
                                  QLMUL=qlmul, QUANTIZE=quantize, target=target, runner=runner, **limits))


def _linear_bf16(x, w: PackedWeights, out, target: Target, runner: str, config: dict | None, harts: int = 1,
                 **limits) -> np.ndarray:
    """:func:`linear` for bf16 weights: x rounded to bf16 (uint16 x: bf16 bits already);
    on ``harts`` harts as the f32 GEMM (:func:`_gemm_grid`)."""
    x = np.asarray(x)
    bits = x if x.dtype == np.uint16 else to_bf16(_float_array(x, "x"))
    if bits.ndim < 1 or bits.shape[-1] != w.k:
        raise ValueError(f"linear needs x (..., {w.k}) for weights of shape ({w.n}, {w.k}), got {x.shape}")
    rows = np.ascontiguousarray(bits.reshape(-1, w.k))
    c = _output(rows.shape[0], w.n, out)
    if c.size and w.k:
        widen, unused = "zvfbfwma" in target_extensions(target), np.zeros((1, 1))
        # Without Zvfbfwma a step holds the panel row as bf16 and widened (LMUL / 2 + LMUL registers)
        # beside the MR accumulators: at LMUL 4 MR 7 leaves no room and spills in the K loop
        # (spacemit-x60 32 x 896 x 128: MR 7 928,620 cycles, MR 6 527,911).
        mr = kernels.gemm_packed_bf16.signature.parameters["MR"].default
        fits = None if widen else {"MR": min(mr, (32 - w.lmul - w.lmul // 2) // w.lmul)}
        cfg = {**_config(kernels.gemm_packed_bf16, target, rows.shape[0], w.k, w.n, np.uint16, config, fits),
               "LMUL": w.lmul}
        ap = kernels.a_scratch(rows) if widen else unused.astype(np.uint16)
        af = unused.astype(np.float32) if widen else kernels.a_scratch(rows.astype(np.float32))
        if harts > 1:
            _record(_gemm_grid(rows, w.panels, c, cfg, harts, widen, target, limits,
                               kernels.gemm_packed_bf16_grid, (ap, af)))
        else:
            _record(kernels.gemm_packed_bf16(rows, w.panels, c, ap, af, **cfg, WIDEN=widen, target=target,
                                             runner=runner, **limits))
    return c if out is not None else c.reshape(bits.shape[:-1] + (w.n,))


#: The ways :func:`matmul_int8` can form int8 products, best first.
INT8_PATHS = ("ime", "dot4", "wmacc")


def int8_path(target: Target) -> str:
    """The best of :data:`INT8_PATHS` ``target`` has: IME (XSMTVDot, at a VLEN with an IME
    tile), else Zvqdotq's dot products, else plain RVV ``vwmacc``."""
    target = Target.of(target)
    exts = target_extensions(target)
    if "xsmtvdot" in exts and tile_shape(target.vlen):
        return "ime"
    return "dot4" if "zvqdotq" in exts else "wmacc"


def _int8_array(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise TypeError(f"{name} must be an int8 array, got {x.dtype}")
    return x


def matmul_int8(a, b, *, target=None, runner: str = "emu", path: str | None = None, checked: bool | None = None,
                budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """``a @ b`` for int8 ``a`` (..., M, K) and ``b`` (K, N), exact in int32 (K < 2^17).

    ``path`` (:data:`INT8_PATHS`) chooses how products are formed; None: the best the
    target has (:func:`int8_path`). Every path runs on every target (``"ime"`` without
    IME lowers ``rl.mma`` to slow vector code). B is packed by NumPy in the call (not
    counted in the cycles). ``checked``, ``budget``, ``timeout``: as for every op.
    """
    target = _entry(target, runner, checked, budget, timeout)
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    a, b = _int8_array(a, "a"), _int8_array(b, "b")
    if a.ndim < 2 or b.ndim != 2 or a.shape[-1] != b.shape[0]:
        raise ValueError(f"matmul_int8 needs (..., M, K) @ (K, N) arrays, got {a.shape} and {b.shape}")
    if b.shape[0] >= 1 << 17:
        raise ValueError(f"K = {b.shape[0]} could overflow the int32 sums; K must be below 2^17")
    path = path or int8_path(target)
    if path not in INT8_PATHS:
        raise ValueError(f"path must be one of {INT8_PATHS} or None, got {path!r}")
    rows = np.ascontiguousarray(a.reshape(-1, a.shape[-1]))
    (m, k), n = rows.shape, b.shape[1]
    c = np.zeros((m, n), np.int32)
    if c.size and k:
        if path == "ime":
            c = _int8_tiles(rows, b, target, runner, limits)
        else:
            lmul = 4
            nr = kernels.panel_width(target.vlen, lmul)
            dot4 = path == "dot4"
            bp = kernels.pack_words(b, nr) if dot4 else kernels.pack_panels(b, nr)
            ap = np.ascontiguousarray(np.pad(rows, ((0, 0), (0, -k % 4))).view(np.int32)) if dot4 else rows
            _record(kernels.gemm_i8(ap, bp, c, MR=7, LMUL=lmul, DOT4=dot4, target=target, runner=runner, **limits))
    return c.reshape(a.shape[:-1] + (n,))


#: C-tile blocks (rows of A tiles, columns of B tiles) of the IME int8 GEMM, by how well
#: each ran on the X60 model without padding (64x896x256: 4x3 140 ops/cycle; 192x896x256:
#: 3x4 154, 4x3 149; docs/performance.md); both fill the 32 registers (12 accumulator pairs).
_IME_BLOCKS = {(3, 4): 1.03, (4, 3): 1.0}


def _ime_block(m_tiles: int, n_tiles: int) -> tuple[int, int]:
    """The block of :data:`_IME_BLOCKS` with the least padded work per its speed."""
    def cost(rm_rn):
        rm, rn = rm_rn
        return -(-m_tiles // rm) * rm * -(-n_tiles // rn) * rn / _IME_BLOCKS[rm_rn]
    return min(_IME_BLOCKS, key=cost)


def _int8_tiles(a: np.ndarray, b: np.ndarray, target: Target, runner: str, limits: dict) -> np.ndarray:
    """The IME-tile GEMM: the IME tile shape at VLEN where there is one (LMUL 2), else
    4 x 4 x 8 tiles at an LMUL that holds 16 lanes."""
    tm = (tile_shape(target.vlen) or (4, 4, 8))[0]
    lmul = 2 if tile_shape(target.vlen) else max(512 // target.vlen, 1 / 2)
    (m, _), n = a.shape, b.shape[1]
    rm, rn = _ime_block(-(-m // tm), -(-n // tm)) if lmul <= 2 else (2, 2)
    ap = kernels.group_tiles(kernels.pack_tiles(a, tm, 2 * tm, tm * rm), rm)
    bt = kernels.group_tiles(kernels.pack_tiles(np.ascontiguousarray(b.T), tm, 2 * tm, tm * rn), rn)
    c = np.zeros((ap.shape[0] * rm, bt.shape[0] * rn, tm * tm), np.int32)
    _record(kernels.gemm_i8_tiles(ap, bt, c, TM=tm, RM=rm, RN=rn, LMUL=lmul, target=target, runner=runner,
                                  specialise=True, **limits))
    return np.ascontiguousarray(kernels.unpack_tiles(c, tm, m, n))


def matmul_bf16(a, b, *, target=None, runner: str = "emu", config: dict | None = None, checked: bool | None = None,
                budget: int | None = None, timeout: float | None = None, harts: int | None = None) -> np.ndarray:
    """``a @ b`` with bf16 inputs and f32 accumulation: a new f32 (..., M, N) array.

    ``a`` (..., M, K) and ``b`` (K, N) are uint16 bf16 bit patterns, or floats rounded
    to bf16 (nearest even). Products are exact in f32; each FMA rounds once
    (``vfwmaccbf16`` with Zvfbfwma, else widen + ``vfmacc``), so the error bound is the
    f32 GEMM's: gamma(KC + ceil(K/KC)) * (|a| @ |b|) with u = 2^-24 (:mod:`rvai.kernels.matmul`).
    B is packed by NumPy (not counted). ``harts`` (default: the target's): as for
    :func:`matmul`, the GEMM split over row blocks and panel groups
    (``gemm_packed_bf16_grid``), the same bits as one hart.
    """
    target = _entry(target, runner, checked, budget, timeout)
    harts = _harts(target, harts, runner)
    _check_config(config, kernels.gemm_packed_bf16, LMUL=_PACKED_LMULS)
    bits = [x if np.asarray(x).dtype == np.uint16 else to_bf16(_float_array(x, name))
            for x, name in ((a, "a"), (b, "b"))]
    if bits[0].ndim < 2 or bits[1].ndim != 2 or bits[0].shape[-1] != bits[1].shape[0]:
        raise ValueError(f"matmul_bf16 needs (..., M, K) @ (K, N) arrays, got {np.shape(a)} and {np.shape(b)}")
    w = pack_weights(np.ascontiguousarray(bits[1].T), target=target, lmul=(config or {}).get("LMUL"), dtype="bf16")
    return _linear_bf16(bits[0], w, None, target, runner, config, harts, checked=checked,
                        budget=budget, timeout=timeout)


def _by_size(target: Target, rows: np.ndarray, config: dict | None, panel_bytes: int) -> dict:
    """gemm_packed's loop order and prefetching by size, for where ``config`` leaves them open
    and no tuned entry applies (:func:`rvai.tune.config_for` decides).

    When A is larger than half of L2 it does not survive there while a panel of B streams
    past, so the panel-outer order would read it from DRAM once per panel: then the
    K-block-outer order (``KOUTER``) is the better default (measured in bench/gemm.py:
    xuantie-c930, 64 x 4096 rows of A, 82 % -> 89 % of peak). Where the target has Zicbop,
    software prefetch (``PF``) is on: A and C (1), and the next block of B too (2) where
    DRAM is slower than the first row tile of a block takes B (an MR-row tile takes a panel
    row of B per MR vector FMAs; spacemit-x60 16 x 896 x 896: 87.8 % -> 97.1 %; on
    xuantie-c930, whose DRAM keeps up, B's prefetches only crowd L1: 16 x 3584 x 512, 97.5 %
    with 1, 93.7 % with 2). With 2, K-outer, whose cost was restarting B's stream cold at
    every panel, is the default as soon as A and one panel (``panel_bytes``) overflow L2
    (spacemit-x60 16 x 3584 x 512: 93.3 % panel-outer, 96.4 % K-outer). Without prefetching
    (no Zicbop), where that rule gives K-outer and K takes more than one block, each row
    tile's KC blocks run back to back instead (``KTILE``): the fixed cost of a tile's start,
    once a block in the other orders, weighs more than A's trips from L2 (bench/gemm.py at
    K = 3584 and 4096, M = 64: generic +0.8 to +1.2 %, sifive-x280 +0.6 to +1.1 %, and
    sifive-x280 f32 at M = 16 +1.6 %; with prefetching K-outer stays: xuantie-c930 64 x 3584
    f32 -1.3 % with ``KTILE``; in one block, K-outer's code ran 0.5 % faster than the
    panel order's on sifive-x280 at 64 x 896 f32). A ``config`` that sets either order keeps it.
    """
    from rvai.emu.profile import peak_flops_per_cycle, timing_params
    p, pf = timing_params(target.model), 0
    if "zicbop" in target_extensions(target):
        mr = (config or {}).get("MR", kernels.gemm_packed.signature.parameters["MR"].default)
        first_tile = rows.itemsize * peak_flops_per_cycle(target.model) / (2 * mr)   # bytes of B a cycle
        pf = 2 if first_tile > p.dram_bytes_per_cycle else 1
    kouter = rows.nbytes + panel_bytes > p.l2_size if pf == 2 else rows.nbytes > p.l2_size // 2
    kc = (config or {}).get("KC", kernels.gemm_packed.signature.parameters["KC"].default)
    order = {} if {"KOUTER", "KTILE"} & set(config or {}) else \
        {"KTILE": True} if kouter and not pf and rows.shape[1] > kc else {"KOUTER": kouter}
    return {**order, "PF": pf}


def _rows(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1))


def softmax(x, axis: int = -1, *, exp: str = "accurate", target=None, runner: str = "emu",
            checked: bool | None = None, budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Softmax of a float array along ``axis``; returns a new f32 array.

    ``exp="accurate"`` (default) computes each exp within 2.28 ulp (:func:`rvai.lang.exp_nonpositive`;
    the results match float64 NumPy to about 1e-6 relative); ``exp="fast"`` with
    :func:`rvai.lang.exp_fast` (relative error below 9.8e-5 an exp, so about 2e-4 on each
    result; 7 FP operations an element instead of 14, docs/performance.md).
    """
    target = _entry(target, runner, checked, budget, timeout)
    if exp not in kernels.SOFTMAX_EXPS:
        raise ValueError(f"exp must be one of {sorted(kernels.SOFTMAX_EXPS)}, not {exp!r}")
    x = np.moveaxis(_float_array(x, "x"), axis, -1)
    rows = _rows(x)
    out = np.zeros_like(rows)
    if rows.size:
        _record(kernels.softmax(rows, out, EXP=exp, target=target, runner=runner, checked=checked, budget=budget,
                                timeout=timeout))
    return np.moveaxis(out.reshape(x.shape), -1, axis)


def rmsnorm(x, weight, eps: float = 1e-6, *, target=None, runner: str = "emu", checked: bool | None = None,
            budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """RMSNorm over the last axis: ``x / sqrt(mean(x**2) + eps) * weight``; a new f32 array."""
    target = _entry(target, runner, checked, budget, timeout)
    x = _float_array(x, "x")
    w = np.ascontiguousarray(_float_array(weight, "weight"))
    if w.shape != (x.shape[-1],):
        raise ValueError(f"weight must have shape ({x.shape[-1]},), got {w.shape}")
    rows = _rows(x)
    out = np.zeros_like(rows)
    if rows.size:
        _record(kernels.rmsnorm(rows, w, out, float(eps), target=target, runner=runner, checked=checked,
                                budget=budget, timeout=timeout))
    return out.reshape(x.shape)


def attention_config(target: Target, q3: np.ndarray, k3: np.ndarray, group: int, exp: str = "accurate") -> dict:
    """The attention kernel's tunables that :func:`attention` runs q3 (H, Lq, d) against k3
    (H_kv, Lk, d) with, ``group`` = H / H_kv, and the softmax's ``exp``: the tuner's for the
    shape and that exp, else its entry for the accurate exp (a configuration runs either exp;
    the fast exp's own entry, where tuned, is the faster for it), else whole GQA
    groups (the heads that share a K/V block) in tiles of at most 7 rows, whose 7 score
    accumulators at LMUL 4 leave one register group for a K column, and for decode (one
    query, K read straight from the cache) the prefetches that cover K and V ahead of use
    (touches, loads whose values are discarded, where the target has no Zicbop)."""
    target = Target.of(target)
    from rvai import tune
    key = (*q3.shape[:2], *k3.shape[:2], q3.shape[2])
    tuned = tune.best_for(kernels.attention, target, (*key, exp))
    if not tuned and exp != "accurate":
        tuned = tune.best_for(kernels.attention, target, (*key, "accurate"))
    bm = group * max(1, 7 // group) if group <= 7 else 7
    pf = kernels.attention_prefetch_lines(target.vlen, _ATTN_LMUL, 1) if q3.shape[1] == 1 else 0
    return tuned or {"BM": bm, "LMUL": _ATTN_LMUL, "KU": 1, "PF": pf, "PD": 0}


def attention(q, k, v, causal: bool = False, scale: float | None = None, *, kv_len: int | None = None,
              exp: str = "accurate", target=None, runner: str = "emu", checked: bool | None = None,
              budget: int | None = None, timeout: float | None = None, harts: int | None = None,
              config: dict | None = None) -> np.ndarray:
    """Scaled dot-product attention; returns a new f32 array shaped like ``q``.

    ``q`` is ``(Lq, d)`` or ``(..., H, Lq, d)``; ``k`` and ``v`` are ``(Lk, d)`` or
    ``(..., H_kv, Lk, d)`` with ``H`` a multiple of ``H_kv`` (grouped-query attention).
    For decoding, ``q`` holds the new token(s) and ``k``/``v`` may be a preallocated
    cache of which only the first ``kv_len`` positions are valid (default: all).
    ``scale`` defaults to ``1/sqrt(d)``. With ``causal``, query ``i`` attends to keys
    ``j <= i + Lk - Lq`` (bottom-right alignment, as with a KV cache; Lk = kv_len).
    A row with no visible key (including every row when Lk = 0) is 0.
    ``harts`` (default: the target's) spreads the tiles (KV head, block of query rows)
    over that many harts, and the keys too when the tiles are too few for them (decode):
    see :mod:`rvai.kernels.attention_harts` and docs/harts.md.
    ``exp="accurate"`` (default) computes the softmax's exps within 2.28 ulp
    (:func:`rvai.lang.exp_nonpositive`); ``exp="fast"`` uses :func:`rvai.lang.exp_fast`
    with the row maximum folded into its first FMA (relative error below 9.8e-5 a
    probability, so each output element within about 2e-4 * max |v| of the exact one;
    one hart only, with the configuration tuned for the fast exp where there is one).
    ``config`` (default: :func:`attention_config`'s for these shapes) sets the kernel's
    tunables, e.g. a larger call's: a cost estimate that runs some of the KV heads
    (:mod:`rvai.models.costs`) must run the code the whole call runs, and the tuner's
    entries are per shape bucket, head counts included.
    """
    target = _entry(target, runner, checked, budget, timeout)
    harts = _harts(target, harts, runner)
    given = None if config is None else _given_config(config)
    if exp not in kernels.ATTENTION_EXPS:
        raise ValueError(f"exp must be one of {list(kernels.ATTENTION_EXPS)}, not {exp!r}")
    q, k, v = (_float_array(t, n) for t, n in ((q, "q"), (k, "k"), (v, "v")))
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError("q, k and v must all be (L, d) or all (..., heads, L, d)")
    if k.shape != v.shape or q.shape[-1] != k.shape[-1]:
        raise ValueError(f"k and v must match and share d with q: {q.shape}, {k.shape}, {v.shape}")
    if q.shape[:-3] != k.shape[:-3]:
        raise ValueError(f"batch dimensions differ: {q.shape[:-3]} and {k.shape[:-3]}")
    heads, kv_heads = (q.shape[-3], k.shape[-3]) if q.ndim > 2 else (1, 1)
    if kv_heads == 0 or heads % kv_heads:
        raise ValueError(f"query heads ({heads}) must be a multiple of KV heads ({kv_heads})")
    if kv_len is not None:
        if not 0 <= kv_len <= k.shape[-2]:
            raise ValueError(f"kv_len must be in [0, {k.shape[-2]}] (the cache length), got {kv_len}")
        k, v = k[..., :kv_len, :], v[..., :kv_len, :]
    d, lq, lk = q.shape[-1], q.shape[-2], k.shape[-2]
    batch = int(np.prod(q.shape[:-3], dtype=np.int64))
    q3 = np.ascontiguousarray(q.reshape(batch * heads, lq, d))
    out = np.zeros_like(q3)
    if out.size and lk:
        k3, v3 = (np.ascontiguousarray(t.reshape(batch * kv_heads, lk, d)) for t in (k, v))
        cfg = attention_config(target, q3, k3, heads // kv_heads, exp) if given is None else given
        s = 1.0 / math.sqrt(d) if scale is None else float(scale)
        limits = {"checked": checked, "budget": budget, "timeout": timeout}
        # Transposing K costs what one tile's strided column loads cost; worth it once
        # several query rows per head reuse the keys (prefill), not for one (decode).
        transpose = lq > 1
        if harts > 1 and exp != "accurate":
            raise ValueError(f"exp={exp!r} runs on one hart (harts=1); attention on {harts} harts takes the accurate exp")
        if harts > 1:
            _record(_attention_harts(q3, k3, v3, out, s, bool(causal), transpose, cfg, harts, target, limits))
        else:
            q_s, o_s, p, k_t = kernels.attention_scratch(d, lk, cfg["BM"], cfg["LMUL"], target.vlen, transpose)
            _record(kernels.attention(q3, k3, v3, out, q_s, o_s, p, k_t, s, CAUSAL=bool(causal),
                                      TRANSPOSE_K=transpose, EXP=exp, **cfg, target=target, runner=runner,
                                      **limits))
    return out.reshape(q.shape)


def _given_config(config: dict) -> dict:
    """``config`` (ops.attention's) completed from the kernel's declared defaults, as a
    kernel call completes a partial setting; ValueError for a name that is no tunable."""
    names = kernels.attention.autotune.names
    if not isinstance(config, dict) or set(config) - set(names):
        raise ValueError(f"config must be a dict of attention's tunables {list(names)}, not {config!r}")
    return {n: kernels.attention.signature.parameters[n].default for n in names} | config


def _key_splits(items: int, harts: int, key_blocks: int) -> int:
    """How many parts the keys of each attention tile split into on ``harts`` harts: none
    (1) when there are enough tiles to go round (4 a hart) or they divide evenly, else the
    fewest that make the tiles' parts a multiple of the harts (2 tiles on 8 harts: 4),
    at most one part per block of keys."""
    if items >= 4 * harts:
        return 1
    return max(1, min(harts // math.gcd(items, harts), key_blocks))


def _attention_harts(q3, k3, v3, out, scale: float, causal: bool, transpose: bool, cfg: dict, harts: int,
                     target: Target, limits: dict) -> Run:
    """ops.attention on ``harts`` harts (:mod:`rvai.kernels.attention_harts`): K transposed
    by all harts first (prefill), then the tiles (or their key splits) one program a hart,
    then the splits combined; one Run adding the launches' cycles and counts."""
    (heads, lq, d), (kv_heads, lk, _) = q3.shape, k3.shape
    step = target.vlen * cfg["LMUL"] // 32          # keys a block: VLMAX at LMUL
    items = kernels.attention_harts.work_items(heads, kv_heads, lq, cfg["BM"])
    splits = _key_splits(items, harts, -(-lk // step))
    chunk = -(-(-(-lk // splits)) // step) * step   # whole blocks of keys a split
    splits = -(-lk // chunk)
    programs = min(harts, items * splits)
    q_s, o_s, p = kernels.attention_harts.scratch(programs, d, lk, cfg["BM"], cfg["LMUL"], target.vlen)
    unused = np.zeros((1, 1, 1), np.float32)
    runs = []
    k_t = unused
    if transpose:
        k_t = np.zeros((kv_heads, d, lk), np.float32)
        runs.append(kernels.attention_harts.transpose_k_grid[(programs,)](k3, k_t, LMUL=cfg["LMUL"], target=target,
                                                                         **limits))
    part_o, part_ml = ((np.zeros((splits, heads, lq, d), np.float32), np.zeros((splits, heads, lq, 2), np.float32))
                       if splits > 1 else (unused[None], unused[None]))
    runs.append(kernels.attention_harts.attention_grid[(programs,)](
        q3, k3, v3, out, q_s, o_s, p, k_t, part_o, part_ml, scale, chunk, CAUSAL=causal, TRANSPOSE_K=transpose,
        **cfg, SPLIT_KEYS=splits > 1, target=target, **limits))
    if splits > 1:
        runs.append(kernels.attention_harts.attention_combine_grid[(min(harts, heads * lq),)](
            part_o, part_ml, out, LMUL=cfg["LMUL"], target=target, **limits))
    return _in_sequence(runs)


def _in_sequence(runs: list[Run]) -> Run:
    """One Run for launches one after the other: cycles and counts added (the last one's object)."""
    if len(runs) == 1:
        return runs[0]
    from rvai.emu.profile import Profile
    return dataclasses.replace(runs[-1], cycles=_sum(r.cycles for r in runs), instret=_sum(r.instret for r in runs),
                               profile=Profile.sequence([r.profile for r in runs]))


# ---- fused operators of LLM decoder layers (rvai/kernels/llm.py) ----------------------

def _same_shape_rows(name: str, *arrays: np.ndarray) -> None:
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim < 1:
        raise ValueError(f"{name} needs arrays of one shape, got {[a.shape for a in arrays]}")


def swiglu(a, b, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """SwiGLU's gate: ``silu(a) * b = a * sigmoid(a) * b`` elementwise; a new f32 array."""
    target = _entry(target, runner, checked, budget, timeout)
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    a, b = _float_array(a, "a"), _float_array(b, "b")
    _same_shape_rows("swiglu", a, b)
    ra, rb = _rows(a), _rows(b)
    out = np.zeros_like(ra)
    if out.size:
        _record(kernels.swiglu(ra, rb, out, target=target, runner=runner, **limits))
    return out.reshape(a.shape)


def rope(x, cos, sin, *, interleaved: bool = False, target=None, runner: str = "emu",
         checked: bool | None = None, budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Rotary position embedding of ``x`` (tokens, heads, d); returns (heads, tokens, d) f32.

    ``cos`` and ``sin`` are (tokens, d/2): the angle of token ``t`` and pair ``j``. The
    NeoX form (default; Qwen, Llama in Hugging Face) pairs element ``j`` with ``j + d/2``;
    ``interleaved=True`` (GPT-J) pairs ``2j`` with ``2j + 1``. The result is head-major,
    the layout :func:`attention` takes.
    """
    target = _entry(target, runner, checked, budget, timeout)
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    x, cos, sin = (_float_array(t, n) for t, n in ((x, "x"), (cos, "cos"), (sin, "sin")))
    if x.ndim != 3 or x.shape[-1] % 2:
        raise ValueError(f"x must be (tokens, heads, d) with d even, got {x.shape}")
    tokens, heads, d = x.shape
    if cos.shape != (tokens, d // 2) or sin.shape != cos.shape:
        raise ValueError(f"cos and sin must be ({tokens}, {d // 2}), got {cos.shape} and {sin.shape}")
    out = np.zeros((heads, tokens, d), np.float32)
    if out.size:
        cos, sin = np.ascontiguousarray(cos), np.ascontiguousarray(sin)
        if interleaved:
            pairs = out.reshape(heads, tokens, d // 2, 2)
            _record(kernels.rope_interleaved(np.ascontiguousarray(x).reshape(tokens, heads, d // 2, 2), cos, sin,
                                             pairs, target=target, runner=runner, **limits))
        else:
            _record(kernels.rope_neox(x, cos, sin, out, target=target, runner=runner, **limits))
    return out


def add_rmsnorm(x, residual, weight, eps: float = 1e-6, *, target=None, runner: str = "emu",
                checked: bool | None = None, budget: int | None = None,
                timeout: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Residual add fused with RMSNorm: ``h = x + residual``; returns ``(rmsnorm(h) * weight, h)``."""
    target = _entry(target, runner, checked, budget, timeout)
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    x, residual = _float_array(x, "x"), _float_array(residual, "residual")
    w = np.ascontiguousarray(_float_array(weight, "weight"))
    _same_shape_rows("add_rmsnorm", x, residual)
    if w.shape != (x.shape[-1],):
        raise ValueError(f"weight must have shape ({x.shape[-1]},), got {w.shape}")
    rx, rr = _rows(x), _rows(residual)
    out, h = np.zeros_like(rx), np.zeros_like(rx)
    if out.size:
        _record(kernels.add_rmsnorm(rx, rr, w, out, h, float(eps), target=target, runner=runner, **limits))
    return out.reshape(x.shape), h.reshape(x.shape)


def add(x, y, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """``x + y``; ``y`` has ``x``'s shape or is a vector of its last axis (a bias). A new f32 array."""
    target = _entry(target, runner, checked, budget, timeout)
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    x, y = _float_array(x, "x"), _float_array(y, "y")
    rx = _rows(x)
    out = np.zeros_like(rx)
    if y.shape == x.shape:
        if out.size:
            _record(kernels.add(rx, _rows(y), out, target=target, runner=runner, **limits))
    elif x.ndim and y.shape == (x.shape[-1],):
        if out.size:
            _record(kernels.add_bias(rx, np.ascontiguousarray(y), out, target=target, runner=runner, **limits))
    else:
        raise ValueError(f"add needs y shaped like x {x.shape} or ({x.shape[-1] if x.ndim else 1},), got {y.shape}")
    return out.reshape(x.shape)


def embedding(table, ids, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Rows ``table[ids]`` of an f32 or f16 (vocab, d) table, as a new (len(ids), d) f32 array."""
    target = _entry(target, runner, checked, budget, timeout)
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    table = _float_array(table, "table", (np.float32, np.float16))
    ids = np.asarray(ids)
    if table.ndim != 2 or ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"embedding needs a (vocab, d) table and 1-D integer ids, got {table.shape}, {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise ValueError(f"token ids must be in [0, {table.shape[0]})")
    out = np.zeros((ids.size, table.shape[1]), np.float32)
    if out.size:
        _record(kernels.embedding(table, ids.astype(np.int64), out, target=target, runner=runner, **limits))
    return out


def moe_combine(out, y, rows, weights, *, target=None, runner: str = "emu", checked: bool | None = None,
           budget: int | None = None, timeout: float | None = None) -> np.ndarray:
    """Mixture-of-experts sum in place: ``out[rows[i]] += weights[i] * y[i]``; returns ``out`` (f32)."""
    target = _entry(target, runner, checked, budget, timeout)
    limits = {"checked": checked, "budget": budget, "timeout": timeout}
    y, weights = _float_array(y, "y"), _float_array(weights, "weights")
    rows = np.asarray(rows)
    if not (isinstance(out, np.ndarray) and out.dtype == np.float32 and out.ndim == 2):
        raise TypeError("out must be a 2-D float32 array (it is updated in place)")
    if y.ndim != 2 or y.shape[1] != out.shape[1] or rows.shape != (y.shape[0],) or weights.shape != rows.shape:
        raise ValueError(f"moe_combine: y {y.shape}, rows {rows.shape}, weights {weights.shape} "
                         f"do not fit out {out.shape}")
    if rows.size and (rows.dtype.kind not in "iu" or rows.min() < 0 or rows.max() >= out.shape[0]):
        raise ValueError(f"rows must be integers in [0, {out.shape[0]})")
    if y.size:
        _record(kernels.moe_combine(np.ascontiguousarray(y), rows.astype(np.int64), np.ascontiguousarray(weights),
                                    out, target=target, runner=runner, **limits))
    return out
