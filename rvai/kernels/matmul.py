"""GEMM and GEMV in the DSL, BLIS-style: B in panels, C tiles in registers, blocked K.

Layout. B (K, N) is cut into column panels of ``NR`` columns, each stored as a
contiguous (K, NR) block: ``bp[p, k, :] = b[k, p*NR:(p+1)*NR]`` (:func:`pack_panels`,
or the packing phase of :data:`matmul`). ``NR`` is one vector register group at
``LMUL`` (VLEN/32 * LMUL f32 columns), so a step of K reads one unit-stride vector
from consecutive memory: the walk down a panel is one sequential stream, which the
prefetcher covers, where the same walk down row-major B jumps a whole row per step.

Micro-kernel. ``MR`` rows of a C tile are held in ``MR`` vector accumulators across a
block of ``KC`` steps of K; every step loads one vector of the panel and issues ``MR``
``vfmacc.vf`` with scalars of A (``vfwmacc.vf`` straight from f16 inputs when the
target has Zvfh). ``MR`` x LMUL must leave a register group for B: MR <= 7 at LMUL 4.

Edges without scalar code. The last panel runs at ``vl = N mod NR``. Rows left over
from ``M mod MR`` are not run one at a time: the last full tile and the leftover rows
are split into two tiles of nearly equal height (7 + 1 rows become 4 + 4), since a
one-row tile is one dependent chain of FMAs and leaves a second FP pipe idle.

Prefetch. On a target with Zicbop, ``PF`` = 1 prefetches each tile's rows of C for
writing before its K loop and, every step, the tile's rows of A one line ahead (A's rows
do not stay in L1 once K is long: 16 rows of 3584 are 229 KiB). ``PF`` = 2 also has the
second and later row tiles of a block prefetch the block of B the loop nest runs next
(tile t >= 1 the t-th 64-byte line of each of its panel rows, one ``prefetch.r`` a step),
so that the first tile of a block reads B from cache instead of streaming it from DRAM:
that is worth it where DRAM cannot keep up with the first tile (spacemit-x60: a 7-row tile
takes a 128-byte panel row every 28 cycles, 4.6 bytes a cycle; DRAM gives 4); where it
can (xuantie-c930, 14 bytes a cycle) the extra fills only crowd L1.

Transposed B. ``a @ w.T`` with w row-major (N, K), torch's weight layout, needs no
copy outside the kernel: :data:`matmul_t` transposes w into the panels inside the call
(one strided load of NR elements per panel row), and :data:`gemv_t`, for one or two rows,
takes dot products of A's rows with w's rows as they lie.

Accuracy. Each KC block is summed from zero in registers and then added to C, so an
element of C is a sum of ceil(K/KC) block sums of at most KC products each: the error
is at most gamma(KC + ceil(K/KC)) * sum|a||b| (gamma(n) = n*u/(1-n*u), u = 2^-24),
against gamma(K) for one running sum, which stops growing at 2^24 when adding ones.

Every kernel here accumulates: ``c += a @ b`` (callers pass zeros for a plain product).
"""

import numpy as np

import rvai.lang as rl
from rvai.lang import bf16, f32
from rvai.target import Target

__all__ = ["gemm_packed", "gemm_packed_bf16", "gemm_packed_grid", "matmul", "matmul_t", "row_tiles", "gemv_rows",
           "gemv_rows_grid", "gemv_t", "pack_panels", "panel_width", "a_scratch", "GEMM_CONFIGS", "GEMM_PACKED_CONFIGS",
           "GEMM_PACKED_BF16_CONFIGS", "GEMV_CONFIGS",
           "GEMV_T_CONFIGS"]

#: What the tuner tries for :data:`matmul` and :data:`matmul_t` (which pack B themselves), likely first: MR rows per
#: register tile, LMUL of one panel row (NR = VLEN/32 * LMUL columns), KC steps of K per
#: block. The MR accumulators and one B group must fit the 32 vector registers:
#: (MR + 1) * LMUL <= 32.
GEMM_CONFIGS = [{"MR": mr, "LMUL": lmul, "KC": kc} for mr, lmul, kc in (
    (7, 4, 512), (6, 4, 512), (5, 4, 512), (4, 4, 512), (7, 4, 256), (7, 4, 1024), (3, 8, 512), (2, 8, 512),
    (8, 2, 512), (6, 2, 512), (4, 2, 512), (8, 1, 512))]
#: What the tuner tries for :data:`gemm_packed_bf16` (and :data:`gemm_packed`, below), whose LMUL is
#: fixed by the packed panels (:func:`rvai.ops.pack_weights`, LMUL 4): MR, KC, the loop order and
#: prefetching. ``KOUTER`` puts the KC loop outside the panel loop, so a KC block of A is reused
#: by every panel while it is still in L2 (long K and many rows: A no longer fits beside a
#: streaming panel), at the cost of restarting the prefetch stream of B at every panel.
#: ``PF`` (Zicbop targets; elsewhere no prefetch is emitted): 1 prefetches A and C, 2 also
#: the next block of B (see the module's notes). One block ahead is the distance for B: rows
#: further ahead measured equal or slower (16 x 3584 x 512 on spacemit-x60, B alone: 91.9 % of
#: peak one block ahead, 90.7 % 8 rows further, 88.6 % 128 rows further).
GEMM_PACKED_BF16_CONFIGS = [{"MR": mr, "KC": kc, "KOUTER": ko, "PF": pf} for mr, kc, ko, pf in (
    (7, 1024, False, 0), (7, 512, False, 0), (7, 256, False, 0), (6, 1024, False, 0), (6, 512, False, 0),
    (5, 512, False, 0), (4, 1024, False, 0), (4, 512, False, 0), (4, 256, False, 0), (7, 512, True, 0),
    (7, 1024, True, 0), (6, 1024, True, 0), (7, 1024, False, 1), (7, 1024, False, 2), (7, 512, False, 2),
    (6, 1024, False, 2), (7, 1024, True, 1), (7, 1024, True, 2), (6, 1024, True, 2))]
#: :data:`gemm_packed`'s candidates: those of :data:`gemm_packed_bf16` (above) compiled with generic-rv64's
#: scheduling (``SCHED``, see :data:`gemm_packed`), K-outer with shorter blocks (sifive-x280, 16 x 896 x 896:
#: MR 4, KC 512, K-outer 1,630,303 cycles, the best there), two with the target cpu's own (``SCHED`` ""),
#: and five with each row tile's KC blocks back to back (``KTILE``; not with ``PF`` = 2: spacemit-x60 f32 at
#: K >= 3584 with both ran at 0.47-0.69x the speed of its default, K-outer with ``PF`` = 2).
GEMM_PACKED_CONFIGS = GEMM_PACKED_BF16_CONFIGS + [
    {"MR": mr, "KC": kc, "KOUTER": True, "PF": 0} for mr, kc in ((7, 256), (4, 512), (4, 256))] + [
    {"MR": mr, "KC": kc, "KOUTER": ko, "PF": pf, "SCHED": ""}
    for mr, kc, ko, pf in ((7, 1024, False, 0), (7, 1024, True, 2))] + [
    {"MR": mr, "KC": kc, "KOUTER": False, "PF": pf, "KTILE": True}
    for mr, kc, pf in ((7, 1024, 0), (7, 1024, 1), (6, 1024, 0), (7, 512, 0), (4, 512, 0))]
#: What the tuner tries for :data:`gemv_rows`: KB rows of b per pass over N, LMUL, KC.
GEMV_CONFIGS = [{"KB": kb, "LMUL": lmul, "KC": kc} for kb, lmul, kc in (
    (8, 4, 512), (4, 4, 512), (16, 4, 512), (8, 2, 512), (16, 2, 512), (4, 8, 512), (8, 8, 512))]
#: The autotune key of the GEMM kernels: M, K, N and the input dtype.
_KEY = ["a.shape[0]", "a.shape[1]", "c.shape[1]", "a.dtype"]


def panel_width(vlen: int, lmul: int) -> int:
    """Columns per B panel: the f32 elements of one LMUL register group at ``vlen``."""
    return vlen // 32 * lmul


def pack_panels(b: np.ndarray, nr: int) -> np.ndarray:
    """``b`` (K, N) as (ceil(N/nr), K, nr) panels; the last panel's missing columns are 0.

    Each element is written once, straight from ``b`` (any strides: splitting N into
    panels and columns is a view of it), and only the missing columns are zeroed: no
    zero-padded copy of ``b`` in between (a 7B layer's weights are 0.9 GB in f32).
    """
    k, n = b.shape
    full, rest = divmod(n, nr)
    out = np.empty((full + (rest > 0), k, nr), b.dtype)
    out[:full] = b[:, :full * nr].reshape(k, full, nr).transpose(1, 0, 2)
    if rest:
        out[full, :, :rest] = b[:, full * nr:]
        out[full, :, rest:] = 0
    return out


def _fmacc(acc, a, b, widen: bool):
    """acc += a * b with f32 accumulation; f16/bf16 operands widen inside the FMA if ``widen``."""
    if widen:
        acc.value = rl.fma(a, b, acc.value)
    else:
        acc += a.to(f32) * b.to(f32)


def _tile(a, bp, c, p, jj, i, col, k0, k1, rows: int, widen: bool, PF: int = 0, ahead=None, width=None,
          frame: bool = False):
    """c[i:i+rows, col:col+width] += a[i:i+rows, k0:k1] @ panel p's columns jj.. over those K.

    ``PF`` >= 1: the tile first prefetches its rows of C for writing, and each step the
    element of each of its rows of A one line past the step's; ``ahead`` = (d, e): each
    step also prefetches element jj + e of panel p's row d rows past the step's row (see
    :func:`_panel_block`). ``frame``: the stack frame is touched after the K loop
    (:func:`rvai.lang.touch_frame`), so that the loop state LLVM spilled there is in cache
    at the next block's or tile's start."""
    if PF:
        for r in range(rows):   # both ends of the row's piece: all of it at <= 2 lines
            c.prefetch(i + r, col, write=True)
            c.prefetch(i + r, col + width - 1, write=True)
    acc = [rl.var(rl.zeros(f32)) for _ in range(rows)]
    for k in rl.range(k0, k1):
        av = [a[i + r, k] for r in range(rows)]   # scalar loads first: they queue behind no vector load
        if ahead is not None:
            bp.prefetch(p, k + ahead[0], jj + ahead[1])
        if PF:
            for r in range(rows):   # A's rows one 64-byte line ahead
                a.prefetch(i + r, k + 512 // a.dtype.bits)
        bv = bp.vload(p, k, jj)
        if not widen:
            bv = bv.to(f32)
        for r in range(rows):
            _fmacc(acc[r], av[r], bv, widen)
    if frame:
        rl.touch_frame()
    done = None
    # row r's load and add go before row r-1's store, so that LLVM gives them another register
    # than the store's and the load need not wait for it (sifive-x280 16 x 3584 x 512 f16: -610 cycles)
    for r in range(rows):
        total = c.vload(i + r, col) + acc[r].value
        if done is not None:
            c.vstore(done, i + r - 1, col)
        done = total
    c.vstore(done, i + rows - 1, col)


def _at(base, offset):
    """base + offset, leaving the IR as it was when base is the constant 0 (the whole-matrix kernels)."""
    return offset if isinstance(base, int) and base == 0 else base + offset


def row_tiles(tile, M, MR: int, m0=0):
    """``tile(first, rows)`` over the M rows from m0: full MR-row tiles, then the tail split in two.

    Every tile, the full ones and the two of the tail, is a trip of one loop that dispatches
    on the trip's height to one compiled tile per height: the full tiles' loop and each tail
    tile had their own copies, whose row pointers LLVM hoisted out of the loops around them,
    spilled, and reloaded at every K block from lines the panel stream had evicted
    (sifive-x280 16 x 3584 x 512 f16: 29,252 cycles outside the K loops; 19,285 with one loop,
    no jump table and :func:`_tile`'s reordered update of C). The dispatch is compiled without
    a jump table (:func:`rvai.lang.no_jump_tables`): its load missed at every dispatch.
    """
    rl.no_jump_tables()
    n_full = M // MR
    split = rl.minimum(M % MR, 1) * rl.minimum(n_full, 1)   # 1 when a remainder joins the last full tile
    whole = n_full - split                                  # tiles of MR rows before the tail
    start = _at(m0, whole * MR)
    left = _at(m0, M) - start                               # < 2 MR rows
    h1 = rl.where(left > MR, (left + 1) // 2, left)
    for t in rl.range(whole + 2):                           # then the pair (start, h1), (start + h1, left - h1)
        q = t - whole
        first = rl.where(q < 0, _at(m0, t * MR), start + q * h1)
        height = rl.where(q < 0, MR, rl.where(q == 0, h1, left - h1))
        for rows in range(1, MR + 1):                       # one compiled tile per height
            for _ in rl.range(rl.where(height == rows, 1, 0)):
                tile(first, rows)


def _copy_rows(a, ap, LMUL: int, m0=0, rows=None):
    """ap[m0:m0+rows, :K] = a's rows (all by default) at ap's row stride (see :func:`a_scratch`),
    converted to ap's dtype."""
    M, K = a.shape
    for i in (rl.range(M) if rows is None else rl.range(m0, m0 + rows)):
        for vl, k in rl.vloop(K, sew=32, lmul=LMUL):
            ap.vstore(a.vload(i, k).to(ap.dtype), i, k)


def _gemm(a, bp, c, MR: int, LMUL: int, KC: int, KOUTER: bool, widen: bool, m0=0, rows=None, p0=0, panels=None,
          PF: int = 0, KTILE: bool = False):
    """c += a @ B over rows m0.. (``rows`` of them) and panels p0.. (all by default);
    ``KOUTER``: the KC loop outside the panel loop, ``KTILE``: inside each row tile,
    ``PF``: software prefetch (see :data:`GEMM_PACKED_CONFIGS`)."""
    if KOUTER and KTILE:
        raise ValueError("KOUTER and KTILE are two places for the KC loop: set at most one")
    M, K = a.shape[0], bp.shape[1]   # a may be wider than K (padded rows)
    P, NR = bp.shape[0], bp.shape[2]
    N = c.shape[1]
    rows = M if rows is None else rows
    if KTILE:   # a tile's K blocks back to back: the panel's block to prefetch is the next panel's
        for p in (rl.range(P) if panels is None else rl.range(p0, p0 + panels)):
            _panel_block(a, bp, c, p, 0, K, N, NR, MR, LMUL, widen, m0, rows, PF, K if PF >= 2 else None, KC)
        return

    def block(p, k0):
        k1 = rl.minimum(k0 + KC, K)
        # panel rows from this block's start to the next block's, as the panels lie in memory:
        # the next panel's same rows (K-outer), else the block that follows in the panel
        # (or, after the last, the next panel's first rows)
        ahead = (K if KOUTER else k1 - k0) if PF >= 2 else None
        _panel_block(a, bp, c, p, k0, k1, N, NR, MR, LMUL, widen, m0, rows, PF, ahead)

    if KOUTER:
        for k0 in rl.range(0, K, KC):
            for p in (rl.range(P) if panels is None else rl.range(p0, p0 + panels)):
                block(p, k0)
    else:
        for p in (rl.range(P) if panels is None else rl.range(p0, p0 + panels)):
            for k0 in rl.range(0, K, KC):
                block(p, k0)


def _panel_block(a, bp, c, p, k0, k1, N, NR, MR: int, LMUL: int, widen: bool, m0, rows, PF: int = 0,
                 ahead=None, kc=None):
    """Rows m0.. (``rows`` of them) of C against panel p over K steps [k0, k1), prefetching
    A and C with ``PF`` >= 1 (:func:`_tile`); with ``kc``, each row tile runs [k0, k1) in
    blocks of ``kc`` steps, each summed from zero and added to C, touching the stack frame
    after each block: a tile then streams all of the panel's K rows between two starts of the
    row-tile loop, whose state LLVM spilled (sifive-x280 16 x 4096 f16: 512 KiB of panel
    through the 256 KiB L2, and each tile's state came from DRAM, ~140 cycles a reload).
    The other orders stream one block between two tiles, which the next tile reads again.

    ``ahead`` (panel rows from this block to the next block the loop nest runs, or None):
    tile t >= 1 of the block prefetches line t-1 of each of the next block's rows, one a
    step. Tile 0, which reads its own block from memory and would compete with it, and
    tiles past the row's lines prefetch their own step's row instead (an L1 hit: nothing)."""
    # one trip when NR is the register group at this VLEN; correct (more trips) if not
    for vl, jj in rl.vloop(rl.minimum(NR, N - p * NR), sew=32, lmul=LMUL):
        def tile(i, h):
            where = None
            if ahead is not None:
                line = (i - _at(m0, 0) + MR - 1) // MR - 1   # tile starts: 0, MR, .., then the split pair
                e = line * (512 // bp.dtype.bits)            # the first element of that 64-byte line of a row
                on = rl.where(line >= 0, e < vl, line >= 0)
                where = (rl.where(on, ahead, 0), rl.where(on, e, 0))
            if kc is None:
                _tile(a, bp, c, p, jj, i, p * NR + jj, k0, k1, h, widen, PF, where, vl)
            else:
                for kb in rl.range(k0, k1, kc):
                    _tile(a, bp, c, p, jj, i, p * NR + jj, kb, rl.minimum(kb + kc, k1), h, widen, PF, where, vl,
                          frame=True)
        row_tiles(tile, rows, MR, m0)


#: The most rows of A a register tile reads at once (the largest MR of the candidates).
MAX_MR = 8


def a_scratch(a: np.ndarray, target=None, mr: int = MAX_MR) -> np.ndarray:
    """Scratch for A's rows with one cache line of padding per row, or none (0 rows).

    A tile reads MR rows of A at once; with a power-of-two row length (K = 4096: 16 KiB)
    those rows fall into one L1 set and evict each other at every step. Then the kernels
    copy A into this (M, K + one line) array first, so consecutive rows land in different
    sets. Where ``mr`` rows (a tile's) at A's own stride leave at least one way of every L1
    set of ``target`` (every target if None) free for the lines of B and C, the copy buys
    nothing and costs a pass over A from memory (on sifive-x280, 7 x 896 from DRAM, 17,000
    cycles: each loaded piece is stored before the next is loaded; at 16 x 4096, where its
    8-way L1 holds a 7-row tile in one set, 22,500 cycles of 1,082,799 against N = 128, f16):
    then the scratch has 0 rows and the kernels read A in place.
    """
    target = None if target is None else Target.of(target)
    m, k = a.shape
    if target is not None and not _rows_crowd_l1(k * a.itemsize, target, mr):
        return np.empty((0, k + 64 // a.itemsize), a.dtype)
    return np.empty((m, k + 64 // a.itemsize), a.dtype)


def _rows_crowd_l1(stride: int, target, mr: int) -> bool:
    """Whether ``mr`` rows ``stride`` bytes apart put lines into every way of an L1 set of
    ``target``'s timing model (of a direct-mapped L1: any two into one line)."""
    from rvai.emu.profile import timing_params
    p = timing_params(target.model)
    sets = max(p.l1_size // (p.line * p.l1_assoc), 1)
    per_set = np.bincount([(r * stride // p.line) % sets for r in range(mr)])
    return int(per_set.max()) > max(p.l1_assoc - 1, 1)


def _from_rows(a, ap, LMUL: int, body, m0=0, rows=None) -> None:
    """``body(src)`` with src the rows of A to read: ``ap`` after copying A's rows into it
    when the scratch has rows (:func:`a_scratch`), else ``a`` in place."""
    copy = rl.minimum(ap.shape[0], 1)
    for _ in rl.range(copy):
        _copy_rows(a, ap, LMUL, m0, rows)
        body(ap)
    for _ in rl.range(1 - copy):
        body(a)


@rl.autotune(configs=GEMM_PACKED_CONFIGS, key=_KEY)
@rl.kernel
def gemm_packed(a: rl.Tensor[None, 2], bp: rl.Tensor[None, 3], c: rl.Tensor[f32, 2], ap: rl.Tensor[None, 2],
                MR: int = 7, LMUL: int = 4, KC: int = 1024, KOUTER: bool = False, WIDEN: bool = False,
                PF: int = 0, SCHED: str = "generic-rv64", KTILE: bool = False):
    """c (M, N) += a (M, K) @ B, with B given as panels ``bp`` (P, K, NR) (:func:`pack_panels`).

    a and bp share one dtype, f32 or f16 (``WIDEN``: f16 products by ``vfwmacc``, needs
    Zvfh); c is f32. ``NR`` should be the f32 register group at ``LMUL`` for speed.
    ``ap`` is scratch for A (:func:`a_scratch`). ``PF``: software prefetch (``prefetch.r/w``
    where the target has Zicbop, nothing elsewhere) of A and C (1), and of the next block
    of B (2); see the module's notes. ``SCHED``: the LLVM cpu whose scheduling and unrolling
    the kernel is compiled with (:func:`rvai.lang.schedule_as`; "" for the target's own cpu).
    The loop order: panel, KC block, row tile by default; ``KOUTER`` KC block, panel, row
    tile; ``KTILE`` panel, row tile, KC block (a tile's blocks back to back, as a full-K
    tile but with each block still summed apart: fewer times the fixed cost of a tile's
    start at long K).
    generic-rv64 by default: the sifive-x280 model places each of a step's loads of A right
    before its FMA, so the misses of a tile's rows wait one after the other, and unrolls the
    K loop 4 times (four B streams for the prefetcher); 16 x 896 x 896 f32 on sifive-x280:
    1,687,916 cycles with its own model, 1,649,201 with generic-rv64's.
    """
    if SCHED:
        rl.schedule_as(SCHED)
    _from_rows(a, ap, LMUL, lambda src: _gemm(src, bp, c, MR, LMUL, KC, KOUTER, WIDEN, PF=PF, KTILE=KTILE))


@rl.kernel
def gemm_packed_grid(a: rl.Tensor[None, 2], bp: rl.Tensor[None, 3], c: rl.Tensor[f32, 2], ap: rl.Tensor[None, 2],
                     BM: int, PB: int, MR: int = 7, LMUL: int = 4, KC: int = 512, KOUTER: bool = False,
                     WIDEN: bool = False, PF: int = 0, SCHED: str = "generic-rv64", KTILE: bool = False):
    """:data:`gemm_packed` as a launch grid (``gemm_packed_grid[(gm, gn)](...)``): program
    (i, j) computes rows i*BM.. (BM of them) of c over panels j*PB.. (PB panels).  Each
    program copies its own rows of A to ``ap`` first (programs of one row block write the
    same values there). ``SCHED`` and ``KTILE`` as for :data:`gemm_packed`."""
    if SCHED:
        rl.schedule_as(SCHED)
    M, P = a.shape[0], bp.shape[0]
    m0, p0 = rl.program_id(0) * BM, rl.program_id(1) * PB
    rows = rl.maximum(rl.minimum(BM, M - m0), 0)
    panels = rl.maximum(rl.minimum(PB, P - p0), 0)
    _from_rows(a, ap, LMUL, lambda src: _gemm(src, bp, c, MR, LMUL, KC, KOUTER, WIDEN, m0, rows, p0, panels, PF,
                                              KTILE), m0, rows)


@rl.autotune(configs=GEMM_PACKED_BF16_CONFIGS, key=_KEY)
@rl.kernel
def gemm_packed_bf16(a: rl.Tensor[bf16, 2], bp: rl.Tensor[bf16, 3], c: rl.Tensor[f32, 2], ap: rl.Tensor[bf16, 2],
                     af: rl.Tensor[f32, 2], MR: int = 7, LMUL: int = 4, KC: int = 512, KOUTER: bool = False,
                     WIDEN: bool = False, PF: int = 0):
    """:data:`gemm_packed` for bf16 ``a`` and ``bp`` (uint16 bit patterns), f32 ``c``.

    ``WIDEN``: each product by ``vfwmaccbf16.vf`` (Zvfbfwma) with A's scalars read from
    the bf16 scratch ``ap`` (``af`` unused, may be 1 x 1); else A is widened once into the
    f32 scratch ``af`` while it is copied (``ap`` unused), the panel row is widened to f32
    once per step (``vfwcvtbf16`` with Zvfbfmin, else shifts) and each row takes one
    ``vfmacc.vf``. bf16 products are exact in f32, so both round once per FMA and give
    the same bits; the error bound is the f32 kernel's. ``KOUTER`` and ``PF`` as for :data:`gemm_packed`.
    Without ``WIDEN`` a step holds the panel row as bf16 and widened (LMUL / 2 + LMUL registers)
    beside the MR accumulators: at LMUL 4 MR 7 spills a vector register in the K loop, MR 6 fits
    (:func:`rvai.ops.linear` defaults to it there).
    """
    scratch = ap if WIDEN else af
    _copy_rows(a, scratch, LMUL)
    _gemm(scratch, bp, c, MR, LMUL, KC, KOUTER, WIDEN, PF=PF)


@rl.autotune(configs=GEMM_CONFIGS, key=_KEY)
@rl.kernel
def matmul(a: rl.Tensor[None, 2], b: rl.Tensor[None, 2], bp: rl.Tensor[None, 3], c: rl.Tensor[f32, 2],
           ap: rl.Tensor[None, 2], MR: int = 7, LMUL: int = 4, KC: int = 512, KOUTER: bool = False,
           WIDEN: bool = False):
    """c (M, N) += a (M, K) @ b (K, N), packing b into the scratch panels ``bp`` (P, K, NR) first.

    The packing reads b row by row in memory order and writes each row's pieces to
    their panels; it is part of the call (and of its cycle count). ``ap`` is scratch
    for A (:func:`a_scratch`).
    """
    K, N = b.shape
    P, NR = bp.shape[0], bp.shape[2]
    for k in rl.range(K):
        for p in rl.range(P):
            for vl, jj in rl.vloop(rl.minimum(NR, N - p * NR), sew=32, lmul=LMUL):
                bp.vstore(b.vload(k, p * NR + jj), p, k, jj)
    _from_rows(a, ap, LMUL, lambda src: _gemm(src, bp, c, MR, LMUL, KC, KOUTER, WIDEN))


@rl.autotune(configs=GEMM_CONFIGS, key=_KEY)
@rl.kernel
def matmul_t(a: rl.Tensor[None, 2], bt: rl.Tensor[None, 2], bp: rl.Tensor[None, 3], c: rl.Tensor[f32, 2],
             ap: rl.Tensor[None, 2], MR: int = 7, LMUL: int = 4, KC: int = 512, KOUTER: bool = False,
             WIDEN: bool = False):
    """c (M, N) += a (M, K) @ bt.T for a row-major ``bt`` (N, K) (torch's weight layout, or
    ``a @ w.T``), transposing bt into the scratch panels ``bp`` (P, K, NR) first.

    The transposition is part of the call (and of its cycle count): each panel row is one
    strided load down NR rows of bt (``vlse``), stored unit-stride; a panel's loads walk
    bt column by column, so the NR rows' current lines stay in L1 while 16 columns pass.
    ``ap`` is scratch for A (:func:`a_scratch`).
    """
    N, K = bt.shape
    P, NR = bp.shape[0], bp.shape[2]
    for p in rl.range(P):
        for vl, jj in rl.vloop(rl.minimum(NR, N - p * NR), sew=32, lmul=LMUL):
            for k in rl.range(K):
                bp.vstore(bt.vload(p * NR + jj, k, axis=0), p, k, jj)
    _from_rows(a, ap, LMUL, lambda src: _gemm(src, bp, c, MR, LMUL, KC, KOUTER, WIDEN))


@rl.autotune(configs=GEMV_CONFIGS, key=_KEY)
@rl.kernel
def gemv_rows(a: rl.Tensor[None, 2], b: rl.Tensor[None, 2], c: rl.Tensor[f32, 2], part: rl.Tensor[f32, 1],
              KB: int = 8, LMUL: int = 4, KC: int = 512, WIDEN: bool = False):
    """c (M, N) += a (M, K) @ b (K, N) for few rows, reading row-major b in memory order.

    For each row of c and each block of KC rows of b: ``part`` (N) is cleared, then
    ``KB`` rows of b at a time are streamed along N into it (KB loads and one load and
    store of ``part`` per KB FMAs, against 3 memory ops per FMA for one row at a
    time), and the block's sum is added to the row of c. No packing: B is read once
    per row of c, sequentially, so the prefetcher keeps DRAM busy.
    """
    _gemv(a, b, c, part, KB, LMUL, KC, WIDEN)


@rl.kernel
def gemv_rows_grid(a: rl.Tensor[None, 2], b: rl.Tensor[None, 2], c: rl.Tensor[f32, 2], part: rl.Tensor[f32, 1],
                   BN: int, KB: int = 8, LMUL: int = 4, KC: int = 512, WIDEN: bool = False):
    """:data:`gemv_rows` as a launch grid (``gemv_rows_grid[(g,)](...)``): program j
    computes columns j*BN.. (BN of them) of c, with its own slice of ``part``."""
    n0 = rl.program_id(0) * BN
    _gemv(a, b, c, part, KB, LMUL, KC, WIDEN, n0, rl.maximum(rl.minimum(BN, b.shape[1] - n0), 0))


#: What the tuner tries for :data:`gemv_t`: NB rows of bt per pass over K, LMUL.
GEMV_T_CONFIGS = [{"NB": nb, "LMUL": lmul} for nb, lmul in ((4, 4), (2, 4), (4, 2), (6, 4), (2, 8), (3, 8))]


@rl.autotune(configs=GEMV_T_CONFIGS, key=_KEY)
@rl.kernel
def gemv_t(a: rl.Tensor[None, 2], bt: rl.Tensor[None, 2], c: rl.Tensor[f32, 2], NB: int = 4, LMUL: int = 4,
           WIDEN: bool = False):
    """c (M, N) += a (M, K) @ bt.T for few rows and a row-major ``bt`` (N, K): each element
    of c is a dot product of two unit-stride rows, so bt is read once per row of c, in
    memory order, with no packing and no transposition.

    NB rows of bt at a time: per block of K, one load of a and NB of bt into NB vector
    accumulators (independent FMA chains), whole blocks of ``vl0 = min(K, VLMAX)``, then
    the ``K mod vl0`` tail, and one reduction per element of c. Each lane sums
    ceil(K/vl0) products before the reduction adds the vl0 lanes: the error is at most
    gamma(ceil(K/vl0) + vl0 + 1) * sum|a||b|.
    """
    M, K = a.shape
    N = bt.shape[0]
    with rl.vector(K, sew=32, lmul=LMUL) as vl0:
        pass
    full = K - K % vl0
    for i in rl.range(M):
        for j in rl.range(0, N - N % NB, NB):
            _dot_rows(a, bt, c, i, j, NB, vl0, full, K, LMUL, WIDEN)
        for j in rl.range(N - N % NB, N):
            _dot_rows(a, bt, c, i, j, 1, vl0, full, K, LMUL, WIDEN)


def _dot_rows(a, bt, c, i, j, rows: int, vl0, full, K, LMUL: int, widen: bool):
    """c[i, j:j+rows] += a[i] . bt[j + r] for r < rows."""
    with rl.vector(vl0, sew=32, lmul=LMUL):
        acc = [rl.var(rl.zeros(f32)) for _ in range(rows)]
        for k in rl.range(0, full, vl0):
            av = a.vload(i, k)
            for r in range(rows):
                _fmacc(acc[r], av if widen else av.to(f32), bt.vload(j + r, k), widen)
        sums = [acc[r].value.sum() for r in range(rows)]
    with rl.vector(K - full, sew=32, lmul=LMUL):
        av = a.vload(i, full)
        for r in range(rows):
            tail = rl.var(rl.zeros(f32))
            _fmacc(tail, av if widen else av.to(f32), bt.vload(j + r, full), widen)
            c[i, j + r] = c[i, j + r] + (sums[r] + tail.value.sum())


def _gemv(a, b, c, part, KB: int, LMUL: int, KC: int, WIDEN: bool, n0=0, cols=None):
    """c[:, n0:n0+cols] += a @ b[:, n0:n0+cols] (all columns by default), as gemv_rows describes."""
    M, K = a.shape
    N = b.shape[1] if cols is None else cols
    for i in rl.range(M):
        for k0 in rl.range(0, K, KC):
            k1 = rl.minimum(k0 + KC, K)
            groups_end = k0 + (k1 - k0) // KB * KB
            for vl, j in rl.vloop(N, sew=32, lmul=LMUL):
                part.vstore(rl.zeros(f32), _at(n0, j))
            for kg in rl.range(k0, groups_end, KB):
                for vl, j in rl.vloop(N, sew=32, lmul=LMUL):
                    acc = rl.var(part.vload(_at(n0, j)))
                    for d in range(KB):
                        bv = b.vload(kg + d, _at(n0, j))
                        _fmacc(acc, a[i, kg + d], bv if WIDEN else bv.to(f32), WIDEN)
                    part.vstore(acc.value, _at(n0, j))
            for k in rl.range(groups_end, k1):
                for vl, j in rl.vloop(N, sew=32, lmul=LMUL):
                    acc = rl.var(part.vload(_at(n0, j)))
                    bv = b.vload(k, _at(n0, j))
                    _fmacc(acc, a[i, k], bv if WIDEN else bv.to(f32), WIDEN)
                    part.vstore(acc.value, _at(n0, j))
            for vl, j in rl.vloop(N, sew=32, lmul=LMUL):
                c.vstore(c.vload(i, _at(n0, j)) + part.vload(_at(n0, j)), i, _at(n0, j))
