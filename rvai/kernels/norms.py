"""Row-wise softmax and RMSNorm over the last axis of a 2-D array.

Both walk a row in whole vector blocks of ``vl0 = min(n, VLMAX)`` elements with
vector accumulators (one ``vfmax``/``vfadd``/``vfmacc`` per element, no reduction and
no trip to a scalar register per block), then one short block for the ``n % vl0``
elements left, and reduce once per row. Rows of a few thousand floats stay in L1
between the passes, so the later passes cost vector-unit time, not memory traffic.
"""
import rvai.lang as rl
from rvai.lang import f32, i32
from rvai.lang.math import EXP_STEPS


def _blocks(n, lmul, group: int = 2):
    """For a row of n elements at ``lmul``: vl0 = min(n, VLMAX), the end of the whole
    groups of ``group`` vl0-blocks and the end of the whole blocks."""
    with rl.vector(n, sew=32, lmul=lmul) as vl0:
        pass
    full = n - n % vl0
    return vl0, full - full % (vl0 * group), full


#: softmax's exps by its ``EXP`` parameter (``rvai.ops.softmax(exp=...)``).
SOFTMAX_EXPS = {"accurate": rl.exp_nonpositive, "fast": rl.exp_fast}


def _shift_operand(shift, bits):
    """The row's ``shift`` as the exps take it: the f32 scalar, or with ``bits`` (softmax's
    ``BITS``) in every element, broadcast as its bits by the ``vl``-bound ``vmv.v.x``."""
    return rl.full(shift.bitcast(i32), i32, bound=True).bitcast(f32) if bits else shift


def _exp_blocks(x, o, r, js, shift, exp, bits=False):
    """o[r, j:j+vl] = exp(x[r, j:j+vl] - max) for each j of ``js``, the exps' steps
    interleaved across the blocks; returns them. ``shift`` is the row maximum for the
    accurate exp, :func:`rvai.lang.exp_fast_bias` of it for the fast one (whose FMA then
    subtracts it), ``bits`` as in :func:`_shift_operand`."""
    shift = _shift_operand(shift, bits)
    xs = [x.vload(r, j) for j in js]
    es = rl.exp_fast(xs, bias=shift) if exp == "fast" else rl.exp_nonpositive([v - shift for v in xs])
    for e, j in zip(es, js):
        o.vstore(e, r, j)
    return es


#: What the tuner tries for :data:`softmax` (with each ``EXP``, tuned apart): LMUL of a block,
#: the blocks of the exp pass in flight (their exps interleaved step by step), whether the
#: maximum of the next row or the one after is fused into the exp pass (``FUSE``) and
#: whether the division of the row one or two before is (``PIPE``; more live registers
#: and memory streams: past 8 register groups in use it spills), how far ahead of the stores the output lines are claimed
#: (``ZERO``, or at each row's start), and the exp pass's software pipelining (``SKEW``),
#: each skewed one in both stage orders (``REVERSE``), and how the row's shift enters the
#: exps (``BITS``). The in-order vector queues of
#: generic and sifive-x280 want three chains at LMUL 2 without ``SKEW``, or one skewed
#: chain; xuantie-c930 one skewed chain at LMUL 4 (three stages for the fast exp, whose
#: trip then issues about half the instructions an element) or 2; claiming lines pays
#: where DRAM is the limit (bench/norms.py).
SOFTMAX_CONFIGS = [{"LMUL": lmul, "CHAINS": ch, "FUSE": fuse, "PIPE": pipe, "ZERO": zero, "SKEW": skew,
                    "REVERSE": rev, **({"BITS": True} if bits else {})}   # BITS only where set: as tuned before it
                   for lmul, ch, fuse, pipe, zero, skew, *bits in (
    (2, 2, True, True, 0, ""), (2, 3, True, False, 256, ""), (2, 3, True, True, 256, ""), (4, 1, True, True, 256, ""),
    (4, 2, True, False, 0, ""), (4, 2, False, True, 0, ""), (2, 2, False, True, 0, ""), (4, 1, True, False, 256, ""),
    (8, 1, False, True, 0, ""), (8, 1, False, False, 256, ""), (8, 1, True, False, 256, ""), (8, 1, False, True, 256, ""),
    (2, 1, True, True, 0, "112"), (2, 1, True, True, 0, "111"), (2, 1, True, False, 0, "111"),
    (2, 1, True, False, 0, "112"), (4, 1, True, True, 0, "11"), (2, 2, True, False, 0, "11"),
    (2, 1, True, True, 256, "112"), (2, 1, True, 2, 0, "112"), (2, 1, True, 2, 0, "111"), (4, 1, True, 2, 0, "11"),
    (2, 1, True, 2, 256, "112"), (2, 1, True, True, 256, "111"), (2, 1, True, 2, 256, "111"),
    (2, 1, True, True, "row", "112"), (2, 1, True, 2, "row", "112"), (2, 1, True, True, "row", "111"),
    (2, 1, True, 2, "row", "111"), (4, 1, True, True, 0, "12"), (4, 1, True, 2, 0, "12"), (4, 1, True, 2, "row", "12"),
    (2, 1, 2, 2, 0, "112"), (2, 1, 2, 2, 0, "111"), (4, 1, 2, 2, 0, "11"), (2, 1, 2, 2, 256, "112"),
    (2, 1, 2, 2, 256, "111"), (2, 1, 2, 2, "row", "112"), (2, 1, 2, 2, "row", "111"), (4, 1, 2, 2, 0, "12"),
    (4, 1, 2, 2, "row", "12"), (2, 1, 2, False, 0, "111"), (2, 1, 2, False, 0, "112"),
    (4, 1, 2, 2, 0, "12", True), (4, 1, 2, 2, "row", "12", True), (4, 1, 2, True, 0, "12", True),
    (4, 1, 2, True, "row", "12", True))
                   for rev in ((False, True) if skew else (False,))]
#: What the tuner tries for :data:`rmsnorm`: the LMUL of its blocks, whether the next
#: row's sum of squares is fused into this row's second pass, and whether LLVM may unroll
#: the block and row loops.
RMSNORM_CONFIGS = [{"LMUL": lmul, "FUSE": fuse, "UNROLL": unroll}
                   for lmul in (4, 8, 2) for fuse in (True, False) for unroll in (True, False)]


def _row_max(x, r, n, vl0, full, lmul):
    """max x[r] (a scalar), by whole vl0-blocks into a vector accumulator and the tail."""
    with rl.vector(vl0, sew=32, lmul=lmul):
        mx = rl.var(rl.full(float("-inf")))
        for j in rl.range(0, full, vl0):
            mx.value = rl.maximum(mx, x.vload(r, j))
        head = mx.value.max()
    with rl.vector(n - full, sew=32, lmul=lmul):
        return rl.maximum(head, x.vload(r, full).max())


@rl.autotune(configs=SOFTMAX_CONFIGS, key=["x.shape[1]", "EXP"])
@rl.kernel
def softmax(x: rl.Tensor[f32, 2], o: rl.Tensor[f32, 2], LMUL: int = 2, CHAINS: int = 2, FUSE: int = True,
            PIPE: int = 1, ZERO: int | str = 0, SKEW: str = "", REVERSE: bool = False, BITS: bool = False,
            EXP: str = "accurate"):
    """o[r] = exp(x[r] - max x[r]) / sum(...) for each row r.

    A row whose maximum is not finite (all -inf, or holding +inf) is NaN, as in NumPy.
    Passes per row: the maximum, ``e = exp(x - max)`` stored and summed, ``o = e / sum``.
    With ``FUSE`` the maximum of row r + 1 is taken inside row r's exp pass: that pass
    keeps the FP pipe busy with x in L1, the maximum streams the next row from memory,
    and the two overlap instead of alternating (spacemit-x60: 49 % -> 62 % of the DRAM
    bound; the first row's maximum is a pass of its own). ``FUSE=2`` takes row r + 2's
    maximum there instead and holds its two partial maxima for a row, so the next row's
    bias does not wait at the row's end for this row's reductions, which wait for the whole
    vector queue (xuantie-c930, fast exp, 64 x 896: 74.2 % -> 77.5 %; the first two rows'
    maxima are passes of their own). With ``PIPE`` (rows, 0 = off, True
    = 1, at most 2) the division of row r - PIPE by its sum also runs inside row r's exp
    pass, block by block, instead of as a pass of its own while the memory stream waits
    (the last rows' are passes after the rows). At 2 the 1 / sum is taken a row after the
    sum, so the scalar core does not wait at each row's end for the vector unit to finish
    the row's reduction, and the vector queue stays full (xuantie-c930, fast exp, 64 x 896:
    66.4 % -> 68.2 % of the DRAM bound); the divided row is then two rows old. The exp
    pass takes ``CHAINS`` blocks a trip, their exps interleaved step by step:
    each exp is a chain of dependent FP and integer operations whose latency exceeds their
    occupancy at LMUL 2, and an in-order vector queue stalls behind the first operation
    that waits, so independent chains side by side keep the pipes busy. ``ZERO`` (elements, 0 = off) claims the output's cache
    lines with ``cbo.zero`` that many elements ahead of the exp pass's stores where the
    target has Zicboz (:meth:`rvai.lang.Tensor.cache_zero`): no line is read from memory
    before it is overwritten. Ahead of the store stream's prefetches, or the prefetcher
    reads the lines first. Each block claims its lines in straight-line code, which costs
    scalar issue slots in the loop; ``ZERO="row"`` claims each row's whole output at the
    row's start instead, while the vector unit waits (spacemit-x60, 64 x 3584: the accurate
    exp, FP-bound, wins block by block, 76.6 % -> 85.5 % of the DRAM bound; the fast one,
    bound by scalar issue, with "row"). ``SKEW`` (digits, "" = off) software-pipelines
    the exp pass: the exp's steps (:data:`rvai.lang.math.EXP_STEPS`: reduction, the integer
    split or clamp, the polynomial's first and last Horner steps, the scaling) are cut into
    stages, the digits
    the steps of each stage but the last, and a trip runs each stage on another group of
    blocks (stage i on the group i trips behind the first), so no operation waits for one
    of its own trip: an in-order vector queue whose FP pipe meets the exp's chain of
    dependent FMAs right after the integer steps that feed it otherwise idles (generic,
    64 x 896: 34.6 % -> 49.3 % of the DRAM bound). More registers live: one chain at LMUL 2.
    Rows of fewer groups than stages run unskewed. ``REVERSE`` traces a skewed trip's stages
    last first (the same operations, results bit for bit): LLVM then allocates the carried
    registers otherwise, which on spacemit-x60 takes a spilled constant's reload out of the
    loop (accurate exp, 64 x 3584, ``ZERO="row"``: 75.0 % -> 76.6 % of the DRAM bound;
    ``ZERO=256``: 72.3 % -> 85.5 %) and on generic and xuantie-c930 costs cycles: the tuner
    picks. ``BITS`` hands the exps the row's shift as a vector, its bits broadcast by the
    ``vl``-bound ``vmv.v.x`` (``rl.full(bound=True)``), not as a scalar, whose broadcast (the
    fast exp's FMA takes it as its addend) LLVM rematerialises as a ``vfmv.v.f`` in the FP pipe
    at every trip of the skewed loop. The same operations, bit for bit; LLVM then holds the
    broadcast in a register and reloads two of the cubic's coefficients instead (xuantie-c930,
    fast exp, 64 x 896: 77.5 % -> 81.0 % of the DRAM bound; the tuner picks). ``EXP`` picks
    the exp: ``"accurate"`` (:func:`rvai.lang.exp_nonpositive`, 2.28 ulp) or ``"fast"``
    (:func:`rvai.lang.exp_fast`, relative error below 9.8e-5, with the row maximum folded
    into its first FMA by :func:`rvai.lang.exp_fast_bias`: 7 FP operations an element where
    the accurate exp's softmax takes 13).
    """
    if EXP not in SOFTMAX_EXPS:
        raise ValueError(f"softmax: EXP must be one of {sorted(SOFTMAX_EXPS)}, not {EXP!r}")
    nsteps = len(EXP_STEPS[EXP]["steps"])   # the same exps in steps, for SKEW
    if SKEW and not (SKEW.isdigit() and "0" not in SKEW and sum(map(int, SKEW)) < nsteps):
        raise ValueError(f"softmax: SKEW must be digits 1-9, the steps of each stage but the last, "
                         f"summing to less than the exp's {nsteps} steps; got {SKEW!r}")
    if ZERO != "row" and (type(ZERO) is not int or ZERO < 0):
        raise ValueError(f"softmax: ZERO must be elements ahead (an int >= 0) or 'row', not {ZERO!r}")
    if not isinstance(REVERSE, bool):
        raise ValueError(f"softmax: REVERSE must be True or False, not {REVERSE!r}")
    if not isinstance(BITS, bool):
        raise ValueError(f"softmax: BITS must be True or False, not {BITS!r}")
    if not isinstance(FUSE, int) or FUSE not in (0, 1, 2):   # False and True are 0 and 1
        raise ValueError(f"softmax: FUSE must be 0, 1 or 2 (rows the fused maximum runs ahead), not {FUSE!r}")
    if not isinstance(PIPE, int) or PIPE not in (0, 1, 2):   # False and True are 0 and 1
        raise ValueError(f"softmax: PIPE must be 0, 1 or 2 (rows the division runs behind), not {PIPE!r}")
    rows, n = x.shape
    vl0, groups, full = _blocks(n, LMUL, CHAINS)
    row_max = rl.var(float("-inf"))
    div = rl.var(1.0)      # the 1 / sum of row r - PIPE (1 before the first rows: their "division" is a no-op)
    # PIPE 2: row r - 1's maximum and sum, their 1 / sum not yet taken
    held = (rl.var(0.0), rl.var(1.0)) if PIPE == 2 else ()
    # FUSE 2: row r + 1's maximum, as its two partial maxima reduced at the end of row r - 1
    held_max = (rl.var(float("-inf")), rl.var(float("-inf"))) if FUSE == 2 else ()
    for _ in rl.range(rl.minimum(rows, 1) if FUSE else 0):
        row_max.value = _row_max(x, 0, n, vl0, full, LMUL)
        if FUSE == 2:
            held_max[0].value = _row_max(x, rl.minimum(1, rows - 1), n, vl0, full, LMUL)
    for r in rl.range(rows):
        nxt = rl.minimum(r + FUSE, rows - 1)  # the last rows take their own maxima again: harmless
        prv = rl.maximum(r - PIPE, 0)         # the first rows "divide" row 0 by 1: harmless
        if not FUSE:
            row_max.value = _row_max(x, r, n, vl0, full, LMUL)
        m = row_max.value
        shift = rl.exp_fast_bias(m) if EXP == "fast" else m
        if ZERO:
            o.cache_zero(r, 0, count=n if ZERO == "row" else rl.minimum(n, ZERO))

        def before(js, count=vl0):
            """What precedes row r's exp blocks at each j of ``js``: row r - 1's division
            there (PIPE), the claims of the lines ZERO elements ahead."""
            for j in js:
                if PIPE:
                    o.vstore(o.vload(prv, j) * div.value, prv, j)
                if ZERO and ZERO != "row":
                    # straight-line claims of a block's lines (at most LMUL: all of them up to
                    # VLEN 512): a claim loop inside the skewed loop made LLVM spill around it
                    o.cache_zero(r, j + ZERO, count=rl.maximum(rl.minimum(count, n - j - ZERO), 0), blocks=LMUL)

        def blocks(js, count=vl0):
            """Row r's exp blocks of ``count`` elements at each j of ``js``, after :func:`before`."""
            before(js, count)
            return _exp_blocks(x, o, r, js, shift, EXP, BITS)

        with rl.vector(vl0, sew=32, lmul=LMUL):
            acc = [rl.var(rl.zeros(f32)) for _ in range(CHAINS)]
            mx = rl.var(rl.full(float("-inf")))
            step = vl0 * CHAINS
            plain_end = groups    # the groups of blocks the unskewed loop takes
            if SKEW:
                steps, types = EXP_STEPS[EXP]["steps"], EXP_STEPS[EXP]["types"]
                # SKEW's digits: the steps of each stage but the last, which takes the rest
                ends = [sum(map(int, SKEW[:i + 1])) for i in range(len(SKEW))]
                stages = [steps[a:b] for a, b in zip([0] + ends, ends + [len(steps)])]
                carry = [[[rl.var(rl.zeros(t)) for t in types[b - 1]] for _ in range(CHAINS)] for b in ends]

                def stage(i, j, ins):
                    """Stage i of the exps of the group at j, on the carried ``ins`` (the
                    group's loads for stage 0); the last stores, sums, and with FUSE takes
                    the next row's maximum, a tuple of vectors for each block before."""
                    js = [j + u * vl0 for u in range(CHAINS)]
                    if i == 0:
                        xs = [x.vload(r, jj) for jj in js]
                        sh = _shift_operand(shift, BITS)
                        vals = steps[0](xs, sh) if EXP == "fast" else steps[0]([v - sh for v in xs])
                        fns = stages[0][1:]
                    else:
                        vals, fns = ins, stages[i]
                    for f in fns:
                        vals = f(vals)
                    if i < len(stages) - 1:
                        return vals
                    before(js)
                    for a, e, jj in zip(acc, vals, js):
                        o.vstore(e, r, jj)
                        a += e
                        if FUSE:
                            mx.value = rl.maximum(mx, x.vload(nxt, jj))
                    return None

                def carried(b):
                    return [tuple(v.value for v in c) for c in carry[b]]

                def trip(j0, lo, hi):
                    """Stages lo to hi, stage i on the group at j0 - i * step, from the
                    carries of the last trip; their results become the carries."""
                    order = range(hi, lo - 1, -1) if REVERSE else range(lo, hi + 1)
                    new = {i: stage(i, j0 - i * step, carried(i - 1) if i else None) for i in order}
                    for b in range(lo, min(hi, last - 1) + 1):
                        for c, h in zip(carry[b], new[b]):
                            for v, hv in zip(c, h):
                                v.value = hv

                last = len(stages) - 1
                ngroups = groups // step
                skewed = rl.maximum(rl.minimum(ngroups - last + 1, 1), 0)   # 1 if the groups fill the pipeline
                for _ in rl.range(skewed):
                    for p in range(last):      # fill: stages p..0 on groups 0..p
                        trip(p * step, 0, p)
                    for j in rl.range(last * step, groups, step):
                        # each stage on its own group: the trip's operations wait on the last
                        # trip's results, not on each other's
                        trip(j, 0, last)
                    for p in range(1, last + 1):   # drain: stages last..p on the groups left
                        trip(groups + (p - 1) * step, p, last)
                plain_end = groups * (1 - skewed)   # too few groups: unskewed
            for j in rl.range(0, plain_end, step):
                js = [j + u * vl0 for u in range(CHAINS)]
                for a, e in zip(acc, blocks(js)):
                    a += e
                if FUSE:
                    for jj in js:
                        mx.value = rl.maximum(mx, x.vload(nxt, jj))
            for j in rl.range(groups, full, vl0):     # whole blocks left over from the groups
                acc[0] += blocks([j])[0]
                if FUSE:
                    mx.value = rl.maximum(mx, x.vload(nxt, j))
            total_v = acc[0].value
            for u in range(1, CHAINS):
                total_v = total_v + acc[u].value
            head_sum = total_v.sum()
            head_max = mx.value.max()
        with rl.vector(n - full, sew=32, lmul=LMUL):
            total = head_sum + blocks([full], n - full)[0].sum()
            if FUSE == 2:
                # row r + 1's maximum, reduced a row ago: the next row's bias does not wait
                # for this row's reductions, which wait for the whole vector queue
                row_max.value = rl.maximum(*(v.value for v in held_max))
                held_max[0].value, held_max[1].value = head_max, x.vload(nxt, full).max()
            elif FUSE:
                row_max.value = rl.maximum(head_max, x.vload(nxt, full).max())
        if PIPE == 2:
            # row r - 1's, whose sums are long done: the scalar core does not wait for this
            # row's reductions, the vector queue stays full
            div.value = _recip(*(v.value for v in held))
            held[0].value, held[1].value = m, total
        elif PIPE:
            div.value = _recip(m, total)
        else:
            _scale_row(o, r, n, _recip(m, total), LMUL)
    for _ in rl.range(rl.minimum(rows, 1) if PIPE else 0):   # the last PIPE rows' divisions
        if PIPE == 2:
            for _ in rl.range(rl.minimum(rows - 1, 1)):
                _scale_row(o, rows - 2, n, div.value, LMUL)
            _scale_row(o, rows - 1, n, _recip(*(v.value for v in held)), LMUL)
        else:
            _scale_row(o, rows - 1, n, div.value, LMUL)


def _recip(m, total):
    """1 / total, NaN where the row maximum m is not finite (x - m is NaN there: the whole
    row NaN, as NumPy's is)."""
    return rl.where(m - m == 0.0, 1.0 / total, float("nan"))


def _scale_row(o, r, n, s, lmul):
    """o[r] *= s."""
    for vl, j in rl.vloop(n, sew=32, lmul=lmul):
        o.vstore(o.vload(r, j) * s, r, j)


def _sum_squares(x, r, n, vl0, full, lmul, unroll=True):
    """sum(x[r]**2) (a scalar), by whole vl0-blocks into a vector accumulator and the tail."""
    with rl.vector(vl0, sew=32, lmul=lmul):
        ss = rl.var(rl.zeros(f32))
        for j in rl.range(0, full, vl0, unroll=unroll):
            v = x.vload(r, j)
            ss += v * v
        head = ss.value.sum()
    with rl.vector(n - full, sew=32, lmul=lmul):
        v = x.vload(r, full)
        return head + (v * v).sum()


@rl.autotune(configs=RMSNORM_CONFIGS, key=["x.shape[1]"])
@rl.kernel
def rmsnorm(x: rl.Tensor[f32, 2], w: rl.Tensor[f32], o: rl.Tensor[f32, 2], eps: rl.f32, LMUL: int = 4,
            FUSE: bool = False, ZERO: bool = True, UNROLL: bool = True):
    """o[r] = x[r] / sqrt(mean(x[r]**2) + eps) * w for each row r.

    Two passes a row: the sum of squares, then the scaled product. With ``FUSE`` the sum
    of squares of row r + 1 is taken inside row r's second pass, so the stream of the
    next row from memory overlaps that pass instead of following it (generic, 64 x 896:
    76 % -> 93 % of the DRAM bound). Not the default: on sifive-x280 LLVM unrolls that
    loop 8 times, its 32 memory instructions outnumber the model's 16 prefetch streams
    (one per instruction), nothing is prefetched and it drops from 56 % to 36 %; the
    tuner picks per target. With ``ZERO`` (default; nothing where the target lacks
    Zicboz) each output row's cache lines are claimed with ``cbo.zero`` before its second
    pass, so they are not read from memory before being overwritten (spacemit-x60, 64 x
    3584: 73.7 % -> 110 % of the DRAM bound, which counts the output written once; the
    model writes a line back only when it leaves the cache). ``UNROLL=False`` keeps LLVM
    from unrolling the block loops (``rl.range(unroll=False)``), which lets the fused form
    keep the prefetcher on sifive-x280, and the row loop too: unrolled twice, each memory
    instruction sees every other row, so its prefetch stream breaks and retrains at each
    row, where one copy walks the contiguous rows as one stream (sifive-x280, 64 x 896:
    79.6 % -> 80.1 % of the DRAM bound with the re-tuned LMUL 8, DRAM 98.0 % -> 98.6 % busy).
    """
    rows, n = x.shape
    vl0, _, full = _blocks(n, LMUL)
    inv_n = 1.0 / n.to(f32)
    total = rl.var(0.0)
    for _ in rl.range(rl.minimum(rows, 1) if FUSE else 0):
        total.value = _sum_squares(x, 0, n, vl0, full, LMUL, UNROLL)
    for r in rl.range(rows, unroll=UNROLL):
        if not FUSE:
            total.value = _sum_squares(x, r, n, vl0, full, LMUL, UNROLL)
        scale = rl.rsqrt(total.value * inv_n + eps)
        if ZERO:
            o.cache_zero(r, 0, count=n)
        nxt = rl.minimum(r + 1, rows - 1)     # the last row sums its own squares again: harmless
        with rl.vector(vl0, sew=32, lmul=LMUL):
            ss = rl.var(rl.zeros(f32))
            for j in rl.range(0, full, vl0, unroll=UNROLL):
                o.vstore(x.vload(r, j) * scale * w.vload(j), r, j)
                if FUSE:
                    v = x.vload(nxt, j)
                    ss += v * v
            head = ss.value.sum()
        with rl.vector(n - full, sew=32, lmul=LMUL):
            o.vstore(x.vload(r, full) * scale * w.vload(full), r, full)
            if FUSE:
                v = x.vload(nxt, full)
                total.value = head + (v * v).sum()
