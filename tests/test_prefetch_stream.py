"""The stride prefetcher on a vector load's stream, against its rules as
docs/timing-model.md states them ("The prefetcher is a stride prefetcher ..."):
the lines it fetches, hence the prefetches issued and the demand misses left,
counted by a Python walk of those rules over a set of the lines L1 holds.

The walk fits in an L1 made large and associative enough that nothing is
evicted, so a line is in L1 exactly when an access or a prefetch has asked for
it: the counts are then the rules' alone (csrc/timing.c's train_inline and
vmem_access are what they check, the distance in accesses a stream runs ahead
in particular: `dist` lines over the lines one access spans)."""
import numpy as np
from hypothesis import given, settings, strategies as st

from rvai.emu import Machine
from rvai.target import Target
from tests.conftest import CODE, load_program

LINE = 64
#: a0 = base, a1 = accesses, a2 = stride, a3 = vl: one vle32.v a stride apart
PROGRAM = [
    "vsetvli t0, a3, e32, m8, ta, ma",
    "vle32.v v8, (a0)",
    "add a0, a0, a2",
    "addi a1, a1, -1",
    "bne a1, zero, -12",
    "jalr zero, 0(ra)",
]


#: the same with a vl shrinking by a4 elements each access (a3, the AVL, counts down to its last access's)
SHRINKING = [
    "vsetvli t0, a3, e32, m8, ta, ma",
    "vle32.v v8, (a0)",
    "add a0, a0, a2",
    "sub a3, a3, a4",
    "addi a1, a1, -1",
    "bne a1, zero, -20",
    "jalr zero, 0(ra)",
]


def spec_counts(base: int, stride: int, span, n: int, degree: int) -> tuple[int, int]:
    """(prefetches, L1 demand misses) of n accesses of `span` bytes (or of
    span[i] bytes, the i-th) from `base`, `stride` apart, by one stream under
    the documented rules, nothing evicted."""
    held: set[int] = set()
    spans = span if isinstance(span, list) else [span] * n

    def lines(a):
        return range(a // LINE, (a + span - 1) // LINE + 1)

    misses = prefetches = 0
    last = stride_seen = None
    dist = ahead = 0
    for i in range(n):
        span = spans[i]
        addr = base + i * stride
        for line in lines(addr):            # the access's own lines first
            misses += line not in held
            held.add(line)
        if last is None:                     # a new stream: its first address
            last = addr
            continue
        delta, last = addr - last, addr
        if delta != stride_seen:             # a stride seen once fetches nothing
            stride_seen, dist, ahead = delta, 0, 0
            continue
        dist = min(2 * dist, degree) if dist else min(2, degree)   # 2, doubling up to the degree
        step = abs(delta)
        # how many accesses ahead `dist` lines reach
        if step >= LINE:
            k = dist if span <= LINE else dist // -(-span // LINE)
        else:
            k = dist * LINE // step
        k = max(k, 1)
        ahead = max(ahead - 1, 0)            # this access was one already fetched
        while ahead < k:                     # fetch the next accesses' lines up to k ahead
            ahead += 1
            for line in lines(addr + ahead * delta):
                prefetches += line not in held
                held.add(line)
    return prefetches, misses


@settings(max_examples=40, deadline=None)
@given(vl=st.integers(1, 128), stride=st.integers(1, 600).map(lambda w: 4 * w), n=st.integers(1, 40),
       offset=st.integers(0, LINE // 4 - 1).map(lambda w: 4 * w), degree=st.sampled_from([1, 2, 3, 6, 8, 16, 64]))
def test_a_vector_streams_prefetches_are_the_documented_ones(vl, stride, n, offset, degree):
    span = 4 * vl                               # 1 to 8 lines, powers of two and not
    target = Target.preset("generic")
    m = Machine(target, vlen=512)
    m.set_timed(True, {**target.model, "line": LINE, "l1_size": 1 << 20, "l1_assoc": 64, "l2_size": 1 << 22,
                       "l2_assoc": 64, "prefetch_degree": degree})
    load_program(m, PROGRAM)
    reach = (n + 64 * 8 + 2) * stride + span   # the walk and as far as the prefetcher may run ahead
    buf = m.alloc(np.zeros(reach + LINE, dtype=np.uint8), align=4096)
    m.reset_counters()
    m.call(CODE, buf + offset, n, stride, vl)
    caches = m.profile().caches
    assert (caches["prefetches"]["issued"], caches["L1"]["misses"]) == spec_counts(buf + offset, stride, span, n, degree)


@settings(max_examples=40, deadline=None)
@given(last_vl=st.integers(1, 128), shrink=st.integers(0, 12), stride=st.integers(1, 600).map(lambda w: 4 * w),
       n=st.integers(1, 40), offset=st.integers(0, LINE // 4 - 1).map(lambda w: 4 * w),
       degree=st.sampled_from([1, 2, 3, 6, 8, 16, 64]))
def test_a_stream_whose_accesses_shrink_fetches_the_documented_lines(last_vl, shrink, stride, n, offset, degree):
    """The same, the access's footprint changing along the stream (a
    strip-mined loop's vl running down): how far ahead a stream at full
    distance runs is worked out for each access's own span (the model keeps
    it from the last training while the span holds)."""
    avls = [last_vl + (n - 1 - i) * shrink for i in range(n)]
    spans = [4 * min(a, 128) for a in avls]      # VLMAX 128 at e32 m8, VLEN 512
    target = Target.preset("generic")
    m = Machine(target, vlen=512)
    m.set_timed(True, {**target.model, "line": LINE, "l1_size": 1 << 20, "l1_assoc": 64, "l2_size": 1 << 22,
                       "l2_assoc": 64, "prefetch_degree": degree})
    load_program(m, SHRINKING)
    reach = (n + 64 * 8 + 2) * stride + 512
    buf = m.alloc(np.zeros(reach + LINE, dtype=np.uint8), align=4096)
    m.reset_counters()
    m.call(CODE, buf + offset, n, stride, avls[0], shrink)
    caches = m.profile().caches
    assert (caches["prefetches"]["issued"], caches["L1"]["misses"]) == spec_counts(buf + offset, stride, spans, n, degree)
