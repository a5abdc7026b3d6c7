"""Segment stores (``Tensor.vstore_segments``: ``vsseg``/``vssseg``) against NumPy, in the emulator
and under qemu-user, at VLEN 128..1024; their mistakes as KernelError at the author's line."""
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rvai.lang as rl
from kernel_runners import RUNNERS, VLENS, run
from rvai.target import Target
from test_lang_errors import line_of

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = {np.float32: 32, np.int8: 8, np.int16: 16, np.float64: 64}
LMULS = (0.25, 0.5, 1, 2, 4)


@rl.kernel
def segments(x: rl.Tensor[None, 2], m: rl.Tensor[None, 1], packed: rl.Tensor[None, 1], rows: rl.Tensor[None, 2],
             col: rl.i64, NF: int = 2, SEW: int = 32, LMUL=1, MASKED: bool = False):
    """The NF rows of x (fields) as segments: packed into ``packed`` from element 0, and
    along axis 0 of ``rows`` from column ``col`` (a row each, its stride apart); with MASKED
    only the segments whose element of m is not 0."""
    for vl, i in rl.vloop(x.shape[1], sew=SEW, lmul=LMUL):
        fields = [x.vload(f, i) for f in range(NF)]
        mask = m.vload(i) != 0 if MASKED else None
        packed.vstore_segments(fields, i * NF, mask=mask)
        rows.vstore_segments(fields, i, col, axis=0, mask=mask)


def expected(x, m, packed, rows, col):
    """Each segment k (column k of x) at packed[k*NF:(k+1)*NF] and rows[k, col:col+NF], as the
    RVV spec interleaves fields: field f at f elements after its segment's first."""
    nf, n = x.shape
    for k in range(n):
        if m[k]:
            packed[k * nf:(k + 1) * nf] = x[:, k]
            rows[k, col:col + nf] = x[:, k]
    return packed, rows


@pytest.mark.parametrize("vlen", VLENS)
@pytest.mark.parametrize("runner", RUNNERS)
@SETTINGS
@given(data=st.data())
def test_segment_stores_interleave_their_fields(runner, vlen, data):
    """NF 2..8, EEW 8..64, LMUL 1/4..4 (EMUL * NF <= 8), 0..70 elements (tails: vl below
    VLMAX on the last trip), masked and not; memory outside the segments keeps its values."""
    dtype = data.draw(st.sampled_from(list(DTYPES)))
    sew = DTYPES[dtype]
    nf = data.draw(st.integers(2, 8))
    lmul = data.draw(st.sampled_from([m for m in LMULS if m * nf <= 8 and 64 * m >= sew]))
    n = data.draw(st.integers(0, 70))
    masked = data.draw(st.booleans())
    col = data.draw(st.integers(0, 2))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-100, 100, (nf, n)).astype(dtype)
    m = (rng.random(n) < 0.6).astype(dtype) if masked else np.ones(n, dtype)
    packed = np.full(n * nf + 3, -7, dtype)
    rows = np.full((n, nf + 3), -7, dtype)
    want_packed, want_rows = expected(x, m, packed.copy(), rows.copy(), col)
    run(segments, x, m, packed, rows, col, NF=nf, SEW=sew, LMUL=lmul, MASKED=masked, runner=runner, vlen=vlen)
    np.testing.assert_array_equal(packed, want_packed)
    np.testing.assert_array_equal(rows, want_rows)


def test_segment_stores_lower_to_vsseg_and_vssseg():
    """The packed form is one unit-stride segment store (the one the timing models price by
    its bytes), the form along another axis a strided one; masked forms carry v0.t."""
    types = {name: rl.f32 for name in ("x", "m", "packed", "rows")}
    for masked in (False, True):
        asm = segments.compile(Target.preset("xuantie-c930"), types=types, checked=False, NF=7, SEW=32,
                               MASKED=masked).asm
        mask = r",\s*v0\.t" if masked else ""
        assert len(re.findall(r"vsseg7e32\.v\s+v\d+,\s*\(\w+\)" + mask, asm)) == 1, asm
        assert len(re.findall(r"vssseg7e32\.v\s+v\d+,\s*\(\w+\),\s*\w+" + mask, asm)) == 1, asm


def check(kern, words):
    with pytest.raises(rl.KernelError, match=words) as info:
        kern.trace()
    assert (info.value.filename, info.value.lineno) == (__file__, line_of(kern, "# here"))


def test_segment_store_mistakes_are_kernel_errors():
    """Field counts outside 2..8, fields of different types or not vectors, a tensor of
    another dtype and EMUL * NF above 8 are named at the author's line."""
    def kernel(fields_of, lmul=1):
        @rl.kernel
        def k(x: rl.Tensor[rl.f32, 2], y: rl.Tensor[rl.i32, 1], o: rl.Tensor[rl.f32, 1]):
            for vl, i in rl.vloop(x.shape[1], lmul=lmul):
                o.vstore_segments(fields_of(x, y, i), i)  # here
        return k

    def rows(n):
        return lambda x, y, i: [x.vload(f, i) for f in range(n)]
    check(kernel(rows(1)), "takes 2 to 8 fields, not 1")
    check(kernel(rows(9)), "takes 2 to 8 fields, not 9")
    check(kernel(lambda x, y, i: x.vload(0, i)), "takes a list of 2 to 8 vectors")
    check(kernel(lambda x, y, i: [x.vload(0, i), 1.0]), "stores vectors")
    check(kernel(lambda x, y, i: [x.vload(0, i), y.vload(i)]), "fields of vstore_segments differ in type")
    check(kernel(lambda x, y, i: [y.vload(i), y.vload(i)]), "cannot store i32 vectors into a f32 tensor")
    check(kernel(rows(3), lmul=4), "3 fields at LMUL 4 take 12 registers")
    check(kernel(rows(5), lmul=2), "5 fields at LMUL 2 take 10 registers")


@pytest.mark.parametrize("short", ["packed", "rows", "col"])
def test_segment_stores_past_the_tensor_are_bounds_errors(short):
    """A checked kernel checks a packed store's vl * NF elements along the last axis, and a
    store along axis 0 its vl segments along it and the NF fields from the column along the last."""
    nf, n = 3, 21
    x, m = np.arange(nf * n, dtype=np.float32).reshape(nf, n), np.ones(n, np.float32)
    packed = np.zeros(n * nf - (short == "packed"), np.float32)
    rows = np.zeros((n - (short == "rows"), nf + 1), np.float32)
    with pytest.raises(rl.BoundsError) as info:
        segments(x, m, packed, rows, 2 if short == "col" else 1, NF=nf, checked=True)
    assert (info.value.tensor, info.value.axis) == {"packed": ("packed", 0), "rows": ("rows", 0),
                                                    "col": ("rows", 1)}[short]
    segments(x, m, np.zeros(n * nf, np.float32), np.zeros((n, nf + 1), np.float32), 1, NF=nf, checked=True)
